//! Rules for the strings that name things: identifiers, resource types, actions, labels,
//! permission names and data paths. Each returns a message fit for a `FieldError`.

use std::collections::BTreeMap;

/// Longest identifier of a user, group, role, resource, grant or tenant.
pub const MAX_ID_LEN: usize = 128;
/// Longest permission name (SlashID allows 1,024).
pub const MAX_PERMISSION_LEN: usize = 1024;
/// Longest free-text field (names, descriptions, label values).
pub const MAX_TEXT_LEN: usize = 1024;
/// Most labels or attributes on one object.
pub const MAX_LABELS: usize = 64;
/// Most actions in one role or grant.
pub const MAX_ACTIONS: usize = 256;
/// Most segments in a data path (datasource/cluster/database/schema/table/column and room to spare).
pub const MAX_PATH_SEGMENTS: usize = 8;

fn id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@' | ':' | '+' | '~')
}

/// An identifier: 1 to 128 of `A-Z a-z 0-9 _ - . @ : + ~`, starting with a letter or digit.
/// `/` is excluded so that identifiers can be joined into composite keys and URL paths.
pub fn identifier(value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > MAX_ID_LEN {
        return Err(format!("must be 1 to {MAX_ID_LEN} characters long"));
    }
    if !value.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err("must start with a letter or a digit".into());
    }
    match value.chars().find(|c| !id_char(*c)) {
        Some(c) => Err(format!(
            "must contain only letters, digits and _ - . @ : + ~ (found {c:?})"
        )),
        None => Ok(()),
    }
}

/// A resource type such as `SOURCE` or `document`: a letter, then letters, digits, `_ - .`.
pub fn resource_type(value: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&value.len())
        && value.starts_with(|c: char| c.is_ascii_alphabetic())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    ok.then_some(())
        .ok_or_else(|| "must be 1 to 64 characters: a letter, then letters, digits, _ - .".into())
}

/// An action such as `read`, `source.write`, `SELECT`, `*` for every action, or a
/// permission name (which roles list as their actions), so up to 1,024 characters.
pub fn action(value: &str) -> Result<(), String> {
    let ok = (1..=MAX_PERMISSION_LEN).contains(&value.len())
        && value.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '*' | '/' | '\\')
        });
    ok.then_some(())
        .ok_or_else(|| "must be 1 to 1024 of letters, digits and _ - . : * / \\".into())
}

/// A permission name as SlashID defines it: `^[A-Za-z0-9][\w./\\\-:]*[A-Za-z0-9]$`
/// (a single letter or digit is also accepted), at most 1,024 characters, ASCII `\w`.
pub fn permission_name(value: &str) -> Result<(), String> {
    let bytes = value.as_bytes();
    let edge = |b: u8| b.is_ascii_alphanumeric();
    let inner =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'\\' | b'-' | b':');
    let ok = !bytes.is_empty()
        && bytes.len() <= MAX_PERMISSION_LEN
        && edge(bytes[0])
        && edge(bytes[bytes.len() - 1])
        && bytes.iter().all(|b| inner(*b));
    ok.then_some(()).ok_or_else(|| {
        format!("must be 1 to {MAX_PERMISSION_LEN} characters, start and end with a letter or digit, and contain only letters, digits and _ . / \\ - :")
    })
}

/// Optional free text: at most 1,024 characters, no control characters.
pub fn text(value: &Option<String>) -> Result<(), String> {
    match value {
        Some(v) if v.chars().count() > MAX_TEXT_LEN => {
            Err(format!("must be at most {MAX_TEXT_LEN} characters"))
        }
        Some(v) if v.chars().any(char::is_control) => {
            Err("must not contain control characters".into())
        }
        _ => Ok(()),
    }
}

/// An email address: 3 to 254 characters, no spaces or control characters, one `@` with
/// something on each side.
pub fn email(value: &str) -> Result<(), String> {
    let ok = (3..=254).contains(&value.len())
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    ok.then_some(())
        .ok_or_else(|| "must be an email address such as ada@example.com".into())
}

/// Labels or attributes: at most 64 entries, keys 1 to 128 of letters, digits and `_ - . /`,
/// values at most 1,024 characters without control characters.
pub fn labels(value: &BTreeMap<String, String>) -> Result<(), String> {
    if value.len() > MAX_LABELS {
        return Err(format!("must have at most {MAX_LABELS} entries"));
    }
    for (key, val) in value {
        let key_ok = (1..=MAX_ID_LEN).contains(&key.len())
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'));
        if !key_ok {
            return Err(format!(
                "key {key:?} must be 1 to 128 of letters, digits and _ - . /"
            ));
        }
        text(&Some(val.clone())).map_err(|m| format!("value of {key:?} {m}"))?;
    }
    Ok(())
}

/// A data-path pattern such as `hive/cluster1/sales/*/orders`: 1 to 8 segments separated by
/// `/`, each non-empty, at most 256 characters, no control characters; `*` alone matches any
/// one segment.
pub fn data_path(value: &str) -> Result<(), String> {
    let segments: Vec<&str> = value.split('/').collect();
    if segments.len() > MAX_PATH_SEGMENTS {
        return Err(format!("must have at most {MAX_PATH_SEGMENTS} segments"));
    }
    for (i, segment) in segments.iter().enumerate() {
        if segment.is_empty() {
            return Err(format!("segment {} is empty", i + 1));
        }
        if segment.len() > 256 || segment.chars().any(char::is_control) {
            return Err(format!(
                "segment {} must be at most 256 characters without control characters",
                i + 1
            ));
        }
        if segment.contains('*') && *segment != "*" {
            return Err(format!(
                "segment {} may be `*` alone, not contain it",
                i + 1
            ));
        }
    }
    Ok(())
}

/// The path of one data object, as a check or a lookup of subjects asks about it: a data
/// path without `*`. A wildcard in the question would be matched by ALLOW patterns but by
/// no DENY literal below it, and so be allowed over a partly denied subtree.
pub fn object_path(value: &str) -> Result<(), String> {
    data_path(value)?;
    match value.split('/').position(|s| s == "*") {
        Some(i) => Err(format!(
            "segment {} is `*`: a check names one data object; list what a pattern covers with lookup/resources",
            i + 1
        )),
        None => Ok(()),
    }
}

/// A list of actions: 1 to 256 valid actions.
pub fn actions(value: &[String], allow_empty: bool) -> Result<(), String> {
    if value.is_empty() && !allow_empty {
        return Err("must name at least one action".into());
    }
    if value.len() > MAX_ACTIONS {
        return Err(format!("must have at most {MAX_ACTIONS} actions"));
    }
    for a in value {
        action(a).map_err(|m| format!("action {a:?} {m}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert!(identifier("u1").is_ok());
        assert!(identifier("alice@example.com").is_ok());
        assert!(identifier("").is_err());
        assert!(identifier("-x").is_err());
        assert!(identifier("a/b").is_err());
        assert!(identifier(&"a".repeat(129)).is_err());
    }

    #[test]
    fn permission_names_follow_slashid() {
        assert!(permission_name("a").is_ok());
        assert!(permission_name("docs/read:all").is_ok());
        assert!(permission_name("admin\\x").is_ok());
        assert!(permission_name("read.").is_err());
        assert!(permission_name("-read").is_err());
        assert!(permission_name("re ad").is_err());
        assert!(permission_name("é").is_err());
        assert!(permission_name(&"a".repeat(1025)).is_err());
        assert!(permission_name(&"a".repeat(1024)).is_ok());
    }

    #[test]
    fn data_paths() {
        assert!(data_path("hive/c1/db/*/t").is_ok());
        assert!(data_path("hive//t").is_err());
        assert!(data_path("hive/t*").is_err());
        assert!(data_path("a/b/c/d/e/f/g/h/i").is_err());
    }
}

/// Longest row filter, in bytes.
pub const MAX_ROW_FILTER: usize = 1000;

/// A row filter: one boolean SQL expression, nothing that could end it and start another
/// statement: no `;`, no comment, no dollar quoting or backslash escapes, quotes closed and
/// parentheses balanced outside them. The database then checks it parses as an expression.
pub fn row_filter(value: &str) -> Result<(), String> {
    if value.trim().is_empty() || value.len() > MAX_ROW_FILTER {
        return Err(format!("must be 1 to {MAX_ROW_FILTER} bytes"));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, ' ' | '\t' | '\n'))
    {
        return Err("must not hold control characters".into());
    }
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    if value.contains('\\') {
        // Anywhere, quoted too: an E'...' string escapes its quote with one.
        return Err("must not use \\ (escapes)".into());
    }
    for c in value.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' => quote = Some(c),
                '(' => depth += 1,
                ')' if depth == 0 => return Err("has a ) without its (".into()),
                ')' => depth -= 1,
                ';' => return Err("must be one expression: no ;".into()),
                '-' if previous == '-' => return Err("must not hold a comment (--)".into()),
                '*' if previous == '/' => return Err("must not hold a comment (/*)".into()),
                '$' => return Err("must not use $ (dollar quoting)".into()),
                _ => {}
            },
        }
        previous = c;
    }
    if quote.is_some() {
        return Err("has a quote left open".into());
    }
    if depth != 0 {
        return Err("has a ( left open".into());
    }
    Ok(())
}

#[cfg(test)]
mod row_filter_tests {
    use super::row_filter;

    #[test]
    fn a_row_filter_is_one_expression() {
        for good in [
            "region = 'eu'",
            "amount > 10 AND (region IN ('eu', 'uk'))",
            "note = 'a;b -- c'",
            "\"we;ird\" = 1",
        ] {
            assert!(row_filter(good).is_ok(), "{good}");
        }
        for bad in [
            "true); DROP TABLE t; --",
            "true) OR (1=1",
            "a = 1 -- rest",
            "a = 1 /* x */",
            "a = $$x$$",
            "a = 'open",
            "((a = 1)",
            "a = E'\\''",
            "a = E'\\'' -- x'",
            "note = 'x\\y'",
            "",
        ] {
            assert!(row_filter(bad).is_err(), "{bad}");
        }
    }
}
