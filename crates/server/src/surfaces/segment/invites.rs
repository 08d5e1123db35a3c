//! Invites: addresses that are not users yet, with the permissions they receive when the
//! invite is accepted (through the native API: `POST /v1/tenants/{t}/invites/{email}/accept`).

use axum::extract::{RawQuery, State};
use grantd_core::model::{Effect, Invite, PendingGrant, Privilege, User};
use grantd_core::{ids, Kind, ObjectKey};
use grantd_store::Expect;
use serde_json::json;

use super::audit::{self, Event};
use super::error::{SegmentError, SegmentResult};
use super::guard::Caller;
use super::policies::{self, PermissionIn};
use super::wire::{Body, Data, Fields, PageRequest, Query};
use crate::state::AppState;

/// `POST /invites`: invites each address (again, adding to a pending invite).
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body,
) -> SegmentResult<Data> {
    let workspace = caller.ctx.tenant.clone();
    let mut f = Fields::default();
    let mut wanted: Vec<(String, Vec<PermissionIn>)> = Vec::new();
    if let Some(b) = f.body(&body) {
        let invites = f.required(b, "invites", "invites");
        for (at, item) in f.items(invites, "invites") {
            let email = f.required_string(item, "email", &at, 254);
            let permissions = match item.get("permissions") {
                Some(serde_json::Value::Null) | None => Vec::new(),
                given => policies::parse_invite_permissions(
                    &mut f,
                    given,
                    &format!("{at}.permissions"),
                    &workspace,
                ),
            };
            match email {
                Some(e) if ids::email(&e).is_ok() => wanted.push((e, permissions)),
                Some(_) => f.fail(format!("{at}.email"), "must be an email address"),
                None => {}
            }
        }
    }
    f.finish()?;
    let mut batch = state.service.batch(&caller.ctx).await?;
    let users = batch.list::<User>(None).await?;
    let mut f = Fields::default();
    for (i, (email, _)) in wanted.iter().enumerate() {
        let taken = users.iter().any(|u| {
            u.object
                .email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email))
        });
        if taken {
            f.fail(
                format!("invites.{i}.email"),
                "is already a user of this workspace",
            );
        }
    }
    f.finish()?;
    let mut events = Vec::new();
    let mut emails = Vec::new();
    for (email, permissions) in &wanted {
        policies::prepare(&mut batch, permissions, &workspace).await?;
        let existing = batch.get::<Invite>(email).await?.map(|i| i.object);
        if existing.is_none() {
            events.push(Event::new(
                "New Segment User Invited to Workspace",
                "invite",
                email,
                email,
            ));
        }
        let mut invite = existing.unwrap_or_else(|| Invite {
            email: email.clone(),
            grants: Vec::new(),
            groups: Vec::new(),
        });
        for p in permissions {
            let policy = policies::new_policy();
            for r in &p.resources {
                let targets = policies::targets(r, &workspace)
                    .map_err(|m| SegmentError::field(format!("{}.resources", p.path), m))?;
                for target in targets {
                    policies::ensure_resource(&mut batch, &target).await?;
                    invite.grants.push(PendingGrant {
                        privilege: Privilege::Role {
                            id: p.role_id.clone(),
                        },
                        target,
                        effect: Effect::Allow,
                        origin: Some(policies::origin(&policy)),
                    });
                }
            }
            events.push(Event::new("Policy Created", "policy", policy, &p.role_id));
        }
        batch.put(&invite, Expect::Any).await?;
        emails.push(email.clone());
    }
    let target = ObjectKey::new(Kind::Invite, emails.join(","));
    batch
        .commit("segment.invites.create", &target, audit::detail(events))
        .await?;
    Ok(Data::created(json!({ "emails": emails })))
}

/// `GET /invites`: the pending invites' addresses.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
    Body(body): Body,
) -> SegmentResult<Data> {
    let page = PageRequest::of(&Query::parse(raw.as_deref()), &body)?;
    let emails: Vec<String> = state
        .service
        .list_all::<Invite>(&caller.ctx.tenant, None)
        .await?
        .into_iter()
        .map(|i| i.object.email)
        .collect();
    let (items, pagination) = page.slice(&emails);
    Ok(Data::ok(
        json!({"invites": items, "pagination": pagination}),
    ))
}

/// `DELETE /invites?emails=...`: every address must have a pending invite.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> SegmentResult<Data> {
    let emails = Query::parse(raw.as_deref()).array("emails");
    if emails.is_empty() {
        return Err(SegmentError::field("emails", "\"emails\" is required"));
    }
    let mut batch = state.service.batch(&caller.ctx).await?;
    let mut events = Vec::new();
    for email in &emails {
        let invite = batch
            .get::<Invite>(email)
            .await?
            .ok_or_else(SegmentError::not_found)?
            .object;
        batch
            .delete(&ObjectKey::new(Kind::Invite, email.clone()))
            .await?;
        events.push(Event::new("Invite Deleted", "invite", email, email));
        if !invite.groups.is_empty() {
            events.push(Event::new(
                "Group Memberships Deleted",
                "invite",
                email,
                email,
            ));
        }
    }
    let target = ObjectKey::new(Kind::Invite, emails.join(","));
    batch
        .commit("segment.invites.delete", &target, audit::detail(events))
        .await?;
    Ok(Data::success())
}
