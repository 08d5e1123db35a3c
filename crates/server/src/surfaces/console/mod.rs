//! The console: web pages where a tenant's administrators see and change who may do what,
//! and why. Server-rendered HTML (maud, escaped by construction), one stylesheet and one
//! small script, all compiled into the binary; every form posts back, and every page works
//! without the script. The console is a caller of the service like any surface: signed in
//! with a token, whose scope decides what a page offers and what the server accepts.

/// The value of `Ok`, else returns the `Err` (a response) from the handler.
macro_rules! or_answer {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(answer) => return answer,
        }
    };
}

mod audit;
mod data;
mod explorer;
mod layout;
mod objects;
mod session;
mod tokens;
mod tree;
mod user;

use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

/// Where the console is served, for the links its pages write.
#[derive(Debug, Clone)]
pub struct Base(String);

impl Base {
    pub fn of(state: &AppState) -> Base {
        Base(state.config.console_path.trim_end_matches('/').to_string())
    }

    pub fn path(&self) -> &str {
        &self.0
    }

    /// `path` (starting with `/`) under the console.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

/// `text` as one value of a query string.
pub fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    layout::secure(&mut response, content_type);
    response
}

/// The console's routes, to be nested under `console_path`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(objects::home))
        .route(
            "/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/sign-out", post(session::sign_out))
        .route(
            "/assets/console.css",
            get(|| async {
                asset(
                    include_str!("assets/console.css"),
                    "text/css; charset=utf-8",
                )
            }),
        )
        .route(
            "/assets/console.js",
            get(|| async {
                asset(
                    include_str!("assets/console.js"),
                    "text/javascript; charset=utf-8",
                )
            }),
        )
        .route(
            "/assets/favicon.svg",
            get(|| async { asset(include_str!("assets/favicon.svg"), "image/svg+xml") }),
        )
        .route("/explorer", get(explorer::page))
        .route("/user", get(user::page_of))
        .route("/audit", get(audit::trail))
        .route("/data", get(data::overview))
        .route("/resources/tree", get(tree::tree))
        .route("/tokens", get(tokens::list))
        .route("/tokens/issue", post(tokens::issue))
        .route("/tokens/revoke", post(tokens::revoke))
        .route("/audit/rows", get(audit::more_rows))
        .route("/audit/verify", get(audit::verify))
        .route("/{kind}", get(objects::list))
        .route("/{kind}/new", get(objects::new))
        .route("/{kind}/view", get(objects::view))
        .route("/{kind}/save", post(objects::save))
        .route("/{kind}/delete", post(objects::delete))
}
