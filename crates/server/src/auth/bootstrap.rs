//! The operator token at start: the configured one, or the one kept from an earlier start,
//! or a new one printed once to stderr. Only its hash is ever stored.

use grantd_store::Store;

use crate::service::secret;
use crate::service::{ServiceError, ServiceResult};

const SETTING: &str = "operator_token_sha256";

/// Fewest characters a configured operator token may have.
pub const MIN_OPERATOR_TOKEN_CHARS: usize = 32;
/// Fewest distinct characters in it (a token of one repeated character is no secret).
const MIN_DISTINCT_CHARS: usize = 8;

/// Why a configured operator token is too weak to guard every tenant, if it is: fewer
/// than 32 characters, fewer than 8 distinct ones, or whitespace (which a bearer header
/// cannot carry at its ends).
pub fn weakness(token: &str) -> Option<String> {
    let chars = token.chars().count();
    if chars < MIN_OPERATOR_TOKEN_CHARS {
        return Some(format!(
            "has {chars} characters; it must have at least {MIN_OPERATOR_TOKEN_CHARS} characters"
        ));
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("contains whitespace or control characters".into());
    }
    let mut distinct: Vec<char> = token.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < MIN_DISTINCT_CHARS {
        return Some(format!(
            "has only {} distinct characters; it must have at least {MIN_DISTINCT_CHARS}",
            distinct.len()
        ));
    }
    None
}

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

#[cfg(test)]
mod tests {
    use super::weakness;

    #[test]
    fn short_repetitive_or_spaced_operator_tokens_are_weak() {
        assert!(weakness("x").is_some_and(|w| w.contains("at least 32 characters")));
        assert!(weakness("operator-secret-for-tests").is_some());
        assert!(weakness(&"ab".repeat(20)).is_some());
        assert!(weakness(" Zq3-kL9pXv2mN8rT5wY1bC6dF0gH4jK7 ").is_some());
        assert!(weakness("Zq3-kL9pXv2mN8rT5wY1bC6dF0gH4jK7").is_none());
        assert!(weakness(&crate::service::secret::generate()).is_none());
    }
}
