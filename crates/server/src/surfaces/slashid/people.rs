//! A person as SlashID shows it, in a grantd user: handles, region and bucketed attributes
//! live in the user's attributes (`slashid.handles`, `slashid.region`,
//! `slashid.attributes`); the first email handle is also the user's email; `active` is
//! the opposite of `disabled`; groups are the user's direct memberships.

use std::collections::BTreeMap;

use grantd_core::ids;
use grantd_core::model::{SubjectRef, SubjectType, User};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::error::{SlashIdError, SlashIdResult};
use super::wire::{group_name, names};
use crate::service::{Service, ServiceError, Versioned};

const HANDLES: &str = "slashid.handles";
const REGION: &str = "slashid.region";
const ATTRIBUTES: &str = "slashid.attributes";
const REGIONS: [&str; 5] = [
    "us-iowa",
    "europe-belgium",
    "asia-japan",
    "europe-england",
    "australia-sydney",
];
const HANDLE_TYPES: [&str; 3] = ["email_address", "phone_number", "username"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handle {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

/// A person's handles: those recorded through SlashID, or the user's email.
pub fn handles_of(user: &User) -> Vec<Handle> {
    if let Some(recorded) = user
        .attributes
        .get(HANDLES)
        .and_then(|h| serde_json::from_str::<Vec<Handle>>(h).ok())
    {
        return recorded;
    }
    user.email
        .iter()
        .map(|e| Handle {
            kind: "email_address".into(),
            value: e.clone(),
        })
        .collect()
}

pub fn user_ref(id: &str) -> SubjectRef {
    SubjectRef {
        subject_type: SubjectType::User,
        id: id.to_string(),
    }
}

/// `PersonRet`.
pub fn render(user: &User, groups: Vec<String>) -> Value {
    let mut value = json!({
        "active": !user.disabled,
        "person_id": user.id,
        "person_type": "regular",
        "region": user.attributes.get(REGION).map(String::as_str).unwrap_or(REGIONS[0]),
        "handles": handles_of(user),
        "groups": groups,
    });
    if let Some(attributes) = user
        .attributes
        .get(ATTRIBUTES)
        .and_then(|a| serde_json::from_str::<Value>(a).ok())
    {
        value["attributes"] = attributes;
    }
    value
}

pub(super) async fn rendered(service: &Service, tenant: &str, user: &User) -> SlashIdResult<Value> {
    let groups = service.current_groups(tenant, &user.id).await?;
    Ok(render(user, groups))
}

/// What a `PersonCreateReq` asks for.
pub(super) struct PersonReq {
    pub(super) active: Option<bool>,
    pub(super) handles: Vec<Handle>,
    pub(super) groups: Option<Vec<String>>,
    pub(super) region: Option<String>,
    pub(super) attributes: Option<String>,
}

pub(super) fn parse_person(body: &Value) -> SlashIdResult<PersonReq> {
    let active = match body.get("active") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(SlashIdError::bad_request("`active` must be a boolean")),
    };
    let handles: Vec<Handle> = match body.get("handles") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => serde_json::from_value(v.clone()).map_err(|_| {
            SlashIdError::bad_request("`handles` must be an array of {type, value}")
        })?,
    };
    if handles.is_empty() {
        return Err(SlashIdError::bad_request("at least one handle is required"));
    }
    for h in &handles {
        let ok = match h.kind.as_str() {
            "email_address" => ids::email(&h.value).is_ok(),
            "phone_number" => {
                let digits = h.value.strip_prefix('+').unwrap_or("");
                (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
            }
            "username" => {
                (1..=255).contains(&h.value.chars().count())
                    && !h.value.chars().any(char::is_control)
            }
            _ => {
                return Err(SlashIdError::bad_request(format!(
                    "handle type must be one of {}",
                    HANDLE_TYPES.join(", ")
                )))
            }
        };
        if !ok {
            return Err(SlashIdError::bad_request(format!(
                "{:?} is not a valid {}",
                h.value, h.kind
            )));
        }
    }
    let region = match body.get("region") {
        None | Some(Value::Null) => None,
        Some(Value::String(r)) if REGIONS.contains(&r.as_str()) => Some(r.clone()),
        Some(_) => {
            return Err(SlashIdError::bad_request(format!(
                "`region` must be one of {}",
                REGIONS.join(", ")
            )))
        }
    };
    let attributes = match body.get("attributes") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(buckets)) if buckets.values().all(Value::is_object) => {
            let text = v.to_string();
            if text.len() > ids::MAX_TEXT_LEN {
                return Err(SlashIdError::bad_request(format!(
                    "`attributes` may take at most {} bytes of JSON here",
                    ids::MAX_TEXT_LEN
                )));
            }
            Some(text)
        }
        Some(_) => {
            return Err(SlashIdError::bad_request(
                "`attributes` must be an object of buckets, each an object",
            ))
        }
    };
    Ok(PersonReq {
        active,
        handles,
        groups: names(body, "groups", false, group_name)?,
        region,
        attributes,
    })
}

/// Whether the user holds one of `handles` (compared without case).
pub(super) fn holds(user: &User, handles: &[Handle]) -> bool {
    handles_of(user).iter().any(|h| {
        handles
            .iter()
            .any(|w| w.kind == h.kind && w.value.eq_ignore_ascii_case(&h.value))
    })
}

/// `user` with what `req` asks.
pub(super) fn apply(mut user: User, req: &PersonReq) -> User {
    if let Some(active) = req.active {
        user.disabled = !active;
    }
    user.email = req
        .handles
        .iter()
        .find(|h| h.kind == "email_address")
        .map(|h| h.value.clone())
        .or(user.email);
    let handles = serde_json::to_string(&req.handles).unwrap_or_default();
    user.attributes.insert(HANDLES.into(), handles);
    if let Some(region) = &req.region {
        user.attributes.insert(REGION.into(), region.clone());
    }
    if let Some(attributes) = &req.attributes {
        user.attributes
            .insert(ATTRIBUTES.into(), attributes.clone());
    }
    user
}

pub(super) fn new_person() -> User {
    User {
        id: uuid::Uuid::now_v7().hyphenated().to_string(),
        email: None,
        name: None,
        attributes: BTreeMap::new(),
        disabled: false,
    }
}

/// The person `id`; 404 when there is none.
pub async fn find(service: &Service, tenant: &str, id: &str) -> SlashIdResult<User> {
    Ok(find_versioned(service, tenant, id).await?.object)
}

pub(super) async fn find_versioned(
    service: &Service,
    tenant: &str,
    id: &str,
) -> SlashIdResult<Versioned<User>> {
    match service.get::<User>(tenant, id).await {
        Ok(user) => Ok(user),
        Err(ServiceError::NotFound(_)) => {
            Err(SlashIdError::not_found(format!("person {id} not found")))
        }
        Err(e) => Err(e.into()),
    }
}
