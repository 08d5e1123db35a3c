//! The access explorer, the page people open to answer "why": may this user do this on
//! that, with the decision and the path that decided it (the user's memberships and roles
//! to each grant that matched, a DENY that won) drawn as a graph and written out; what the
//! user can reach; who can reach the resource. The answers are the index's own
//! (`explain`, `lookup_resources`, `lookup_subjects`), at the tenant's latest revision.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use grantd_core::decision::{CheckQuery, Explanation, ResourceQuery, Verdict};
use grantd_core::ids;
use grantd_core::model::Effect;
use maud::{html, Markup};
use serde::Deserialize;

use super::session::{page as framed, said, Visitor};
use super::{encode, Base};
use crate::service::{now_millis, Consistency, Scope};
use crate::state::AppState;

/// Paths the graph draws, and the list writes out: a check decided by many grants shows
/// the first, and says how many more.
const DRAWN_PATHS: usize = 12;
const LISTED_PATHS: usize = 100;
/// Resources or users a lookup shows at once.
const LOOKUP_PAGE: usize = 100;

#[derive(Deserialize, Default)]
pub struct Ask {
    #[serde(default)]
    user: String,
    #[serde(default)]
    action: String,
    /// `type/id`.
    #[serde(default)]
    resource: String,
    #[serde(default)]
    data_path: String,
    /// For "what can the user reach": the resources' type, if one.
    #[serde(default)]
    resource_type: String,
    /// Where a lookup's page starts (after this key).
    #[serde(default)]
    after: String,
    /// `resources` or `subjects`: the lookup asked for.
    #[serde(default)]
    lookup: String,
}

impl Ask {
    /// Each field given checked as the API checks it.
    fn check(&self) -> Result<(), String> {
        let given = |field: &str, value: &str, check: fn(&str) -> Result<(), String>| {
            if value.is_empty() {
                Ok(())
            } else {
                check(value).map_err(|why| format!("{field}: {why}"))
            }
        };
        given("user", &self.user, ids::identifier)?;
        given("action", &self.action, ids::action)?;
        given("data path", &self.data_path, ids::object_path)?;
        given("resource type", &self.resource_type, ids::resource_type)?;
        if !self.resource.is_empty() {
            let (kind, id) = self
                .resource
                .split_once('/')
                .ok_or("resource: give it as type/id")?;
            given("resource type", kind, ids::resource_type)?;
            given("resource id", id, ids::identifier)?;
        }
        if !self.resource.is_empty() && !self.data_path.is_empty() {
            return Err("give a resource or a data path, not both".into());
        }
        Ok(())
    }
}

pub async fn page(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(ask): Query<Ask>,
) -> Response {
    let base = Base::of(&state);
    let session = or_answer!(visitor.page_for(&state, Scope::Check).await);
    let refused = |status: StatusCode, message: String| {
        let body = html! { h1 { "Access explorer" } p.error role="alert" { (message) } };
        (status, framed(&base, &session, "Access explorer", body)).into_response()
    };
    if let Err(message) = ask.check() {
        return refused(StatusCode::UNPROCESSABLE_ENTITY, message);
    }
    // The index is read (at the tenant's latest revision) only for a question asked.
    let snapshot = if ask.user.is_empty() && ask.action.is_empty() {
        None
    } else {
        match state
            .service
            .snapshot(&session.tenant, Consistency::FullyConsistent)
            .await
        {
            Ok(snapshot) => Some(snapshot),
            Err(error) => {
                let (status, message) = said(error);
                return refused(status, message);
            }
        }
    };
    let at = now_millis();
    let resource = if ask.data_path.is_empty() {
        ResourceQuery::Object {
            key: &ask.resource,
            labels: None,
        }
    } else {
        ResourceQuery::DataPath(&ask.data_path)
    };
    let asked = !ask.user.is_empty()
        && !ask.action.is_empty()
        && (!ask.resource.is_empty() || !ask.data_path.is_empty());
    let explanation = snapshot.as_ref().filter(|_| asked).map(|snapshot| {
        snapshot.explain(&CheckQuery {
            user: &ask.user,
            action: &ask.action,
            resource,
            at,
        })
    });
    let after = (!ask.after.is_empty()).then_some(ask.after.as_str());
    let lookup = snapshot
        .as_deref()
        .and_then(|index| match ask.lookup.as_str() {
            "resources" if !ask.user.is_empty() && !ask.action.is_empty() => {
                let kind = (!ask.resource_type.is_empty()).then_some(ask.resource_type.as_str());
                Some((
                    "resources",
                    index.lookup_resources(&ask.user, &ask.action, kind, after, at),
                ))
            }
            "subjects"
                if !ask.action.is_empty()
                    && (!ask.resource.is_empty() || !ask.data_path.is_empty()) =>
            {
                Some((
                    "subjects",
                    index.lookup_subjects(&ask.action, resource, after, at),
                ))
            }
            _ => None,
        });
    let target = if ask.data_path.is_empty() {
        ask.resource.clone()
    } else {
        ask.data_path.clone()
    };
    framed(
        &base,
        &session,
        "Access explorer",
        html! {
            h1 { "Access explorer" }
            form method="get" action=(base.link("/explorer")) {
                div.columns {
                    div {
                        label for="user" { "User" }
                        input #user type="text" name="user" value=(ask.user) required;
                    }
                    div {
                        label for="action" { "Action" }
                        input #action type="text" name="action" value=(ask.action) required;
                    }
                    div {
                        label for="resource" { "Resource " span.hint { "(type/id)" } }
                        input #resource type="text" name="resource" value=(ask.resource);
                    }
                    div {
                        label for="data_path" { "or data path" }
                        input #data_path type="text" name="data_path" value=(ask.data_path);
                    }
                }
                button #ask type="submit" { "May they?" }
            }
            @if let Some(explanation) = &explanation {
                (decision(&ask, &target, explanation))
            }
            h2 { "What can they reach, who can reach it" }
            form method="get" action=(base.link("/explorer")) {
                input type="hidden" name="user" value=(ask.user);
                input type="hidden" name="action" value=(ask.action);
                input type="hidden" name="resource" value=(ask.resource);
                input type="hidden" name="data_path" value=(ask.data_path);
                label for="resource_type" { "Resource type " span.hint { "(for what the user can reach; empty: every type)" } }
                input #resource_type type="text" name="resource_type" value=(ask.resource_type);
                button #lookup-resources type="submit" name="lookup" value="resources" { "What can the user reach?" }
                " "
                button #lookup-subjects type="submit" name="lookup" value="subjects" { "Who can reach the resource?" }
            }
            @if let Some((what, found)) = &lookup {
                (lookup_list(&base, &ask, what, found))
            }
        },
    )
    .into_response()
}

fn decision(ask: &Ask, target: &str, explanation: &Explanation) -> Markup {
    let (class, word) = match explanation.verdict {
        Verdict::Allow => ("allow", "Allowed"),
        Verdict::Deny => ("deny", "Denied"),
        Verdict::NoMatch => ("deny", "Not allowed"),
    };
    html! {
        section aria-labelledby="decision" {
            h2 #decision { "Decision" }
            p.verdict.(class) #verdict { (word) }
            p #reason { (ask.user) " · " (ask.action) " · " (target) ": " (explanation.reason) }
            @if !explanation.decided_by.is_empty() {
                (graph(&ask.user, target, explanation))
                h3 { "The paths that decided" }
                ol #paths {
                    @for m in explanation.decided_by.iter().take(LISTED_PATHS) {
                        li {
                            @for (i, step) in m.via.iter().enumerate() {
                                @if i > 0 { " → " }
                                code { (step) }
                            }
                            " → grant " code { (m.grant) } " ("
                            (if m.effect == Effect::Deny { "DENY" } else { "ALLOW" })
                            ") → " code { (target) }
                            @if let Some(ends) = &m.expires_at {
                                " until " (ends.to_rfc3339())
                            }
                        }
                    }
                }
                @let more = explanation.decided_by.len().saturating_sub(LISTED_PATHS);
                @if more > 0 {
                    p { "And " (more) " more grants that decided the same way (the check API's `explain` lists them all)." }
                }
            }
        }
    }
}

/// The paths as a graph: one row per grant that decided, from the user through its
/// memberships and roles to the grant, then the resource.
fn graph(user: &str, target: &str, explanation: &Explanation) -> Markup {
    const W: i64 = 170;
    const H: i64 = 30;
    const GAP: i64 = 40;
    const ROW: i64 = 50;
    let rows: Vec<Vec<(String, &str)>> = explanation
        .decided_by
        .iter()
        .take(DRAWN_PATHS)
        .map(|m| {
            let mut nodes: Vec<(String, &str)> = m.via.iter().map(|s| (s.clone(), "")).collect();
            if nodes.is_empty() {
                nodes.push((format!("user:{user}"), ""));
            }
            let effect = if m.effect == Effect::Deny {
                "deny"
            } else {
                "allow"
            };
            nodes.push((
                format!("{} grant {}", effect.to_uppercase(), m.grant),
                effect,
            ));
            nodes.push((target.to_string(), ""));
            nodes
        })
        .collect();
    let columns = rows.iter().map(Vec::len).max().unwrap_or(1) as i64;
    let width = columns * (W + GAP);
    let height = rows.len() as i64 * ROW + 10;
    let short = |text: &str| -> String {
        let cut: String = text.chars().take(26).collect();
        if cut.len() < text.len() {
            format!("{cut}…")
        } else {
            cut
        }
    };
    html! {
        svg.graph #graph role="img" aria-label="The paths that decided, drawn"
            viewBox=(format!("0 0 {width} {height}")) width=(width) height=(height)
            xmlns="http://www.w3.org/2000/svg" {
            @for (r, nodes) in rows.iter().enumerate() {
                @let y = r as i64 * ROW + 10;
                @for (c, (label, class)) in nodes.iter().enumerate() {
                    @let x = c as i64 * (W + GAP) + 5;
                    @if c > 0 {
                        line x1=(x - GAP) y1=(y + H / 2) x2=(x) y2=(y + H / 2) {}
                    }
                    rect.(class) x=(x) y=(y) width=(W) height=(H) rx="4" {}
                    text x=(x + 8) y=(y + 19) { (short(label)) }
                }
            }
        }
    }
}

fn lookup_list(base: &Base, ask: &Ask, what: &str, found: &[String]) -> Markup {
    let shown = &found[..found.len().min(LOOKUP_PAGE)];
    let more = (found.len() > LOOKUP_PAGE).then(|| {
        let last = shown.last().map(String::as_str).unwrap_or("");
        format!(
            "{}?user={}&action={}&resource={}&data_path={}&resource_type={}&lookup={what}&after={}",
            base.link("/explorer"),
            encode(&ask.user),
            encode(&ask.action),
            encode(&ask.resource),
            encode(&ask.data_path),
            encode(&ask.resource_type),
            encode(last)
        )
    });
    let heading = if what == "resources" {
        format!("What {} can {}", ask.user, ask.action)
    } else {
        format!("Who can {} it", ask.action)
    };
    html! {
        section #lookup {
            h3 { (heading) }
            @if shown.is_empty() { p { "Nothing." } }
            ul {
                @for item in shown { li { code { (item) } } }
            }
            @if let Some(more) = more {
                a rel="next" href=(more) { "More" }
            }
        }
    }
}
