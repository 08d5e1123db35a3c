//! The operator token at start: the configured one, or the one kept from an earlier start,
//! or a new one printed once to stderr. Only its hash is ever stored.

use grantd_store::Store;

use super::secret;
use crate::service::{ServiceError, ServiceResult};

const SETTING: &str = "operator_token_sha256";

/// Returns the hash of the operator token, creating one if none was configured or kept.
pub async fn operator_token_hash(
    store: &dyn Store,
    configured: Option<&str>,
) -> ServiceResult<String> {
    if let Some(token) = configured {
        let hash = secret::hash(token);
        store
            .put_setting(SETTING, &hash)
            .await
            .map_err(ServiceError::from)?;
        return Ok(hash);
    }
    if let Some(hash) = store
        .get_setting(SETTING)
        .await
        .map_err(ServiceError::from)?
    {
        return Ok(hash);
    }
    let token = secret::generate();
    let hash = secret::hash(&token);
    store
        .put_setting(SETTING, &hash)
        .await
        .map_err(ServiceError::from)?;
    eprintln!(
        "grantd: generated the operator token (shown once, only its hash is kept):\n\n    {token}\n\n\
         Pass it as `Authorization: Bearer <token>` to create tenants and tokens."
    );
    Ok(hash)
}
