//! The erasure workflow (Art. 17) across audit, keys, identity and cards: Rampart's own part in
//! one transaction (the subject's keys destroyed, consents' personal fields removed, linked
//! principals disabled, linked card tokens deleted, `erasure.requested` queued in the webhook
//! outbox), then each named store's confirmation, and the certificate signed with the audit
//! log's key. A second request for a subject with nothing left to erase answers the first.

use rampart_audit::export::checkpoint_json;
use rampart_audit::{AuditStore, EntryFilter};
use rampart_monitor::{EventType, MonitorStore};
use rampart_subjects::{
    ConfirmationDocument, ConfirmationError, Erasure, ErasureDocument, ErasureEffects, ErasureId,
    ErasureWrite, SubjectKeyId, SubjectStore, subject_id_sha256,
};
use serde_json::Value;
use time::OffsetDateTime;

use super::{SubjectError, SubjectService, subject_id};

/// What an erasure request answered.
#[derive(Debug)]
pub struct Requested {
    /// The erasure.
    pub erasure: Erasure,
    /// `false` when it is an earlier erasure of the subject (nothing was left to erase).
    pub created: bool,
}

/// What replaying recorded erasures did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Replayed {
    /// Erasures read.
    pub erasures: u64,
    /// Keys that were live again (a restore from an older backup) and are destroyed now.
    pub keys_destroyed: u64,
}

impl<S> SubjectService<S>
where
    S: SubjectStore
        + MonitorStore
        + AuditStore
        + rampart_retention::RetentionStore
        + Clone
        + Send
        + Sync
        + 'static,
{
    /// Erases `subject`: see the module documentation. A subject under a legal hold is not
    /// erased: [`SubjectError::Held`] names the hold.
    pub async fn request_erasure(
        &self,
        subject: &str,
        document: ErasureDocument,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Requested, SubjectError> {
        subject_id("subject_id", subject)?;
        let request = document.validate()?;
        if let Some(hold) = crate::retention::holds_on_subject(&self.store, subject)
            .await?
            .into_iter()
            .next()
        {
            return Err(SubjectError::Held {
                id: hold.id.as_str().to_owned(),
                name: hold.name,
            });
        }
        let lookup = self.lookup_key.lookup(subject);
        let latest = self
            .store
            .latest_erasure(&lookup)
            .await
            .map_err(SubjectError::store)?;
        if let Some(previous) = &latest
            && !self.anything_left(subject, &lookup).await?
        {
            return Ok(Requested {
                erasure: previous.clone(),
                created: false,
            });
        }
        let audit_entries = self.count_entries(subject).await?;
        let log = &self.audit;
        let signed = log.latest_checkpoint().await.map_err(SubjectError::store)?;
        let checkpoint =
            serde_json::to_value(checkpoint_json(log.origin(), &signed, log.verifier()))
                .map_err(SubjectError::store)?;
        let erasure = Erasure {
            id: ErasureId::generate(),
            subject_id_sha256: subject_id_sha256(subject),
            reason: request.reason,
            completed_at: request.stores.is_empty().then_some(now),
            stores: request.stores,
            requested_at: now,
            requested_by: by.to_owned(),
            effects: ErasureEffects::default(),
            subject_keys: Vec::new(),
            confirmations: Vec::new(),
            checkpoint,
        };
        let deliveries = self
            .monitor
            .deliveries_of(
                EventType::ErasureRequested,
                &erasure.requested_event(subject),
                now,
            )
            .await
            .map_err(SubjectError::store)?;
        let notify = !deliveries.is_empty();
        let write = ErasureWrite {
            erasure,
            lookup,
            subject_id: subject.to_owned(),
            expected_latest: latest.map(|e| e.id),
            audit_entries,
            deliveries,
        };
        let recorded = self
            .store
            .erase(&write)
            .await
            .map_err(SubjectError::store)?
            .ok_or_else(|| {
                SubjectError::Conflict(
                    "another erasure of this subject was recorded meanwhile; read it or retry"
                        .into(),
                )
            })?;
        self.keys.forget(subject, &recorded.subject_keys);
        // The erased bytes leave the database files right after (the WAL truncated on SQLite,
        // a VACUUM on PostgreSQL); the request does not wait for it.
        let store = self.store.clone();
        tokio::spawn(async move { store.scrub_erased().await });
        if notify {
            self.monitor.send_now.notify_one();
        }
        Ok(Requested {
            erasure: recorded,
            created: true,
        })
    }

    /// Whether Rampart still holds something erasable about the subject: a live key, a
    /// consent with personal fields, a linked principal still enabled or a linked card token.
    async fn anything_left(
        &self,
        subject: &str,
        lookup: &rampart_subjects::SubjectLookup,
    ) -> Result<bool, SubjectError> {
        let keys = self
            .store
            .live_subject_keys(std::slice::from_ref(lookup))
            .await
            .map_err(SubjectError::store)?;
        if !keys.is_empty() {
            return Ok(true);
        }
        let consents = self
            .store
            .consents(lookup)
            .await
            .map_err(SubjectError::store)?;
        if consents.iter().any(|c| c.erased_at.is_none()) {
            return Ok(true);
        }
        let (principals, cards) = self
            .store
            .linked_records(subject)
            .await
            .map_err(SubjectError::store)?;
        Ok(principals.iter().any(|p| !p.disabled) || !cards.is_empty())
    }

    /// The subject's audit entries, counted by the index.
    async fn count_entries(&self, subject: &str) -> Result<u64, SubjectError> {
        let filter = EntryFilter {
            subject_id: Some(subject.to_owned()),
            ..EntryFilter::default()
        };
        self.audit.count(&filter).await.map_err(SubjectError::store)
    }

    /// One erasure.
    pub async fn erasure(&self, id: &str) -> Result<Erasure, SubjectError> {
        let id = ErasureId::parse(id).ok_or(SubjectError::NotFound("erasure"))?;
        self.store
            .erasure(&id)
            .await
            .map_err(SubjectError::store)?
            .ok_or(SubjectError::NotFound("erasure"))
    }

    /// Erasures in time order after `after`, at most `limit`.
    pub async fn erasures(
        &self,
        after: Option<&ErasureId>,
        limit: u32,
    ) -> Result<Vec<Erasure>, SubjectError> {
        self.store
            .erasures(after, limit)
            .await
            .map_err(SubjectError::store)
    }

    /// The erasure's certificate, signed with the audit log's key.
    pub fn certificate(&self, erasure: &Erasure) -> Result<Value, SubjectError> {
        let mut document = erasure.certificate();
        self.audit
            .sign_document(&mut document)
            .map_err(|e| SubjectError::Crypto(e.to_string()))?;
        Ok(document)
    }

    /// Records a store's confirmation; the erasure completes with the last one.
    pub async fn confirm(
        &self,
        id: &str,
        document: ConfirmationDocument,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<Erasure, SubjectError> {
        let erasure = self.erasure(id).await?;
        let (confirmation, completes) =
            erasure.confirm(document, by, now).map_err(|e| match e {
                ConfirmationError::UnknownStore => {
                    SubjectError::field("store", "the erasure did not name this store")
                }
                ConfirmationError::AlreadyConfirmed => SubjectError::Conflict(e.to_string()),
            })?;
        let confirmed = self
            .store
            .confirm_erasure(&erasure.id, &confirmation, completes.then_some(now))
            .await
            .map_err(SubjectError::store)?;
        if !confirmed {
            return Err(SubjectError::Conflict(
                ConfirmationError::AlreadyConfirmed.to_string(),
            ));
        }
        self.erasure(erasure.id.as_str()).await
    }

    /// Destroys again the keys of every recorded erasure and of `extra` (erasure id and key
    /// ids, e.g. read from an audit export made after the backup): after a restore from a
    /// backup made before some erasures, their keys are live again until this runs.
    pub async fn replay_erasures(
        &self,
        extra: &[(ErasureId, Vec<SubjectKeyId>)],
        now: OffsetDateTime,
    ) -> Result<Replayed, SubjectError> {
        let mut replayed = Replayed::default();
        let mut after: Option<ErasureId> = None;
        loop {
            let page = self
                .store
                .erasures(after.as_ref(), 500)
                .await
                .map_err(SubjectError::store)?;
            for erasure in &page {
                replayed.erasures += 1;
                replayed.keys_destroyed += self
                    .store
                    .destroy_subject_keys(&erasure.subject_keys, &erasure.id, now)
                    .await
                    .map_err(SubjectError::store)?;
            }
            match page.last() {
                Some(last) if page.len() == 500 => after = Some(last.id.clone()),
                _ => break,
            }
        }
        for (id, keys) in extra {
            replayed.erasures += 1;
            replayed.keys_destroyed += self
                .store
                .destroy_subject_keys(keys, id, now)
                .await
                .map_err(SubjectError::store)?;
        }
        Ok(replayed)
    }
}
