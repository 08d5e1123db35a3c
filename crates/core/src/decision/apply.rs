//! Applying change records to a snapshot. Each operation updates the nodes and rules it
//! touches and marks what its derived data depends on; after a batch, the closures of the
//! marked users and the ancestors of the marked resources are recomputed. Operations are
//! absolute (put this body, delete this key), so replaying one already applied is harmless.

use std::collections::BTreeSet;
use std::sync::Arc;

use thin_vec::ThinVec;

use super::snapshot::{
    Actions, GroupNode, Id, Key, Op, ResourceLinks, ResourceNode, RoleNode, Snapshot, UserNode,
    Window,
};
use crate::model::{Assignment, Grant, Group, Member, Resource, Role, SubjectType, User};
use crate::{Kind, Object, ObjectKey};
use serde::Deserialize;

/// What a batch must recompute once its operations are applied.
#[derive(Default)]
pub(super) struct Dirty {
    pub users: BTreeSet<Arc<str>>,
    pub groups: BTreeSet<Arc<str>>,
    pub resources: BTreeSet<Arc<str>>,
    /// Roles put or deleted: their covered actions change, and those of the roles that
    /// include them.
    pub roles: BTreeSet<Arc<str>>,
    /// The ids of roles whose inclusions changed (or that were deleted): the closures that
    /// hold them, or a role including them, change.
    pub included: BTreeSet<Id>,
}

fn remove(list: &mut ThinVec<Arc<str>>, item: &str) {
    list.retain(|x| &**x != item);
}

fn add(list: &mut ThinVec<Arc<str>>, item: &Arc<str>) {
    if !list.iter().any(|x| x == item) {
        list.push(item.clone());
    }
}

impl Snapshot {
    /// Applies one change record's operations at `revision`; each holds its body or a
    /// reference to it (`Op<&Value>`, applying a change record without a copy).
    pub fn apply<B: std::borrow::Borrow<serde_json::Value>>(
        &mut self,
        revision: i64,
        ops: &[Op<B>],
    ) {
        let mut dirty = Dirty::default();
        for op in ops {
            match op {
                Op::Put { kind, body } => self.put(*kind, body.borrow(), &mut dirty),
                Op::Delete { kind, key } => self.delete(*kind, key, &mut dirty),
            }
        }
        self.write_relinked();
        self.recompute(dirty);
        self.revision = self.revision.max(revision);
    }

    /// The id of `kind:key`, allocated on first use.
    pub(super) fn id_of(&mut self, kind: Kind, key: &str) -> Id {
        self.named_id(kind, key).0
    }

    /// The id of `kind:key` and its shared name.
    pub(super) fn named_id(&mut self, kind: Kind, key: &str) -> (Id, Arc<str>) {
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
        if kind != Kind::Resource {
            self.names.insert(id, name.clone());
        }
        (id, name)
    }

    /// The one shared copy of a string many nodes and rules repeat.
    pub(super) fn shared(&mut self, text: &str) -> Arc<str> {
        if let Some(shared) = self.strings.get(text) {
            return shared.clone();
        }
        let text: Arc<str> = Arc::from(text);
        self.strings.insert(text.clone(), text.clone());
        text
    }

    fn forget_id(&mut self, kind: Kind, key: &str) {
        if let Some(id) = self.ids.remove(format!("{kind}:{key}").as_str()) {
            self.names.remove(&id);
        }
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
                                parents: ThinVec::new(),
                                users: ThinVec::new(),
                                groups: ThinVec::new(),
                                roles: ThinVec::new(),
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
                    self.set_window(
                        (member.member.subject_type.kind(), &member.member.id),
                        (Kind::Group, &member.group),
                        Window::of(member.not_before, member.expires_at),
                    );
                    self.index_end(&member.object_key(), member.expires_at);
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
                        dirty.included.insert(id);
                    }
                    let actions = role.actions.iter().map(|a| Arc::from(a.as_str())).collect();
                    self.roles.insert(
                        key.clone(),
                        RoleNode {
                            id,
                            actions,
                            includes,
                            covers: Actions::All,
                        },
                    );
                    dirty.roles.insert(key);
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
                    self.set_window(
                        (a.subject.subject_type.kind(), &a.subject.id),
                        (Kind::Role, &a.role),
                        Window::of(a.not_before, a.expires_at),
                    );
                    self.index_end(&a.object_key(), a.expires_at);
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
            | Kind::SecurityAdmin
            | Kind::DataSource => {}
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
                    self.set_window((member_type.kind(), member), (Kind::Group, group), None);
                }
                self.index_end(&ObjectKey::new(Kind::Member, key), None);
            }
            Kind::Role => {
                if let Some(role) = self.roles.remove(key) {
                    self.forget_id(Kind::Role, key);
                    dirty.roles.insert(Arc::from(key));
                    dirty.included.insert(role.id);
                }
            }
            Kind::Resource => {
                if let Some(node) = self.resources.remove(key) {
                    if let Some(parent) = node.parent() {
                        self.resources.update(&**parent, |p| {
                            p.change_links(|l| remove(&mut l.children, key))
                        });
                    }
                    for child in node.children() {
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
                    self.set_window((subject_type.kind(), subject), (Kind::Role, role), None);
                }
                self.index_end(&ObjectKey::new(Kind::Assignment, key), None);
            }
            Kind::Grant => self.unindex_grant(key),
            Kind::Tenant
            | Kind::Permission
            | Kind::Label
            | Kind::Invite
            | Kind::PermissionSet
            | Kind::DataPermission
            | Kind::SetMember
            | Kind::SecurityAdmin
            | Kind::DataSource => {}
        }
    }

    fn put_user(&mut self, user: User, dirty: &mut Dirty) {
        let key: Arc<str> = Arc::from(user.id.as_str());
        let id = self.id_of(Kind::User, &user.id);
        let (groups, roles) = match self.users.get(&*key) {
            Some(old) => (old.groups.clone(), old.roles.clone()),
            None => (ThinVec::new(), ThinVec::new()),
        };
        self.users.insert(
            Key::from(&*key),
            UserNode {
                id,
                disabled: user.disabled,
                groups,
                roles,
                closure: Arc::from([id]),
                timed: None,
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
        // Taken out, not cloned: its children move into the node that replaces it.
        let mut old = self.resources.remove(&*key);
        if let Some(old_parent) = old.as_ref().and_then(|o| o.parent().cloned()) {
            if Some(&old_parent) != parent.as_ref() {
                self.resources.update(&*old_parent, |p| {
                    p.change_links(|l| remove(&mut l.children, &key))
                });
            }
        }
        if let Some(parent) = &parent {
            self.resources.update(&**parent, |p| {
                p.change_links(|l| add(&mut l.children, &key))
            });
        }
        let children = old
            .as_mut()
            .map(|o| o.take_links().children)
            .unwrap_or_default();
        let node = ResourceNode::new(
            id,
            self.direct.get(&id).cloned(),
            ResourceLinks {
                parent,
                ancestors: None,
                children,
                labels: (!resource.labels.is_empty()).then(|| Arc::new(resource.labels)),
            },
        );
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

    /// Records the window of the membership or assignment from `from` to `to`, or forgets
    /// it when `None` (it holds always, or no longer exists).
    fn set_window(&mut self, from: (Kind, &str), to: (Kind, &str), window: Option<Window>) {
        match window {
            Some(window) => {
                let edge = (self.id_of(from.0, from.1), self.id_of(to.0, to.1));
                self.windows.insert(edge, window);
            }
            None if self.windows.is_empty() => {}
            None => {
                let id = |(kind, key): (Kind, &str)| {
                    self.ids.get(format!("{kind}:{key}").as_str()).copied()
                };
                if let (Some(a), Some(b)) = (id(from), id(to)) {
                    self.windows.remove(&(a, b));
                }
            }
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
        let change = |roles: &mut ThinVec<Arc<str>>| {
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
}
