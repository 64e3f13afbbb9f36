//! Subject keys in memory: found by lookup hash (sealing) and by id (opening), each kept for
//! at most the cache period, dropped at once by an erasure on this node.

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
    by_lookup: Mutex<HashMap<SubjectLookup, Cached>>,
    by_id: Mutex<HashMap<SubjectKeyId, Cached>>,
}

fn fresh(cached: &Cached, period: Duration) -> bool {
    cached.at.elapsed() < period
}

impl KeyCache {
    pub(super) fn new(period: Duration) -> Self {
        Self {
            period,
            by_lookup: Mutex::new(HashMap::new()),
            by_id: Mutex::new(HashMap::new()),
        }
    }

    fn by_lookup(&self, lookup: &SubjectLookup) -> Option<Arc<SubjectKey>> {
        let map = self.by_lookup.lock().unwrap_or_else(|p| p.into_inner());
        map.get(lookup)
            .filter(|c| fresh(c, self.period))
            .and_then(|c| c.key.clone())
    }

    fn by_id(&self, id: &SubjectKeyId) -> Option<Option<Arc<SubjectKey>>> {
        let map = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        map.get(id)
            .filter(|c| fresh(c, self.period))
            .map(|c| c.key.clone())
    }

    fn remember(
        &self,
        lookup: Option<SubjectLookup>,
        id: &SubjectKeyId,
        key: Option<Arc<SubjectKey>>,
    ) {
        if self.period.is_zero() {
            return;
        }
        let cached = Cached {
            key,
            at: Instant::now(),
        };
        if let Some(lookup) = lookup {
            let mut map = self.by_lookup.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() >= MAX_CACHED {
                map.clear();
            }
            map.insert(lookup, cached.clone());
        }
        let mut map = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_CACHED {
            map.clear();
        }
        map.insert(id.clone(), cached);
    }

    /// Drops a subject's keys (an erasure on this node).
    pub(super) fn forget(&self, lookup: &SubjectLookup, ids: &[SubjectKeyId]) {
        self.by_lookup
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(lookup);
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
    pub(super) async fn keys_for(
        &self,
        subjects: &[&str],
    ) -> Result<HashMap<String, Arc<SubjectKey>>, SubjectError> {
        let mut out = HashMap::with_capacity(subjects.len());
        let mut missing: HashMap<SubjectLookup, String> = HashMap::new();
        for subject in subjects {
            if out.contains_key(*subject) {
                continue;
            }
            let lookup = self.lookup_key.lookup(subject);
            match self.keys.by_lookup(&lookup) {
                Some(key) => {
                    out.insert((*subject).to_owned(), key);
                }
                None => {
                    missing.insert(lookup, (*subject).to_owned());
                }
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        self.load_live(&mut missing, &mut out).await?;
        if missing.is_empty() {
            return Ok(out);
        }
        // First personal data about these subjects: make their keys. A key another node made
        // meanwhile wins (the store keeps one live key per subject); read the winners back.
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
    async fn load_live(
        &self,
        missing: &mut HashMap<SubjectLookup, String>,
        out: &mut HashMap<String, Arc<SubjectKey>>,
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
                self.keys
                    .remember(Some(lookup), &row.id, Some(Arc::clone(&key)));
                if let Some(subject) = missing.remove(&lookup) {
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
                lookup,
                ..
            }) => {
                let key = Arc::new(self.open_sealed(id, &sealed)?);
                self.keys.remember(lookup, id, Some(Arc::clone(&key)));
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
