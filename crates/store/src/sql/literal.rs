//! Values written into a statement's own text, for PostgreSQL's simple protocol: the one
//! way to send several statements in one round trip (a `BEGIN` or a `COMMIT` beside the
//! statement it goes with), and one that takes no parameters.
//!
//! Every PostgreSQL connection of the pool is set to `standard_conforming_strings = on`
//! (`dialect`) and speaks UTF-8, so inside a quoted string the quote is the only special
//! character: doubling it is the whole of the quoting. Nothing here is used for SQLite,
//! whose driver binds parameters beside several statements.

use crate::{Result, StoreError};

/// `'value'`, each quote doubled. A NUL would end the statement's text on the wire (and
/// is no character PostgreSQL stores in text): refused.
pub(super) fn text(value: &str) -> Result<String> {
    if value.contains('\0') {
        return Err(StoreError::Internal(
            "a value holds a NUL character, which the database cannot store".into(),
        ));
    }
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('\'');
    for piece in value.split_inclusive('\'') {
        quoted.push_str(piece);
        if piece.ends_with('\'') {
            quoted.push('\'');
        }
    }
    quoted.push('\'');
    Ok(quoted)
}

/// `text(value)`, or `NULL`.
pub(super) fn optional(value: Option<&str>) -> Result<String> {
    value.map_or_else(|| Ok("NULL".to_string()), text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_doubled_and_nothing_else_changes() {
        assert_eq!(text("").unwrap(), "''");
        assert_eq!(text("plain").unwrap(), "'plain'");
        assert_eq!(text("it's").unwrap(), "'it''s'");
        assert_eq!(text("''").unwrap(), "''''''");
        assert_eq!(
            text("a'); DROP TABLE objects; --").unwrap(),
            "'a''); DROP TABLE objects; --'"
        );
        assert_eq!(text(r"back\slash\'").unwrap(), r"'back\slash\'''");
        assert_eq!(text("$$dollar$$ é 名").unwrap(), "'$$dollar$$ é 名'");
        assert_eq!(optional(None).unwrap(), "NULL");
        assert_eq!(optional(Some("NULL")).unwrap(), "'NULL'");
    }

    #[test]
    fn a_nul_is_refused() {
        assert!(text("a\0b").is_err());
        assert!(optional(Some("\0")).is_err());
    }
}
