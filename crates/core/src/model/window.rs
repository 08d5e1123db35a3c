//! When an object holds: from `not_before` (inclusive) until `expires_at` (exclusive), each
//! an RFC 3339 instant on the wire. An object without them holds always. Windows are
//! decided at the time of each request; nothing is written when one opens or closes.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant, in milliseconds since the Unix epoch; RFC 3339 on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// RFC 3339 in UTC with milliseconds, e.g. `2026-11-30T10:00:00.000Z`.
    pub fn to_rfc3339(self) -> String {
        chrono::DateTime::<chrono::Utc>::from_timestamp_millis(self.0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }

    /// Parses RFC 3339 with any offset.
    pub fn parse(text: &str) -> Result<Timestamp, String> {
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| Timestamp(t.timestamp_millis()))
            .map_err(|_| format!("{text:?} is not an RFC 3339 time such as 2026-12-01T09:00:00Z"))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// An object that may hold only for a while: a grant, a role assignment, a membership.
pub trait Windowed {
    /// Its `not_before` and `expires_at`.
    fn window(&self) -> (Option<Timestamp>, Option<Timestamp>);

    /// Whether it holds at `at` (ms since the epoch).
    fn holds_at(&self, at: i64) -> bool {
        let (start, end) = self.window();
        holds_at(start, end, at)
    }

    /// When it stops holding, if it does.
    fn expires_at(&self) -> Option<Timestamp> {
        self.window().1
    }
}

/// Whether an object with this window holds at `at` (ms since the epoch).
pub fn holds_at(not_before: Option<Timestamp>, expires_at: Option<Timestamp>, at: i64) -> bool {
    not_before.is_none_or(|t| t.0 <= at) && expires_at.is_none_or(|t| at < t.0)
}

/// Checks a window: its end after its start.
pub(crate) fn check_window(
    c: &mut crate::invalid::Checker,
    not_before: Option<Timestamp>,
    expires_at: Option<Timestamp>,
) {
    if let (Some(start), Some(end)) = (not_before, expires_at) {
        if end <= start {
            c.fail("expires_at", "must be after not_before");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_read_any_offset_and_write_utc() {
        let t = Timestamp::parse("2026-12-01T10:00:00+01:00").expect("parses");
        assert_eq!(t.to_rfc3339(), "2026-12-01T09:00:00.000Z");
        assert!(Timestamp::parse("tomorrow").is_err());
        let (start, end) = (Some(Timestamp(10)), Some(Timestamp(20)));
        assert!(!holds_at(start, end, 9));
        assert!(holds_at(start, end, 10));
        assert!(holds_at(start, end, 19));
        assert!(!holds_at(start, end, 20), "an end is exclusive");
        assert!(holds_at(None, None, i64::MIN));
    }
}
