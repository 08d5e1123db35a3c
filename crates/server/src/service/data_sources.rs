//! Data sources: the databases grantd keeps in step with its data permissions. Their
//! passwords are sealed here, on every write, whatever route made it; no read returns one.

use grantd_core::model::DataSource;
use grantd_core::{Invalid, Object};
use grantd_store::Expect;

use super::batch::Batch;
use super::sealing::Sealer;
use super::{Service, ServiceError, ServiceResult, Versioned};

/// What a source's sealed password is bound to: its tenant and key.
fn owner(tenant: &str, id: &str) -> String {
    format!("{tenant}/data_source:{id}")
}

impl Batch<'_> {
    /// Writes a data source with its password sealed. A write without `password` keeps the
    /// stored one (a read's answer sent back loses nothing); `""` removes it.
    pub(super) async fn put_data_source(
        &mut self,
        source: &DataSource,
        expect: Expect,
    ) -> ServiceResult<Versioned<DataSource>> {
        // A password goes with the server it was given for: a source pointed elsewhere
        // without a new one keeps none (else whoever may write sources could send it to a
        // server of their own).
        let before = self.get::<DataSource>(&source.key()).await?;
        let same_server = before
            .as_ref()
            .is_some_and(|s| s.object.url == source.url && s.object.kind == source.kind);
        let existing = before.and_then(|s| s.object.password);
        let kept = if same_server { existing.clone() } else { None };
        let mut stored = source.clone();
        stored.password = match source.password.as_deref() {
            None => kept,
            Some("") => None,
            // What is stored, sent back by a merge patch that left the password alone.
            Some(p) if Sealer::is_sealed(p) && existing.as_deref() == Some(p) => kept,
            Some(p) if Sealer::is_sealed(p) => {
                return Err(Invalid::field("password", "give the password itself").into())
            }
            Some(clear) => {
                let sealer = self.service().sealer.as_ref().ok_or_else(|| {
                    ServiceError::Invalid(Invalid::field(
                        "password",
                        "this server has no secret key to store it with: start every node \
                         with the same --secret-key-file",
                    ))
                })?;
                Some(sealer.seal(&owner(self.tenant(), &source.id), clear))
            }
        };
        self.put_plain(&stored, expect).await
    }
}

impl Service {
    /// The clear password of a source read from the store, if it has one.
    pub fn data_source_password(
        &self,
        tenant: &str,
        source: &DataSource,
    ) -> ServiceResult<Option<String>> {
        let Some(sealed) = &source.password else {
            return Ok(None);
        };
        let sealer = self.sealer.as_ref().ok_or_else(|| {
            ServiceError::Internal(
                "a data source has a password and this server no secret key".into(),
            )
        })?;
        sealer
            .open(&owner(tenant, &source.id), sealed)
            .map(Some)
            .map_err(ServiceError::Internal)
    }
}
