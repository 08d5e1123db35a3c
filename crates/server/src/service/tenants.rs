//! Tenants: created and deleted by the operator. A tenant's own record is an object of
//! kind `tenant` inside it, so it is read, patched and versioned like any other object.

use grantd_core::model::Tenant;
use grantd_core::Object;
use grantd_store::{Expect, ListQuery};

use super::objects::{audit, Versioned, Written};
use super::{Actor, Ctx, Page, Service, ServiceError, ServiceResult};

impl Service {
    #[tracing::instrument(skip(self, actor))]
    pub async fn create_tenant(
        &self,
        actor: &Actor,
        tenant: Tenant,
    ) -> ServiceResult<Written<Tenant>> {
        tenant.validate()?;
        let what = format!("tenant {}", tenant.id);
        let mut tx = self
            .store
            .begin_new_tenant(&tenant.id)
            .await
            .map_err(|e| ServiceError::from_store(e, &what))?;
        let ctx = Ctx {
            tenant: tenant.id.clone(),
            actor: actor.clone(),
        };
        let value = self.write_in(&mut tx, &tenant, Expect::Absent).await?;
        self.commit(tx, audit(&ctx, "tenant.create".into(), tenant.object_key()))
            .await?;
        Ok(Written {
            value,
            created: true,
        })
    }

    pub async fn list_tenants(
        &self,
        after: Option<String>,
        limit: u32,
    ) -> ServiceResult<Page<Versioned<Tenant>>> {
        let query = ListQuery {
            prefix: None,
            after,
            limit: limit + 1,
        };
        let rows = self.store.list_tenants(&query).await?;
        Page::from_overfetch(rows, limit, |o| o.key.clone(), Versioned::decode)
    }

    /// Deletes the tenant and everything in it, its audit trail included: the deletion
    /// itself is logged by the server, since no tenant is left to hold its audit event.
    #[tracing::instrument(skip(self, actor))]
    pub async fn delete_tenant(
        &self,
        actor: &Actor,
        tenant: &str,
        expect: Expect,
    ) -> ServiceResult<()> {
        let current: Versioned<Tenant> = self.get(tenant, tenant).await?;
        if let Expect::Version(v) = expect {
            if v != current.version {
                return Err(ServiceError::PreconditionFailed(format!(
                    "tenant {tenant} is at version {}, not the one given in If-Match",
                    current.version
                )));
            }
        }
        self.store
            .delete_tenant(tenant)
            .await
            .map_err(|e| ServiceError::from_store(e, &format!("tenant {tenant}")))?;
        if let Some(indexes) = &self.indexes {
            indexes.changed(tenant);
        }
        tracing::warn!(tenant, actor = %actor.name, request_id = %actor.request_id, "tenant deleted");
        Ok(())
    }
}
