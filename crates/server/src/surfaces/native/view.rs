//! How objects and write results look on the wire.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::http::preconditions;
pub use crate::http::time::timestamp;
use crate::service::Versioned;
use grantd_core::model::DataSource;
use grantd_core::{Kind, Object};

/// The fields the server adds to every object it returns.
#[derive(Serialize, ToSchema)]
pub struct ObjectMeta {
    /// The tenant revision that last wrote the object; its ETag.
    pub version: i64,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// The object's fields and its `ObjectMeta`.
pub fn object_view<K: Object>(v: &Versioned<K>) -> Value {
    let mut value = serde_json::to_value(&v.object).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        if K::KIND == Kind::DataSource {
            DataSource::conceal(map);
        }
        map.insert("version".into(), v.version.into());
        map.insert("created_at".into(), timestamp(v.created_at).into());
        map.insert("updated_at".into(), timestamp(v.updated_at).into());
    }
    value
}

/// A write's answer: the object, its ETag, the revision, and where it lives if new.
pub fn write_response<K: Object>(
    status: StatusCode,
    v: &Versioned<K>,
    location: Option<String>,
) -> Response {
    let mut response = (status, Json(object_view(v))).into_response();
    let headers = response.headers_mut();
    headers.insert("etag", preconditions::etag(v.version));
    headers.insert("grantd-revision", HeaderValue::from(v.version));
    if let Some(location) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert("location", location);
    }
    response
}
