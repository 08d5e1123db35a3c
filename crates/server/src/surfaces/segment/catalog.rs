//! What every Segment workspace has without being asked: Segment's documented roles, each
//! defined as actions on Segment's resource types so that grantd's checks enforce them, the
//! resource types a permission may name, and the two built-in labels.
//!
//! The ids of Workspace Owner and Minimal Workspace Access are Segment's own (from its API
//! reference); Segment publishes no others, so the rest are grantd's, fixed forever.
//! Clients find roles by name through `GET /roles`, as they must with Segment.

use grantd_core::model::{Label, Role};

/// A built-in role.
pub struct CatalogRole {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub actions: &'static [&'static str],
}

impl CatalogRole {
    /// The role as the tenant stores it, written the first time a permission names it.
    pub fn to_role(&self) -> Role {
        Role {
            id: self.id.to_string(),
            name: Some(self.name.to_string()),
            description: Some(self.description.to_string()),
            actions: self.actions.iter().map(|a| a.to_string()).collect(),
            includes: Vec::new(),
        }
    }
}

pub const ROLES: &[CatalogRole] = &[
    CatalogRole {
        id: "1WDUuRLxv84rrfCNUwvkrRtkxnS",
        name: "Workspace Owner",
        description: "Owners have full read and edit access to everything in the workspace, including sources, destinations, add-on products, and settings. Owners have full edit access to all team permissions.",
        actions: &["*"],
    },
    CatalogRole {
        id: "1aEWAcU0fArxScocwH9xxLgW7r3",
        name: "Minimal Workspace Access",
        description: "Members inherit custom permissions based on individual roles assigned; alone, this role lets them see the workspace.",
        actions: &["workspace.read"],
    },
    CatalogRole {
        id: "gpEiJaZ0Gq7LuWXs1iwcmiyl6yE",
        name: "Source Admin",
        description: "Edit access to assigned sources, their settings, connected streaming destinations, schema, transformations, live data in the debugger and write keys.",
        actions: &["source.read", "source.write"],
    },
    CatalogRole {
        id: "he8Skmpd8OFfYgbgpvhpih0fAHO",
        name: "Source Read-only",
        description: "Read access to assigned sources, their settings, connected streaming destinations, schema, transformations and live data in the debugger.",
        actions: &["source.read"],
    },
    CatalogRole {
        id: "WmVNd0Qw0B4TyvvWCMnBg5hNOKM",
        name: "Warehouse Admin",
        description: "Edit access to warehouses and warehouse settings.",
        actions: &["warehouse.read", "warehouse.write"],
    },
    CatalogRole {
        id: "8nTyO9MWfvuRRd4nV2WbY04NheK",
        name: "Warehouse Read-only",
        description: "Read access to warehouses and warehouse settings.",
        actions: &["warehouse.read"],
    },
    CatalogRole {
        id: "SwGjNqV46UgDbuuNbm0jdOmrTse",
        name: "Functions Admin",
        description: "Create, edit and delete access to assigned functions.",
        actions: &["function.read", "function.write"],
    },
    CatalogRole {
        id: "qTbWxbWaLp0n6LD1dKGVPgtR0oc",
        name: "Functions Read-only",
        description: "Read access to assigned functions.",
        actions: &["function.read"],
    },
    CatalogRole {
        id: "1JiT6Bsae67kfM3gQ3pSRbE3IaI",
        name: "Tracking Plan Admin",
        description: "Edit access to tracking plans.",
        actions: &["tracking_plan.read", "tracking_plan.write"],
    },
    CatalogRole {
        id: "S6TVJzDDQRm4sJQ5BSwX8S9CrNj",
        name: "Tracking Plan Read-only",
        description: "Read access to tracking plans.",
        actions: &["tracking_plan.read"],
    },
    CatalogRole {
        id: "3ZKKGXNXqbnNmVdeR3vEKIzLkN1",
        name: "Unify and Engage Admin",
        description: "Edit access to assigned spaces: audiences, traits, journeys, settings.",
        actions: &["space.read", "space.write", "space.use"],
    },
    CatalogRole {
        id: "YnxQyLr7luAzts7IZndQRoYpDlm",
        name: "Engage User",
        description: "Access to assigned spaces' audiences and journeys, without their settings.",
        actions: &["space.read", "space.use"],
    },
    CatalogRole {
        id: "asnq8eWoTk5nMnSLvb5buRDpvbY",
        name: "Unify Read-only",
        description: "Read access to assigned spaces.",
        actions: &["space.read"],
    },
    CatalogRole {
        id: "FK1xPRNbxASneVikbn2rNSoFTZ5",
        name: "End User Privacy Admin",
        description: "Edit access to end-user privacy settings, including deletion and suppression.",
        actions: &["privacy.read", "privacy.write"],
    },
];

pub fn role(id: &str) -> Option<&'static CatalogRole> {
    ROLES.iter().find(|r| r.id == id)
}

/// The resource types a Segment permission may name; `WORKSPACE` stands for the tenant.
pub const RESOURCE_TYPES: [&str; 5] = ["FUNCTION", "SOURCE", "SPACE", "WAREHOUSE", "WORKSPACE"];

pub const WORKSPACE: &str = "WORKSPACE";

/// Labels every workspace has (Segment: "All Workspaces include labels for Dev and Prod").
pub fn builtin_labels() -> [Label; 2] {
    [
        Label {
            key: "environment".into(),
            value: "dev".into(),
            description: Some("Development".into()),
        },
        Label {
            key: "environment".into(),
            value: "prod".into(),
            description: Some("Production".into()),
        },
    ]
}

pub fn is_builtin_label(key: &str, value: &str) -> bool {
    builtin_labels()
        .iter()
        .any(|l| l.key == key && l.value == value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use grantd_core::Object;

    #[test]
    fn catalog_roles_are_valid_and_unique() {
        let mut ids: Vec<&str> = ROLES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), ROLES.len());
        for role in ROLES {
            assert!(role.to_role().validate().is_ok(), "{}", role.name);
        }
        for label in builtin_labels() {
            assert!(label.validate().is_ok());
        }
    }
}
