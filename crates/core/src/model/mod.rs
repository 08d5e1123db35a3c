//! The objects of a tenant. Each file holds one kind: its fields, its rules, its references.

mod assignment;
mod data_permission;
mod data_source;
mod grant;
mod group;
mod invite;
mod label;
mod permission;
mod permission_set;
mod resource;
mod role;
mod security_admin;
mod set_member;
mod subject;
mod tenant;
mod user;
mod window;

pub use assignment::Assignment;
pub use data_permission::{actions_of, DataPermission, DATASOURCE_TYPES};
pub use data_source::{DataSource, SourceKind};
pub use grant::{Effect, Grant, Privilege, Target};
pub use group::{Group, Member};
pub use invite::{Invite, PendingGrant};
pub use label::Label;
pub use permission::Permission;
pub use permission_set::{PermissionSet, MANAGER_TYPES, SET_TYPES};
pub use resource::{key_of, Resource, ResourceRef};
pub use role::Role;
pub use security_admin::SecurityAdmin;
pub use set_member::SetMember;
pub use subject::{SubjectRef, SubjectType};
pub use tenant::Tenant;
pub use user::User;
pub use window::{holds_at, Timestamp, Windowed};
