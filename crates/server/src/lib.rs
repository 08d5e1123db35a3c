//! grantd-server: the HTTP server of grantd.
//!
//! Layers, from the wire down: `surfaces` (one module per API: decode, check the caller,
//! call the service, encode), `service` (every command and query, each write one store
//! transaction with its change record and audit event), `index` (every tenant's decision
//! snapshot, following the change records), and the store below. `http` holds
//! the plumbing every surface shares; `auth` who is calling; `app` starts and stops it all.

pub mod app;
pub mod auth;
pub mod cluster;
pub mod config;
pub mod http;
pub mod index;
#[cfg(test)]
mod layers;
pub mod ratelimit;
mod reconciler;
pub mod service;
mod state;
pub mod surfaces;

pub use app::{Application, StartError};
pub use config::Config;
