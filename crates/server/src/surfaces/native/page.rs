//! Paging on the wire: `limit` (1 to 1,000, default 100) and an opaque `cursor` in; `items`
//! and `next_cursor` out, the last page having none.

use serde_json::{json, Value};

use super::error::{ApiError, ApiResult};
use super::routes::Operation;
use crate::http::cursor;

pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 1000;

pub fn page_limit(limit: Option<u32>) -> ApiResult<u32> {
    match limit.unwrap_or(DEFAULT_LIMIT) {
        n @ 1..=MAX_LIMIT => Ok(n),
        n => Err(ApiError::new(
            "bad_request",
            format!("limit must be between 1 and {MAX_LIMIT}, not {n}"),
        )),
    }
}

/// The position a cursor stands for.
pub fn position(given: Option<&str>) -> ApiResult<Option<String>> {
    given
        .map(|c| {
            cursor::decode(c).ok_or_else(|| {
                ApiError::new(
                    "bad_request",
                    "cursor is not one this server issued; pass next_cursor back unchanged",
                )
            })
        })
        .transpose()
}

pub fn page_json(items: Vec<Value>, next: Option<String>) -> Value {
    match next {
        Some(next) => json!({"items": items, "next_cursor": cursor::encode(&next)}),
        None => json!({"items": items}),
    }
}

/// Adds the paging parameters to an operation's description.
pub fn page_query(operation: Operation) -> Operation {
    operation
        .query("limit", "Items per page, 1 to 1000 (default 100).")
        .query("cursor", "The next_cursor of the previous page.")
}

pub fn page_schema(item: Value) -> Value {
    json!({
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {"type": "array", "items": item},
            "next_cursor": {"type": "string", "description": "Absent on the last page."}
        }
    })
}
