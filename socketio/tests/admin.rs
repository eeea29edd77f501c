//! The Admin UI protocol (`admin` feature), spoken by hand on in-memory
//! connections: authentication (credentials, session ids, refusals),
//! read-only mode, `config`, `all_sockets`, the live events, the commands
//! and `server_stats` on the stats timer.
mod support;

use std::time::Duration;

use serde_json::{json, Value};
use socketio::admin::{instrument, AdminConfig, AdminError, Credentials};
use socketio::SocketIoConfig;
use support::{Client, Pair};

// bcrypt of "secret" at cost 4 (the lowest: fast tests).
const HASH: &str = "$2a$04$02HPE/21Z1L2otbVBYk6.eSPDWraCLpJfiR3sI1DYNvs.DOHhGrC.";

fn server(config: impl FnOnce(AdminConfig) -> AdminConfig) -> Pair {
    let pair = Pair::new(SocketIoConfig::default());
    let creds = Credentials::new("admin", HASH).unwrap();
    instrument(&pair.io, config(AdminConfig::new(Some(creds)))).unwrap();
    pair.io.of("/").on_connection(|socket| async move {
        socket.join("lobby");
        socket.on("ping", |socket, _, _| async move {
            let _ = socket.emit("pong", "direct");
            let _ = socket.nsp().emit("news", "for all");
        });
    });
    pair
}

/// Lets the server run until `c` got something (a password check runs on
/// a thread of its own), for at most about 30 s.
fn wait_for(pair: &Pair, c: &Client) -> String {
    for _ in 0..3000 {
        pair.settle();
        if let Some(s) = c.try_recv() {
            return s.text;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the server sent nothing");
}

/// An admin event's name and arguments.
fn event(text: &str) -> (String, Vec<Value>) {
    let body = text
        .strip_prefix("2/admin,")
        .unwrap_or_else(|| panic!("not an admin event: {text}"));
    let mut v: Vec<Value> = serde_json::from_str(body).unwrap();
    (v.remove(0).as_str().unwrap().to_owned(), v)
}

/// Logs a UI in; returns it with its session id and the events that
/// followed the CONNECT answer (config, all_sockets).
fn login(pair: &Pair) -> (Client, String, Vec<(String, Vec<Value>)>) {
    let ui = pair.open();
    ui.send(r#"0/admin,{"username":"admin","password":"secret"}"#);
    let answer = wait_for(pair, &ui);
    assert!(answer.starts_with("0/admin,{\"sid\""), "{answer}");
    let events: Vec<_> = ui.drain().iter().map(|t| event(t)).collect();
    let session = events
        .iter()
        .find(|(n, _)| n == "session")
        .map(|(_, a)| a[0].as_str().unwrap().to_owned())
        .expect("a session id");
    (ui, session, events)
}

/// The connected socket `sid` of `/`.
fn socket(pair: &Pair, sid: &str) -> socketio::Socket {
    let id = engineio::Sid::parse(sid).unwrap();
    pair.io.of("/").socket(id).expect("connected")
}

fn named<'a>(events: &'a [(String, Vec<Value>)], name: &str) -> &'a Vec<Value> {
    events
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, a)| a)
        .unwrap_or_else(|| panic!("no {name} in {events:?}"))
}

#[test]
fn a_bad_hash_or_no_username_is_refused_up_front() {
    assert_eq!(
        Credentials::new("admin", "not-a-hash").err(),
        Some(AdminError::BadHash)
    );
    assert_eq!(
        Credentials::new("", HASH).err(),
        Some(AdminError::NoUsername)
    );
    let pair = Pair::new(SocketIoConfig::default());
    instrument(&pair.io, AdminConfig::new(None)).unwrap();
    assert_eq!(
        instrument(&pair.io, AdminConfig::new(None)).err(),
        Some(AdminError::AlreadyObserved)
    );
}

#[test]
fn credentials_log_in_and_the_session_id_logs_in_again() {
    let pair = server(|c| c);
    let (user, sid) = pair.connect();
    let (_ui, session, events) = login(&pair);
    assert_eq!(session.len(), 16);
    let features = &named(&events, "config")[0]["supportedFeatures"];
    assert_eq!(features.as_array().unwrap().len(), 9, "{features}");
    let sockets = named(&events, "all_sockets")[0].as_array().unwrap().clone();
    let s = sockets
        .iter()
        .find(|s| s["id"] == sid.as_str())
        .expect("the user");
    assert_eq!(s["nsp"], "/");
    let mut rooms: Vec<&str> = s["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    rooms.sort_unstable();
    let mut want = [sid.as_str(), "lobby"];
    want.sort_unstable();
    assert_eq!(rooms, want);
    assert_eq!(
        s["handshake"]["url"],
        "/socket.io/?EIO=4&transport=websocket"
    );
    assert_eq!(s["handshake"]["query"]["EIO"], "4");
    assert_eq!(s["clientId"].as_str().unwrap().len(), 12);
    assert!(s["data"].is_object());
    drop(user);

    let again = pair.open();
    again.send(&format!(r#"0/admin,{{"sessionId":"{session}"}}"#));
    let answer = wait_for(&pair, &again);
    assert!(answer.starts_with("0/admin,{\"sid\""), "{answer}");
}

#[test]
fn wrong_credentials_and_unknown_sessions_are_refused() {
    let pair = server(|c| c);
    for auth in [
        r#"{"username":"admin","password":"wrong"}"#,
        r#"{"username":"root","password":"secret"}"#,
        r#"{"sessionId":"0123456789abcdef"}"#,
        r#"{}"#,
    ] {
        let ui = pair.open();
        ui.send(&format!("0/admin,{auth}"));
        let answer = wait_for(&pair, &ui);
        assert_eq!(
            answer, r#"4/admin,{"message":"invalid credentials"}"#,
            "{auth}"
        );
    }
}

#[test]
fn read_only_announces_no_command_and_ignores_them() {
    let pair = server(|c| c.read_only(true));
    let (user, sid) = pair.connect();
    let (ui, _, events) = login(&pair);
    let features = &named(&events, "config")[0]["supportedFeatures"];
    assert_eq!(features, &json!(["AGGREGATED_EVENTS", "ALL_EVENTS"]));
    ui.send(&format!(r#"2/admin,["emit","/","{sid}","hello","x"]"#));
    ui.send(&format!(r#"2/admin,["_disconnect","/",false,"{sid}"]"#));
    pair.settle();
    assert_eq!(user.drain(), Vec::<String>::new());
}

#[test]
fn commands_reach_the_sockets_they_name() {
    let pair = server(|c| c);
    let (user, sid) = pair.connect();
    let (other, _) = pair.connect();
    let (ui, _, _) = login(&pair);
    user.drain();
    other.drain();
    ui.send(&format!(r#"2/admin,["emit","/","{sid}","hello","x",1]"#));
    assert_eq!(user.drain(), [r#"2["hello","x",1]"#]);
    assert_eq!(
        other.drain(),
        Vec::<String>::new(),
        "the filter is the socket id"
    );
    ui.send(r#"2/admin,["emit","/",null,"all"]"#);
    assert_eq!(user.drain(), [r#"2["all"]"#]);
    assert_eq!(other.drain(), [r#"2["all"]"#]);
    ui.send(&format!(r#"2/admin,["join","/","vip","{sid}"]"#));
    let rooms = socket(&pair, &sid).rooms();
    assert!(rooms.contains(&"vip".to_owned()), "{rooms:?}");
    ui.send(r#"2/admin,["leave","/","lobby",null]"#);
    let rooms = socket(&pair, &sid).rooms();
    assert!(!rooms.contains(&"lobby".to_owned()), "{rooms:?}");
    ui.send(r#"2/admin,["emit","/nowhere",null,"x"]"#);
    assert!(pair.io.namespaces().iter().all(|n| n.name() != "/nowhere"));
    ui.send(&format!(r#"2/admin,["_disconnect","/",false,"{sid}"]"#));
    assert_eq!(user.drain(), ["1"]);
    assert!(pair
        .io
        .of("/")
        .socket(engineio::Sid::parse(&sid).unwrap())
        .is_none());
    assert!(!other.is_closed());
}

#[test]
fn the_ui_sees_sockets_rooms_and_events_live() {
    let pair = server(|c| c);
    let (ui, _, _) = login(&pair);
    ui.drain();
    let (user, sid) = pair.connect();
    let seen: Vec<_> = ui.drain().iter().map(|t| event(t)).collect();
    let connected = &named(&seen, "socket_connected");
    assert_eq!(connected[0]["id"], sid.as_str());
    assert_eq!(connected[0]["nsp"], "/");
    assert!(connected[1].as_str().unwrap().ends_with('Z'), "a date");
    let joined: Vec<_> = seen
        .iter()
        .filter(|(n, _)| n == "room_joined")
        .map(|(_, a)| a[1].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(joined, [sid.clone(), "lobby".to_owned()]);

    user.send(r#"2["ping",{"a":1}]"#);
    let seen: Vec<_> = ui.drain().iter().map(|t| event(t)).collect();
    let received = named(&seen, "event_received");
    assert_eq!(
        received[..3],
        [json!("/"), json!(sid), json!(["ping", {"a": 1}])]
    );
    let sent: Vec<_> = seen
        .iter()
        .filter(|(n, _)| n == "event_sent")
        .map(|(_, a)| a[2].clone())
        .collect();
    assert_eq!(
        sent,
        [json!(["pong", "direct"]), json!(["news", "for all"])]
    );

    socket(&pair, &sid).leave("lobby");
    let seen: Vec<_> = ui.drain().iter().map(|t| event(t)).collect();
    assert_eq!(
        named(&seen, "room_left")[..3],
        [json!("/"), json!("lobby"), json!(sid)]
    );

    user.send("1");
    let seen: Vec<_> = ui.drain().iter().map(|t| event(t)).collect();
    let gone = named(&seen, "socket_disconnected");
    assert_eq!(
        gone[..3],
        [json!("/"), json!(sid), json!("client namespace disconnect")]
    );
}

#[test]
fn server_stats_go_out_on_the_timer() {
    let pair = server(|c| c.server_id("node-a"));
    let (_user, _) = pair.connect();
    let (ui, _, _) = login(&pair);
    ui.drain();
    pair.advance(Duration::from_secs(2));
    let seen: Vec<_> = ui.drain().iter().map(|t| event(t)).collect();
    let stats = &named(&seen, "server_stats")[0];
    assert_eq!(stats["serverId"], "node-a");
    assert_eq!(stats["pid"], std::process::id());
    assert_eq!(stats["clientsCount"], 2, "{stats}");
    assert_eq!(stats["pollingClientsCount"], 0);
    assert!(stats["uptime"].as_f64().unwrap() >= 2.0, "{stats}");
    let nsps = stats["namespaces"].as_array().unwrap();
    let main = nsps.iter().find(|n| n["name"] == "/").unwrap();
    assert_eq!(main["socketsCount"], 1);
    let agg = stats["aggregatedEvents"].as_array().unwrap();
    assert!(agg.iter().any(|e| e["type"] == "packetsIn"), "{stats}");
    assert!(agg.iter().any(|e| e["type"] == "bytesOut"), "{stats}");
    pair.advance(Duration::from_secs(2));
    assert!(
        ui.drain().iter().any(|t| event(t).0 == "server_stats"),
        "every 2 s"
    );
}

#[test]
fn an_upgrade_is_reported_as_socket_updated() {
    let pair = server(|c| c);
    let user = pair.open();
    user.peer.set_transport("polling");
    let sid = user.join("");
    let (ui, _, events) = login(&pair);
    let sockets = named(&events, "all_sockets")[0].as_array().unwrap().clone();
    let listed = sockets.iter().find(|s| s["id"] == sid.as_str()).unwrap();
    assert_eq!(listed["transport"], "polling");
    ui.drain();
    pair.advance(Duration::from_secs(2));
    let seen: Vec<_> = ui.drain().iter().map(|t| event(t)).collect();
    assert_eq!(named(&seen, "server_stats")[0]["pollingClientsCount"], 1);
    assert!(
        seen.iter().all(|(n, _)| n != "socket_updated"),
        "no change yet"
    );
    user.peer.set_transport("websocket");
    pair.advance(Duration::from_secs(2));
    let seen: Vec<_> = ui.drain().iter().map(|t| event(t)).collect();
    assert_eq!(
        named(&seen, "socket_updated")[0],
        json!({"id": sid, "nsp": "/", "transport": "websocket"})
    );
    assert_eq!(named(&seen, "server_stats")[0]["pollingClientsCount"], 0);
}

#[test]
fn new_socket_data_is_reported_as_socket_updated() {
    let pair = server(|c| c);
    let (_user, sid) = pair.connect();
    let (ui, _, _) = login(&pair);
    ui.drain();
    let s = socket(&pair, &sid);
    s.set_data(json!({"user": "u1", "score": 3}));
    pair.settle();
    let seen: Vec<_> = ui.drain().iter().map(|t| event(t)).collect();
    let updates: Vec<_> = seen.iter().filter(|(n, _)| n == "socket_updated").collect();
    assert_eq!(updates.len(), 1, "{seen:?}");
    assert_eq!(
        updates[0].1[0],
        json!({"id": sid, "nsp": "/", "data": {"user": "u1", "score": 3}})
    );
    assert_eq!(s.data()["score"], 3);
    // Production mode (no live events): nothing.
    let quiet = server(|c| c.all_events(false));
    let (_user, sid) = quiet.connect();
    let (ui, _, _) = login(&quiet);
    ui.drain();
    socket(&quiet, &sid).set_data(json!(1));
    quiet.settle();
    assert!(ui.drain().iter().all(|t| event(t).0 != "socket_updated"));
}
