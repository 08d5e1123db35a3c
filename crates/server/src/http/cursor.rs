//! Opaque page cursors. A cursor wraps the position after which the next page starts; it
//! is opaque so that the position's form can change without breaking clients.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

const VERSION: &str = "1:";

pub fn encode(position: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{VERSION}{position}"))
}

/// The position in a cursor, or `None` if the cursor was not made by `encode`.
pub fn decode(cursor: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix(VERSION)
        .map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_junk() {
        assert_eq!(decode(&encode("g1/user:é")).as_deref(), Some("g1/user:é"));
        assert_eq!(decode("not a cursor"), None);
        assert_eq!(decode(&URL_SAFE_NO_PAD.encode("2:x")), None);
    }
}
