//! The objects of a tenant. Each file holds one kind: its fields, its rules, its references.

mod assignment;
mod grant;
mod group;
mod invite;
mod label;
mod permission;
mod resource;
mod role;
mod subject;
mod tenant;
mod user;

pub use assignment::Assignment;
pub use grant::{Effect, Grant, Privilege, Target};
pub use group::{Group, Member};
pub use invite::{Invite, PendingGrant};
pub use label::Label;
pub use permission::Permission;
pub use resource::{key_of, Resource, ResourceRef};
pub use role::Role;
pub use subject::{SubjectRef, SubjectType};
pub use tenant::Tenant;
pub use user::User;
