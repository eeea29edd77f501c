//! Text EVENTs whose arguments a connection keeps as JSON text
//! (`Connection::handle_message`), against the general decoder: what the
//! handler reads and what an ack of those arguments writes are what
//! `Packet::decode` makes of the same text, and a text it refuses closes
//! the connection without running a handler. The same check as the
//! `sio_event_text` fuzz target, on chosen inputs.

#[path = "support/event_text.rs"]
mod support;

use support::check;

#[test]
fn event_texts_read_as_the_general_decoder_reads_them() {
    let deep = format!("2[\"e\",{}1{}]", "[".repeat(200), "]".repeat(200));
    let nested = format!("27[\"e\",{}1{}]", "[".repeat(100), "]".repeat(100));
    let cases = [
        r#"2["echo","abc"]"#,
        r#"217["msg",{"a":[1,2.5,null]},true]"#,
        r#"2["e"]"#,
        r#"23["e"]"#,
        r#"2["e\u0041","a\"b",1E5,-0.0,1e-400]"#,
        r#"2["e",{"_placeholder":true,"num":0}]"#,
        r#"24["e",{"_placeholder":false}]"#,
        r#"2["e",[{"\u005fplaceholder":true,"num":0}]]"#,
        r#"2["e",1e400]"#,
        "2 [ \"e\" , [ ] ] ",
        "25[\"e\",\t{ \"k\" : [ ] } ] \n",
        r#"2["connect"]"#,
        r#"2[1,"e"]"#,
        r#"2[]"#,
        r#"2"#,
        r#"2["e",]"#,
        r#"2["e" "x"]"#,
        r#"2["e",1]x"#,
        r#"2["e","\ud800"]"#,
        r#"2["e\"]"#,
        r#"299999999999999999999999["e"]"#,
        r#"218446744073709551615["e",18446744073709551616]"#,
        r#"2["ünï","€",{"😀":"x"}]"#,
        &deep,
        &nested,
    ];
    for s in cases {
        check(s);
    }
}
