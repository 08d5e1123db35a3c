//! A check's body read by a small scanner rather than serde, for the shape nearly every
//! check has: `subject`, `action`, and `resource` or `data_path`, perhaps `explain`, with
//! strings that escape nothing. serde's derived decoder spends ~4,000 instructions on such
//! a body, most of them in per-string bookkeeping; this reads it in a fraction of that.
//!
//! The scanner only ever accepts a body that serde decodes to the same `CheckItem` (a
//! property test holds it to that). On anything else (another field, an escape, `null`,
//! a duplicate key, a wrong type, trailing bytes) it gives up, and serde decodes the
//! body, with serde's error if there is one.

use std::borrow::Cow;

use grantd_core::model::SubjectType;

use super::wire::{CheckItem, CheckResource, SubjectArg};

/// The check in `body`, if it has the common shape; `None` means "ask serde".
pub fn scan(body: &[u8]) -> Option<CheckItem<'_>> {
    let mut s = Scanner {
        text: std::str::from_utf8(body).ok()?,
        at: 0,
    };
    let (mut subject, mut action, mut resource, mut data_path, mut explain) =
        (None, None, None, None, None);
    s.object(|s, key| {
        match key {
            "subject" if subject.is_none() => subject = Some(s.subject()?),
            "action" if action.is_none() => action = Some(s.string()?),
            "resource" if resource.is_none() => resource = Some(s.resource()?),
            "data_path" if data_path.is_none() => data_path = Some(s.string()?),
            "explain" if explain.is_none() => explain = Some(s.boolean()?),
            _ => return None,
        }
        Some(())
    })?;
    s.skip_space();
    if s.at != s.text.len() {
        return None;
    }
    Some(CheckItem {
        subject: subject?,
        action: Cow::Borrowed(action?),
        resource,
        data_path: data_path.map(Cow::Borrowed),
        explain: explain.unwrap_or(false),
        consistency: None,
    })
}

struct Scanner<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scanner<'a> {
    fn skip_space(&mut self) {
        let rest = &self.text.as_bytes()[self.at..];
        self.at += rest
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            .count();
    }

    /// Skips white space, then takes `byte`.
    fn take(&mut self, byte: u8) -> Option<()> {
        self.skip_space();
        (self.text.as_bytes().get(self.at) == Some(&byte)).then(|| self.at += 1)
    }

    /// A string with no escape and no control character, borrowed.
    fn string(&mut self) -> Option<&'a str> {
        self.take(b'"')?;
        let bytes = self.text.as_bytes();
        let start = self.at;
        let length = bytes[start..]
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        let end = start + length;
        if bytes[end] != b'"' {
            return None;
        }
        self.at = end + 1;
        // The bounds are ASCII bytes, so they are character boundaries.
        self.text.get(start..end)
    }

    fn boolean(&mut self) -> Option<bool> {
        self.skip_space();
        let rest = &self.text[self.at..];
        let (value, length) = if rest.starts_with("true") {
            (true, 4)
        } else if rest.starts_with("false") {
            (false, 5)
        } else {
            return None;
        };
        self.at += length;
        Some(value)
    }

    /// An object, each of whose values `value` reads after its key.
    fn object(&mut self, mut value: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.take(b'{')?;
        let mut first = true;
        loop {
            self.skip_space();
            if self.text.as_bytes().get(self.at) == Some(&b'}') {
                // `{}` closes at once; after a member, `}` comes through the `,` test below.
                if !first {
                    return None;
                }
                self.at += 1;
                return Some(());
            }
            let key = self.string()?;
            self.take(b':')?;
            value(self, key)?;
            first = false;
            self.skip_space();
            match self.text.as_bytes().get(self.at) {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
            // After a comma, another member must follow.
            self.skip_space();
            if self.text.as_bytes().get(self.at) != Some(&b'"') {
                return None;
            }
        }
    }

    fn subject(&mut self) -> Option<SubjectArg<'a>> {
        let (mut kind, mut id) = (None, None);
        self.object(|s, key| {
            match key {
                "type" if kind.is_none() => kind = Some(SubjectType::parse(s.string()?)?),
                "id" if id.is_none() => id = Some(s.string()?),
                _ => return None,
            }
            Some(())
        })?;
        Some(SubjectArg {
            subject_type: kind?,
            id: Cow::Borrowed(id?),
        })
    }

    fn resource(&mut self) -> Option<CheckResource<'a>> {
        let (mut kind, mut id) = (None, None);
        self.object(|s, key| {
            match key {
                "type" if kind.is_none() => kind = Some(s.string()?),
                "id" if id.is_none() => id = Some(s.string()?),
                _ => return None,
            }
            Some(())
        })?;
        Some(CheckResource {
            resource_type: Cow::Borrowed(kind?),
            id: Cow::Borrowed(id?),
            labels: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn serde(body: &str) -> Result<CheckItem<'_>, serde_json::Error> {
        serde_json::from_str(body)
    }

    #[test]
    fn the_common_shapes_are_scanned() {
        for body in [
            r#"{"subject":{"type":"user","id":"user:1"},"action":"read","resource":{"type":"doc","id":"doc:1"}}"#,
            " {\n \"action\" : \"read\" ,\t\"subject\": {\"id\": \"ü\", \"type\": \"user\"},\r\n \"data_path\": \"hive/c1/*\", \"explain\": true } ",
            r#"{"subject":{"type":"group","id":"g"},"action":"","explain":false}"#,
        ] {
            let scanned = scan(body.as_bytes()).expect(body);
            assert_eq!(scanned, serde(body).expect(body), "{body}");
        }
    }

    #[test]
    fn anything_else_is_left_to_serde() {
        for body in [
            r#"{"subject":{"type":"user","id":"u"},"action":"read","consistency":{"mode":"fully_consistent"}}"#,
            r#"{"subject":{"type":"user","id":"u\"x"},"action":"read"}"#,
            r#"{"subject":{"type":"user","id":"u"},"action":"read","action":"write"}"#,
            r#"{"subject":{"type":"user","id":"u"},"action":"read","resource":null}"#,
            r#"{"subject":{"type":"user","id":"u"},"action":"read","resource":{"type":"d","id":"1","labels":{}}}"#,
            r#"{"subject":{"type":"robot","id":"u"},"action":"read"}"#,
            r#"{"subject":{"type":"user"},"action":"read"}"#,
            r#"{"action":"read"}"#,
            r#"{"subject":{"type":"user","id":"u"},"action":"read",}"#,
            r#"{"subject":{"type":"user","id":"u"},"action":"read"} x"#,
            r#"{"subject":{"type":"user","id":"u"},"action":1}"#,
            r#"{"subject":{"type":"user","id":"u"},"action":"read","explain":"yes"}"#,
            "{\"subject\":{\"type\":\"user\",\"id\":\"a\tb\"},\"action\":\"read\"}",
            r#"[]"#,
            "",
        ] {
            assert_eq!(scan(body.as_bytes()), None, "{body}");
        }
        assert_eq!(
            scan(b"{\"subject\":{\"type\":\"user\",\"id\":\"\xff\"},\"action\":\"r\"}"),
            None
        );
    }

    /// Bodies near the common shape: its members in any order, sometimes repeated, dropped
    /// or joined by another; strings with quotes, escapes, controls and non-ASCII
    /// characters; odd white space; cut short.
    fn near_check() -> impl Strategy<Value = String> {
        let text = prop_oneof![
            4 => "[a-z:._*/-]{0,8}",
            1 => "[a-zé\"\\\\\t\u{1}\u{7f}ü ]{0,6}",
        ];
        let quoted = text.clone().prop_map(|t| format!("\"{t}\""));
        let kind = prop_oneof![
            Just("user".to_string()),
            Just("group".to_string()),
            Just("robot".to_string()),
            text.clone()
        ];
        let value = prop_oneof![
            quoted.clone(),
            Just("true".to_string()),
            Just("false".to_string()),
            Just("null".to_string()),
            Just("1".to_string()),
            Just("{}".to_string()),
        ];
        let pair = |k: &'static str| (Just(k), value.clone());
        let subject = (kind, text.clone(), any::<bool>()).prop_map(|(k, id, swap)| {
            if swap {
                format!("{{\"id\":\"{id}\",\"type\":\"{k}\"}}")
            } else {
                format!("{{\"type\":\"{k}\",\"id\":\"{id}\"}}")
            }
        });
        let resource = (text.clone(), text.clone(), any::<bool>()).prop_map(|(t, id, labels)| {
            let labels = if labels { ",\"labels\":{}" } else { "" };
            format!("{{\"type\":\"{t}\",\"id\":\"{id}\"{labels}}}")
        });
        let member = prop_oneof![
            3 => subject.prop_map(|v| ("subject", v)),
            3 => quoted.clone().prop_map(|v| ("action", v)),
            2 => resource.prop_map(|v| ("resource", v)),
            1 => quoted.prop_map(|v| ("data_path", v)),
            1 => prop_oneof![Just("true"), Just("false")].prop_map(|v| ("explain", v.to_string())),
            1 => pair("explain"),
            1 => pair("resource"),
            1 => pair("consistency"),
            1 => pair("other"),
        ];
        let space = prop_oneof![Just(""), Just(" "), Just("\n\t"), Just("\r ")];
        (
            prop::collection::vec((member, space.clone()), 0..7),
            space,
            0usize..4,
            any::<u16>(),
        )
            .prop_map(|(members, space, damage, at)| {
                let inner: Vec<String> = members
                    .into_iter()
                    .map(|((k, v), sp)| format!("{sp}\"{k}\"{sp}:{sp}{v}{sp}"))
                    .collect();
                let body = format!("{space}{{{}}}{space}", inner.join(","));
                match damage {
                    // Cut short, or with something after the object.
                    0 => {
                        let mut end = at as usize % (body.len() + 1);
                        while !body.is_char_boundary(end) {
                            end -= 1;
                        }
                        body[..end].to_string()
                    }
                    1 => format!("{body}x"),
                    _ => body,
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn what_the_scanner_accepts_serde_decodes_the_same(body in near_check()) {
            if let Some(scanned) = scan(body.as_bytes()) {
                let decoded = serde(&body);
                prop_assert!(decoded.is_ok(), "serde refuses {body:?}: {decoded:?}");
                prop_assert_eq!(Ok(scanned), decoded.map_err(|e| e.to_string()));
            }
        }
    }
}
