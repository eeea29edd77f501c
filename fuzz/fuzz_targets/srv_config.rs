//! The gateway's config parser (TOML files, environment values) and the
//! settings API's JSON patches on arbitrary input: never panics; whatever
//! is accepted is valid, and its masked form holds no secret.
#![no_main]

use libfuzzer_sys::fuzz_target;
use socketio_server::config::{apply_settings_patch, Config, Layers};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = Config::from_toml(text) {
        c.validate().expect("accepted configs are valid");
        let masked = c.masked();
        assert!(masked.api.keys.iter().all(|k| k == "***"));
        assert!(masked.auth.jwt_secrets.iter().all(|k| k == "***"));
        assert!(masked.proxy.iter().all(|r| r.secret == "***"));
        assert!(masked.proxy_connect.secret.is_empty() || masked.proxy_connect.secret == "***");
    }
    if let Some((k, v)) = text.split_once('=') {
        let _ = Layers::new().set("fuzz", k, v).and_then(|l| l.build());
    }
    if let Ok(patch) = serde_json::from_str::<serde_json::Value>(text) {
        if let Ok(next) = apply_settings_patch(&Config::default(), &patch) {
            next.validate().expect("patched settings are valid");
            assert_eq!(next.server, Config::default().server);
        }
    }
});
