//! Subject keys in memory: found by subject id (sealing: no lookup hash computed for a key in
//! memory) and by key id (opening), each kept for at most the cache period, dropped at once by
//! an erasure on this node.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rampart_audit::AuditStore;
use rampart_monitor::MonitorStore;
use rampart_subjects::{StoredSubjectKey, SubjectKey, SubjectKeyId, SubjectLookup, SubjectStore};
use time::OffsetDateTime;

use super::{SubjectError, SubjectService};

/// Most keys kept; the cache empties itself when it would hold more.
const MAX_CACHED: usize = 100_000;

/// A key read at `at`: `None` when it was destroyed.
#[derive(Clone)]
struct Cached {
    key: Option<Arc<SubjectKey>>,
    at: Instant,
}

/// The keys this node read recently.
pub(super) struct KeyCache {
    period: Duration,
    by_subject: Mutex<HashMap<Box<str>, Cached>>,
    by_id: Mutex<HashMap<SubjectKeyId, Cached>>,
}

fn fresh(cached: &Cached, period: Duration) -> bool {
    cached.at.elapsed() < period
}

impl KeyCache {
    pub(super) fn new(period: Duration) -> Self {
        Self {
            period,
            by_subject: Mutex::new(HashMap::new()),
            by_id: Mutex::new(HashMap::new()),
        }
    }

    /// The live keys in memory of `subjects` (one lock for all of them).
    fn by_subjects<'s>(&self, subjects: &[&'s str]) -> HashMap<&'s str, Arc<SubjectKey>> {
        let mut found = HashMap::with_capacity(subjects.len());
        if self.period.is_zero() {
            return found;
        }
        let map = self.by_subject.lock().unwrap_or_else(|p| p.into_inner());
        for subject in subjects {
            if let Some(key) = map
                .get(*subject)
                .filter(|c| fresh(c, self.period))
                .and_then(|c| c.key.clone())
            {
                found.insert(*subject, key);
            }
        }
        found
    }

    fn by_id(&self, id: &SubjectKeyId) -> Option<Option<Arc<SubjectKey>>> {
        let map = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        map.get(id)
            .filter(|c| fresh(c, self.period))
            .map(|c| c.key.clone())
    }

    fn remember(&self, subject: Option<&str>, id: &SubjectKeyId, key: Option<Arc<SubjectKey>>) {
        if self.period.is_zero() {
            return;
        }
        let cached = Cached {
            key,
            at: Instant::now(),
        };
        if let Some(subject) = subject {
            let mut map = self.by_subject.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() >= MAX_CACHED {
                map.clear();
            }
            map.insert(subject.into(), cached.clone());
        }
        let mut map = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_CACHED {
            map.clear();
        }
        map.insert(id.clone(), cached);
    }

    /// Drops a subject's keys (an erasure on this node).
    pub(super) fn forget(&self, subject: &str, ids: &[SubjectKeyId]) {
        self.by_subject
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(subject);
        let mut map = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        for id in ids {
            map.remove(id);
        }
    }
}

impl<S> SubjectService<S>
where
    S: SubjectStore + MonitorStore + AuditStore + Clone + Send + Sync + 'static,
{
    /// The live key of each subject, made now for those that have none.
    pub(super) async fn keys_for<'s>(
        &self,
        subjects: &[&'s str],
    ) -> Result<HashMap<&'s str, Arc<SubjectKey>>, SubjectError> {
        let mut out = self.keys.by_subjects(subjects);
        let mut missing: HashMap<SubjectLookup, &'s str> = HashMap::new();
        for subject in subjects {
            if !out.contains_key(*subject) {
                missing.insert(self.lookup_key.lookup(subject), *subject);
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        self.load_live(&mut missing, &mut out).await?;
        if missing.is_empty() {
            return Ok(out);
        }
        // First personal data about these subjects: make their keys, one request of this node
        // at a time (the others then find them made). A key another node made meanwhile wins
        // (the store keeps one live key per subject); read the winners back.
        let _making = self.making_keys.lock().await;
        self.load_live(&mut missing, &mut out).await?;
        if missing.is_empty() {
            return Ok(out);
        }
        let now = OffsetDateTime::now_utc();
        let mut fresh = Vec::with_capacity(missing.len());
        for lookup in missing.keys() {
            let key = SubjectKey::generate()?;
            let sealed = self.kek().seal(&key.seal_context(), key.material())?;
            fresh.push(StoredSubjectKey {
                id: key.id().clone(),
                lookup: Some(*lookup),
                sealed: Some(sealed),
                created_at: now,
                destroyed_at: None,
                erasure_id: None,
            });
        }
        self.store
            .insert_subject_keys(&fresh)
            .await
            .map_err(SubjectError::store)?;
        self.load_live(&mut missing, &mut out).await?;
        if missing.is_empty() {
            Ok(out)
        } else {
            Err(SubjectError::Crypto(
                "a subject key could not be stored".into(),
            ))
        }
    }

    /// Reads the live keys of `missing` from the store into `out` (and the cache).
    async fn load_live<'s>(
        &self,
        missing: &mut HashMap<SubjectLookup, &'s str>,
        out: &mut HashMap<&'s str, Arc<SubjectKey>>,
    ) -> Result<(), SubjectError> {
        let lookups: Vec<SubjectLookup> = missing.keys().copied().collect();
        for chunk in lookups.chunks(500) {
            let stored = self
                .store
                .live_subject_keys(chunk)
                .await
                .map_err(SubjectError::store)?;
            for row in stored {
                let (Some(lookup), Some(sealed)) = (row.lookup, row.sealed.as_ref()) else {
                    continue;
                };
                let key = Arc::new(self.open_sealed(&row.id, sealed)?);
                if let Some(subject) = missing.remove(&lookup) {
                    self.keys
                        .remember(Some(subject), &row.id, Some(Arc::clone(&key)));
                    out.insert(subject, key);
                }
            }
        }
        Ok(())
    }

    /// The key `id` if it still lives; `None` once destroyed (or unknown).
    pub(super) async fn key_by_id(
        &self,
        id: &SubjectKeyId,
    ) -> Result<Option<Arc<SubjectKey>>, SubjectError> {
        if let Some(cached) = self.keys.by_id(id) {
            return Ok(cached);
        }
        let stored = self
            .store
            .subject_key(id)
            .await
            .map_err(SubjectError::store)?;
        let key = match stored {
            Some(StoredSubjectKey {
                sealed: Some(sealed),
                ..
            }) => {
                let key = Arc::new(self.open_sealed(id, &sealed)?);
                self.keys.remember(None, id, Some(Arc::clone(&key)));
                Some(key)
            }
            _ => {
                self.keys.remember(None, id, None);
                None
            }
        };
        Ok(key)
    }
}
