//! What a write transaction knows without reading, and the new objects it has not yet
//! written.
//!
//! A bulk writer (an import) says which objects it is about to write (`WriteTx::prefetch`):
//! the transaction learns in a few reads which of them are there. It then answers reads of
//! those objects, and of the ones it wrote itself, without a round trip, and holds the new
//! objects back to insert them several hundred rows a statement: before any read that
//! could see them, before any other write, and before commit. Only what is known is
//! answered here: everything else is read from the database, as it is without a prefetch.

use std::collections::{HashMap, HashSet};

use sqlx::AnyConnection;

use super::dialect::Backend;
use super::{literal, placeholders, Statement};
use crate::{NewObject, RefHolder, Result, StoredObject};

/// Rows one INSERT writes: 7 parameters each, well within SQLite's 999.
const ROWS_PER_STATEMENT: usize = 100;

/// New objects held back at most before they are written.
const HELD_AT_MOST: usize = 1000;

#[derive(Default)]
pub(super) struct Behind {
    /// Whether each object known without a read is there (written here or found by a
    /// prefetch) or not, by kind and key (looked up without an allocation).
    known: HashMap<String, HashMap<String, bool>>,
    /// Objects read whole and not written since, by kind and key.
    read: HashMap<String, HashMap<String, StoredObject>>,
    /// The holders of objects (`kind:key`), as read since the last write.
    holders: HashMap<String, Vec<RefHolder>>,
    objects: Vec<HeldObject>,
    refs: Vec<HeldRef>,
    /// Deletes of objects read whole, as statements with their values in their text
    /// (PostgreSQL): sent before the held objects, with the next round trip.
    deletes: Vec<String>,
}

struct HeldObject {
    kind: String,
    key: String,
    body: String,
}

pub(super) struct HeldRef {
    target: String,
    kind: String,
    key: String,
    field: String,
    cascade: bool,
}

impl HeldRef {
    /// The reference rows of `object`: one for each target and field, the first named.
    pub(super) fn of(object: &NewObject) -> impl Iterator<Item = HeldRef> + '_ {
        let mut named = HashSet::with_capacity(object.refs.len());
        object
            .refs
            .iter()
            .filter(move |r| named.insert((r.target.as_str(), r.field.as_str())))
            .map(|r| HeldRef {
                target: r.target.clone(),
                kind: object.kind.clone(),
                key: object.key.clone(),
                field: r.field.clone(),
                cascade: r.cascade,
            })
    }
}

impl Behind {
    /// Whether the object is there, if known without a read.
    pub(super) fn known(&self, kind: &str, key: &str) -> Option<bool> {
        self.known.get(kind)?.get(key).copied()
    }

    /// The object as read, if it was read whole and not written since.
    pub(super) fn read(&self, kind: &str, key: &str) -> Option<&StoredObject> {
        self.read.get(kind)?.get(key)
    }

    /// Keeps an object read whole (or learns it is not there).
    pub(super) fn learn_read(&mut self, kind: &str, key: &str, found: Option<&StoredObject>) {
        self.learn(kind, key, found.is_some());
        if let Some(object) = found {
            self.read
                .entry(kind.to_string())
                .or_default()
                .insert(key.to_string(), object.clone());
        }
    }

    /// The holders of `target`, if read since the last write.
    pub(super) fn holders(&self, target: &str) -> Option<&Vec<RefHolder>> {
        self.holders.get(target)
    }

    pub(super) fn keep_holders(&mut self, target: &str, holders: Vec<RefHolder>) {
        self.holders.insert(target.to_string(), holders);
    }

    /// Learns whether the object is there, forgetting how it was read, and every holder
    /// read (a write may change them).
    pub(super) fn learn(&mut self, kind: &str, key: &str, present: bool) {
        if let Some(of_kind) = self.read.get_mut(kind) {
            of_kind.remove(key);
        }
        self.holders.clear();
        let of_kind = match self.known.get_mut(kind) {
            Some(of_kind) => of_kind,
            None => self.known.entry(kind.to_string()).or_default(),
        };
        match of_kind.get_mut(key) {
            Some(known) => *known = present,
            None => drop(of_kind.insert(key.to_string(), present)),
        }
    }

    /// Holds a new object (known to be absent) back; true once enough are held to write.
    pub(super) fn hold(&mut self, object: &NewObject, body: String) -> bool {
        self.learn(&object.kind, &object.key, true);
        self.refs.extend(HeldRef::of(object));
        self.objects.push(HeldObject {
            kind: object.kind.clone(),
            key: object.key.clone(),
            body,
        });
        self.objects.len() >= HELD_AT_MOST
    }

    /// Holds back the delete of an object read whole, which is known to be there (the
    /// transaction holds the tenant's lock): its statements, with their values in their
    /// text, go with the next round trip. Only while no new object is held, which it would
    /// otherwise have to follow.
    pub(super) fn hold_delete(&mut self, tenant: &str, kind: &str, key: &str) -> Result<bool> {
        if !self.objects.is_empty() {
            return Ok(false);
        }
        let object = format!(
            "tenant = {} AND kind = {} AND key = {}",
            literal::text(tenant)?,
            literal::text(kind)?,
            literal::text(key)?
        );
        self.deletes.push(format!(
            "DELETE FROM object_refs WHERE {object}; DELETE FROM objects WHERE {object}"
        ));
        self.learn(kind, key, false);
        Ok(true)
    }

    /// The deletes held back, as statements, no longer held.
    pub(super) fn take_deletes(&mut self) -> Option<String> {
        let deletes = std::mem::take(&mut self.deletes);
        (!deletes.is_empty()).then(|| deletes.join("; "))
    }

    /// What is held, if only a few objects (a single write's), as statements with their
    /// values in their text (`literal`), no longer held: for the caller to send with its
    /// next round trip.
    pub(super) fn take_inline(
        &mut self,
        tenant: &str,
        revision: i64,
        now: i64,
    ) -> Result<Option<String>> {
        if self.objects.len() > ROWS_PER_STATEMENT || self.refs.len() > ROWS_PER_STATEMENT {
            return Ok(None);
        }
        let deletes = self.take_deletes();
        if self.objects.is_empty() {
            return Ok(deletes);
        }
        let tenant = literal::text(tenant)?;
        let objects: Vec<String> = self
            .objects
            .iter()
            .map(|o| {
                Ok(format!(
                    "({tenant}, {}, {}, {revision}, {}, {now}, {now})",
                    literal::text(&o.kind)?,
                    literal::text(&o.key)?,
                    literal::text(&o.body)?
                ))
            })
            .collect::<Result<_>>()?;
        let mut sql = objects_sql(&objects.join(", "));
        if !self.refs.is_empty() {
            let refs: Vec<String> = self
                .refs
                .iter()
                .map(|r| {
                    Ok(format!(
                        "({tenant}, {}, {}, {}, {}, {})",
                        literal::text(&r.target)?,
                        literal::text(&r.kind)?,
                        literal::text(&r.key)?,
                        literal::text(&r.field)?,
                        i64::from(r.cascade)
                    ))
                })
                .collect::<Result<_>>()?;
            sql = format!("{sql}; {}", refs_sql(&refs.join(", ")));
        }
        self.objects.clear();
        self.refs.clear();
        Ok(Some(match deletes {
            Some(deletes) => format!("{deletes}; {sql}"),
            None => sql,
        }))
    }

    /// Writes what is held, created at `now` at `revision`. A few objects and their
    /// references (a single write's) take one round trip.
    pub(super) async fn flush(
        &mut self,
        conn: &mut AnyConnection,
        backend: Backend,
        tenant: &str,
        revision: i64,
        now: i64,
    ) -> Result<()> {
        let at = (revision, now);
        let few = |n: usize| (1..=ROWS_PER_STATEMENT).contains(&n);
        if few(self.objects.len()) && few(self.refs.len()) {
            let (objects, refs) = (self.objects.len(), self.refs.len());
            let sql = match backend {
                Backend::Postgres => format!(
                    "WITH objects_written AS ({}) {}",
                    objects_sql(&placeholders(backend, 0, objects, 7)),
                    refs_sql(&placeholders(backend, 7 * objects, refs, 6))
                ),
                // SQLite's statements do not nest: it runs the two in turn.
                Backend::Sqlite => format!(
                    "{}; {}",
                    objects_sql(&placeholders(backend, 0, objects, 7)),
                    refs_sql(&placeholders(backend, 0, refs, 6))
                ),
            };
            let statement = bind_objects(sqlx::query(&sql), tenant, &self.objects, &at);
            bind_refs(statement, tenant, &self.refs)
                .execute(&mut *conn)
                .await?;
        } else {
            for rows in self.objects.chunks(ROWS_PER_STATEMENT) {
                let sql = objects_sql(&placeholders(backend, 0, rows.len(), 7));
                bind_objects(sqlx::query(&sql), tenant, rows, &at)
                    .execute(&mut *conn)
                    .await?;
            }
            insert_refs(conn, backend, tenant, &self.refs).await?;
        }
        self.objects.clear();
        self.refs.clear();
        Ok(())
    }
}

/// Inserts objects: `values` holds their rows, in the order of `bind_objects`. No ON
/// CONFLICT: each was known to be absent, and a surprise fails the write.
fn objects_sql(values: &str) -> String {
    format!(
        "INSERT INTO objects (tenant, kind, key, version, body, created_at, updated_at) \
         VALUES {values}"
    )
}

/// Binds `rows` objects written at `(revision, now)`.
fn bind_objects<'q>(
    mut statement: Statement<'q>,
    tenant: &'q str,
    rows: &'q [HeldObject],
    &(revision, now): &(i64, i64),
) -> Statement<'q> {
    for row in rows {
        statement = statement
            .bind(tenant)
            .bind(&row.kind)
            .bind(&row.key)
            .bind(revision)
            .bind(&row.body)
            .bind(now)
            .bind(now);
    }
    statement
}

/// Inserts references: `values` holds their rows, in the order of `bind_refs`. No ON CONFLICT, which
/// costs PostgreSQL a second search of the key per row: an object's references are written
/// once each (`HeldRef::of`), after its old ones are deleted.
fn refs_sql(values: &str) -> String {
    format!(
        "INSERT INTO object_refs (tenant, target, kind, key, field, cascade_delete) \
         VALUES {values}"
    )
}

fn bind_refs<'q>(
    mut statement: Statement<'q>,
    tenant: &'q str,
    rows: &'q [HeldRef],
) -> Statement<'q> {
    for row in rows {
        statement = statement
            .bind(tenant)
            .bind(&row.target)
            .bind(&row.kind)
            .bind(&row.key)
            .bind(&row.field)
            .bind(i64::from(row.cascade));
    }
    statement
}

/// Inserts references, several rows a statement.
pub(super) async fn insert_refs(
    conn: &mut AnyConnection,
    backend: Backend,
    tenant: &str,
    refs: &[HeldRef],
) -> Result<()> {
    for rows in refs.chunks(ROWS_PER_STATEMENT) {
        let sql = refs_sql(&placeholders(backend, 0, rows.len(), 6));
        bind_refs(sqlx::query(&sql), tenant, rows)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
