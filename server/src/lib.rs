//! `socketio-server`: a standalone Socket.IO gateway built on the `socketio`
//! and `engineio` crates: layered configuration, JWT authentication with
//! role permissions, rate limits, IP lists, an HTTP API (push, broadcast,
//! room, status, settings, monitoring), a live dashboard at `/dashboard`
//! ([`dashboard`]), the application's backend in the
//! loop ([`gateway`]: event proxy, connection proxy, relay), several engine
//! paths on one port, Prometheus metrics, graceful shutdown and clustering
//! over Redis (`[redis]`, through `socketio_redis`). The binary is `src/main.rs`; this library holds its parts so
//! tests and fuzz targets reach them.
//!
//! The parsers that face untrusted input ([`jwt`], [`signing`], [`ipnet`],
//! [`config`]) are pure and never panic on input.
//!
//! Modules form a DAG (no cycles): at the bottom the pure parts ([`jwt`],
//! [`signing`], [`ipnet`], [`rate_limit`], [`clock`], [`metrics`], [`monitor`],
//! [`chat`], [`reply`], [`identity`], [`logfmt`], [`dashboard`]), then [`config`], [`content`] and [`state`], then
//! [`events`] and [`api`], then [`gateway`] (the application's backend in
//! the loop), then [`app`] and [`http`], and [`run`] on top.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod admin_ui;
pub mod api;
pub mod app;
pub mod chat;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod content;
pub mod dashboard;
pub mod events;
pub mod gateway;
pub mod http;
pub mod identity;
pub mod ipnet;
pub mod jwa;
pub mod jwk;
pub mod jwks;
pub mod jwt;
pub mod logfmt;
pub mod metrics;
pub mod monitor;
pub mod rate_limit;
pub mod reply;
pub mod run;
pub mod signing;
pub mod state;
pub mod tls_client;
