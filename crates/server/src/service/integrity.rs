//! What every write checks inside its transaction, whatever command makes it: the object
//! is valid, what it references exists, the edges it adds close no cycle and make no chain
//! of inheritance longer than the limits; and a delete's cascade: what references the
//! deleted object by a cascading reference goes with it, and a restricting one refuses it.

use std::collections::BTreeSet;

use grantd_core::model::Timestamp;
use grantd_core::{Invalid, Object, ObjectKey};
use grantd_store::{Expect, NewObject, NewRef, WriteTx};

use super::graph::{self, Direction};
use super::objects::{describe, Versioned};
use super::{Service, ServiceError, ServiceResult};

impl Service {
    /// Writes a valid object inside `tx`: its references must exist and its edges must not
    /// close a cycle.
    pub(super) async fn write_in<K: Object>(
        &self,
        tx: &mut Box<dyn WriteTx>,
        object: &K,
        expect: Expect,
    ) -> ServiceResult<Versioned<K>> {
        object.validate()?;
        let target = object.object_key();
        let body = serde_json::to_value(object)
            .map_err(|e| ServiceError::Internal(format!("cannot encode {target}: {e}")))?;
        refuse_past_end(&mut **tx, &body, &target).await?;
        let refs = object.refs();
        // What the object refers to, in one read.
        let wanted: Vec<(&str, &str)> = refs
            .iter()
            .map(|r| (r.target.kind.as_str(), r.target.key.as_str()))
            .collect();
        let found = if wanted.is_empty() {
            Vec::new()
        } else {
            tx.existing(&wanted).await?
        };
        let mut missing = Vec::new();
        for r in &refs {
            let there = found
                .iter()
                .any(|(kind, key)| kind == r.target.kind.as_str() && *key == r.target.key);
            if !there {
                missing.push(grantd_core::FieldError {
                    field: r.field.to_string(),
                    message: format!("{} does not exist", describe(&r.target)),
                });
            }
        }
        if !missing.is_empty() {
            return Err(Invalid(missing).into());
        }
        // Only the edges this write adds are checked: an edge the object already had closes
        // no new cycle and makes no chain longer, and an object written before a limit was
        // lowered stays editable.
        let mut edges = object.edges();
        let mut had = 0;
        if !edges.is_empty() {
            if let Some(stored) = tx.get(K::KIND.as_str(), &target.key).await? {
                let old: Vec<_> = serde_json::from_value::<K>(stored.body)
                    .map(|old| old.edges())
                    .unwrap_or_default();
                had = old.len();
                edges.retain(|edge| !old.contains(edge));
            }
        }
        let field = match K::KIND {
            grantd_core::Kind::Role => "includes",
            grantd_core::Kind::Member => "member",
            grantd_core::Kind::PermissionSet => "parent_id",
            _ => "parent",
        };
        let limits = self.limits;
        let inherits = object.edges().len();
        if inherits > limits.max_includes as usize && inherits > had {
            return Err(Invalid::field(
                field,
                format!(
                    "{} inherits from {} others directly; the limit is {} (max_includes)",
                    describe(&target),
                    inherits,
                    limits.max_includes
                ),
            )
            .into());
        }
        for (from, to) in &edges {
            if let Some(path) = graph::path_between(&mut **tx, to, from).await? {
                let mut cycle: Vec<String> = vec![describe(from), describe(to)];
                cycle.extend(path.iter().map(describe));
                return Err(ServiceError::Conflict {
                    code: "cycle_detected",
                    message: format!(
                        "this would create a cycle: {} (each inherits from the next)",
                        cycle.join(" -> ")
                    ),
                });
            }
        }
        // Acyclic, so every chain ends: how long would the longest through each new edge be?
        for (from, to) in &edges {
            let above = graph::longest_chain(&mut **tx, to, Direction::Up, limits).await?;
            let below = graph::longest_chain(&mut **tx, from, Direction::Down, limits).await?;
            if above + 1 + below > limits.max_depth {
                return Err(Invalid::field(
                    field,
                    format!(
                        "{} under {} would make a chain of inheritance {} deep; the limit is {} (max_nesting_depth)",
                        describe(from),
                        describe(to),
                        above + 1 + below,
                        limits.max_depth
                    ),
                )
                .into());
            }
        }
        let new = NewObject {
            kind: K::KIND.as_str().to_string(),
            key: target.key.clone(),
            body,
            refs: refs
                .iter()
                .map(|r| NewRef {
                    field: r.field.to_string(),
                    target: r.target.to_string(),
                    cascade: r.on_delete == grantd_core::OnDelete::Cascade,
                })
                .collect(),
        };
        let stored = tx
            .put(new, expect)
            .await
            .map_err(|e| ServiceError::from_store(e, &describe(&target)))?;
        Versioned::decode(stored)
    }
}

/// Refuses a window that a write sets or moves to end in the past: access that ends is
/// written ahead of its end (an end already stored may stay as it is, passed or not).
async fn refuse_past_end(
    tx: &mut dyn WriteTx,
    body: &serde_json::Value,
    target: &ObjectKey,
) -> ServiceResult<()> {
    fn end(body: &serde_json::Value) -> Option<Timestamp> {
        body.get("expires_at")
            .and_then(serde_json::Value::as_str)
            .and_then(|t| Timestamp::parse(t).ok())
    }
    let Some(new_end) = end(body) else {
        return Ok(());
    };
    if new_end.0 > super::now_millis() {
        return Ok(());
    }
    let stored = tx.get(target.kind.as_str(), &target.key).await?;
    if stored.is_some_and(|s| end(&s.body) == Some(new_end)) {
        return Ok(());
    }
    Err(Invalid::field(
        "expires_at",
        format!("{} is not in the future", new_end.to_rfc3339()),
    )
    .into())
}

/// Deletes `target` (if `expect` holds) and, first, everything that cascades from it.
/// Refused with a conflict while an object outside the cascade restricts it. Returns the
/// deleted keys, `target` first.
pub(super) async fn delete_with_dependents(
    tx: &mut dyn WriteTx,
    target: &ObjectKey,
    expect: Expect,
) -> ServiceResult<Vec<ObjectKey>> {
    let what = describe(target);
    let this = [(target.kind.as_str(), target.key.as_str())];
    if tx.existing(&this).await?.is_empty() {
        return Err(ServiceError::NotFound(what));
    }
    let mut doomed: Vec<ObjectKey> = vec![target.clone()];
    let mut seen: BTreeSet<ObjectKey> = doomed.iter().cloned().collect();
    let mut restricting = Vec::new();
    let mut next = 0;
    while next < doomed.len() {
        let key = doomed[next].clone();
        next += 1;
        for holder in tx.referencing(&key.to_string()).await? {
            let Some(kind) = grantd_core::Kind::parse(&holder.kind) else {
                continue;
            };
            let holder_key = ObjectKey::new(kind, holder.key);
            if holder.cascade {
                if seen.insert(holder_key.clone()) {
                    doomed.push(holder_key);
                }
            } else {
                restricting.push((holder_key, holder.field, key.clone()));
            }
        }
    }
    restricting.retain(|(holder, _, _)| !seen.contains(holder));
    if !restricting.is_empty() {
        let reasons: Vec<String> = restricting
            .iter()
            .map(|(holder, field, on)| {
                format!(
                    "{} refers to {} in `{field}`",
                    describe(holder),
                    describe(on)
                )
            })
            .collect();
        return Err(ServiceError::Conflict {
            code: "still_referenced",
            message: format!("{what} is still in use: {}", reasons.join("; ")),
        });
    }
    tx.delete(target.kind.as_str(), &target.key, expect)
        .await
        .map_err(|e| ServiceError::from_store(e, &what))?;
    for key in &doomed[1..] {
        tx.delete(key.kind.as_str(), &key.key, Expect::Any)
            .await
            .map_err(|e| ServiceError::from_store(e, &describe(key)))?;
    }
    Ok(doomed)
}
