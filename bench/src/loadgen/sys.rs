//! Process facts the load generator reads from Linux without `libc`: its own
//! CPU time (`/proc/self/stat`), the open-files limit (`/proc/self/limits`,
//! raised with the `prlimit` tool), wall-clock milliseconds, and a line on
//! standard input (read on a plain thread, since the runtime has no `io-std`).

use std::io::BufRead;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// Clock ticks per second for `/proc/self/stat` (`getconf CLK_TCK`, read
/// once; 100 when `getconf` is missing or says something odd).
fn clock_ticks() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<u64>().ok())
            .filter(|&t| t > 0)
            .unwrap_or(100)
    })
}

/// This process's user + system CPU time in milliseconds, all threads
/// included (fields 14 and 15 of `/proc/self/stat`); 0 if unreadable.
pub fn cpu_ms() -> f64 {
    let ticks = clock_ticks();
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // The command name (field 2) may hold spaces: count from its closing ')'.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return 0.0;
    };
    let mut fields = rest.split_ascii_whitespace();
    // After ')': field 3 (state) is index 0, so utime (14) is 11, stime 12.
    let utime: u64 = fields.nth(11).and_then(|f| f.parse().ok()).unwrap_or(0);
    let stime: u64 = fields.next().and_then(|f| f.parse().ok()).unwrap_or(0);
    (utime + stime) as f64 * 1000.0 / ticks as f64
}

/// Milliseconds since the Unix epoch, to correlate phases with samples the
/// orchestrator takes of the server.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The soft and hard open-files limits from `/proc/self/limits`
/// (`u64::MAX` for "unlimited").
fn nofile_limits() -> Option<(u64, u64)> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut nums = line["Max open files".len()..]
        .split_ascii_whitespace()
        .map(|v| {
            if v == "unlimited" {
                Some(u64::MAX)
            } else {
                v.parse().ok()
            }
        });
    Some((nums.next()??, nums.next()??))
}

/// Raises this process's open-files soft limit to the hard limit, without
/// `libc`: runs `prlimit --pid <own pid> --nofile=HARD:HARD` (util-linux).
/// Returns the soft limit in force afterwards. If `prlimit` is missing the
/// limit stays as it was (run the load generator under `ulimit -n` then);
/// connections beyond it fail with "too many open files" and count as errors.
pub fn raise_nofile_limit() -> Option<u64> {
    let (soft, hard) = nofile_limits()?;
    if soft >= hard {
        return Some(soft);
    }
    let hard_s = if hard == u64::MAX {
        "unlimited".to_string()
    } else {
        hard.to_string()
    };
    let ok = std::process::Command::new("prlimit")
        .arg("--pid")
        .arg(std::process::id().to_string())
        .arg(format!("--nofile={hard_s}:{hard_s}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let now = nofile_limits().map(|(s, _)| s).unwrap_or(soft);
    if !ok || now < hard {
        eprintln!("loadgen: could not raise the open-files limit from {soft} (hard {hard}); use `ulimit -n`");
    }
    Some(now)
}

/// Resolves once a line arrives on standard input, or it closes (EOF or an
/// error): the orchestrator's "go" or "stop" signal. Reads on a plain thread.
pub async fn stdin_line() {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        let _ = tx.send(());
    });
    let _ = rx.await;
}
