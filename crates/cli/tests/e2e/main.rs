//! End-to-end tests: the real server on an ephemeral loopback port, driven over HTTP.
//! One binary for all of them (each test binary costs a link on a two-core machine).

mod helpers;
mod private_pg;

mod agreement;
mod audit_chain;
mod backup;
mod bounds;
mod cli;
mod cluster;
mod console;
mod crash;
mod dataarts;
mod decisions;
mod errors;
mod faults;
mod feed;
mod fuzzing;
mod isolation;
mod lifecycle;
mod limits;
mod model;
mod objects;
mod ops;
mod permission_sets;
mod revocation;
mod segment;
mod slashid;
mod sync;
mod tenants;
mod tokens;
mod transfer;
mod vendors;
mod watch;
mod windows;
