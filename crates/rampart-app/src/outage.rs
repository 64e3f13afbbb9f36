//! Storage outages: telling "the database cannot be reached right now" from every other
//! failure, whatever domain error carries it, so the edge answers `503` with `Retry-After`
//! instead of `500` and clients retry once the database is back.

use std::error::Error;

use rampart_audit::{JournalError, LogError};
use rampart_store::StoreError;

/// Seconds a client is told to wait (`Retry-After`) before retrying a request that failed
/// because storage was unreachable.
pub const RETRY_AFTER_SECONDS: u64 = 2;

/// Whether `error`, or any error in its chain of sources, says that storage could not be
/// reached: a [`StoreError`] that [`StoreError::is_unavailable`], an audit append answered
/// [`LogError::Unavailable`], a change not journalled for that reason
/// ([`JournalError::StorageDown`]).
pub fn is_storage_down(error: &(dyn Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if error
            .downcast_ref::<StoreError>()
            .is_some_and(StoreError::is_unavailable)
            || matches!(
                error.downcast_ref::<LogError<StoreError>>(),
                Some(LogError::Unavailable(_))
            )
            || matches!(
                error.downcast_ref::<JournalError>(),
                Some(JournalError::StorageDown)
            )
        {
            return true;
        }
        next = error.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use rampart_store::Store;

    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("wrapped: {0}")]
    struct Wrapped(#[source] Box<dyn Error + Send + Sync>);

    /// A PostgreSQL server that is not there: the socket directory does not exist.
    async fn unreachable() -> StoreError {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!(
            "postgres://rampart@/rampart?host={}",
            dir.path().join("gone").display()
        );
        Store::open_postgres(&url)
            .await
            .expect_err("nothing listens there")
    }

    #[tokio::test]
    async fn finds_an_outage_anywhere_in_the_chain_and_nothing_else() {
        assert!(is_storage_down(&unreachable().await));
        assert!(is_storage_down(&LogError::Store(unreachable().await)));
        assert!(is_storage_down(&Wrapped(Box::new(LogError::Store(
            unreachable().await
        )))));
        assert!(is_storage_down(&LogError::<StoreError>::Unavailable(
            "down".into()
        )));
        assert!(is_storage_down(&Wrapped(Box::new(
            JournalError::StorageDown
        ))));

        assert!(!is_storage_down(&StoreError::Refused("taken")));
        assert!(!is_storage_down(&LogError::<StoreError>::Append(
            "failed".into()
        )));
        assert!(!is_storage_down(&JournalError::Unavailable(
            "failed".into()
        )));
        assert!(!is_storage_down(&std::io::Error::other("disk full")));
    }
}
