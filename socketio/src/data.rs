//! [`Data`]: event arguments and ack values with binary attachments.
//!
//! JSON arguments carry binary parts as placeholders
//! (`{"_placeholder":true,"num":N}`) that refer to `attachments`, exactly
//! as on the wire, so a received packet becomes `Data` without copying and
//! a sent one is encoded without walking the tree.
//!
//! Received data may also name the headers of the HTTP request that
//! carried it ([`Data::request_headers`]); they are never encoded.
//!
//! The arguments of a received text event are kept as the JSON text they
//! arrived in and parsed on first use: a handler that answers or forwards
//! them untouched (an echo, a gateway) writes that text back out without
//! building a JSON tree, and one that reads them pays the parse it would
//! have paid anyway. The text was validated on arrival (see
//! `packet::decode_event_raw`), so reading it never fails.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::HeaderMap;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::packet::{placeholder, placeholder_index};

/// Arguments of an event or an ack.
///
/// Equality and `Debug` look at the arguments and attachments only, not
/// at the [request headers](Data::request_headers).
#[derive(Clone, Default)]
pub struct Data {
    args: Args,
    attachments: Vec<Bytes>,
    /// The headers of the request that carried it (received data, when
    /// the server keeps them).
    request: Option<Arc<HeaderMap>>,
}

/// The arguments: values, or a received event's JSON text.
#[derive(Clone)]
enum Args {
    Values(Vec<Value>),
    Raw(Raw),
}

impl Default for Args {
    fn default() -> Self {
        Args::Values(Vec::new())
    }
}

/// A received text event's JSON array, `["name",arg,...]`, validated, with
/// at least one argument; parsed on first use.
#[derive(Clone)]
struct Raw {
    /// The whole array, event name included.
    array: Bytes,
    /// Where its first argument starts.
    start: usize,
    parsed: OnceLock<Vec<Value>>,
}

impl Args {
    fn into_values(self) -> Vec<Value> {
        match self {
            Args::Values(v) => v,
            Args::Raw(r) => r
                .parsed
                .into_inner()
                .unwrap_or_else(|| parse_after_name(&r.array)),
        }
    }
}

impl Raw {
    fn values(&self) -> &[Value] {
        self.parsed.get_or_init(|| parse_after_name(&self.array))
    }
}

/// The elements of a JSON array after its first, which is skipped.
fn parse_after_name(array: &[u8]) -> Vec<Value> {
    use serde::de::{Deserializer as _, IgnoredAny, SeqAccess, Visitor};
    struct AfterFirst;
    impl<'de> Visitor<'de> for AfterFirst {
        type Value = Vec<Value>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an event array")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            seq.next_element::<IgnoredAny>()?;
            let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(1));
            while let Some(x) = seq.next_element::<Value>()? {
                v.push(x);
            }
            Ok(v)
        }
    }
    let parsed = serde_json::Deserializer::from_slice(array).deserialize_seq(AfterFirst);
    // Validated on arrival with the same limits as this parse.
    debug_assert!(parsed.is_ok(), "received event text no longer parses");
    parsed.unwrap_or_default()
}

impl PartialEq for Data {
    fn eq(&self, other: &Self) -> bool {
        self.args() == other.args() && self.attachments == other.attachments
    }
}

impl std::fmt::Debug for Data {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Data")
            .field("args", &self.args())
            .field("attachments", &self.attachments)
            .finish()
    }
}

impl Data {
    /// No arguments.
    pub fn new() -> Self {
        Data::default()
    }

    /// From raw parts; placeholders in `args` must refer to `attachments`.
    pub fn from_parts(args: Vec<Value>, attachments: Vec<Bytes>) -> Self {
        Data {
            args: Args::Values(args),
            attachments,
            request: None,
        }
    }

    /// A received text event's arguments: `array` is its whole payload,
    /// `["name",arg,...]`, already validated (`packet::decode_event_raw`),
    /// and its first argument starts at `start` (`None`: it has none).
    pub(crate) fn from_event_text(array: Bytes, start: Option<usize>) -> Self {
        let args = match start {
            Some(start) => Args::Raw(Raw {
                array,
                start,
                parsed: OnceLock::new(),
            }),
            None => Args::Values(Vec::new()),
        };
        Data {
            args,
            attachments: Vec::new(),
            request: None,
        }
    }

    /// The arguments as the JSON text of an array, when they are still the
    /// text they arrived in and no attachment was added since
    /// ([`Data::attach`]): `[` followed by these bytes is that array.
    pub(crate) fn args_text(&self) -> Option<&[u8]> {
        match &self.args {
            Args::Raw(r) if self.attachments.is_empty() => Some(&r.array[r.start..]),
            _ => None,
        }
    }

    /// The arguments as values, to change them.
    fn values_mut(&mut self) -> &mut Vec<Value> {
        if let Args::Raw(_) = self.args {
            self.args = Args::Values(std::mem::take(&mut self.args).into_values());
        }
        match &mut self.args {
            Args::Values(v) => v,
            Args::Raw(_) => unreachable!("made values above"),
        }
    }

    /// The headers of the HTTP request that carried this event or ack,
    /// when the server keeps them
    /// ([`SocketIoBuilder::message_headers`](crate::SocketIoBuilder::message_headers)):
    /// over polling the `POST` whose body held the packet (for a binary
    /// packet, the one that held its first part), over WebSocket the
    /// request that opened the WebSocket (the handshake, or the upgrade
    /// request of a connection that started on polling). `None`
    /// otherwise, and for data built here.
    ///
    /// Read per message, from the message itself: concurrent handlers of
    /// one connection each see their own request's headers.
    pub fn request_headers(&self) -> Option<&HeaderMap> {
        self.request.as_deref()
    }

    /// This data as carried by a request with `headers` (what a driver's
    /// [`Connection::handle_text_with`](crate::Connection::handle_text_with)
    /// gives received data; also for testing handlers).
    pub fn with_request_headers(mut self, headers: Option<Arc<HeaderMap>>) -> Self {
        self.request = headers;
        self
    }

    /// Appends a JSON argument (anything serializable; a value that fails
    /// to serialize becomes `null`).
    pub fn arg(mut self, v: impl Serialize) -> Self {
        self.push(serde_json::to_value(v).unwrap_or(Value::Null));
        self
    }

    /// Appends a binary argument.
    pub fn binary(mut self, b: impl Into<Bytes>) -> Self {
        let p = self.attach(b.into());
        self.values_mut().push(p);
        self
    }

    /// Appends a JSON argument.
    pub fn push(&mut self, v: Value) {
        self.values_mut().push(v);
    }

    /// Registers an attachment and returns the placeholder to put anywhere
    /// inside an argument (binary nested in objects or arrays).
    pub fn attach(&mut self, b: Bytes) -> Value {
        self.attachments.push(b);
        placeholder(self.attachments.len() - 1)
    }

    /// The arguments (binary parts as placeholders).
    pub fn args(&self) -> &[Value] {
        match &self.args {
            Args::Values(v) => v,
            Args::Raw(r) => r.values(),
        }
    }

    /// Number of arguments.
    pub fn len(&self) -> usize {
        self.args().len()
    }

    /// Whether there are no arguments.
    pub fn is_empty(&self) -> bool {
        match &self.args {
            Args::Values(v) => v.is_empty(),
            // Kept as text only with an argument.
            Args::Raw(_) => false,
        }
    }

    /// Argument `i` deserialized into `T`.
    pub fn get<T: DeserializeOwned>(&self, i: usize) -> Result<T, serde_json::Error> {
        T::deserialize(self.args().get(i).unwrap_or(&Value::Null))
    }

    /// All arguments deserialized as one tuple or sequence type.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(Value::Array(self.args().to_vec()))
    }

    /// The attachments, in placeholder order.
    pub fn attachments(&self) -> &[Bytes] {
        &self.attachments
    }

    /// The attachment a placeholder value stands for.
    pub fn resolve(&self, v: &Value) -> Option<&Bytes> {
        match placeholder_index(v)? {
            Ok(n) => self.attachments.get(n),
            Err(_) => None,
        }
    }

    /// Argument `i` as binary, when it is a placeholder.
    pub fn binary_arg(&self, i: usize) -> Option<&Bytes> {
        self.resolve(self.args().get(i)?)
    }

    /// The parts.
    pub fn into_parts(self) -> (Vec<Value>, Vec<Bytes>) {
        (self.args.into_values(), self.attachments)
    }

    /// Prepends the event name and returns the payload array and attachments.
    pub fn into_event(self, event: &str) -> (Value, Vec<Bytes>) {
        let (values, attachments) = self.into_parts();
        let mut args = Vec::with_capacity(values.len() + 1);
        args.push(Value::String(event.to_owned()));
        args.extend(values);
        (Value::Array(args), attachments)
    }

    /// Splits an event payload into its name and arguments.
    pub(crate) fn from_event(
        data: Option<Value>,
        attachments: Vec<Bytes>,
    ) -> Option<(String, Data)> {
        let Some(Value::Array(mut args)) = data else {
            return None;
        };
        if args.is_empty() {
            return None;
        }
        let Value::String(name) = args.remove(0) else {
            return None;
        };
        Some((name, Data::from_parts(args, attachments)))
    }
}

impl From<Value> for Data {
    /// One argument.
    fn from(v: Value) -> Self {
        Data::from_parts(vec![v], Vec::new())
    }
}

impl From<Vec<Value>> for Data {
    /// Several arguments.
    fn from(args: Vec<Value>) -> Self {
        Data::from_parts(args, Vec::new())
    }
}

impl From<&str> for Data {
    /// One string argument.
    fn from(s: &str) -> Self {
        Data::from(Value::String(s.to_owned()))
    }
}

impl From<String> for Data {
    /// One string argument.
    fn from(s: String) -> Self {
        Data::from(Value::String(s))
    }
}

impl From<Bytes> for Data {
    /// One binary argument.
    fn from(b: Bytes) -> Self {
        Data::new().binary(b)
    }
}

impl From<()> for Data {
    /// No arguments.
    fn from(_: ()) -> Self {
        Data::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builds_and_reads_binary_anywhere() {
        let mut d = Data::new().arg("x").binary(Bytes::from_static(b"ab"));
        let nested = d.attach(Bytes::from_static(b"cd"));
        d.push(json!({ "file": nested }));
        assert_eq!(d.len(), 3);
        assert_eq!(d.binary_arg(1).unwrap(), &Bytes::from_static(b"ab"));
        assert_eq!(
            d.resolve(&d.args()[2]["file"]).unwrap(),
            &Bytes::from_static(b"cd")
        );
        assert_eq!(d.get::<String>(0).unwrap(), "x");
        let (payload, bins) = d.into_event("upload");
        assert_eq!(payload[0], "upload");
        assert_eq!(bins.len(), 2);
        let (name, back) = Data::from_event(Some(payload), bins).unwrap();
        assert_eq!(name, "upload");
        assert_eq!(back.len(), 3);
    }

    #[test]
    fn typed_arguments() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Msg {
            text: String,
        }
        let d = Data::from(vec![json!({"text": "hi"}), json!(2)]);
        assert_eq!(d.get::<Msg>(0).unwrap(), Msg { text: "hi".into() });
        let (m, n): (Msg, u8) = d.parse().unwrap();
        assert_eq!((m.text.as_str(), n), ("hi", 2));
        assert!(d.get::<u8>(0).is_err());
    }

    #[test]
    fn request_headers_ride_along_but_do_not_count() {
        let mut h = HeaderMap::new();
        h.insert("x-request-id", http::HeaderValue::from_static("7"));
        let plain = Data::from("a");
        let carried = plain.clone().with_request_headers(Some(Arc::new(h)));
        assert_eq!(carried.request_headers().unwrap()["x-request-id"], "7");
        assert!(plain.request_headers().is_none());
        assert_eq!(carried, plain);
        assert_eq!(format!("{carried:?}"), format!("{plain:?}"));
        assert!(carried
            .with_request_headers(None)
            .request_headers()
            .is_none());
    }
}
