//! Rooms and broadcasting: join/leave, to/except unions without duplicates,
//! broadcast excluding the sender, fetch/join/leave/disconnect sockets.
mod common;
use common::*;

use serde_json::json;
use socketio::SocketIo;

async fn three(io: &SocketIo) -> (Vec<Client>, Vec<String>) {
    let addr = serve(io).await;
    let mut clients = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (c, id) = Client::connect(addr, "/").await;
        clients.push(c);
        ids.push(id);
    }
    (clients, ids)
}

fn socket(io: &SocketIo, id: &str) -> socketio::Socket {
    io.of("/")
        .sockets()
        .into_iter()
        .find(|s| s.id().as_str() == id)
        .unwrap()
}

#[tokio::test]
async fn to_several_rooms_delivers_once_and_except_excludes() {
    let io = SocketIo::new();
    let (mut c, ids) = three(&io).await;
    socket(&io, &ids[0]).join(["a", "b"]);
    socket(&io, &ids[1]).join("b");
    socket(&io, &ids[2]).join("c");
    io.to(["a", "b"]).emit("m", json!(1)).unwrap();
    assert_eq!(c[0].text().await, r#"42["m",1]"#);
    assert_eq!(c[1].text().await, r#"42["m",1]"#);
    c[0].nothing_before_probe(&io, &ids[0]).await;
    c[2].nothing_before_probe(&io, &ids[2]).await;
    io.to("b").except("a").emit("m", json!(2)).unwrap();
    assert_eq!(c[1].text().await, r#"42["m",2]"#);
    c[0].nothing_before_probe(&io, &ids[0]).await;
    io.except(ids[2].clone()).emit("m", json!(3)).unwrap();
    assert_eq!(c[0].text().await, r#"42["m",3]"#);
    assert_eq!(c[1].text().await, r#"42["m",3]"#);
    c[2].nothing_before_probe(&io, &ids[2]).await;
    socket(&io, &ids[0]).leave("a");
    let mut rooms = socket(&io, &ids[0]).rooms();
    rooms.sort();
    let mut want = vec!["b".to_string(), ids[0].clone()];
    want.sort();
    assert_eq!(rooms, want);
}

#[tokio::test]
async fn socket_broadcast_excludes_the_sender() {
    let io = SocketIo::new();
    io.of("/").on_connection(|s| async move {
        s.on("shout", |s, d, _| async move {
            let _ = s.broadcast().emit("shout", d);
        });
        s.on("room", |s, d, _| async move {
            s.join("r");
            let _ = s.to("r").emit("room", d);
        });
    });
    let (mut c, ids) = three(&io).await;
    c[0].send(r#"42["shout","hi"]"#).await;
    assert_eq!(c[1].text().await, r#"42["shout","hi"]"#);
    assert_eq!(c[2].text().await, r#"42["shout","hi"]"#);
    c[0].nothing_before_probe(&io, &ids[0]).await;
    c[1].send(r#"42["room","x"]"#).await;
    // c1 is alone in "r" when it speaks; once c2 has joined, c1 hears c2.
    eventually(|| socket(&io, &ids[1]).rooms().contains(&"r".to_string())).await;
    c[2].send(r#"42["room","y"]"#).await;
    assert_eq!(c[1].text().await, r#"42["room","y"]"#);
    c[1].nothing_before_probe(&io, &ids[1]).await;
    c[2].nothing_before_probe(&io, &ids[2]).await;
}

#[tokio::test]
async fn fetch_join_leave_and_disconnect_sockets() {
    let io = SocketIo::new();
    let (mut c, ids) = three(&io).await;
    socket(&io, &ids[0]).join("vip");
    let found = io.of("/").to("vip").fetch_sockets().await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id.as_str(), ids[0]);
    assert!(found[0].rooms.contains(&"vip".to_string()));
    assert_eq!(
        io.of("/").broadcast().fetch_sockets().await.unwrap().len(),
        3
    );
    io.of("/")
        .except("vip")
        .sockets_join("later")
        .await
        .unwrap();
    io.to("later").emit("m", json!(true)).unwrap();
    assert_eq!(c[1].text().await, r#"42["m",true]"#);
    assert_eq!(c[2].text().await, r#"42["m",true]"#);
    c[0].nothing_before_probe(&io, &ids[0]).await;
    io.of("/").to("later").sockets_leave("later").await.unwrap();
    assert!(io
        .of("/")
        .to("later")
        .fetch_sockets()
        .await
        .unwrap()
        .is_empty());
    io.of("/")
        .to("vip")
        .disconnect_sockets(false)
        .await
        .unwrap();
    assert_eq!(c[0].text().await, "41");
    assert_eq!(io.of("/").sockets().len(), 2);
    assert_eq!(io.of("/").adapter().server_count().await.unwrap(), 1);
}

#[tokio::test]
async fn volatile_and_namespace_emits() {
    let io = SocketIo::new();
    let (mut c, _) = three(&io).await;
    io.of("/").broadcast().volatile().emit("v", "x").unwrap();
    for cl in c.iter_mut() {
        assert_eq!(cl.text().await, r#"42["v","x"]"#);
    }
    io.emit("all", json!({"n": 1})).unwrap();
    for cl in c.iter_mut() {
        assert_eq!(cl.text().await, r#"42["all",{"n":1}]"#);
    }
}
