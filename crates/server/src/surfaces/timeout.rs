//! The request timeout's answer: 408 in the envelope of the surface the request came to
//! (tower-http's timeout answers with an empty body, which no client can read). The timer
//! itself is in `http::frame`, which calls `SurfacePaths::timed_out`.

use std::time::Duration;

use axum::response::{IntoResponse, Response};

use super::native::error::ApiError;
use super::{dataarts, segment, slashid};

/// Which surface a path belongs to, from the configured base paths.
#[derive(Debug, Clone)]
pub struct SurfacePaths {
    pub segment: String,
    pub slashid: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Native,
    Segment,
    SlashId,
    DataArts,
}

fn under(path: &str, base: &str) -> bool {
    path.strip_prefix(base)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

impl SurfacePaths {
    /// The answer to a request to `path` that took longer than `limit`.
    pub fn timed_out(&self, path: &str, limit: Duration) -> Response {
        timed_out(self.of(path), limit)
    }

    pub fn of(&self, path: &str) -> Surface {
        if under(path, &self.segment) {
            Surface::Segment
        } else if under(path, &self.slashid) {
            Surface::SlashId
        } else if path.split('/').nth(3) == Some("security") && path.starts_with("/v1/") {
            Surface::DataArts
        } else {
            Surface::Native
        }
    }
}

/// The answer to a request that took longer than `limit`, in its surface's envelope.
pub fn timed_out(surface: Surface, limit: Duration) -> Response {
    let message = format!(
        "the request took longer than {} s and was abandoned; a write may still have \
         committed, so read before retrying",
        limit.as_secs()
    );
    match surface {
        Surface::Native => ApiError::new("request_timeout", message).into_response(),
        Surface::Segment => segment::timed_out(message),
        Surface::SlashId => slashid::timed_out(message),
        Surface::DataArts => dataarts::timed_out(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_find_their_surface() {
        let paths = SurfacePaths {
            segment: "/segment".into(),
            slashid: "/slashid".into(),
        };
        assert_eq!(paths.of("/segment/users"), Surface::Segment);
        assert_eq!(paths.of("/segment"), Surface::Segment);
        assert_eq!(paths.of("/segmentation"), Surface::Native);
        assert_eq!(paths.of("/slashid/persons"), Surface::SlashId);
        assert_eq!(
            paths.of("/v1/p1/security/permission-sets"),
            Surface::DataArts
        );
        assert_eq!(paths.of("/v1/tenants/t1/users"), Surface::Native);
        assert_eq!(paths.of("/healthz"), Surface::Native);
    }

    #[tokio::test]
    async fn a_timeout_is_answered_in_its_surfaces_envelope() {
        let paths = SurfacePaths {
            segment: "/segment".into(),
            slashid: "/slashid".into(),
        };
        let body = |path: &'static str| {
            let response = paths.timed_out(path, Duration::from_secs(1));
            assert_eq!(response.status().as_u16(), 408);
            async move {
                let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
                    .await
                    .expect("body");
                serde_json::from_slice::<serde_json::Value>(&bytes).expect("json")
            }
        };
        assert!(body("/segment/users").await["errors"][0]["type"].is_string());
        assert_eq!(
            body("/v1/tenants/t/users").await["error"]["code"],
            "request_timeout"
        );
        assert!(body("/slashid/persons").await["errors"][0]["httpcode"].is_number());
        assert!(body("/v1/p/security/permission-sets").await["error_code"].is_string());
    }
}
