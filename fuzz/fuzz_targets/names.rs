//! The rules for names from outside: identifiers, permission names, data paths, labels,
//! emails. None panics on any input, and what they accept stays within their limits.
#![no_main]

use std::collections::BTreeMap;

use grantd_core::ids;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    if ids::identifier(&text).is_ok() {
        assert!(!text.is_empty() && text.len() <= ids::MAX_ID_LEN && !text.contains('/'));
    }
    if ids::permission_name(&text).is_ok() {
        assert!(text.len() <= ids::MAX_PERMISSION_LEN && text.is_ascii());
    }
    if ids::data_path(&text).is_ok() {
        assert!(!text.split('/').any(str::is_empty));
    }
    let _ = ids::action(&text);
    let _ = ids::email(&text);
    let _ = ids::resource_type(&text);
    let (key, value) = text.split_once('=').unwrap_or((&text, ""));
    let _ = ids::labels(&BTreeMap::from([(key.to_string(), value.to_string())]));
});
