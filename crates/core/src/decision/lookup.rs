//! Lookups: which resources a user may act on, which users may act on a resource. Each
//! candidate is decided by the same check as a single check, so lookups and checks cannot
//! disagree; results are complete and sorted by key, for paging.

use super::check::{CheckQuery, ResourceQuery, Verdict};
use super::snapshot::Snapshot;

impl Snapshot {
    /// Keys (`type/id`) of the resources of `resource_type` (of every type when `None`) on
    /// which `user` may do `action`, in key order, after the key `after`.
    pub fn lookup_resources(
        &self,
        user: &str,
        action: &str,
        resource_type: Option<&str>,
        after: Option<&str>,
    ) -> Vec<String> {
        let Some(node) = self.users.get(user) else {
            return Vec::new();
        };
        if node.disabled {
            return Vec::new();
        }
        let mut found: Vec<String> = self
            .resources
            .iter()
            .filter(|(key, resource)| {
                resource_type.is_none_or(|t| &*resource.resource_type == t)
                    && after.is_none_or(|a| key.as_str() > a)
            })
            .filter(|(key, _)| {
                let query = CheckQuery {
                    user,
                    action,
                    resource: ResourceQuery::Object { key, labels: None },
                };
                self.check(&query) == Verdict::Allow
            })
            .map(|(key, _)| key.to_string())
            .collect();
        found.sort_unstable();
        found
    }

    /// Ids of the users who may do `action` on `resource`, in order, after `after`: every
    /// user is decided, so membership through groups and roles is expanded.
    pub fn lookup_subjects(
        &self,
        action: &str,
        resource: ResourceQuery<'_>,
        after: Option<&str>,
    ) -> Vec<String> {
        let mut found: Vec<String> = self
            .users
            .iter()
            .filter(|(user, _)| after.is_none_or(|a| user.as_str() > a))
            .filter(|(user, _)| {
                self.check(&CheckQuery {
                    user,
                    action,
                    resource,
                }) == Verdict::Allow
            })
            .map(|(user, _)| user.to_string())
            .collect();
        found.sort_unstable();
        found
    }
}
