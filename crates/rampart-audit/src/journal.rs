//! Changes recorded with their audit entries.
//!
//! A domain service decides a change (a new principal, a key version, stored cards) and hands it
//! to a [`Journal`]; the journal commits it in the same transaction as the audit entry that
//! records it, so a change never exists without its entry, even after a crash. The service
//! knows nothing of how: the server's journal builds the entry from the request it serves, a
//! test's journal may keep changes in memory.

use std::future::Future;

/// Why a change was not committed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JournalError {
    /// The change's precondition no longer held (a name taken meanwhile, a key revoked since it
    /// was read): nothing was written.
    #[error("the change was refused: its precondition no longer holds")]
    Refused,
    /// The entry recording the change exceeds the log's limits: nothing was written.
    #[error("the change is too large to record in the audit log; nothing was changed")]
    TooLarge,
    /// The audit log could not record it (storage failed): nothing was written.
    #[error("the audit log cannot record the change: {0}")]
    Unavailable(String),
    /// The audit log's storage could not be reached (a database down or restarting): nothing
    /// was written, and the same change may succeed once it is back.
    #[error("the audit log's storage is unreachable; nothing was changed")]
    StorageDown,
}

/// Commits changes of type `C` together with the audit entries that record them.
pub trait Journal<C>: Send + Sync {
    /// Commits `change` with its entry, or nothing.
    fn commit(&self, change: C) -> impl Future<Output = Result<(), JournalError>> + Send;
}
