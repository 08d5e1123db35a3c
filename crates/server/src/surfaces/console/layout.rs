//! The frame every console page is drawn in: the document, the navigation, the signed-in
//! tenant and scope, and sign-out. Pages are maud markup: every value is escaped where it
//! is written, so no page can be made to run what an object holds.

use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

use super::Base;
use crate::service::Scope;

/// A console page, sent with the headers every page has.
pub struct Page(Markup);

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut response = self.0.into_string().into_response();
        secure(&mut response, "text/html; charset=utf-8");
        response
    }
}

/// Headers of every console answer: no script or style but the console's own, no framing,
/// nothing cached, no referrer to other sites (and so a form posts its true `Origin`).
pub fn secure(response: &mut Response, content_type: &'static str) {
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(
        axum::http::header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        axum::http::header::X_FRAME_OPTIONS,
        HeaderValue::from_static("DENY"),
    );
}

fn document(base: &Base, title: &str, nav: Markup, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · grantd" }
                link rel="icon" type="image/svg+xml" href=(base.link("/assets/favicon.svg"));
                link rel="stylesheet" href=(base.link("/assets/console.css"));
                script src=(base.link("/assets/console.js")) defer {}
            }
            body {
                header.top {
                    a.brand href=(base.link("/")) { "grantd" }
                    (nav)
                }
                main #main { (body) }
            }
        }
    }
}

/// A page outside a session: sign-in, or a refusal.
pub fn bare(base: &Base, title: &str, body: Markup) -> Page {
    Page(document(base, title, html! {}, body))
}

/// The sections of the console, in the navigation's order.
pub const SECTIONS: [(&str, &str); 12] = [
    ("/users", "Users"),
    ("/groups", "Groups"),
    ("/members", "Memberships"),
    ("/roles", "Roles"),
    ("/assignments", "Role assignments"),
    ("/permissions", "Permissions"),
    ("/resources", "Resources"),
    ("/grants", "Grants"),
    ("/explorer", "Access explorer"),
    ("/data", "Data permissions"),
    ("/audit", "Audit trail"),
    ("/tokens", "Tokens"),
];

/// Who a page is drawn for.
pub struct Frame<'a> {
    pub tenant: &'a str,
    pub scope: Scope,
    pub operator: bool,
    /// The session's CSRF secret, for the sign-out form.
    pub csrf: &'a str,
}

/// The sections a scope is offered: tokens are the administrators'.
pub fn sections(scope: Scope) -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    SECTIONS
        .iter()
        .filter(move |(path, _)| *path != "/tokens" || scope.covers(Scope::Admin))
}

/// A page of a session: the navigation, who is signed in to which tenant, sign-out.
pub fn page(base: &Base, session: &Frame<'_>, title: &str, body: Markup) -> Page {
    let scope = session.scope.as_str();
    let nav = html! {
        nav aria-label="Sections" {
            ul {
                // Tokens are the administrators'.
                @for (path, label) in sections(session.scope) {
                    li { a href=(base.link(path)) { (label) } }
                }
            }
        }
        div.who {
            span { "Tenant " strong #tenant { (session.tenant) } }
            span.scope { "scope " strong #scope { (scope) } }
            @if session.operator {
                span.badge { "operator" }
            }
            @if !session.scope.covers(Scope::Write) {
                span.badge { "read only" }
            }
            form method="post" action=(base.link("/sign-out")) {
                input type="hidden" name="csrf" value=(session.csrf);
                button type="submit" { "Sign out" }
            }
        }
    };
    Page(document(base, title, nav, body))
}
