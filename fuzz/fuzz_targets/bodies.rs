//! JSON bodies into the model's types: decoding any bytes and validating what decodes
//! never panics, and an object that validates has a key and references that render.
#![no_main]

use grantd_core::model::{DataPermission, Grant, Invite, PermissionSet, Resource, Role, User};
use grantd_core::Object;
use libfuzzer_sys::fuzz_target;

fn check<K: Object>(data: &[u8]) {
    if let Ok(object) = serde_json::from_slice::<K>(data) {
        if object.validate().is_ok() {
            let _ = object.key();
            for r in object.refs() {
                let _ = r.target.to_string();
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check::<User>(data);
    check::<Role>(data);
    check::<Resource>(data);
    check::<Grant>(data);
    check::<Invite>(data);
    check::<PermissionSet>(data);
    if let Ok(p) = serde_json::from_slice::<DataPermission>(data) {
        if p.validate().is_ok() {
            let _ = p.path();
            let _ = p.covers(&p);
        }
    }
});
