//! The console's sessions live in sealed cookies, on no node; what the store keeps is
//! which of them were signed out, so that a copy of a signed-out cookie opens nothing on
//! any node before it would have expired anyway.

use super::{Service, ServiceResult};

fn ended_key(id: &str) -> String {
    format!("console/ended/{id}")
}

impl Service {
    /// Records that session `id` was signed out.
    pub async fn end_session(&self, id: &str) -> ServiceResult<()> {
        Ok(self.store.put_setting(&ended_key(id), "signed out").await?)
    }

    /// Whether session `id` was signed out.
    pub async fn session_ended(&self, id: &str) -> ServiceResult<bool> {
        Ok(self.store.get_setting(&ended_key(id)).await?.is_some())
    }
}
