//! What retention needs from storage: the [`RetentionStore`] trait, implemented by
//! `rampart-store` on SQLite and PostgreSQL.

use std::future::Future;

use time::OffsetDateTime;

use crate::holds::{HoldId, LegalHold};

/// Storage of legal holds.
pub trait RetentionStore {
    /// The backend's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Stores a new hold.
    fn insert_hold(&self, hold: &LegalHold)
    -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// The holds in force (not released), oldest first.
    fn holds(&self) -> impl Future<Output = Result<Vec<LegalHold>, Self::Error>> + Send;

    /// Releases a hold in force; `false` when there is none with that id (or it was released).
    fn release_hold(
        &self,
        id: &HoldId,
        by: &str,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;
}
