//! HTTP plumbing shared by every surface: request metadata, preconditions and ETags,
//! cursors, metrics, health.

pub mod body;
pub mod caller;
pub mod cursor;
pub mod frame;
pub mod health;
pub mod meta;
pub mod metrics;
pub mod preconditions;

pub mod request_id;
pub mod serve;
pub mod time;
