//! Acks in both directions: [`AckSender`], the server's answer to a
//! client's ack request, and the socket's pending acks for its own
//! `emit_with_ack`, each removed however its wait ends.

use std::sync::Arc;
use std::time::Duration;

use futures_channel::oneshot;
use serde_json::Value;

use super::{lock, Socket};
use crate::conn::Encoded;
use crate::data::Data;
use crate::error::{AckError, EmitError};
use crate::packet::{Packet, PacketType, Parts};
use crate::parser::Parser;

/// Answers a client's ack request. Dropping it without sending answers nothing.
#[derive(Debug)]
pub struct AckSender {
    pub(super) socket: Socket,
    pub(super) id: u64,
}

impl AckSender {
    /// Sends the ack with `data`.
    pub fn send(self, data: impl Into<Data>) -> Result<(), EmitError> {
        let data = data.into();
        let parser = self.socket.0.scope.parser();
        if let (Parser::Json, Some(args)) = (parser, data.args_text()) {
            // Received arguments answered as they came: their text.
            let parts = Parts {
                ty: PacketType::Ack,
                nsp: self.socket.nsp_name(),
                id: Some(self.id),
                data: None,
                attachments: 0,
            };
            let encoded = Encoded::json_text(|out| parts.encode_array_into(out, None, args), true);
            return self.socket.send_packet(encoded);
        }
        let (args, bins) = data.into_parts();
        let args = Value::Array(args);
        // Encoded from its parts: no `Packet`, no copy of the namespace.
        let parts = Parts {
            ty: PacketType::ack(!bins.is_empty()),
            nsp: self.socket.nsp_name(),
            id: Some(self.id),
            data: Some(&args),
            attachments: bins.len(),
        };
        let encoded = Encoded::from_parts(self.socket.0.scope.parser(), parts, &bins, true);
        self.socket.send_packet(encoded)
    }
}

impl Socket {
    /// Emits `event` and waits for the client's ack, at most `timeout`.
    pub async fn emit_with_ack(
        &self,
        event: &str,
        data: impl Into<Data>,
        timeout: Duration,
    ) -> Result<Data, AckError> {
        if crate::packet::RESERVED_EVENTS.contains(&event) {
            return Err(AckError::Emit(EmitError::Reserved));
        }
        let data = data.into();
        self.notify_outgoing(event, &data);
        let (payload, bins) = data.into_event(event);
        let id = self.0.scope.next_ack_id();
        let packet = Packet::event(self.nsp_name(), payload, Some(id), bins);
        let rx = self.register_ack(id);
        if let Err(e) = self.send_packet(Encoded::with_parser(self.0.scope.parser(), &packet, true))
        {
            self.forget_ack(id);
            return Err(AckError::Emit(e));
        }
        self.wait_ack(id, rx, timeout).await
    }

    pub(crate) fn forget_ack(&self, id: u64) {
        let tx = lock(&self.0.acks).remove(&id);
        drop(tx);
    }

    pub(crate) fn register_ack(&self, id: u64) -> oneshot::Receiver<Data> {
        let (tx, rx) = oneshot::channel();
        lock(&self.0.acks).insert(id, tx);
        rx
    }

    /// Waits for ack `id`; its entry is removed however this ends (answer,
    /// timeout, or the caller dropping the future).
    pub(crate) async fn wait_ack(
        &self,
        id: u64,
        rx: oneshot::Receiver<Data>,
        timeout: Duration,
    ) -> Result<Data, AckError> {
        struct Guard<'a>(&'a Socket, u64);
        impl Drop for Guard<'_> {
            fn drop(&mut self) {
                let tx = lock(&self.0 .0.acks).remove(&self.1);
                drop(tx);
            }
        }
        let _guard = Guard(self, id);
        let sleep = self.0.scope.runtime().sleep(timeout);
        match futures_util::future::select(rx, sleep).await {
            futures_util::future::Either::Left((r, _)) => r.map_err(|_| AckError::Disconnected),
            futures_util::future::Either::Right(_) => Err(AckError::Timeout),
        }
    }

    /// An ACK or BINARY_ACK from the client: answers the emit waiting for it.
    pub(super) fn handle_ack(&self, packet: Packet, headers: Option<Arc<http::HeaderMap>>) {
        let Some(id) = packet.id else { return };
        let tx = lock(&self.0.acks).remove(&id);
        if let Some(tx) = tx {
            let args = match packet.data {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            };
            let _ =
                tx.send(Data::from_parts(args, packet.attachments).with_request_headers(headers));
        }
    }
}
