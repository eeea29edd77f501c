//! The command line: help, gen-config, check-config (precedence, masking,
//! unknown keys), gen-token, and the default run.

mod common;

use std::process::Command;

use common::{bin, scratch, SECRET};

fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut c = Command::new(bin());
    c.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("SOCKETIO_SERVER_") {
            c.env_remove(k);
        }
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn help_lists_subcommands_and_flags() {
    let (code, out, _) = run(&["--help"], &[]);
    assert_eq!(code, 0);
    for w in [
        "check-config",
        "gen-config",
        "gen-token",
        "--config",
        "--port",
        "--set",
        "SOCKETIO_SERVER_",
    ] {
        assert!(out.contains(w), "missing {w} in\n{out}");
    }
}

#[test]
fn gen_config_is_valid_and_check_config_accepts_it() {
    let (code, out, _) = run(&["gen-config"], &[]);
    assert_eq!(code, 0);
    let d = scratch();
    let f = d.join("c.toml");
    std::fs::write(&f, &out).unwrap();
    let (code, out2, err) = run(&["check-config", "--config", f.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out2.contains("port = 3000"), "{out2}");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn precedence_is_file_then_env_then_flags() {
    let d = scratch();
    let f = d.join("c.toml");
    std::fs::write(&f, "[server]\nport = 1111\nhost = \"127.0.0.2\"\nenvironment = \"file\"\n[rate_limits]\nevents_per_second = 3\n").unwrap();
    let fp = f.to_str().unwrap();
    let env = [
        ("SOCKETIO_SERVER_SERVER__PORT", "2222"),
        ("SOCKETIO_SERVER_SERVER__ENVIRONMENT", "env"),
    ];
    let (code, out, err) = run(&["check-config", "-c", fp, "--port", "3333"], &env);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("port = 3333"), "{out}");
    assert!(out.contains("environment = \"env\""), "{out}");
    assert!(out.contains("host = \"127.0.0.2\""), "{out}");
    assert!(out.contains("events_per_second = 3"), "{out}");
    let (_, out, _) = run(&["check-config", "-c", fp], &env);
    assert!(out.contains("port = 2222"), "{out}");
    let (_, out, _) = run(&["check-config", "-c", fp], &[]);
    assert!(out.contains("port = 1111"), "{out}");
    let (_, out, _) = run(
        &[
            "check-config",
            "-c",
            fp,
            "--set",
            "server.environment=\"flag\"",
        ],
        &env,
    );
    assert!(out.contains("environment = \"flag\""), "{out}");
    // The config file can come from the environment too.
    let (_, out, _) = run(&["check-config"], &[("SOCKETIO_SERVER_CONFIG", fp)]);
    assert!(out.contains("port = 1111"), "{out}");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn unknown_keys_and_bad_values_are_reported() {
    let d = scratch();
    let f = d.join("c.toml");
    std::fs::write(&f, "[server]\nprot = 1\n").unwrap();
    let (code, _, err) = run(&["check-config", "-c", f.to_str().unwrap()], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("prot") && err.contains("c.toml"), "{err}");
    let (code, _, err) = run(&["check-config"], &[("SOCKETIO_SERVER_LIMITS__X", "1")]);
    assert_eq!(code, 2);
    assert!(err.contains("SOCKETIO_SERVER_LIMITS__X"), "{err}");
    let (code, _, err) = run(
        &["check-config", "--set", "connection.max_payload=lots"],
        &[],
    );
    assert_eq!(code, 2);
    assert!(err.contains("max_payload"), "{err}");
    let (code, _, err) = run(
        &["check-config", "--set", "auth.require_authentication=true"],
        &[],
    );
    assert_eq!(code, 2);
    assert!(err.contains("jwt_secrets"), "{err}");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn check_config_masks_secrets() {
    let env = [
        (
            "SOCKETIO_SERVER_AUTH__JWT_SECRETS",
            "[\"super-secret-value-123456\"]",
        ),
        (
            "SOCKETIO_SERVER_API__KEYS",
            "[\"api-key-value-1234567890\"]",
        ),
    ];
    let (code, out, err) = run(&["check-config"], &env);
    assert_eq!(code, 0, "{err}");
    assert!(
        !out.contains("super-secret") && !out.contains("api-key-value"),
        "{out}"
    );
    assert!(out.contains("***"), "{out}");
}

#[test]
fn gen_token_signs_with_the_first_secret() {
    let env = [(
        "SOCKETIO_SERVER_AUTH__JWT_SECRETS",
        &*format!("[\"{SECRET}\", \"second-secret-0123456789\"]"),
    )];
    let (code, out, err) = run(
        &[
            "gen-token",
            "--user",
            "42",
            "--role",
            "editor",
            "--ttl",
            "60",
        ],
        &env,
    );
    assert_eq!(code, 0, "{err}");
    let v = socketio_server::jwt::Verifier {
        secrets: vec![SECRET.as_bytes().to_vec()],
        ..Default::default()
    };
    let now = common::now();
    let c = v.verify(out.trim(), now).unwrap();
    assert_eq!(c.user_id, "42");
    assert_eq!(c.role.as_deref(), Some("editor"));
    assert!(c.exp.unwrap() <= now + 61);
    let (code, _, err) = run(&["gen-token", "--user", "1"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("jwt_secrets"), "{err}");
}

#[tokio::test]
async fn no_arguments_serves_on_3000_with_defaults_when_free() {
    // The README's run command: no config, no flags. Skipped when something
    // else holds the port (another test run, a developer's server).
    if std::net::TcpListener::bind("127.0.0.1:3000").is_err() {
        eprintln!("skipped: 127.0.0.1:3000 is in use");
        return;
    }
    let mut child = tokio::process::Command::new(bin())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        if tokio::net::TcpStream::connect("127.0.0.1:3000")
            .await
            .is_ok()
        {
            up = true;
            break;
        }
    }
    assert!(up, "not listening on 3000");
    let mut c = common::Client::start("http://127.0.0.1:3000/", serde_json::json!({})).await;
    c.connected().await;
    c.close().await;
    let _ = child.kill().await;
}
