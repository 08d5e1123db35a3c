//! Segment's audit trail. A Segment write records the events Segment documents for it
//! (`Policy Created`, `User Group Created`, ...) in its audit event's detail, in the same
//! transaction as the change; writes made through other APIs are named from their action.
//! `GET /audit-events` lists them oldest first, each stored event expanded to the Segment
//! events it holds, with keyset cursors so that a page costs what it returns.

use std::borrow::Cow;

use axum::extract::{RawQuery, State};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use grantd_core::model::Group;
use grantd_store::{AuditFilter, AuditRecord};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::error::{SegmentError, SegmentResult};
use super::fields::Fields;
use super::guard::Caller;
use super::wire::{page_count, page_cursor, Body, Data, Query, MAX_PAGE};
use crate::http::time::timestamp;
use crate::service::{hide_credential, names_credential, Addition, AddressChange, Scope};
use crate::state::AppState;

/// One Segment audit event, as a write records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(rename = "resourceId")]
    pub resource_id: String,
    #[serde(rename = "resourceType")]
    pub resource_type: String,
    #[serde(rename = "resourceName")]
    pub resource_name: String,
}

impl Event {
    pub fn new(
        kind: &str,
        resource_type: &str,
        resource_id: impl Into<String>,
        resource_name: impl Into<String>,
    ) -> Event {
        Event {
            kind: kind.to_string(),
            resource_id: resource_id.into(),
            resource_type: resource_type.to_string(),
            resource_name: resource_name.into(),
        }
    }
}

/// The audit detail recording `events`.
pub fn detail(events: Vec<Event>) -> Option<Value> {
    Some(json!({ "events": events }))
}

/// The Segment name of a write made through another API, from its `kind.verb` action.
fn event_name(action: &str) -> String {
    let (kind, verb) = action.split_once('.').unwrap_or((action, ""));
    let noun = match kind {
        "group" => "User Group",
        "member" => {
            return match verb {
                "delete" => "User Removed From User Group".into(),
                _ => "User Added To User Group".into(),
            }
        }
        "grant" => "Policy",
        "invite" if verb == "accept" => return "Invite Accepted".into(),
        other => {
            let mut chars = other.chars();
            return format!(
                "{}{} {}",
                chars.next().map(|c| c.to_ascii_uppercase()).unwrap_or(' '),
                chars.as_str(),
                past(verb)
            );
        }
    };
    format!("{noun} {}", past(verb))
}

fn past(verb: &str) -> &'static str {
    match verb {
        "create" => "Created",
        "delete" => "Deleted",
        "accept" => "Accepted",
        _ => "Updated",
    }
}

/// The Segment events one stored audit event holds.
fn expand(record: &AuditRecord) -> Vec<Event> {
    let recorded = record
        .entry
        .detail
        .as_ref()
        .and_then(|d| d.get("events"))
        .and_then(|e| serde_json::from_value::<Vec<Event>>(e.clone()).ok());
    if let Some(events) = recorded {
        return events;
    }
    let (kind, key) = record
        .entry
        .target
        .split_once(':')
        .unwrap_or(("", &record.entry.target));
    vec![Event::new(
        &event_name(&record.entry.action),
        kind,
        key,
        key,
    )]
}

/// `token:tok_1` appears as `public-api-token/tok_1`, as Segment names API tokens.
fn actor(name: &str) -> String {
    match name.strip_prefix("token:") {
        Some(id) => format!("public-api-token/{id}"),
        None => name.to_string(),
    }
}

/// Where a page starts: event `index` of revision `revision`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Position {
    revision: i64,
    index: usize,
}

fn encode(position: Position) -> String {
    STANDARD.encode(json!({"pageToken": position.revision, "index": position.index}).to_string())
}

fn decode(cursor: &str) -> Option<Position> {
    let value: Value = serde_json::from_slice(&STANDARD.decode(cursor.trim()).ok()?).ok()?;
    Some(Position {
        revision: value.get("pageToken")?.as_i64()?,
        index: value.get("index")?.as_u64()? as usize,
    })
}

fn time(f: &mut Fields, query: &Query, name: &str) -> Option<i64> {
    let value = query.get(name)?;
    match chrono::DateTime::parse_from_rfc3339(value) {
        Ok(t) => Some(t.timestamp_millis()),
        Err(_) => {
            f.fail(
                name,
                "must be an ISO-8601 time such as 2024-01-01T00:00:00Z",
            );
            None
        }
    }
}

/// `GET /audit-events`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
    Body(body): Body,
) -> SegmentResult<Data> {
    let query = Query::parse(raw.as_deref());
    let mut f = Fields::default();
    let from = time(&mut f, &query, "startTime");
    let to = time(&mut f, &query, "endTime");
    f.finish()?;
    let resource_id = query.get("resourceId");
    let resource_type = query.get("resourceType");
    let count = page_count(&query, &body)?;
    let start = match page_cursor(&query, &body) {
        None => Position {
            revision: 0,
            index: 0,
        },
        Some(c) => decode(&c).ok_or_else(|| {
            SegmentError::field("pagination.cursor", "is not a cursor this API returned")
        })?,
    };
    // One store query per page. The resource filters go into it as texts the target or
    // detail must mention (a coarse filter the database runs), so that a rare resource is
    // not looked for by reading the whole trail; what the query returns is then filtered
    // exactly. With a filter the query reads at most MAX_PAGE events, and a page that
    // finds fewer matches than asked still says where the next one starts.
    let filtered = resource_id.is_some() || resource_type.is_some();
    let mentions = [resource_id, resource_type]
        .into_iter()
        .flatten()
        .filter(|text| pushable(text))
        .map(str::to_string)
        .collect();
    let filter = AuditFilter {
        after: start.revision - 1,
        from,
        to,
        mentions,
        limit: if filtered { MAX_PAGE } else { count.max(1) } as u32,
        ..AuditFilter::default()
    };
    let hide = !caller.scope.covers(Scope::Admin);
    let page = state
        .service
        .audit_events(&caller.ctx.tenant, &filter)
        .await?;
    let mut events = Vec::new();
    let mut next = None;
    'records: for record in &page.items {
        let mut record = Cow::Borrowed(record);
        if hide && names_credential(&record.entry.target) {
            hide_credential(record.to_mut());
        }
        for (index, event) in expand(&record).into_iter().enumerate() {
            if record.revision == start.revision && index < start.index {
                continue;
            }
            if resource_id.is_some_and(|id| id != event.resource_id)
                || resource_type.is_some_and(|t| !t.eq_ignore_ascii_case(&event.resource_type))
            {
                continue;
            }
            if events.len() == count {
                next = Some(Position {
                    revision: record.revision,
                    index,
                });
                break 'records;
            }
            events.push(render(&record, index, &event));
        }
    }
    if next.is_none() && page.next.is_some() {
        // More events follow those this page read: the next page starts after them.
        next = page.items.last().map(|last| Position {
            revision: last.revision + 1,
            index: 0,
        });
    }
    let mut pagination = json!({ "current": encode(start) });
    if let Some(next) = next {
        pagination["next"] = json!(encode(next));
    }
    Ok(Data::ok(
        json!({"events": events, "pagination": pagination}),
    ))
}

/// Whether the database can look for `text` in the stored target and detail as it is:
/// printable ASCII that JSON does not escape (anything else is filtered after the query).
fn pushable(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
}

fn render(record: &AuditRecord, index: usize, event: &Event) -> Value {
    json!({
        "id": format!("events/{}-{index}", record.revision),
        "timestamp": timestamp(record.at),
        "type": event.kind,
        "actor": actor(&record.entry.actor),
        "resourceId": event.resource_id,
        "resourceType": event.resource_type,
        "resourceName": event.resource_name,
    })
}

/// The events a change of the group's members by address makes, as Segment lists them.
pub fn membership_events(group: &Group, change: &AddressChange) -> Vec<Event> {
    let mut events = Vec::new();
    if !change.removed.is_empty() {
        events.push(Event::new(
            "Group Memberships Deleted",
            "group",
            &group.id,
            group.name.clone().unwrap_or_else(|| group.id.clone()),
        ));
        for who in &change.removed {
            events.push(Event::new(
                "User Removed From User Group",
                "group",
                &group.id,
                who,
            ));
        }
    }
    for (email, how) in &change.added {
        match how {
            Addition::Joined => events.push(Event::new(
                "User Added To User Group",
                "group",
                &group.id,
                email,
            )),
            Addition::Invited { new: true } => events.push(Event::new(
                "New Segment User Invited to Workspace",
                "invite",
                email,
                email,
            )),
            Addition::Invited { new: false } => {}
        }
    }
    if !change.added.is_empty() {
        events.insert(
            0,
            Event::new(
                "Subjects Added to Group",
                "group",
                &group.id,
                group.name.clone().unwrap_or_else(|| group.id.clone()),
            ),
        );
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_cursors() {
        assert_eq!(event_name("group.create"), "User Group Created");
        assert_eq!(event_name("member.delete"), "User Removed From User Group");
        assert_eq!(event_name("grant.delete"), "Policy Deleted");
        assert_eq!(event_name("user.replace"), "User Updated");
        let p = Position {
            revision: 42,
            index: 3,
        };
        assert_eq!(decode(&encode(p)), Some(p));
        assert_eq!(decode("MA=="), None);
    }
}
