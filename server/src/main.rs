//! The `socketio-server` command line.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand};
use socketio_server::config::{Config, Layers, DEFAULT_CONFIG_TOML, ENV_PREFIX};
use socketio_server::jwt;

/// A standalone Socket.IO (v5, Engine.IO v4) gateway.
///
/// With no arguments, serves on 127.0.0.1:3000 with the embedded defaults.
/// Configuration layers, later wins: defaults < config file < environment
/// (SOCKETIO_SERVER_<SECTION>__<KEY>=value) < flags.
#[derive(Parser, Debug)]
#[command(name = "socketio-server", version, about, long_about)]
struct Cli {
    #[command(flatten)]
    overrides: Overrides,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Args, Debug, Default)]
struct Overrides {
    /// TOML config file (also SOCKETIO_SERVER_CONFIG).
    #[arg(short, long, global = true, value_name = "FILE")]
    config: Option<String>,
    /// Listen address (server.host).
    #[arg(long, global = true)]
    host: Option<String>,
    /// Listen port (server.port).
    #[arg(short, long, global = true)]
    port: Option<u16>,
    /// Engine.IO path (server.path).
    #[arg(long, global = true)]
    path: Option<String>,
    /// PEM certificate chain for TLS (server.tls_cert).
    #[arg(long, global = true, value_name = "FILE")]
    tls_cert: Option<String>,
    /// PEM private key for TLS (server.tls_key).
    #[arg(long, global = true, value_name = "FILE")]
    tls_key: Option<String>,
    /// Log level: error, warn, info, debug, trace (log.level).
    #[arg(long, global = true)]
    log_level: Option<String>,
    /// Log format: human or json (log.format).
    #[arg(long, global = true)]
    log_format: Option<String>,
    /// Any key: --set rate_limits.events_per_second=10 (repeatable).
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    set: Vec<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve (the default).
    Run,
    /// Validate the configuration and print it with secrets masked.
    CheckConfig,
    /// Print a commented config file with every default.
    GenConfig,
    /// Print the TypeScript declarations of the built-in events
    /// (`ServerToClientEvents`, `ClientToServerEvents`) for
    /// socket.io-client's typed sockets.
    GenTypes,
    /// Print an HS256/384/512 JWT signed with the first auth.jwt_secrets
    /// entry, for testing (HS only: RS*/ES*/EdDSA tokens come from the
    /// identity provider behind auth.jwks_url).
    GenToken {
        /// The user id (`userId` claim).
        #[arg(long)]
        user: String,
        /// The `role` claim.
        #[arg(long)]
        role: Option<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
    },
}

fn load(o: &Overrides) -> Result<Config, String> {
    let mut layers = Layers::new();
    let file = o
        .config
        .clone()
        .or_else(|| std::env::var(format!("{ENV_PREFIX}CONFIG")).ok());
    if let Some(f) = &file {
        let text = std::fs::read_to_string(f).map_err(|e| format!("cannot read {f}: {e}"))?;
        layers = layers.file(f, &text).map_err(|e| e.to_string())?;
    }
    let env = std::env::vars().filter(|(k, _)| k != &format!("{ENV_PREFIX}CONFIG"));
    layers = layers.env(env).map_err(|e| e.to_string())?;
    let flags = [
        (
            "--host",
            "server.host",
            o.host.as_ref().map(|h| toml_str(h)),
        ),
        ("--port", "server.port", o.port.map(|p| p.to_string())),
        (
            "--path",
            "server.path",
            o.path.as_ref().map(|h| toml_str(h)),
        ),
        (
            "--tls-cert",
            "server.tls_cert",
            o.tls_cert.as_ref().map(|h| toml_str(h)),
        ),
        (
            "--tls-key",
            "server.tls_key",
            o.tls_key.as_ref().map(|h| toml_str(h)),
        ),
        (
            "--log-level",
            "log.level",
            o.log_level.as_ref().map(|h| toml_str(h)),
        ),
        (
            "--log-format",
            "log.format",
            o.log_format.as_ref().map(|h| toml_str(h)),
        ),
    ];
    for (flag, key, value) in flags {
        if let Some(v) = value {
            layers = layers.set(flag, key, &v).map_err(|e| e.to_string())?;
        }
    }
    for s in &o.set {
        let (k, v) = s
            .split_once('=')
            .ok_or_else(|| format!("--set {s}: expected KEY=VALUE"))?;
        layers = layers
            .set(&format!("--set {k}"), k.trim(), v)
            .map_err(|e| e.to_string())?;
    }
    let config = layers.build().map_err(|e| e.to_string())?;
    socketio_server::run::check(&config)?;
    Ok(config)
}

/// A TOML string literal, so flag values are never read as other types.
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::GenConfig) => {
            print!("{DEFAULT_CONFIG_TOML}");
            return ExitCode::SUCCESS;
        }
        Some(Command::GenTypes) => {
            print!("{}", socketio_server::events::typescript());
            return ExitCode::SUCCESS;
        }
        Some(Command::CheckConfig) => {
            return match load(&cli.overrides) {
                Ok(c) => {
                    println!("# configuration is valid; effective values (secrets masked):");
                    print!("{}", c.to_masked_toml());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            };
        }
        _ => {}
    }
    let config = match load(&cli.overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(Command::GenToken { user, role, ttl }) = cli.command {
        return gen_token(&config, &user, role, ttl);
    }
    socketio_server::run::init_logging(&config);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let stop = socketio_server::run::signal();
        match socketio_server::run::Server::bind(config).await {
            Ok(server) => {
                server.run(stop).await;
                ExitCode::SUCCESS
            }
            Err(e) => {
                tracing::error!("{e}");
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// `gen-token`: a token for `user` signed with the first secret.
fn gen_token(config: &Config, user: &str, role: Option<String>, ttl: u64) -> ExitCode {
    let Some(secret) = config.auth.jwt_secrets.first() else {
        eprintln!(
            "error: auth.jwt_secrets is empty; set one to sign tokens, the same the server uses, \
             e.g. SOCKETIO_SERVER_AUTH__JWT_SECRETS='[\"<32 random characters>\"]' \
             or `jwt_secrets = [...]` under [auth] in the config file (--config)"
        );
        return ExitCode::from(2);
    };
    // HS only: the public-key algorithms' private keys are the identity
    // provider's.
    let Some(alg) = config
        .auth
        .jwt_algorithms
        .iter()
        .copied()
        .find(|a| a.is_hmac())
    else {
        eprintln!(
            "error: gen-token signs HS256/HS384/HS512 tokens, and auth.jwt_algorithms names none; \
             RS*/ES*/EdDSA tokens come from the identity provider behind auth.jwks_url"
        );
        return ExitCode::from(2);
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut claims = serde_json::json!({ "userId": user, "iat": now, "exp": now + ttl });
    if let Some(r) = role {
        claims["role"] = r.into();
    }
    // So that the token passes the configured issuer and audience checks.
    if let Some(iss) = config.auth.issuer.first() {
        claims["iss"] = iss.as_str().into();
    }
    if let Some(aud) = config.auth.audience.first() {
        claims["aud"] = aud.as_str().into();
    }
    println!("{}", jwt::sign(&claims, secret.as_bytes(), alg));
    ExitCode::SUCCESS
}
