//! The two calls the soak makes to `socketio-server`'s HTTP API, on one
//! keep-alive [`HttpConn`]: `POST /api/broadcast` (with `X-API-Key`) and
//! `GET /metrics`, the engine's connection count and every namespace's
//! socket count read from its Prometheus text.

use std::time::Duration;

use super::http::HttpConn;

/// Longest wait for one API answer.
const API_TIMEOUT: Duration = Duration::from_secs(10);

/// The counts `/metrics` has that the soak checks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    /// `socket_server_active_connections`: open Engine.IO connections.
    pub connections: f64,
    /// `socket_server_active_sockets{namespace=...}`: (namespace series, value).
    pub sockets: Vec<(String, f64)>,
}

impl Counts {
    /// Whether the engine and every namespace are back to zero.
    pub fn all_zero(&self) -> bool {
        self.connections == 0.0 && self.sockets.iter().all(|(_, v)| *v == 0.0)
    }
}

/// Parses the counts out of a Prometheus text exposition; `Err` when the
/// connection gauge is missing (not this server's `/metrics`).
pub fn parse_counts(text: &str) -> Result<Counts, String> {
    let mut counts = Counts::default();
    let mut seen = false;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        if series == "socket_server_active_connections" {
            counts.connections = value;
            seen = true;
        } else if series.starts_with("socket_server_active_sockets{") {
            counts.sockets.push((series.to_owned(), value));
        }
    }
    if !seen {
        return Err("no socket_server_active_connections in /metrics".into());
    }
    Ok(counts)
}

/// `GET /metrics`, parsed.
pub async fn counts(conn: &mut HttpConn, host: &str) -> Result<Counts, String> {
    let req = format!("GET /metrics HTTP/1.1\r\nHost: {host}\r\nAccept: text/plain\r\n\r\n");
    let res = tokio::time::timeout(API_TIMEOUT, conn.request(req.as_bytes()))
        .await
        .map_err(|_| "GET /metrics timed out".to_string())?
        .map_err(|e| format!("GET /metrics: {e}"))?;
    if res.status != 200 {
        return Err(format!("GET /metrics answered {}", res.status));
    }
    let text = std::str::from_utf8(&res.body).map_err(|_| "/metrics not UTF-8".to_string())?;
    parse_counts(text)
}

/// `POST /api/broadcast` of event `event` with `data` to the main
/// namespace; returns the `recipients` the server counted.
pub async fn broadcast(
    conn: &mut HttpConn,
    host: &str,
    key: &str,
    event: &str,
    data: &str,
) -> Result<u64, String> {
    let body = serde_json::json!({ "event": event, "data": data }).to_string();
    let req = format!(
        "POST /api/broadcast HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         X-API-Key: {key}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let res = tokio::time::timeout(API_TIMEOUT, conn.request(req.as_bytes()))
        .await
        .map_err(|_| "POST /api/broadcast timed out".to_string())?
        .map_err(|e| format!("POST /api/broadcast: {e}"))?;
    let text = String::from_utf8_lossy(&res.body);
    if res.status != 200 {
        return Err(format!(
            "POST /api/broadcast answered {}: {text}",
            res.status
        ));
    }
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("/api/broadcast answer: {e}"))?;
    v.get("recipients")
        .and_then(|r| r.as_u64())
        .ok_or_else(|| format!("/api/broadcast answer without recipients: {text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_counts() {
        let text = "# HELP socket_server_active_connections x\n\
                    # TYPE socket_server_active_connections gauge\n\
                    socket_server_active_connections 3\n\n\
                    socket_server_active_sockets{namespace=\"/\"} 2\n\
                    socket_server_active_sockets{namespace=\"/chat\"} 0\n\
                    socket_server_uptime_seconds 9\n";
        let c = parse_counts(text).unwrap();
        assert_eq!(c.connections, 3.0);
        assert_eq!(c.sockets.len(), 2);
        assert!(!c.all_zero());
        let zero = parse_counts("socket_server_active_connections 0\n").unwrap();
        assert!(zero.all_zero());
        assert!(parse_counts("up 1\n").is_err());
    }
}
