//! The per-node limiter of the rules that are not `shared`: GCRA (the generic cell rate
//! algorithm) per bucket, keyed by rule name and [`BucketKey`].
//!
//! A rule of `limit` per `window_seconds` with capacity `burst` lets a request through every
//! `window / limit` (the emission interval, rounded up to the nanosecond so the rate is never
//! above the rule's) and up to `burst` at once. Each bucket is one number, its theoretical
//! arrival time (TAT); a bucket whose TAT has passed is full again and is the same as no bucket,
//! so it can be forgotten. Memory is bounded: at most `max_keys` buckets; when a shard is full,
//! full buckets go first, then the eighth nearest to full.
//!
//! Not `governor`: its clock lives inside the limiter (here `now` is an argument, so tests do
//! not sleep), a keyed limiter has one quota (here each rule has its own), and its answers do
//! not carry the remaining capacity and reset time the `RateLimit` header needs.

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::hash::BuildHasher;

use foldhash::quality::RandomState;

/// A shard: bucket id (`rule` U+001F `key`) to its theoretical arrival time.
type Shard = HashMap<String, u128, RandomState>;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::rules::{BucketKey, Rule};

/// Buckets kept by [`Limiter::default`].
pub const DEFAULT_MAX_KEYS: usize = 100_000;
/// Shards of the bucket map, so concurrent requests rarely wait for one another.
const SHARDS: usize = 16;

/// The answer for one request under one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may go on.
    pub allowed: bool,
    /// The rule's `limit` (requests per window).
    pub limit: u32,
    /// Requests that could still come at once after this one.
    pub remaining: u32,
    /// Until the bucket is full again (or, for a shared rule, until its window ends).
    pub reset_after: Duration,
    /// Until the next request would be allowed: zero when one would be now.
    pub retry_after: Duration,
}

/// Per-node GCRA buckets for every non-shared rule.
#[derive(Debug)]
pub struct Limiter {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    /// Seeded per limiter (foldhash: fast, and keys chosen by clients cannot be aimed at
    /// one hash without knowing the seed).
    hasher: RandomState,
}

impl Default for Limiter {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_KEYS)
    }
}

impl Limiter {
    /// A limiter that keeps at most about `max_keys` buckets.
    #[must_use]
    pub fn new(max_keys: usize) -> Self {
        Self {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(HashMap::with_hasher(RandomState::default())))
                .collect(),
            per_shard: max_keys.div_ceil(SHARDS).max(1),
            hasher: RandomState::default(),
        }
    }

    /// Counts a request against `rule`'s bucket `key` at `now` (time on a monotonic clock
    /// since any fixed origin, the same for every call). A refused request is not counted.
    /// A shared rule is counted here with `burst` = `limit` (the server sends those to the
    /// store instead).
    pub fn check(&self, rule: &Rule, key: &BucketKey, now: Duration) -> Decision {
        let emission = emission_interval(rule);
        let capacity = u128::from(rule.burst().unwrap_or(rule.limit())) * emission;
        let now = now.as_nanos();
        let mut id = String::with_capacity(rule.name().len() + 1 + key.as_str().len());
        id.push_str(rule.name());
        id.push('\u{1f}');
        id.push_str(key.as_str());
        let mut shard = self
            .shard(&id)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // One lookup: the bucket is updated in place, or inserted when it is new.
        let stored = shard.get_mut(&id);
        let tat = stored.as_deref().copied().unwrap_or(now).max(now);
        let new_tat = tat + emission;
        if new_tat - now > capacity {
            return Decision {
                allowed: false,
                limit: rule.limit(),
                remaining: 0,
                reset_after: nanos(tat - now),
                retry_after: nanos(new_tat - capacity - now),
            };
        }
        match stored {
            Some(slot) => *slot = new_tat,
            None => {
                if shard.len() >= self.per_shard {
                    make_room(&mut shard, now, self.per_shard);
                }
                shard.insert(id, new_tat);
            }
        }
        let remaining = (capacity - (new_tat - now)) / emission;
        let retry_after = if remaining > 0 {
            Duration::ZERO
        } else {
            nanos(new_tat + emission - capacity - now)
        };
        Decision {
            allowed: true,
            limit: rule.limit(),
            remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
            reset_after: nanos(new_tat - now),
            retry_after,
        }
    }

    /// Forgets the buckets that are full again at `now`. How many went.
    pub fn purge(&self, now: Duration) -> usize {
        let now = now.as_nanos();
        self.shards
            .iter()
            .map(|shard| {
                let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
                let before = shard.len();
                shard.retain(|_, tat| *tat > now);
                before - shard.len()
            })
            .sum()
    }

    /// Buckets held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }

    /// Whether no bucket is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[expect(
        clippy::expect_used,
        reason = "the index is reduced modulo the shard count"
    )]
    fn shard(&self, id: &str) -> &Mutex<Shard> {
        let hash = self.hasher.hash_one(id);
        let count = u64::try_from(self.shards.len()).unwrap_or(1);
        let index = usize::try_from(hash % count).unwrap_or(0);
        self.shards
            .get(index)
            .expect("the index is below the shard count")
    }
}

/// The time between two requests at the rule's sustained rate, rounded up.
fn emission_interval(rule: &Rule) -> u128 {
    let window = rule.window().as_nanos();
    window.div_ceil(u128::from(rule.limit().max(1))).max(1)
}

fn nanos(value: u128) -> Duration {
    let secs = u64::try_from(value / 1_000_000_000).unwrap_or(u64::MAX);
    let sub = u32::try_from(value % 1_000_000_000).unwrap_or(0);
    Duration::new(secs, sub)
}

/// Makes room for one more bucket in a full shard: full buckets go; if that is not enough, the
/// eighth nearest to full (their loss forgives the least), so a flood of new keys costs each
/// insert a constant share of one pass.
fn make_room(shard: &mut Shard, now: u128, per_shard: usize) {
    shard.retain(|_, tat| *tat > now);
    if shard.len() < per_shard {
        return;
    }
    let mut tats: Vec<u128> = shard.values().copied().collect();
    let cut = (tats.len() / 8).max(1);
    let (_, threshold, _) = tats.select_nth_unstable(cut - 1);
    let threshold = *threshold;
    let mut removed = 0;
    shard.retain(|_, tat| {
        if removed < cut && *tat <= threshold {
            removed += 1;
            false
        } else {
            true
        }
    });
}
