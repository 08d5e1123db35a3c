//! Labels: a label a grant's target names cannot be deleted, whatever command deletes it.

use grantd_core::model::{Grant, Label, Target};

use super::batch::Batch;
use super::{ServiceError, ServiceResult};

impl Batch<'_> {
    /// Refuses to delete a label a grant's target names: the grant would silently reach
    /// nothing, while the surface that wrote it still lists it.
    pub(super) async fn refuse_label_in_use(&mut self, key: &str) -> ServiceResult<()> {
        let Some(label) = self.get::<Label>(key).await? else {
            return Ok(());
        };
        let label = label.object;
        let in_use = self.list::<Grant>(None).await?.into_iter().any(|g| {
            matches!(&g.object.target, Target::Labels { labels, .. }
                if labels.get(&label.key) == Some(&label.value))
        });
        if in_use {
            return Err(ServiceError::Conflict {
                code: "still_referenced",
                message: format!(
                    "label {}:{} is still used by a permission",
                    label.key, label.value
                ),
            });
        }
        Ok(())
    }
}
