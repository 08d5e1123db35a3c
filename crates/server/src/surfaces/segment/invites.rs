//! Invites: addresses that are not users yet, with the permissions they receive when the
//! invite is accepted (through the native API: `POST /v1/tenants/{t}/invites/{email}/accept`).

use axum::extract::{RawQuery, State};
use grantd_core::model::Invite;
use grantd_core::{ids, Kind, ObjectKey};
use serde_json::json;

use super::audit::{self, Event};
use super::error::{SegmentError, SegmentResult};
use super::fields::Fields;
use super::guard::Caller;
use super::permissions_in::{self, PermissionIn};
use super::policies;
use super::wire::{Body, Data, PageRequest, Query};
use crate::service::{Deleted, PolicyRef, Prerequisites};
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
                given => permissions_in::parse_invite_permissions(
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
    let mut prerequisites = Prerequisites::default();
    let mut invites = Vec::new();
    for (email, permissions) in &wanted {
        let (requests, needs) = policies::requests(permissions, &workspace);
        prerequisites.roles.extend(needs.roles);
        invites.push((email.clone(), requests));
    }
    let events = |outcome: &[(String, bool, Vec<PolicyRef>)]| {
        let mut events = Vec::new();
        for (email, new, given) in outcome {
            if *new {
                events.push(Event::new(
                    "New Segment User Invited to Workspace",
                    "invite",
                    email,
                    email,
                ));
            }
            for p in given {
                events.push(Event::new("Policy Created", "policy", &p.id, &p.role));
            }
        }
        audit::detail(events)
    };
    let outcome = state
        .service
        .invite_with_policies(
            &caller.ctx,
            &invites,
            &prerequisites,
            "segment.invites.create",
            events,
        )
        .await?;
    let emails: Vec<String> = outcome.into_iter().map(|(email, _, _)| email).collect();
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
    let keys: Vec<ObjectKey> = emails
        .iter()
        .map(|e| ObjectKey::new(Kind::Invite, e.clone()))
        .collect();
    let target = ObjectKey::new(Kind::Invite, emails.join(","));
    let events = |deleted: &[Deleted]| {
        let mut events = Vec::new();
        for d in deleted {
            let email = &d.key.key;
            events.push(Event::new("Invite Deleted", "invite", email, email));
            let grouped = serde_json::from_value::<Invite>(d.body.clone())
                .is_ok_and(|i| !i.groups.is_empty());
            if grouped {
                events.push(Event::new(
                    "Group Memberships Deleted",
                    "invite",
                    email,
                    email,
                ));
            }
        }
        audit::detail(events)
    };
    state
        .service
        .delete_all(
            &caller.ctx,
            &keys,
            "segment.invites.delete",
            &target,
            events,
        )
        .await?;
    Ok(Data::success())
}
