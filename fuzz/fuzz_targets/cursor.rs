//! Page cursors come back from clients: decoding any bytes never panics, and what encode
//! makes decodes to what went in.
#![no_main]

use grantd_server::http::cursor::{decode, encode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = decode(&text);
    assert_eq!(decode(&encode(&text)).as_deref(), Some(text.as_ref()));
});
