//! What the writer counts as it goes, for whoever exports metrics (the server's `/metrics`):
//! atomics only, so counting costs an append a few uncontended additions and never a lock.
//! This crate knows no metrics format; it keeps numbers.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// A histogram of non-negative integer observations with fixed upper bounds.
#[derive(Debug)]
pub struct CountHistogram {
    bounds: &'static [u64],
    /// One count per bound, then one for everything above the last.
    counts: Box<[AtomicU64]>,
    sum: AtomicU64,
}

impl CountHistogram {
    fn new(bounds: &'static [u64]) -> Self {
        Self {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
        }
    }

    /// Counts one observation.
    pub fn observe(&self, value: u64) {
        let index = self.bounds.partition_point(|&bound| bound < value);
        if let Some(count) = self.counts.get(index) {
            count.fetch_add(1, Ordering::Relaxed);
        }
        self.sum.fetch_add(value, Ordering::Relaxed);
    }

    /// The upper bounds (inclusive), in the histogram's unit.
    pub fn bounds(&self) -> &'static [u64] {
        self.bounds
    }

    /// The count of each bucket (not cumulative), the last one above every bound.
    pub fn counts(&self) -> Vec<u64> {
        self.counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }

    /// The sum of every observation.
    pub fn sum(&self) -> u64 {
        self.sum.load(Ordering::Relaxed)
    }
}

/// Append latency bounds in microseconds: 100 µs to about 3.3 s, doubling.
const LATENCY_BOUNDS_MICROS: &[u64] = &[
    100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 51_200, 102_400, 204_800, 409_600,
    819_200, 1_638_400, 3_276_800,
];
/// Batch size bounds in entries, up to the largest batch the writer commits.
const BATCH_BOUNDS: &[u64] = &[
    1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1_024, 2_048, 4_096, 8_192, 16_384, 20_000,
];

/// The writer's numbers.
#[derive(Debug)]
pub struct WriterStats {
    /// From an append's request to its durable answer, in microseconds (appends that
    /// committed).
    pub append_latency_micros: CountHistogram,
    /// Entries per committed batch.
    pub batch_entries: CountHistogram,
    tree_size: AtomicU64,
    /// Unix time of the latest checkpoint this process knows, in milliseconds; 0: none.
    checkpoint_unix_millis: AtomicI64,
}

impl Default for WriterStats {
    fn default() -> Self {
        Self {
            append_latency_micros: CountHistogram::new(LATENCY_BOUNDS_MICROS),
            batch_entries: CountHistogram::new(BATCH_BOUNDS),
            tree_size: AtomicU64::new(0),
            checkpoint_unix_millis: AtomicI64::new(0),
        }
    }
}

impl WriterStats {
    /// The tree size after the latest batch this process committed (or found at open).
    pub fn tree_size(&self) -> u64 {
        self.tree_size.load(Ordering::Relaxed)
    }

    /// When the latest checkpoint this process committed (or found at open) was signed.
    pub fn checkpoint_time(&self) -> Option<time::OffsetDateTime> {
        match self.checkpoint_unix_millis.load(Ordering::Relaxed) {
            0 => None,
            millis => {
                time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).ok()
            }
        }
    }

    pub(super) fn committed(&self, tree_size: u64, checkpoint: time::OffsetDateTime) {
        self.tree_size.store(tree_size, Ordering::Relaxed);
        let millis = i64::try_from(checkpoint.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        self.checkpoint_unix_millis
            .store(millis.max(1), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_the_first_bucket_that_holds_them() {
        let stats = WriterStats::default();
        let batches = &stats.batch_entries;
        for value in [1, 2, 3, 20_000, 20_001] {
            batches.observe(value);
        }
        let counts = batches.counts();
        assert_eq!(counts.len(), BATCH_BOUNDS.len() + 1);
        assert_eq!(counts.first(), Some(&1));
        assert_eq!(counts.get(1), Some(&1));
        assert_eq!(counts.get(2), Some(&1), "3 goes to <= 4");
        assert_eq!(counts.get(BATCH_BOUNDS.len() - 1), Some(&1));
        assert_eq!(counts.last(), Some(&1), "above every bound");
        assert_eq!(batches.sum(), 40_007);
        assert_eq!(stats.checkpoint_time(), None);
        let at = time::macros::datetime!(2026-12-05 12:00:00.250 UTC);
        stats.committed(7, at);
        assert_eq!(stats.tree_size(), 7);
        assert_eq!(stats.checkpoint_time(), Some(at));
    }
}
