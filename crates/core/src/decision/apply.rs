//! Applying change records to a snapshot. Each operation updates the nodes and rules it
//! touches and marks what its derived data depends on; after a batch, the closures of the
//! marked users and the ancestors of the marked resources are recomputed. Operations are
//! absolute (put this body, delete this key), so replaying one already applied is harmless.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::snapshot::{
    Actions, GroupNode, Id, Key, LabelSelector, Op, Privilege, ResourceNode, RoleNode, Rule,
    RuleRef, RuleTarget, Rules, Snapshot, UserNode, TENANT,
};
use crate::model::{
    Assignment, Grant, Group, Member, Privilege as GrantPrivilege, Resource, Role, SubjectType,
    Target, User,
};
use crate::{Kind, Object};
use serde::Deserialize;

/// What a batch must recompute once its operations are applied.
#[derive(Default)]
pub(super) struct Dirty {
    pub users: BTreeSet<Arc<str>>,
    pub groups: BTreeSet<Arc<str>>,
    pub resources: BTreeSet<Arc<str>>,
    pub roles: bool,
    pub all_users: bool,
}

fn remove(list: &mut Vec<Arc<str>>, item: &str) {
    list.retain(|x| &**x != item);
}

fn add(list: &mut Vec<Arc<str>>, item: &Arc<str>) {
    if !list.iter().any(|x| x == item) {
        list.push(item.clone());
    }
}

impl Snapshot {
    /// Applies one change record's operations at `revision`.
    pub fn apply(&mut self, revision: i64, ops: &[Op]) {
        let mut dirty = Dirty::default();
        for op in ops {
            match op {
                Op::Put { kind, body } => self.put(*kind, body, &mut dirty),
                Op::Delete { kind, key } => self.delete(*kind, key, &mut dirty),
            }
        }
        self.recompute(dirty);
        self.revision = self.revision.max(revision);
    }

    /// The id of `kind:key`, allocated on first use.
    pub(super) fn id_of(&mut self, kind: Kind, key: &str) -> Id {
        self.named_id(kind, key).0
    }

    /// The id of `kind:key` and its shared name.
    fn named_id(&mut self, kind: Kind, key: &str) -> (Id, Arc<str>) {
        let mut name = String::with_capacity(kind.as_str().len() + 1 + key.len());
        name.push_str(kind.as_str());
        name.push(':');
        name.push_str(key);
        if let Some((name, id)) = self.ids.get_key_value(name.as_str()) {
            return (*id, name.clone());
        }
        let name: Arc<str> = Arc::from(name);
        let id = self.next_id;
        self.next_id += 1;
        self.ids.insert(name.clone(), id);
        (id, name)
    }

    /// The one shared copy of a string many nodes and rules repeat.
    fn shared(&mut self, text: &str) -> Arc<str> {
        if let Some(shared) = self.strings.get(text) {
            return shared.clone();
        }
        let text: Arc<str> = Arc::from(text);
        self.strings.insert(text.clone(), text.clone());
        text
    }

    fn forget_id(&mut self, kind: Kind, key: &str) {
        self.ids.remove(format!("{kind}:{key}").as_str());
    }

    fn put(&mut self, kind: Kind, body: &serde_json::Value, dirty: &mut Dirty) {
        match kind {
            Kind::User => {
                if let Ok(user) = User::deserialize(body) {
                    self.put_user(user, dirty);
                }
            }
            Kind::Group => {
                if let Ok(group) = Group::deserialize(body) {
                    let id = self.id_of(Kind::Group, &group.id);
                    let key: Arc<str> = Arc::from(group.id.as_str());
                    if self.groups.get(&key).is_none() {
                        self.groups.insert(
                            key,
                            GroupNode {
                                id,
                                parents: vec![],
                                users: vec![],
                                groups: vec![],
                                roles: vec![],
                            },
                        );
                    }
                }
            }
            Kind::Member => {
                if let Ok(member) = Member::deserialize(body) {
                    self.link_member(
                        &member.group,
                        member.member.subject_type,
                        &member.member.id,
                        true,
                        dirty,
                    );
                }
            }
            Kind::Role => {
                if let Ok(role) = Role::deserialize(body) {
                    let id = self.id_of(Kind::Role, &role.id);
                    let key: Arc<str> = Arc::from(role.id.as_str());
                    let includes: Vec<Arc<str>> = role
                        .includes
                        .iter()
                        .map(|r| Arc::from(r.as_str()))
                        .collect();
                    if self
                        .roles
                        .get(&key)
                        .is_none_or(|old| old.includes != includes)
                    {
                        dirty.all_users = true;
                    }
                    let actions = role.actions.iter().map(|a| Arc::from(a.as_str())).collect();
                    self.roles.insert(
                        key,
                        RoleNode {
                            id,
                            actions,
                            includes,
                            covers: Actions::All,
                        },
                    );
                    dirty.roles = true;
                }
            }
            Kind::Resource => {
                if let Ok(resource) = Resource::deserialize(body) {
                    self.put_resource(resource, dirty);
                }
            }
            Kind::Assignment => {
                if let Ok(a) = Assignment::deserialize(body) {
                    self.link_assignment(
                        a.subject.subject_type,
                        &a.subject.id,
                        &a.role,
                        true,
                        dirty,
                    );
                }
            }
            Kind::Grant => {
                if let Ok(grant) = Grant::deserialize(body) {
                    self.unindex_grant(&grant.id);
                    self.index_grant(&grant);
                }
            }
            Kind::Tenant
            | Kind::Permission
            | Kind::Label
            | Kind::Invite
            | Kind::PermissionSet
            | Kind::DataPermission
            | Kind::SetMember
            | Kind::SecurityAdmin => {}
        }
    }

    fn delete(&mut self, kind: Kind, key: &str, dirty: &mut Dirty) {
        match kind {
            Kind::User => {
                if let Some(user) = self.users.remove(key) {
                    for g in &user.groups {
                        self.groups.update(&**g, |n| remove(&mut n.users, key));
                    }
                    self.forget_id(Kind::User, key);
                }
            }
            Kind::Group => {
                if let Some(group) = self.groups.remove(key) {
                    for u in &group.users {
                        self.users.update(&**u, |n| remove(&mut n.groups, key));
                        dirty.users.insert(u.clone());
                    }
                    for g in &group.groups {
                        self.groups.update(&**g, |n| remove(&mut n.parents, key));
                        dirty.groups.insert(g.clone());
                    }
                    for p in &group.parents {
                        self.groups.update(&**p, |n| remove(&mut n.groups, key));
                    }
                    self.forget_id(Kind::Group, key);
                }
            }
            Kind::Member => {
                let parsed = key.split_once('/').and_then(|(group, member)| {
                    let (t, id) = member.split_once(':')?;
                    Some((group, SubjectType::parse(t)?, id))
                });
                if let Some((group, member_type, member)) = parsed {
                    self.link_member(group, member_type, member, false, dirty);
                }
            }
            Kind::Role => {
                if self.roles.remove(key).is_some() {
                    self.forget_id(Kind::Role, key);
                    dirty.roles = true;
                    dirty.all_users = true;
                }
            }
            Kind::Resource => {
                if let Some(node) = self.resources.remove(key) {
                    if let Some(parent) = &node.parent {
                        self.resources
                            .update(&**parent, |p| remove(&mut p.children, key));
                    }
                    for child in &node.children {
                        dirty.resources.insert(child.clone());
                    }
                    self.forget_id(Kind::Resource, key);
                }
            }
            Kind::Assignment => {
                let parsed = key.split_once('/').and_then(|(subject, role)| {
                    let (t, id) = subject.split_once(':')?;
                    Some((SubjectType::parse(t)?, id, role))
                });
                if let Some((subject_type, subject, role)) = parsed {
                    self.link_assignment(subject_type, subject, role, false, dirty);
                }
            }
            Kind::Grant => self.unindex_grant(key),
            Kind::Tenant
            | Kind::Permission
            | Kind::Label
            | Kind::Invite
            | Kind::PermissionSet
            | Kind::DataPermission
            | Kind::SetMember
            | Kind::SecurityAdmin => {}
        }
    }

    fn put_user(&mut self, user: User, dirty: &mut Dirty) {
        let key: Arc<str> = Arc::from(user.id.as_str());
        let id = self.id_of(Kind::User, &user.id);
        let (groups, roles) = match self.users.get(&*key) {
            Some(old) => (old.groups.clone(), old.roles.clone()),
            None => (Vec::new(), Vec::new()),
        };
        self.users.insert(
            Key::from(&*key),
            UserNode {
                id,
                disabled: user.disabled,
                groups,
                roles,
                closure: Arc::from([id]),
            },
        );
        dirty.users.insert(key);
    }

    fn put_resource(&mut self, resource: Resource, dirty: &mut Dirty) {
        let key: Arc<str> = Arc::from(resource.key().as_str());
        let id = self.id_of(Kind::Resource, &key);
        let parent: Option<Arc<str>> = resource
            .parent
            .as_ref()
            .map(|p| Arc::from(p.key().as_str()));
        let old = self.resources.get(&*key).cloned();
        if let Some(old_parent) = old.as_ref().and_then(|o| o.parent.clone()) {
            if Some(&old_parent) != parent.as_ref() {
                self.resources
                    .update(&*old_parent, |p| remove(&mut p.children, &key));
            }
        }
        if let Some(parent) = &parent {
            self.resources
                .update(&**parent, |p| add(&mut p.children, &key));
        }
        let node = ResourceNode {
            id,
            resource_type: self.shared(&resource.resource_type),
            parent,
            labels: (!resource.labels.is_empty()).then(|| Arc::new(resource.labels)),
            children: old.map(|o| o.children).unwrap_or_default(),
            rules: self.direct.get(&id).cloned(),
            ancestors: None,
        };
        self.resources.insert(Key::from(&*key), node);
        dirty.resources.insert(key);
    }

    fn link_member(
        &mut self,
        group: &str,
        member_type: SubjectType,
        member: &str,
        linked: bool,
        dirty: &mut Dirty,
    ) {
        let member_key: Arc<str> = Arc::from(member);
        let group_key: Arc<str> = Arc::from(group);
        match member_type {
            SubjectType::User => {
                self.groups.update(group, |g| {
                    if linked {
                        add(&mut g.users, &member_key)
                    } else {
                        remove(&mut g.users, member)
                    }
                });
                self.users.update(member, |u| {
                    if linked {
                        add(&mut u.groups, &group_key)
                    } else {
                        remove(&mut u.groups, group)
                    }
                });
                dirty.users.insert(member_key);
            }
            SubjectType::Group => {
                self.groups.update(group, |g| {
                    if linked {
                        add(&mut g.groups, &member_key)
                    } else {
                        remove(&mut g.groups, member)
                    }
                });
                self.groups.update(member, |m| {
                    if linked {
                        add(&mut m.parents, &group_key)
                    } else {
                        remove(&mut m.parents, group)
                    }
                });
                dirty.groups.insert(member_key);
            }
            SubjectType::Role => {}
        }
    }

    fn link_assignment(
        &mut self,
        subject_type: SubjectType,
        subject: &str,
        role: &str,
        linked: bool,
        dirty: &mut Dirty,
    ) {
        let role_key: Arc<str> = Arc::from(role);
        let change = |roles: &mut Vec<Arc<str>>| {
            if linked {
                add(roles, &role_key)
            } else {
                remove(roles, role)
            }
        };
        match subject_type {
            SubjectType::User => {
                self.users.update(subject, |u| change(&mut u.roles));
                dirty.users.insert(Arc::from(subject));
            }
            SubjectType::Group => {
                self.groups.update(subject, |g| change(&mut g.roles));
                dirty.groups.insert(Arc::from(subject));
            }
            SubjectType::Role => {}
        }
    }

    fn index_grant(&mut self, grant: &Grant) {
        let (subject, subject_key) =
            self.named_id(grant.subject.subject_type.kind(), &grant.subject.id);
        let privilege = match &grant.privilege {
            GrantPrivilege::Role { id } => Privilege::Role(Arc::from(id.as_str())),
            GrantPrivilege::Permission { id } => Privilege::Actions(
                self.shared_actions(Actions::from_list(std::slice::from_ref(id))),
            ),
            GrantPrivilege::Actions { actions } => {
                Privilege::Actions(self.shared_actions(Actions::from_list(actions)))
            }
        };
        let target = match &grant.target {
            Target::Tenant => RuleTarget::Tenant,
            Target::Resource { resource } => {
                RuleTarget::Resource(self.named_id(Kind::Resource, &resource.key()).1)
            }
            Target::Labels {
                resource_type,
                labels,
            } => RuleTarget::Labels(Box::new(LabelSelector {
                resource_type: resource_type.as_deref().map(|t| self.shared(t)),
                labels: labels.clone(),
            })),
            Target::DataPath { pattern } => {
                RuleTarget::DataPath(pattern.split('/').map(Arc::from).collect())
            }
        };
        let direct_target = match &target {
            RuleTarget::Tenant => Some(TENANT),
            RuleTarget::Resource(name) => self.ids.get(name).copied(),
            _ => None,
        };
        let rule = Arc::new(Rule {
            grant: Arc::from(grant.id.as_str()),
            subject,
            direct_target,
            subject_key,
            target,
        });
        self.grants.insert(rule.grant.clone(), rule.clone());
        let entry = RuleRef {
            subject,
            effect: grant.effect,
            privilege,
            rule: rule.clone(),
        };
        self.link_rule(&rule, Some(entry));
    }

    /// The one shared copy of an action list, so that the many rules granting `read` read
    /// the same memory.
    fn shared_actions(&mut self, actions: Actions) -> Actions {
        match &actions {
            Actions::Some(list) => Actions::Some(self.shared(list)),
            Actions::All => actions,
        }
    }

    fn unindex_grant(&mut self, id: &str) {
        if let Some(rule) = self.grants.remove(id) {
            self.link_rule(&rule, None);
        }
    }

    /// Adds a rule to, or removes it from, its bucket: its target's (sorted by subject, so
    /// that a check can search a large bucket), or its subject's for selector rules.
    fn link_rule(&mut self, rule: &Arc<Rule>, entry: Option<RuleRef>) {
        let change = |bucket: Option<&Rules>| -> Rules {
            let mut rules: Vec<RuleRef> = bucket.map(|b| b.to_vec()).unwrap_or_default();
            rules.retain(|r| r.rule.grant != rule.grant);
            if let Some(entry) = entry {
                let at = rules
                    .partition_point(|r| (r.subject, &r.rule.grant) < (rule.subject, &rule.grant));
                rules.insert(at, entry);
            }
            Arc::from(rules)
        };
        let (map, key) = match rule.direct_target {
            Some(target) => (&mut self.direct, target),
            None => (&mut self.selectors, rule.subject),
        };
        let rules = change(map.get(&key));
        let kept = (!rules.is_empty()).then(|| rules.clone());
        match &kept {
            Some(rules) => map.insert(key, rules.clone()),
            None => map.remove(&key),
        };
        if let RuleTarget::Resource(name) = &rule.target {
            let key = name.split_once(':').map_or("", |(_, key)| key);
            self.resources.update(key, |n| n.rules = kept);
        }
    }
}
