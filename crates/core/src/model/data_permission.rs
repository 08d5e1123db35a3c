//! A data permission of a permission set: ALLOW or DENY some actions on a data object of a
//! data source (a database, schema, table or column, `*` for any one of them), enforced as
//! a grant of the actions on the object's data path to the set's role.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::grant::Effect;
use super::permission_set::{one_of, short};
use crate::invalid::Checker;
use crate::{Invalid, Kind, Object, ObjectKey, Ref};

pub const DATASOURCE_TYPES: [&str; 3] = ["HIVE", "DWS", "DLI"];

/// The actions each data source allows.
pub fn actions_of(datasource_type: &str) -> &'static [&'static str] {
    match datasource_type {
        "HIVE" => &[
            "ALL", "SELECT", "UPDATE", "CREATE", "DROP", "ALTER", "INDEX", "READ", "WRITE",
        ],
        "DWS" => &[
            "ALL",
            "SELECT",
            "UPDATE",
            "DROP",
            "ALTER",
            "INSERT",
            "CREATE_TABLE",
            "DELETE",
            "CREATE_SCHEMA",
        ],
        "DLI" => &["SELECT", "DROP", "ALTER", "INSERT", "CREATE_TABLE"],
        _ => &[],
    }
}

/// Most actions one data permission names.
pub const MAX_DATA_ACTIONS: usize = 32;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DataPermission {
    pub id: String,
    /// The permission set it belongs to.
    pub set: String,
    pub effect: Effect,
    pub actions: Vec<String>,
    /// `HIVE`, `DWS` or `DLI`.
    pub datasource_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dw_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default)]
    pub auto_sync: bool,
    /// The rows an ALLOW on a table allows: a boolean SQL expression over its columns,
    /// enforced in PostgreSQL as a row-level security policy (the enforcing grant's
    /// `row_filter`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_level_security: Option<String>,
}

impl DataPermission {
    /// The grant that enforces it.
    pub fn grant_id(&self) -> String {
        format!("dataarts.{}", self.id)
    }

    /// The data path pattern it covers:
    /// `datasource/cluster/database[/schema]/table/column`, lower-case data source, the
    /// cluster by id (else name, else `*`), a schema only for DWS, `*` for a missing middle
    /// part; trailing wildcards dropped, since a grant on a path covers what lies below it.
    pub fn path(&self) -> String {
        let any = || "*".to_string();
        let cluster = self
            .cluster_id
            .clone()
            .or_else(|| self.cluster_name.clone())
            .unwrap_or_else(any);
        let mut parts = vec![
            Some(self.datasource_type.to_ascii_lowercase()),
            Some(cluster),
            self.database_name.clone(),
        ];
        if self.datasource_type == "DWS" {
            parts.push(self.schema_name.clone());
        }
        parts.push(self.table_name.clone());
        parts.push(self.column_name.clone());
        while matches!(parts.last(), Some(None)) {
            parts.pop();
        }
        let mut segments: Vec<String> = parts.into_iter().map(|p| p.unwrap_or_else(any)).collect();
        while segments.len() > 1 && segments.last().is_some_and(|s| s == "*") {
            segments.pop();
        }
        segments.join("/")
    }

    /// The grant's actions: `ALL` is every action.
    pub fn grant_actions(&self) -> Vec<String> {
        if self.actions.iter().any(|a| a == "ALL") {
            vec!["*".into()]
        } else {
            self.actions.clone()
        }
    }

    /// Whether this (a parent's ALLOW) covers `other`: same data source, every path
    /// segment equal or `*`, and at least its actions.
    pub fn covers(&self, other: &DataPermission) -> bool {
        if self.effect != Effect::Allow || self.datasource_type != other.datasource_type {
            return false;
        }
        let mine = self.path();
        let theirs = other.path();
        let mine: Vec<&str> = mine.split('/').collect();
        let theirs: Vec<&str> = theirs.split('/').collect();
        let path_ok = mine.len() <= theirs.len()
            && mine.iter().zip(&theirs).all(|(m, t)| *m == "*" || m == t);
        let actions_ok = self.actions.iter().any(|a| a == "ALL")
            || other.actions.iter().all(|a| self.actions.contains(a));
        path_ok && actions_ok
    }
}

impl Object for DataPermission {
    const KIND: Kind = Kind::DataPermission;

    fn key(&self) -> String {
        self.id.clone()
    }

    fn validate(&self) -> Result<(), Invalid> {
        let mut c = Checker::new();
        c.check("id", crate::ids::identifier(&self.id));
        c.check("permission_set_id", crate::ids::identifier(&self.set));
        one_of(
            &mut c,
            "datasource_type",
            &self.datasource_type,
            &DATASOURCE_TYPES,
        );
        if self.actions.is_empty() || self.actions.len() > MAX_DATA_ACTIONS {
            c.fail(
                "permission_actions",
                format!("must name 1 to {MAX_DATA_ACTIONS} actions"),
            );
        }
        let allowed = actions_of(&self.datasource_type);
        for (i, a) in self.actions.iter().enumerate() {
            if !allowed.is_empty() && !allowed.contains(&a.as_str()) {
                c.fail(
                    format!("permission_actions[{i}]"),
                    format!(
                        "{a} is not an action of {} (allowed: {})",
                        self.datasource_type,
                        allowed.join(", ")
                    ),
                );
            }
        }
        for (field, value) in [
            ("dw_id", &self.dw_id),
            ("cluster_id", &self.cluster_id),
            ("cluster_name", &self.cluster_name),
            ("database_name", &self.database_name),
            ("schema_name", &self.schema_name),
            ("table_name", &self.table_name),
            ("column_name", &self.column_name),
        ] {
            short(&mut c, field, value);
            if value.as_deref().is_some_and(|v| v.contains('/')) {
                c.fail(field, "must not contain /");
            }
        }
        c.check("url", crate::ids::text(&self.url));
        if let Some(filter) = &self.row_level_security {
            c.check("row_level_security", crate::ids::row_filter(filter));
            if self.effect != Effect::Allow || self.table_name.as_deref().is_none_or(|t| t == "*") {
                c.fail(
                    "row_level_security",
                    "only an ALLOW on one table filters rows",
                );
            }
            if self.actions.iter().any(|a| a != "SELECT") {
                c.fail(
                    "row_level_security",
                    "a row filter limits reads: the permission allows SELECT only",
                );
            }
        }
        if self.database_name.is_none() && self.url.is_none() {
            c.fail(
                "database_name",
                "a database (or, for a Hive location, url) is required",
            );
        }
        if self.datasource_type != "DLI" && self.cluster_id.is_none() && self.cluster_name.is_none()
        {
            c.fail("cluster_id", "HIVE and DWS permissions name their cluster");
        }
        c.finish()
    }

    fn refs(&self) -> Vec<Ref> {
        vec![Ref::cascade(
            "permission_set_id",
            ObjectKey::new(Kind::PermissionSet, self.set.clone()),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn permission(
        ds: &str,
        db: Option<&str>,
        table: Option<&str>,
        column: Option<&str>,
    ) -> DataPermission {
        DataPermission {
            id: "p1".into(),
            set: "s1".into(),
            effect: Effect::Allow,
            actions: vec!["SELECT".into()],
            datasource_type: ds.into(),
            dw_id: None,
            cluster_id: Some("c1".into()),
            cluster_name: None,
            database_name: db.map(Into::into),
            schema_name: None,
            table_name: table.map(Into::into),
            column_name: column.map(Into::into),
            url: None,
            auto_sync: false,
            row_level_security: None,
        }
    }

    #[test]
    fn paths_and_wildcards() {
        assert_eq!(
            permission("HIVE", Some("db"), Some("t"), None).path(),
            "hive/c1/db/t"
        );
        assert_eq!(
            permission("HIVE", Some("default"), Some("*"), Some("*")).path(),
            "hive/c1/default"
        );
        assert_eq!(
            permission("HIVE", Some("db"), Some("*"), Some("id")).path(),
            "hive/c1/db/*/id"
        );
        assert_eq!(
            permission("DWS", Some("db"), Some("t"), None).path(),
            "dws/c1/db/*/t"
        );
        let mut dli = permission("DLI", Some("db"), None, None);
        dli.cluster_id = None;
        assert_eq!(dli.path(), "dli/*/db");
        assert!(dli.validate().is_ok());
    }

    #[test]
    fn validation_names_the_fields() {
        let mut bad = permission("HIVE", None, None, None);
        bad.actions = vec!["INSERT".into()];
        bad.cluster_id = None;
        let Err(Invalid(errors)) = bad.validate() else {
            panic!("invalid")
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["permission_actions[0]", "database_name", "cluster_id"]
        );
    }

    #[test]
    fn a_parent_covers_what_lies_within_it() {
        let parent = permission("HIVE", Some("db"), Some("*"), None);
        assert!(parent.covers(&permission("HIVE", Some("db"), Some("t"), Some("c"))));
        assert!(!parent.covers(&permission("HIVE", Some("other"), Some("t"), None)));
        let mut wider = permission("HIVE", Some("db"), Some("t"), None);
        wider.actions = vec!["SELECT".into(), "DROP".into()];
        assert!(!parent.covers(&wider));
        let mut all = parent.clone();
        all.actions = vec!["ALL".into()];
        assert!(all.covers(&wider));
        let mut deny = parent;
        deny.effect = Effect::Deny;
        assert!(!deny.covers(&permission("HIVE", Some("db"), Some("t"), None)));
    }
}
