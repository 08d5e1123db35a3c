//! A data source: a database that grantd keeps in step with the data permissions it holds.
//! Its objects are the data paths under its id (`<id>/<database>/<schema>/<table>/<column>`
//! for PostgreSQL, `<id>/<database>/<table>/<column>` for MariaDB and MySQL); a DataArts DWS
//! permission reaches a PostgreSQL source through `dws/<id>/...` (its `cluster_id`) or
//! `dws/<name>/...` (its `cluster_name`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::invalid::Checker;
use crate::{ids, Invalid, Kind, Object};

/// The kinds of database grantd syncs into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// PostgreSQL, and warehouses derived from it (DWS).
    Postgresql,
    /// MariaDB or MySQL.
    Mysql,
}

/// Most schemas (or databases) one source names.
pub const MAX_SCHEMAS: usize = 256;
/// The shortest and the longest interval between passes, in seconds.
pub const INTERVAL_SECONDS: (u32, u32) = (5, 86_400);

fn default_interval() -> u32 {
    60
}

fn default_true() -> bool {
    true
}

fn default_role_attribute() -> String {
    "db_role".into()
}

fn is_default_interval(value: &u32) -> bool {
    *value == default_interval()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DataSource {
    pub id: String,
    pub kind: SourceKind,
    /// How grantd connects, as an administrator: `postgres://admin@host:5432/db` or
    /// `mysql://root@host:3306`. Without a password: that goes in `password`.
    pub url: String,
    /// The administrator's password. Written, never shown: reads say `password_set`. It is
    /// stored encrypted with the server's secret key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Another name a DataArts DWS permission may give as its `cluster_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The schemas (PostgreSQL) or databases (MariaDB) grantd manages; empty: every one
    /// that is not the system's own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<String>,
    /// Seconds between passes besides those a change starts.
    #[serde(
        default = "default_interval",
        skip_serializing_if = "is_default_interval"
    )]
    pub interval_seconds: u32,
    /// Off: no pass runs, and nothing in the database is touched.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The user attribute that names a user's database role; a user without it maps to a
    /// role named as its id.
    #[serde(default = "default_role_attribute")]
    pub role_attribute: String,
}

impl DataSource {
    /// The data-path prefixes whose grants this source enforces.
    pub fn roots(&self) -> Vec<String> {
        let mut roots = vec![self.id.clone()];
        if self.kind == SourceKind::Postgresql {
            roots.push(format!("dws/{}", self.id));
            if let Some(name) = &self.name {
                if name != &self.id {
                    roots.push(format!("dws/{name}"));
                }
            }
        }
        roots
    }

    /// Whether a DataArts permission naming this cluster (by id, else name) is this source's.
    pub fn is_cluster(&self, cluster_id: Option<&str>, cluster_name: Option<&str>) -> bool {
        match (cluster_id, cluster_name) {
            (Some(id), _) => id == self.id,
            (None, Some(name)) => name == self.id || self.name.as_deref() == Some(name),
            (None, None) => false,
        }
    }
}

impl DataSource {
    /// A data source's body as a read shows it: without its password, saying whether one
    /// is set. Every read that shows a body (an object, a change) goes through this.
    pub fn conceal(body: &mut serde_json::Map<String, serde_json::Value>) {
        let set = body.remove("password").is_some();
        body.insert("password_set".into(), set.into());
    }
}

/// Whether a URL holds a password (`scheme://user:password@host`).
fn has_password(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let in_userinfo = authority
        .rsplit_once('@')
        .is_some_and(|(userinfo, _)| userinfo.contains(':'));
    let query = rest.split_once('?').map_or("", |(_, q)| q);
    let in_query = query.split('&').any(|pair| {
        let key = pair
            .split('=')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        key.contains("password") || key == "pass"
    });
    in_userinfo || in_query
}

impl Object for DataSource {
    const KIND: Kind = Kind::DataSource;

    fn key(&self) -> String {
        self.id.clone()
    }

    fn validate(&self) -> Result<(), Invalid> {
        let mut c = Checker::new();
        c.check("id", ids::identifier(&self.id));
        if self.id.contains('/') || self.id == "dws" {
            c.fail("id", "must not contain / nor be `dws`");
        }
        let scheme = match self.kind {
            SourceKind::Postgresql => ["postgres://", "postgresql://"],
            SourceKind::Mysql => ["mysql://", "mariadb://"],
        };
        if !scheme.iter().any(|s| self.url.starts_with(s)) {
            c.fail("url", format!("must start with {}", scheme.join(" or ")));
        } else if has_password(&self.url) {
            c.fail(
                "url",
                "must not hold a password: give it in `password`, which is stored encrypted",
            );
        }
        if self.url.len() > 2048 || self.url.chars().any(char::is_control) {
            c.fail(
                "url",
                "must be at most 2048 characters, without control characters",
            );
        }
        if self.password.as_ref().is_some_and(|p| p.len() > 1024) {
            c.fail("password", "must be at most 1024 bytes");
        }
        c.check("name", ids::text(&self.name));
        if self.name.as_deref().is_some_and(|n| n.contains('/')) {
            c.fail("name", "must not contain /");
        }
        if self.schemas.len() > MAX_SCHEMAS {
            c.fail("schemas", format!("at most {MAX_SCHEMAS}"));
        }
        for (i, schema) in self.schemas.iter().enumerate() {
            if schema.is_empty()
                || schema.len() > 63
                || schema.contains('/')
                || schema.chars().any(char::is_control)
            {
                c.fail(
                    format!("schemas[{i}]"),
                    "1 to 63 characters, no / and no control characters",
                );
            }
        }
        let (low, high) = INTERVAL_SECONDS;
        if !(low..=high).contains(&self.interval_seconds) {
            c.fail("interval_seconds", format!("must be {low} to {high}"));
        }
        c.check("role_attribute", ids::identifier(&self.role_attribute));
        c.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(url: &str) -> DataSource {
        serde_json::from_value(serde_json::json!({"id": "dws1", "kind": "postgresql", "url": url}))
            .expect("source")
    }

    #[test]
    fn a_url_with_a_password_is_refused() {
        assert!(source("postgres://admin@db:5432/sales").validate().is_ok());
        assert!(source("postgres://admin:hunter2@db:5432/sales")
            .validate()
            .is_err());
        assert!(source("postgres://db:5432/sales?user=a@b")
            .validate()
            .is_ok());
        assert!(source("postgres://admin@db/sales?password=x")
            .validate()
            .is_err());
        assert!(
            source("postgres://admin@db/sales?sslmode=require&Password=x")
                .validate()
                .is_err()
        );
        assert!(
            source("mysql://root@db:3306").validate().is_err(),
            "scheme of another kind"
        );
    }

    #[test]
    fn roots_and_clusters() {
        let mut s = source("postgres://admin@db/sales");
        s.name = Some("warehouse".into());
        assert_eq!(s.roots(), ["dws1", "dws/dws1", "dws/warehouse"]);
        assert!(s.is_cluster(Some("dws1"), None));
        assert!(
            !s.is_cluster(Some("other"), Some("warehouse")),
            "the id decides"
        );
        assert!(s.is_cluster(None, Some("warehouse")));
        assert_eq!(
            serde_json::to_value(&s).expect("json")["interval_seconds"],
            serde_json::Value::Null
        );
    }
}
