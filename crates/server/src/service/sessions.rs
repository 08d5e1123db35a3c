//! The console's sessions live in sealed cookies, on no node. What the store keeps is, per
//! token, when its holder last signed out of the console: every session that token opened
//! before then opens nothing, on any node, a copied cookie included. One record per token
//! that ever signed out (a token's hash names it), so signing in and out again and again
//! grows nothing.

use super::{secret, Service, ServiceResult};

fn key(token: &str) -> String {
    format!("console/signed-out/{}", secret::hash(token))
}

impl Service {
    /// Ends every console session `token` opened up to `at` (ms since the epoch).
    pub async fn end_sessions(&self, token: &str, at: i64) -> ServiceResult<()> {
        Ok(self.store.put_setting(&key(token), &at.to_string()).await?)
    }

    /// When `token` last signed out of the console, if it did.
    pub async fn sessions_ended(&self, token: &str) -> ServiceResult<Option<i64>> {
        let found = self.store.get_setting(&key(token)).await?;
        Ok(found.and_then(|at| at.parse().ok()))
    }
}
