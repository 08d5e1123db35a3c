//! A request body's fields read the way Segment validates them: every wrong field named
//! with its path (`permissions.0.roleId`), all of them in one answer.

use grantd_core::FieldError;
use serde_json::{Map, Value};

use super::error::{SegmentError, SegmentResult};

/// Collects every field failure of a request, so one 422 names them all.
#[derive(Default)]
pub struct Fields {
    errors: Vec<FieldError>,
}

impl Fields {
    pub fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// `parent[key]`, reported as required when absent or null.
    pub fn required<'v>(&mut self, parent: &'v Value, key: &str, path: &str) -> Option<&'v Value> {
        match parent.get(key) {
            Some(Value::Null) | None => {
                self.fail(path, format!("\"{key}\" is required"));
                None
            }
            found => found,
        }
    }

    /// `parent[key]` as a required string of 1 to `max` characters, reported at `at.key`.
    pub fn required_string(
        &mut self,
        parent: &Value,
        key: &str,
        at: &str,
        max: usize,
    ) -> Option<String> {
        let path = if at.is_empty() {
            key.to_string()
        } else {
            format!("{at}.{key}")
        };
        let value = self.required(parent, key, &path);
        self.string(value, &path, max)
    }

    /// The objects of an array, each with its path (`path.N`); other items are reported.
    pub fn items<'v>(&mut self, value: Option<&'v Value>, path: &str) -> Vec<(String, &'v Value)> {
        let Some(items) = self.array(value, path) else {
            return Vec::new();
        };
        let mut objects = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{path}.{i}");
            if self.object(Some(item), &at).is_some() {
                objects.push((at, item));
            }
        }
        objects
    }

    /// A string of 1 to `max` characters.
    pub fn string(&mut self, value: Option<&Value>, path: &str, max: usize) -> Option<String> {
        match value? {
            Value::String(s) if !s.is_empty() && s.chars().count() <= max => Some(s.clone()),
            Value::String(_) => {
                self.fail(path, format!("must be 1 to {max} characters"));
                None
            }
            _ => {
                self.fail(path, "must be a string");
                None
            }
        }
    }

    pub fn array<'v>(&mut self, value: Option<&'v Value>, path: &str) -> Option<&'v [Value]> {
        match value? {
            Value::Array(items) => Some(items),
            _ => {
                self.fail(path, "must be an array");
                None
            }
        }
    }

    pub fn object<'v>(
        &mut self,
        value: Option<&'v Value>,
        path: &str,
    ) -> Option<&'v Map<String, Value>> {
        match value? {
            Value::Object(map) => Some(map),
            _ => {
                self.fail(path, "must be an object");
                None
            }
        }
    }

    /// The required body itself, as an object.
    pub fn body<'v>(&mut self, body: &'v Value) -> Option<&'v Value> {
        match body {
            Value::Object(_) => Some(body),
            Value::Null => {
                self.fail("body", "a JSON body is required");
                None
            }
            _ => {
                self.fail("body", "must be a JSON object");
                None
            }
        }
    }

    /// Fails with every collected failure, if any.
    pub fn finish(self) -> SegmentResult<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(SegmentError::invalid(self.errors))
        }
    }
}
