//! The service layer: every command and query of the model, whatever surface it came from.
//!
//! A command validates its input, runs in one store transaction that writes the rows, the
//! change record and the audit event, and returns the revision it produced. Surfaces call
//! these methods and nothing below them; no rule of the model lives in a surface.

mod context;
mod error;
mod feed;
mod graph;
mod objects;
mod tenants;
mod tokens;

use std::sync::Arc;

use grantd_store::Store;

pub use context::{Actor, Ctx};
pub use error::{ServiceError, ServiceResult};
pub use feed::{AuditQuery, Page};
pub use objects::{Versioned, Written};
pub use tokens::{IssuedToken, Scope, TokenView};

/// The service: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Service {
    store: Arc<dyn Store>,
}

impl Service {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}
