//! The native API's route table. Each route is registered once, with its handler and its
//! description; the router and the OpenAPI document are both built from this table, so
//! neither can list a route the other lacks.

use std::collections::BTreeMap;

use axum::routing::MethodRouter;
use axum::Router;
use serde_json::{json, Value};

use crate::service::Scope;
use crate::state::AppState;

/// Who may call a route.
#[derive(Debug, Clone, Copy)]
pub enum Auth {
    Operator,
    Tenant(Scope),
}

/// One operation: what the OpenAPI document says of it.
#[derive(Debug, Clone)]
pub struct Operation {
    pub method: &'static str,
    pub path: String,
    pub id: String,
    pub summary: String,
    pub tag: String,
    pub auth: Auth,
    /// Query parameters: name and description.
    pub query: Vec<(&'static str, &'static str)>,
    pub request: Option<Value>,
    /// Status, description, and body schema.
    pub responses: Vec<(u16, &'static str, Option<Value>)>,
}

impl Operation {
    pub fn new(
        method: &'static str,
        path: impl Into<String>,
        id: impl Into<String>,
        tag: impl Into<String>,
        auth: Auth,
    ) -> Self {
        Operation {
            method,
            path: path.into(),
            id: id.into(),
            summary: String::new(),
            tag: tag.into(),
            auth,
            query: Vec::new(),
            request: None,
            responses: Vec::new(),
        }
    }

    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = summary.into();
        self
    }

    pub fn query(mut self, name: &'static str, description: &'static str) -> Self {
        self.query.push((name, description));
        self
    }

    pub fn request(mut self, schema: Value) -> Self {
        self.request = Some(schema);
        self
    }

    pub fn response(
        mut self,
        status: u16,
        description: &'static str,
        schema: Option<Value>,
    ) -> Self {
        self.responses.push((status, description, schema));
        self
    }

    /// The path's parameters, in order: `{tenant}` and the like.
    pub fn path_params(&self) -> Vec<&str> {
        self.path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect()
    }
}

/// A reference to a component schema.
pub fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

#[derive(Default)]
pub struct Api {
    routes: BTreeMap<String, MethodRouter<AppState>>,
    pub operations: Vec<Operation>,
}

impl Api {
    pub fn add(&mut self, operation: Operation, handler: MethodRouter<AppState>) {
        let merged = match self.routes.remove(&operation.path) {
            Some(existing) => existing.merge(handler),
            None => handler,
        };
        self.routes.insert(operation.path.clone(), merged);
        self.operations.push(operation);
    }

    pub fn into_router(self) -> (Router<AppState>, Vec<Operation>) {
        let router = self
            .routes
            .into_iter()
            .fold(Router::new(), |router, (path, handler)| {
                router.route(&path, handler)
            });
        (router, self.operations)
    }
}
