//! Export and import: a tenant's objects as lines of NDJSON, one object a line
//! (`{"kind": "grant", "body": {...}}`, the body in the form the native API reads it); out
//! from one snapshot of the store, in as one transaction.
//!
//! What a permission set derives (its role, the grants of its data permissions, its
//! members' assignments and the inclusion of its role in a member role) is not exported:
//! importing the set writes it again, as any write of the set does, so that the set stays
//! its one owner. An import that names such an object itself is refused.

use std::collections::HashMap;

use grantd_core::model::{
    Assignment, DataPermission, DataSource, Grant, Group, Invite, Label, Member, Permission,
    PermissionSet, Resource, Role, SecurityAdmin, SetMember, User,
};
use grantd_core::{FieldError, Invalid, Kind, Object, ObjectKey};
use grantd_store::{Expect, ListQuery, ObjectText, ReadTx};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::batch::Batch;
use super::derived::{self, DATAARTS_SET};
use super::{Ctx, Service, ServiceError, ServiceResult};

/// The kinds an export holds, in the order an import writes them: each after the kinds
/// its objects refer to. Within a kind whose objects refer to each other (roles including
/// roles, resources in resources, sets in sets), parents come first.
const KINDS: [Kind; 15] = [
    Kind::Label,
    Kind::Permission,
    Kind::Role,
    Kind::User,
    Kind::Group,
    Kind::Member,
    Kind::Resource,
    Kind::Assignment,
    Kind::Grant,
    Kind::PermissionSet,
    Kind::DataPermission,
    Kind::SetMember,
    Kind::Invite,
    Kind::SecurityAdmin,
    Kind::DataSource,
];

/// Objects read from the store per round trip of an export.
const PAGE: u32 = 2000;

/// Validation errors reported at most, so that a file wrong on every line gets a readable
/// answer.
const MAX_ERRORS: usize = 100;

/// Objects one import may hold.
const MAX_OBJECTS: usize = 2_000_000;

/// Threads that check one import's lines at most.
const CHECKING_THREADS: usize = 4;

/// One line of an export or an import: the kind (`user`, `grant`, `permission_set`...)
/// and the object.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    pub kind: String,
    pub body: Value,
}

/// A tenant's objects being read for export, at one revision.
pub struct Export {
    read: Box<dyn ReadTx>,
    /// The next kind to read (an index into `KINDS`) and the last key read of it.
    kind: usize,
    after: Option<String>,
    /// The lines of the page read last, made on the blocking pool while the next is read.
    making: Option<tokio::task::JoinHandle<ServiceResult<Vec<u8>>>>,
}

impl Export {
    /// The revision the export shows the tenant at.
    pub fn revision(&self) -> i64 {
        self.read.revision()
    }

    /// The next lines as NDJSON, in `KINDS` order and key order within a kind; `None` once
    /// all are read. A page's lines are made on the blocking pool while the next page is
    /// read.
    pub async fn next_lines(&mut self) -> ServiceResult<Option<Vec<u8>>> {
        loop {
            let next = self.next_page().await?;
            let made = match self.making.take() {
                Some(making) => Some(making.await.map_err(|e| {
                    ServiceError::Internal(format!("an export's page failed: {e}"))
                })??),
                None => None,
            };
            if let Some((kind, page)) = next {
                let making = tokio::task::spawn_blocking(move || lines_of(kind, page));
                self.making = Some(making);
            }
            match made {
                Some(lines) if !lines.is_empty() => return Ok(Some(lines)),
                // Nothing made yet, or a page of objects that sets derive.
                _ if self.making.is_some() => continue,
                Some(_) => continue,
                None => return Ok(None),
            }
        }
    }

    /// The next page of objects, with their kind; `None` once every kind is read.
    async fn next_page(&mut self) -> ServiceResult<Option<(Kind, Vec<ObjectText>)>> {
        while let Some(&kind) = KINDS.get(self.kind) {
            let query = ListQuery {
                prefix: None,
                after: self.after.take(),
                limit: PAGE,
            };
            let page = self.read.list(kind.as_str(), &query).await?;
            if page.len() < PAGE as usize {
                self.kind += 1;
            } else {
                self.after = page.last().map(|o| o.key.clone());
            }
            if !page.is_empty() {
                return Ok(Some((kind, page)));
            }
        }
        Ok(None)
    }
}

/// The NDJSON lines of a page of objects of `kind`, as stored.
fn lines_of(kind: Kind, page: Vec<ObjectText>) -> ServiceResult<Vec<u8>> {
    let mut lines = Vec::with_capacity(page.iter().map(|o| o.body.len() + 32).sum());
    let set_role = PermissionSet::role_of("");
    for object in page {
        if as_stored(kind, &object.body, &set_role) {
            lines.extend_from_slice(b"{\"kind\":\"");
            lines.extend_from_slice(kind.as_str().as_bytes());
            lines.extend_from_slice(b"\",\"body\":");
            lines.extend_from_slice(object.body.as_bytes());
            lines.extend_from_slice(b"}\n");
            continue;
        }
        let body: Value = serde_json::from_str(&object.body)
            .map_err(|e| ServiceError::Internal(format!("a stored {kind:?} is unreadable: {e}")))?;
        if let Some(body) = exported(kind, body) {
            let line = Line {
                kind: kind.as_str().to_string(),
                body,
            };
            serde_json::to_writer(&mut lines, &line)
                .map_err(|e| ServiceError::Internal(format!("an export's line failed: {e}")))?;
            lines.push(b'\n');
        }
    }
    Ok(lines)
}

/// Whether an object's document is exported as stored, without reading it: one that names
/// no permission set is none a set derives and includes no set's role (`exported` would
/// give it back unchanged), and a data source's is never (its secret is taken out). The
/// stored text is `serde_json`'s, which escapes no letter, so a name in it is there as is.
/// `set_role` is what every set's role starts with.
fn as_stored(kind: Kind, text: &str, set_role: &str) -> bool {
    kind != Kind::DataSource && !text.contains(DATAARTS_SET) && !text.contains(set_role)
}

/// The body an export writes for an object, or `None` if a permission set derives it.
fn exported(kind: Kind, mut body: Value) -> Option<Value> {
    if kind == Kind::Role {
        // A set's role included in a member role is the set's to write.
        strip_set_roles(&mut body);
    }
    if kind == Kind::DataSource {
        // A secret leaves by no read: an export is one. Set it again after an import.
        if let Some(map) = body.as_object_mut() {
            map.remove("password");
        }
    }
    derived_from_set(kind, &body).is_none().then_some(body)
}

/// Takes the permission sets' roles out of a role's `includes`.
fn strip_set_roles(role: &mut Value) {
    if let Some(Value::Array(includes)) = role.get_mut("includes") {
        includes.retain(|r| !r.as_str().is_some_and(derived::owned_role));
    }
}

/// Whether a permission set derives this object, or it hands out a set's role (which
/// only the set does): the field that says so.
fn derived_from_set(kind: Kind, body: &Value) -> Option<&'static str> {
    let origin = body.get("origin").and_then(Value::as_str);
    if origin.is_some_and(|o| o.starts_with(DATAARTS_SET)) {
        return Some("origin");
    }
    let names_set_role = |kind: Kind, body: &Value| {
        derived::set_roles(kind, body, true)
            .into_iter()
            .any(derived::owned_role)
    };
    match kind {
        Kind::Invite => body
            .get("grants")
            .and_then(Value::as_array)
            .is_some_and(|grants| grants.iter().any(|g| names_set_role(Kind::Grant, g)))
            .then_some("grants"),
        Kind::Role | Kind::Assignment | Kind::Grant if names_set_role(kind, body) => {
            let id = body.get("id").and_then(Value::as_str);
            Some(match kind {
                Kind::Role if id.is_some_and(derived::owned_role) => "id",
                Kind::Role => "includes",
                Kind::Assignment => "role",
                _ if body
                    .pointer("/privilege/id")
                    .and_then(Value::as_str)
                    .is_some_and(derived::owned_role) =>
                {
                    "privilege"
                }
                _ => "subject",
            })
        }
        _ => None,
    }
}

/// What an import wrote.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Imported {
    pub revision: i64,
    /// Objects written, by kind.
    pub objects: std::collections::BTreeMap<String, u64>,
}

/// A line of an import, checked, with the line number it came from and where it lies in
/// the file: it is read again when written, so that a file is held once, as text, not
/// again as documents.
struct Item {
    line: usize,
    kind: Kind,
    key: String,
    /// The keys of the objects of its kind it must be written after.
    parents: Vec<String>,
    at: std::ops::Range<usize>,
}

/// Decodes an object of kind `K`, checked as a single write checks it: its key, or what is
/// wrong with it.
fn check<K: Object>(body: &Value) -> Result<String, Invalid> {
    // Read from the document in place: a copy of each is what an import's size costs.
    let object = K::deserialize(body).map_err(|e| Invalid::field("body", e.to_string()))?;
    object.validate()?;
    Ok(object.key())
}

fn check_kind(kind: Kind, body: &Value) -> Result<String, Invalid> {
    match kind {
        Kind::User => check::<User>(body),
        Kind::Group => check::<Group>(body),
        Kind::Member => check::<Member>(body),
        Kind::Role => check::<Role>(body),
        Kind::Permission => check::<Permission>(body),
        Kind::Resource => check::<Resource>(body),
        Kind::Assignment => check::<Assignment>(body),
        Kind::Grant => check::<Grant>(body),
        Kind::Label => check::<Label>(body),
        Kind::Invite => check::<Invite>(body),
        Kind::PermissionSet => check::<PermissionSet>(body),
        Kind::DataPermission => check::<DataPermission>(body),
        Kind::SetMember => check::<SetMember>(body),
        Kind::SecurityAdmin => check::<SecurityAdmin>(body),
        Kind::DataSource => check::<DataSource>(body),
        Kind::Tenant => Err(Invalid::field(
            "kind",
            "a tenant is not an object of a tenant",
        )),
    }
}

async fn write<K: Object>(batch: &mut Batch<'_>, body: Value) -> ServiceResult<()> {
    let object: K = serde_json::from_value(body)
        .map_err(|e| ServiceError::Internal(format!("checked line no longer decodes: {e}")))?;
    batch.put(&object, Expect::Any).await.map(|_| ())
}

/// Writes an item over what is stored under its key (`stored`, its body).
async fn write_kind(
    batch: &mut Batch<'_>,
    kind: Kind,
    mut body: Value,
    stored: Option<&Value>,
) -> ServiceResult<()> {
    if kind == Kind::Role {
        // A role a permission set made its member keeps the set's role: the set's to take.
        let kept: Vec<Value> = stored
            .and_then(|s| s.get("includes"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|r| r.as_str().is_some_and(derived::owned_role))
            .cloned()
            .collect();
        if !kept.is_empty() {
            if let Some(map) = body.as_object_mut() {
                let includes = map
                    .entry("includes")
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(includes) = includes {
                    for role in kept {
                        if !includes.contains(&role) {
                            includes.push(role);
                        }
                    }
                }
            }
        }
    }
    match kind {
        Kind::User => write::<User>(batch, body).await,
        Kind::Group => write::<Group>(batch, body).await,
        Kind::Member => write::<Member>(batch, body).await,
        Kind::Role => write::<Role>(batch, body).await,
        Kind::Permission => write::<Permission>(batch, body).await,
        Kind::Resource => write::<Resource>(batch, body).await,
        Kind::Assignment => write::<Assignment>(batch, body).await,
        Kind::Grant => write::<Grant>(batch, body).await,
        Kind::Label => write::<Label>(batch, body).await,
        Kind::Invite => write::<Invite>(batch, body).await,
        Kind::PermissionSet => write::<PermissionSet>(batch, body).await,
        Kind::DataPermission => write::<DataPermission>(batch, body).await,
        Kind::SetMember => write::<SetMember>(batch, body).await,
        Kind::SecurityAdmin => write::<SecurityAdmin>(batch, body).await,
        Kind::DataSource => write::<DataSource>(batch, body).await,
        Kind::Tenant => Ok(()),
    }
}

/// Writes one item: not over an object that a permission set derives, or that a
/// compatible surface owns (its `origin`) with one it does not: the owner changes it, not
/// a file.
async fn write_item(batch: &mut Batch<'_>, item: Item, text: &str) -> ServiceResult<()> {
    let body = serde_json::from_str::<Line>(&text[item.at])
        .map_err(|e| ServiceError::Internal(format!("a checked line no longer reads: {e}")))?
        .body;
    let target = ObjectKey::new(item.kind, item.key);
    let stored = batch.stored(&target).await?;
    if let Some(stored) = &stored {
        refuse_replacing_owned(&target, &body, stored)?;
    }
    write_kind(batch, item.kind, body, stored.as_ref()).await
}

fn refuse_replacing_owned(target: &ObjectKey, body: &Value, stored: &Value) -> ServiceResult<()> {
    let origin = |body: &Value| body.get("origin").and_then(Value::as_str).map(String::from);
    let owned_otherwise = origin(stored).is_some() && origin(stored) != origin(body);
    if derived_from_set(target.kind, stored).is_some() || owned_otherwise {
        derived::refuse_derived(
            target.kind,
            &super::objects::describe(target),
            Some(stored),
            None,
        )?;
    }
    Ok(())
}

/// The errors of `line`, each field prefixed with it (`line 3: subject.id`).
fn at_line(line: usize, invalid: Invalid) -> Vec<FieldError> {
    invalid
        .0
        .into_iter()
        .map(|e| FieldError {
            field: format!("line {line}: {}", e.field),
            message: e.message,
        })
        .collect()
}

/// The same-kind objects an object must come after: a role's included roles, a resource's
/// parent, a set's parent.
fn parents(kind: Kind, body: &Value) -> Vec<String> {
    match kind {
        Kind::Role => body
            .get("includes")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default(),
        Kind::Resource => body
            .get("parent")
            .and_then(|p| {
                Some(format!(
                    "{}/{}",
                    p.get("type")?.as_str()?,
                    p.get("id")?.as_str()?
                ))
            })
            .into_iter()
            .collect(),
        Kind::PermissionSet => body
            .get("parent")
            .and_then(Value::as_str)
            .map(String::from)
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

/// Orders the items so that each comes after what it refers to: by `KINDS`, then, within a
/// kind, by depth below the same-kind objects of the import it names. One depth-first walk,
/// linear in the items and their references; a cycle (which the writes then refuse) is cut
/// where the walk meets it.
fn in_write_order(items: Vec<Item>) -> Vec<Item> {
    let above: Vec<Vec<usize>> = {
        let index: HashMap<(Kind, &str), usize> = items
            .iter()
            .enumerate()
            .map(|(i, item)| ((item.kind, item.key.as_str()), i))
            .collect();
        items
            .iter()
            .map(|item| {
                item.parents
                    .iter()
                    .filter_map(|p| index.get(&(item.kind, p.as_str())).copied())
                    .collect()
            })
            .collect()
    };
    let mut depth: Vec<Option<usize>> = vec![None; items.len()];
    let mut on_path = vec![false; items.len()];
    for start in 0..items.len() {
        if depth[start].is_some() {
            continue;
        }
        // Each entry: an item, and the next of its parents to visit.
        let mut stack = vec![(start, 0usize)];
        on_path[start] = true;
        while let Some((node, next)) = stack.last_mut() {
            let node = *node;
            if let Some(&parent) = above[node].get(*next) {
                *next += 1;
                if depth[parent].is_none() && !on_path[parent] {
                    on_path[parent] = true;
                    stack.push((parent, 0));
                }
            } else {
                let below = above[node].iter().filter_map(|&p| depth[p]).max();
                depth[node] = Some(below.map_or(0, |d| d + 1));
                on_path[node] = false;
                stack.pop();
            }
        }
    }
    let rank = |kind: Kind| KINDS.iter().position(|k| *k == kind).unwrap_or(KINDS.len());
    let mut order: Vec<(usize, usize, usize, usize)> = items
        .iter()
        .enumerate()
        .map(|(i, item)| (rank(item.kind), depth[i].unwrap_or(0), item.line, i))
        .collect();
    order.sort_unstable();
    let mut slots: Vec<Option<Item>> = items.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|(_, _, _, i)| slots[i].take())
        .collect()
}

/// Reads, checks and orders an import's lines: what to write, or every error (up to
/// `MAX_ERRORS`), each naming its line. CPU-bound: run away from the request workers. The
/// file is checked in parts, one a core (at most `CHECKING_THREADS`), each from a line's
/// start.
fn prepare(text: &str) -> Result<Vec<Item>, Invalid> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(CHECKING_THREADS);
    let parts = parts_of(text, threads);
    let checked: Vec<(Vec<Item>, Vec<FieldError>)> = std::thread::scope(|scope| {
        let checking: Vec<_> = parts
            .iter()
            .map(|&(offset, first_line, part)| {
                scope.spawn(move || check_part(part, offset, first_line))
            })
            .collect();
        checking
            .into_iter()
            .map(|part| {
                part.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut items = Vec::with_capacity(checked.iter().map(|(items, _)| items.len()).sum());
    let mut errors: Vec<FieldError> = Vec::new();
    for (part_items, part_errors) in checked {
        items.extend(part_items);
        errors.extend(part_errors);
    }
    if let Some(over) = items.get(MAX_OBJECTS) {
        let error = FieldError {
            field: format!("line {}", over.line),
            message: format!("an import holds at most {MAX_OBJECTS} objects"),
        };
        let at = errors.partition_point(|e| line_of(e) <= over.line);
        errors.insert(at, error);
    }
    if !errors.is_empty() {
        errors.truncate(MAX_ERRORS);
        return Err(Invalid(errors));
    }
    Ok(in_write_order(items))
}

/// The line an error names (`line 3: subject.id`).
fn line_of(error: &FieldError) -> usize {
    error
        .field
        .strip_prefix("line ")
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX)
}

/// `text` cut into `n` parts at line starts: each part's offset in the text, the number of
/// its first line, and the part.
fn parts_of(text: &str, n: usize) -> Vec<(usize, usize, &str)> {
    let mut parts = Vec::with_capacity(n);
    let (mut start, mut first_line) = (0, 1);
    for k in 1..n {
        let target = (text.len() * k / n).max(start);
        let Some(newline) = text.as_bytes()[target..].iter().position(|&b| b == b'\n') else {
            break;
        };
        let end = target + newline + 1;
        parts.push((start, first_line, &text[start..end]));
        first_line += text.as_bytes()[start..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        start = end;
    }
    parts.push((start, first_line, &text[start..]));
    parts
}

/// Reads and checks the lines of one part of a file (`text`, which starts at `offset` of
/// the file with line `first_line`): its items, and up to `MAX_ERRORS` errors.
fn check_part(text: &str, base: usize, first_line: usize) -> (Vec<Item>, Vec<FieldError>) {
    // As many as the lines, at once: a list grown by doubling is copied each time.
    let lines = text.bytes().filter(|&b| b == b'\n').count() + 1;
    let mut items = Vec::with_capacity(lines.min(MAX_OBJECTS + 1));
    let mut errors: Vec<FieldError> = Vec::new();
    let mut offset = base;
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let line = first_line + i;
        let start = offset;
        offset += raw.len();
        let raw = raw.strip_suffix('\n').unwrap_or(raw);
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let at = start..start + raw.len();
        if raw.trim().is_empty() || errors.len() >= MAX_ERRORS {
            continue;
        }
        let parsed: Line = match serde_json::from_str(raw) {
            Ok(parsed) => parsed,
            Err(e) => {
                errors.push(FieldError {
                    field: format!("line {line}"),
                    message: format!(
                        "not a line of an export ({{\"kind\": ..., \"body\": {{...}}}}): {e}"
                    ),
                });
                continue;
            }
        };
        let Some(kind) = Kind::parse(&parsed.kind).filter(|k| KINDS.contains(k)) else {
            errors.push(FieldError {
                field: format!("line {line}: kind"),
                message: format!(
                    "{:?} is not a kind of object a tenant holds ({})",
                    parsed.kind,
                    KINDS.map(Kind::as_str).join(", ")
                ),
            });
            continue;
        };
        if let Some(field) = derived_from_set(kind, &parsed.body) {
            errors.push(FieldError {
                field: format!("line {line}: {field}"),
                message: "a permission set derives this object; import the set, \
                          its permissions and its members instead"
                    .into(),
            });
            continue;
        }
        match check_kind(kind, &parsed.body) {
            Ok(key) => items.push(Item {
                line,
                kind,
                key,
                parents: parents(kind, &parsed.body),
                at,
            }),
            Err(invalid) => errors.extend(at_line(line, invalid)),
        }
    }
    (items, errors)
}

impl Service {
    /// Opens the tenant for export at its current revision.
    pub async fn export(&self, tenant: &str) -> ServiceResult<Export> {
        let read = self
            .store
            .begin_read(tenant)
            .await
            .map_err(|e| ServiceError::from_store(e, &format!("tenant {tenant}")))?;
        Ok(Export {
            read,
            kind: 0,
            after: None,
            making: None,
        })
    }

    /// Imports NDJSON lines into the context's tenant: every line is checked first (errors
    /// name the line and the field), then all are written in one transaction, each after
    /// what it refers to whatever the order of the file, or none is. An object already
    /// there is replaced.
    pub async fn import(&self, ctx: &Ctx, text: String) -> ServiceResult<Imported> {
        let (text, items) =
            tokio::task::spawn_blocking(move || prepare(&text).map(|items| (text, items)))
                .await
                .map_err(|e| {
                    ServiceError::Internal(format!("the import's check stopped: {e}"))
                })??;
        let mut counts = std::collections::BTreeMap::new();
        let mut batch = self.batch_alone(ctx).await?;
        let keys: Vec<(&str, &str)> = items
            .iter()
            .map(|item| (item.kind.as_str(), item.key.as_str()))
            .collect();
        batch.prefetch(&keys).await?;
        drop(keys);
        // The change record holds each line's object, with its key and the operation.
        batch.reserve_record(text.len() + items.len() * 48);
        for item in items {
            let (line, kind) = (item.line, item.kind);
            write_item(&mut batch, item, &text)
                .await
                .map_err(|e| match e {
                    ServiceError::Invalid(invalid) => Invalid(at_line(line, invalid)).into(),
                    ServiceError::NotFound(what) => {
                        Invalid::field(format!("line {line}"), format!("{what} does not exist"))
                            .into()
                    }
                    ServiceError::Conflict { code, message } => ServiceError::Conflict {
                        code,
                        message: format!("line {line}: {message}"),
                    },
                    other => other,
                })?;
            *counts.entry(kind.as_str().to_string()).or_insert(0u64) += 1;
        }
        let total: u64 = counts.values().sum();
        let revision = batch
            .commit(
                "tenant.import",
                &ObjectKey::new(Kind::Tenant, ctx.tenant.clone()),
                Some(json!({ "objects": total })),
            )
            .await?;
        Ok(Imported {
            revision,
            objects: counts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parts cover the file, each from a line's start, with the number of that line.
    #[test]
    fn a_file_is_cut_into_parts_at_line_starts() {
        let text = "a\nbb\n\nccc\nd";
        for n in 1..=6 {
            let parts = parts_of(text, n);
            let joined: String = parts.iter().map(|(_, _, part)| *part).collect();
            assert_eq!(joined, text, "{n} parts");
            for (offset, first_line, part) in parts {
                assert_eq!(&text[offset..offset + part.len()], part);
                let before = text[..offset].matches('\n').count();
                assert_eq!(first_line, before + 1, "{n} parts, at {offset}");
                assert!(offset == 0 || text.as_bytes()[offset - 1] == b'\n');
            }
        }
    }

    /// Errors name their lines, whichever part of the file they are in, in line order.
    #[test]
    fn errors_name_their_lines_in_every_part() {
        let user = |id: &str| format!("{{\"kind\":\"user\",\"body\":{{\"id\":\"{id}\"}}}}\n");
        let mut text = String::new();
        for i in 0..400 {
            match i {
                7 => text.push_str("not json\n"),
                250 => text.push_str("{\"kind\":\"planet\",\"body\":{}}\n"),
                399 => text.push_str("{\"kind\":\"user\",\"body\":{\"id\":\"\"}}\n"),
                _ => text.push_str(&user(&format!("u{i}"))),
            }
        }
        let Err(Invalid(errors)) = prepare(&text) else {
            panic!("three lines are wrong");
        };
        let lines: Vec<usize> = errors.iter().map(line_of).collect();
        assert_eq!(lines, [8, 251, 400], "{errors:?}");
        let good: String = (0..400).map(|i| user(&format!("u{i}"))).collect();
        let items = prepare(&good).expect("every line is right");
        let mut numbers: Vec<usize> = items.iter().map(|item| item.line).collect();
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=400).collect::<Vec<_>>());
    }

    /// A document passed on as stored gives the very line that reading it would; one that
    /// names a set, or a data source's, is read.
    #[test]
    fn documents_as_stored_give_the_lines_reading_them_would() {
        let set_role = PermissionSet::role_of("0123");
        let bodies = [
            (Kind::User, json!({"id": "u", "name": "Zoë \"q\" \\ \u{1}"})),
            (
                Kind::Grant,
                json!({"id": "g", "subject": {"type": "user", "id": "u"}}),
            ),
            (
                Kind::Role,
                json!({"id": "r", "includes": [set_role, "other"]}),
            ),
            (Kind::Role, json!({"id": set_role})),
            (
                Kind::Grant,
                json!({"id": "d", "origin": "dataarts:permission-set:1"}),
            ),
            (Kind::DataSource, json!({"id": "s", "password": "secret"})),
        ];
        for (kind, body) in bodies {
            let text = serde_json::to_string(&body).expect("text");
            let by_reading = exported(kind, body.clone()).map(|body| {
                let line = Line {
                    kind: kind.as_str().to_string(),
                    body,
                };
                format!("{}\n", serde_json::to_string(&line).expect("line"))
            });
            let page = vec![ObjectText {
                key: "k".into(),
                body: text,
            }];
            let lines = String::from_utf8(lines_of(kind, page).expect("lines")).expect("utf-8");
            assert_eq!(lines, by_reading.unwrap_or_default(), "{body}");
        }
    }
}
