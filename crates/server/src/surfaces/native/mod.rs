//! The native API under `/v1`: tenants, tokens, the model's objects, the change feed and
//! the audit trail; its errors in `{"error": {...}}`.

mod access;

mod cluster;
mod data_sources;
mod decisions;
pub mod direct;
pub mod docs;
pub mod error;
mod extract;
mod feed;
mod invites;
mod kinds;
mod objects;
pub mod openapi;
mod page;
pub mod routes;
mod set_kinds;
mod tenants;
mod tokens;
mod transfer;
mod view;
mod watch;

use grantd_core::model::{
    Assignment, DataPermission, DataSource, Grant, Group, Invite, Label, Member, Permission,
    PermissionSet, Resource, Role, SetMember, User,
};

use routes::Api;

/// Every native route, described.
pub fn api() -> Api {
    let mut api = Api::default();
    tenants::register(&mut api);
    cluster::register(&mut api);
    tokens::register(&mut api);
    objects::register::<User>(&mut api);
    objects::register::<Group>(&mut api);
    objects::register::<Member>(&mut api);
    objects::register::<Role>(&mut api);
    objects::register::<Permission>(&mut api);
    objects::register::<Resource>(&mut api);
    objects::register::<Assignment>(&mut api);
    objects::register::<Grant>(&mut api);
    objects::register::<Label>(&mut api);
    objects::register::<Invite>(&mut api);
    objects::register::<PermissionSet>(&mut api);
    objects::register::<DataPermission>(&mut api);
    objects::register::<SetMember>(&mut api);
    objects::register::<DataSource>(&mut api);
    data_sources::register(&mut api);
    invites::register(&mut api);
    feed::register(&mut api);
    decisions::register(&mut api);
    watch::register(&mut api);
    transfer::register(&mut api);
    api
}
