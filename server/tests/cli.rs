//! The command line: help, gen-config, check-config (precedence, masking,
//! unknown keys), gen-token, the default port, and a run on the defaults.

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

#[test]
fn the_default_port_is_3000() {
    // What the README's run command (no config, no flags) listens on,
    // read without binding it: the official suites use 3000 meanwhile.
    let (code, out, err) = run(&["check-config"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("port = 3000"), "{out}");
}

#[tokio::test]
async fn no_config_serves_with_defaults() {
    // The README's run command with only the port changed (0: a free one,
    // never 3000); everything else is the built-in defaults.
    let s = common::Server::start_bare(&["--port", "0"]).await;
    assert_ne!(s.port, 3000);
    let mut c = common::Client::start(&s.url(), serde_json::json!({})).await;
    c.connected().await;
    c.close().await;
    let status = s.terminate().await;
    assert!(status.success(), "{status}");
}
