//! Times on the wire: milliseconds since the epoch as RFC 3339 in UTC, for every surface.

use chrono::{DateTime, SecondsFormat, Utc};

/// Milliseconds since the epoch as RFC 3339 in UTC, e.g. `2026-11-23T10:51:00.000Z`.
pub fn timestamp(millis: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(millis)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}
