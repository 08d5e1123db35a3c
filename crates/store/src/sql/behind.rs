//! What a write transaction knows without reading, and the new objects it has not yet
//! written.
//!
//! A bulk writer (an import) says which objects it is about to write (`WriteTx::prefetch`):
//! the transaction learns in a few reads which of them are there. It then answers reads of
//! those objects, and of the ones it wrote itself, without a round trip, and holds the new
//! objects back to insert them several hundred rows a statement: before any read that
//! could see them, before any other write, and before commit. Only what is known is
//! answered here: everything else is read from the database, as it is without a prefetch.
//!
//! The rows held are written as a unit (`Held`), which a long write hands to a task of its
//! own (`Turn::send_away`) so that the database writes them while it makes the next ones.

use std::collections::{HashMap, HashSet};

use sqlx::AnyConnection;

use super::dialect::Backend;
use super::{placeholders, Statement};
use crate::{NewObject, Result};

/// Rows one INSERT writes: 7 parameters each, well within SQLite's 999.
const ROWS_PER_STATEMENT: usize = 100;

/// Rows one INSERT writes while a thousand or more remain (an import's): 7,000 parameters,
/// within SQLite's 32,766 and PostgreSQL's 65,535. One statement's round trip then
/// carries ten times the rows; what remains goes a hundred at a time, so that few shapes
/// of statement are prepared.
const ROWS_PER_LARGE_STATEMENT: usize = 1000;

/// New objects held back at most before they are written.
const HELD_AT_MOST: usize = 1000;

#[derive(Default)]
pub(super) struct Behind {
    /// Whether each object known without a read is there (written here or found by a
    /// prefetch) or not, by kind and key (looked up without an allocation).
    known: HashMap<String, HashMap<String, bool>>,
    held: Held,
}

/// New objects and their references, not yet written.
#[derive(Default)]
pub(super) struct Held {
    objects: Vec<HeldObject>,
    refs: Vec<HeldRef>,
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

    pub(super) fn learn(&mut self, kind: &str, key: &str, present: bool) {
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
        self.held.refs.extend(HeldRef::of(object));
        self.held.objects.push(HeldObject {
            kind: object.kind.clone(),
            key: object.key.clone(),
            body,
        });
        self.held.objects.len() >= HELD_AT_MOST
    }

    /// What is held, to be written elsewhere; nothing is held after.
    pub(super) fn take_held(&mut self) -> Held {
        std::mem::take(&mut self.held)
    }

    /// Writes what is held, created at `now` at `revision`.
    pub(super) async fn flush(
        &mut self,
        conn: &mut AnyConnection,
        backend: Backend,
        tenant: &str,
        revision: i64,
        now: i64,
    ) -> Result<()> {
        self.held
            .write(conn, backend, tenant, revision, now)
            .await?;
        self.held = Held::default();
        Ok(())
    }
}

impl Held {
    /// Writes the objects and references, created at `now` at `revision`. A few objects and
    /// their references (a single write's) take one round trip.
    pub(super) async fn write(
        &self,
        conn: &mut AnyConnection,
        backend: Backend,
        tenant: &str,
        revision: i64,
        now: i64,
    ) -> Result<()> {
        if self.objects.is_empty() && self.refs.is_empty() {
            return Ok(());
        }
        let at = (revision, now);
        let few = |n: usize| (1..=ROWS_PER_STATEMENT).contains(&n);
        if few(self.objects.len()) && few(self.refs.len()) {
            let (objects, refs) = (self.objects.len(), self.refs.len());
            let sql = match backend {
                Backend::Postgres => format!(
                    "WITH objects_written AS ({}) {}",
                    objects_sql(backend, 0, objects),
                    refs_sql(backend, 7 * objects, refs)
                ),
                // SQLite's statements do not nest: it runs the two in turn.
                Backend::Sqlite => format!(
                    "{}; {}",
                    objects_sql(backend, 0, objects),
                    refs_sql(backend, 0, refs)
                ),
            };
            let statement = bind_objects(sqlx::query(&sql), tenant, &self.objects, &at);
            bind_refs(statement, tenant, &self.refs)
                .execute(&mut *conn)
                .await?;
        } else {
            for rows in chunks(&self.objects) {
                let sql = objects_sql(backend, 0, rows.len());
                bind_objects(sqlx::query(&sql), tenant, rows, &at)
                    .execute(&mut *conn)
                    .await?;
            }
            insert_refs(conn, backend, tenant, &self.refs).await?;
        }
        Ok(())
    }
}

/// `rows` in chunks of `ROWS_PER_LARGE_STATEMENT`, then of `ROWS_PER_STATEMENT`.
fn chunks<T>(rows: &[T]) -> impl Iterator<Item = &[T]> {
    let large = rows.len() / ROWS_PER_LARGE_STATEMENT * ROWS_PER_LARGE_STATEMENT;
    let (large, rest) = rows.split_at(large);
    large
        .chunks(ROWS_PER_LARGE_STATEMENT)
        .chain(rest.chunks(ROWS_PER_STATEMENT))
}

/// Inserts `rows` objects, their parameters from `$(first + 1)`. No ON CONFLICT: each was
/// known to be absent, and a surprise fails the write.
fn objects_sql(backend: Backend, first: usize, rows: usize) -> String {
    format!(
        "INSERT INTO objects (tenant, kind, key, version, body, created_at, updated_at) \
         VALUES {}",
        placeholders(backend, first, rows, 7)
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

/// Inserts `rows` references, their parameters from `$(first + 1)`. No ON CONFLICT, which
/// costs PostgreSQL a second search of the key per row: an object's references are written
/// once each (`HeldRef::of`), after its old ones are deleted.
fn refs_sql(backend: Backend, first: usize, rows: usize) -> String {
    format!(
        "INSERT INTO object_refs (tenant, target, kind, key, field, cascade_delete) \
         VALUES {}",
        placeholders(backend, first, rows, 6)
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
    for rows in chunks(refs) {
        let sql = refs_sql(backend, 0, rows.len());
        bind_refs(sqlx::query(&sql), tenant, rows)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
