//! Labels: the workspace's catalog of `key: value` pairs that label-restricted permissions
//! name. The two built-in ones always exist.

use axum::extract::State;
use grantd_core::model::Label;
use grantd_core::{Kind, Object, ObjectKey};
use grantd_store::Expect;
use serde_json::{json, Value};

use super::audit::{self, Event};
use super::catalog;
use super::error::{SegmentError, SegmentResult};
use super::fields::Fields;
use super::guard::Caller;
use super::wire::{Body, Data, PathIds, MAX_ID};
use crate::state::AppState;

fn render(label: &Label) -> Value {
    let mut value = json!({"key": label.key, "value": label.value});
    if let Some(d) = &label.description {
        value["description"] = json!(d);
    }
    value
}

/// `GET /labels`: the built-in labels, then the workspace's.
pub async fn list(State(state): State<AppState>, caller: Caller) -> SegmentResult<Data> {
    let mut labels: Vec<Value> = catalog::builtin_labels().iter().map(render).collect();
    for label in state
        .service
        .list_all::<Label>(&caller.ctx.tenant, None)
        .await?
    {
        labels.push(render(&label.object));
    }
    Ok(Data::ok(json!({ "labels": labels })))
}

/// `POST /labels` with `{"label": {key, value, description?}}`.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Body(body): Body,
) -> SegmentResult<Data> {
    let mut f = Fields::default();
    let label = f.body(&body).and_then(|b| {
        let label = f.required(b, "label", "label")?;
        f.object(Some(label), "label")?;
        let key = f.required_string(label, "key", "label", MAX_ID);
        let value = f.required_string(label, "value", "label", MAX_ID);
        let description = match label.get("description") {
            Some(Value::Null) | None => None,
            given => f.string(given, "label.description", 1024),
        };
        Some(Label {
            key: key?,
            value: value?,
            description,
        })
    });
    f.finish()?;
    let label = label.ok_or_else(|| SegmentError::field("label", "\"label\" is required"))?;
    label.validate().map_err(|e| {
        SegmentError::invalid(
            e.0.into_iter()
                .map(|mut fe| {
                    fe.field = format!("label.{}", fe.field);
                    fe
                })
                .collect(),
        )
    })?;
    if catalog::is_builtin_label(&label.key, &label.value) {
        return Err(SegmentError::new(
            axum::http::StatusCode::CONFLICT,
            "Conflict",
            "this label is built in",
        ));
    }
    let name = format!("{}:{}", label.key, label.value);
    let events = vec![Event::new("Label Created", "label", &name, &name)];
    let action = "segment.label.create";
    state
        .service
        .put_audited(
            &caller.ctx,
            &label,
            Expect::Absent,
            action,
            audit::detail(events),
        )
        .await?;
    Ok(Data::created(json!({ "label": render(&label) })))
}

/// `DELETE /labels/{key}/{value}`: refused while a permission names the label.
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    path: PathIds,
) -> SegmentResult<Data> {
    let key = path.id("key")?;
    let value = path.id("value")?;
    if catalog::is_builtin_label(&key, &value) {
        return Err(SegmentError::new(
            axum::http::StatusCode::CONFLICT,
            "Conflict",
            "built-in labels cannot be deleted",
        ));
    }
    let target = ObjectKey::new(Kind::Label, Label::key_of(&key, &value));
    let name = format!("{key}:{value}");
    let events = vec![Event::new("Label Deleted", "label", &name, &name)];
    let detail = audit::detail(events);
    state
        .service
        .delete_all(
            &caller.ctx,
            std::slice::from_ref(&target),
            "segment.label.delete",
            &target,
            |_| detail,
        )
        .await?;
    Ok(Data::success())
}
