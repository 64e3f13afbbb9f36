//! Retention as the deployment runs it (API.md "Retention and legal hold"), so far its legal
//! holds: placed, listed, released. Erasure asks them first (`subjects::erasure`): a subject
//! under a hold is not erased.

use rampart_retention::{HoldDocument, HoldId, LegalHold, RetentionStore};
use time::OffsetDateTime;

use crate::subjects::SubjectError;

/// Legal holds over a store `S`.
pub struct RetentionService<S: RetentionStore> {
    store: S,
}

/// The holds in force that keep `subject_id` from being erased.
pub async fn holds_on_subject<S: RetentionStore>(
    store: &S,
    subject_id: &str,
) -> Result<Vec<LegalHold>, SubjectError> {
    Ok(store
        .holds()
        .await
        .map_err(SubjectError::store)?
        .into_iter()
        .filter(|hold| hold.scope.holds_subject(subject_id))
        .collect())
}

impl<S: RetentionStore> RetentionService<S> {
    /// The service.
    pub fn new(store: S) -> Self {
        Self { store }
    }

    /// Places a hold.
    pub async fn place_hold(
        &self,
        document: HoldDocument,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<LegalHold, SubjectError> {
        let (name, reason, scope) = document.validate()?;
        let hold = LegalHold {
            id: HoldId::generate(),
            name,
            reason,
            scope,
            created_at: now,
            created_by: by.to_owned(),
        };
        self.store
            .insert_hold(&hold)
            .await
            .map_err(SubjectError::store)?;
        Ok(hold)
    }

    /// The holds in force, oldest first.
    pub async fn holds(&self) -> Result<Vec<LegalHold>, SubjectError> {
        self.store.holds().await.map_err(SubjectError::store)
    }

    /// Releases a hold in force.
    pub async fn release_hold(
        &self,
        id: &str,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<(), SubjectError> {
        let id = HoldId::parse(id).ok_or(SubjectError::NotFound("legal hold"))?;
        if self
            .store
            .release_hold(&id, by, now)
            .await
            .map_err(SubjectError::store)?
        {
            Ok(())
        } else {
            Err(SubjectError::NotFound("legal hold"))
        }
    }
}
