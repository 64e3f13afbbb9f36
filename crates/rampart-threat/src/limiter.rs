//! The per-node limiter of the rules that are not `shared`: GCRA (the generic cell rate
//! algorithm) per bucket, a bucket per rule and [`Subject`].
//!
//! A rule of `limit` per `window_seconds` with capacity `burst` lets a request through every
//! `window / limit` (the emission interval, rounded up to the nanosecond so the rate is never
//! above the rule's) and up to `burst` at once. Each bucket is one number, its theoretical
//! arrival time (TAT); a bucket whose TAT has passed is full again and is the same as no bucket,
//! so it can be forgotten. A subject's buckets under every rule sit together, so a request
//! counted by many rules takes one lock and one map lookup per key kind. Memory is bounded: at
//! most `max_keys` subjects; when a shard is full, subjects whose buckets are all full go first,
//! then the eighth nearest to full.
//!
//! Not `governor`: its clock lives inside the limiter (here `now` is an argument, so tests do
//! not sleep), a keyed limiter has one quota (here each rule has its own), and its answers do
//! not carry the remaining capacity and reset time the `RateLimit` header needs.

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::BuildHasher;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use foldhash::quality::RandomState;

use crate::rules::{Rule, Subject};

/// A shard: each subject's buckets.
type Shard = HashMap<Subject, Buckets, RandomState>;

/// One subject's buckets under every rule that counted it: the rule and its theoretical
/// arrival time (nanoseconds on the limiter's clock).
#[derive(Debug, Default)]
struct Buckets(Vec<(RuleId, u64)>);

impl Buckets {
    /// The latest theoretical arrival time: the subject is the same as no subject after it.
    fn latest(&self) -> u64 {
        self.0.iter().map(|(_, tat)| *tat).max().unwrap_or(0)
    }
}

/// Subjects kept by [`Limiter::default`].
pub const DEFAULT_MAX_KEYS: usize = 100_000;
/// Shards of the bucket map, so concurrent requests rarely wait for one another.
const SHARDS: usize = 16;
/// Rule names remembered by [`Limiter::rule_id`] at most (far above any real rule history;
/// past it the table starts again with new numbers, which at worst refills some buckets).
const MAX_RULE_IDS: usize = 65_536;

/// A rule's bucket identity in the limiter: its name, as a number ([`Limiter::rule_id`]). A
/// rule changed but kept under its name keeps its buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RuleId(u32);

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

/// Per-node GCRA buckets for every non-shared rule, grouped by [`Subject`]: a request counted
/// by several rules of one key kind takes one map lookup and one lock, whatever their number.
#[derive(Debug)]
pub struct Limiter {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    /// Seeded per limiter (foldhash: fast, and keys chosen by clients cannot be aimed at
    /// one hash without knowing the seed).
    hasher: RandomState,
    rule_ids: Mutex<RuleIds>,
}

/// The numbers given to rule names; never one number for two names.
#[derive(Debug, Default)]
struct RuleIds {
    by_name: HashMap<Box<str>, RuleId>,
    next: u32,
}

impl Default for Limiter {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_KEYS)
    }
}

impl Limiter {
    /// A limiter that keeps the buckets of at most about `max_keys` subjects.
    #[must_use]
    pub fn new(max_keys: usize) -> Self {
        Self {
            shards: (0..SHARDS)
                .map(|_| Mutex::new(HashMap::with_hasher(RandomState::default())))
                .collect(),
            per_shard: max_keys.div_ceil(SHARDS).max(1),
            hasher: RandomState::default(),
            rule_ids: Mutex::new(RuleIds::default()),
        }
    }

    /// The bucket identity of the rule named `name` (the same for the same name, every time).
    pub fn rule_id(&self, name: &str) -> RuleId {
        let mut ids = self.rule_ids.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(id) = ids.by_name.get(name) {
            return *id;
        }
        if ids.by_name.len() >= MAX_RULE_IDS {
            ids.by_name.clear();
        }
        let id = RuleId(ids.next);
        ids.next = ids.next.wrapping_add(1);
        ids.by_name.insert(name.into(), id);
        id
    }

    /// Counts a request of `subject` against one `rule` at `now`; see [`Limiter::check_all`].
    pub fn check(&self, rule: &Rule, subject: Subject, now: Duration) -> Decision {
        let id = self.rule_id(rule.name());
        let quota = Quota::of(rule);
        let mut answer = None;
        self.check_all(subject, now, [(id, &quota, ())], |(), decision| {
            answer = Some(decision);
        });
        answer.unwrap_or(Decision {
            allowed: true,
            limit: rule.limit(),
            remaining: 0,
            reset_after: Duration::ZERO,
            retry_after: Duration::ZERO,
        })
    }

    /// Counts a request of `subject` against each of `rules` (their bucket identity and quota)
    /// at `now` (time on a monotonic clock since any fixed origin, the same for every call),
    /// and hands each decision to `decided` with the rule's tag, in order. A refused request is
    /// not counted by the rule that refused it; the others count it. One lock and one map
    /// lookup per [`BATCH`] rules, none when `rules` is empty; the lock is held only to move
    /// arrival times (the decisions are worked out after it is released).
    pub fn check_all<'q, T: Copy>(
        &self,
        subject: Subject,
        now: Duration,
        rules: impl IntoIterator<Item = (RuleId, &'q Quota, T)>,
        mut decided: impl FnMut(T, Decision),
    ) {
        let now = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
        let mut rules = rules.into_iter().peekable();
        while rules.peek().is_some() {
            let mut steps: [Option<(T, &Quota, Step)>; BATCH] = [None; BATCH];
            {
                let mut shard = self
                    .shard(&subject)
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if shard.len() >= self.per_shard && !shard.contains_key(&subject) {
                    make_room(&mut shard, now, self.per_shard);
                }
                let buckets = match shard.entry(subject) {
                    Entry::Occupied(entry) => entry.into_mut(),
                    Entry::Vacant(entry) => entry.insert(Buckets::default()),
                };
                let mut hint = 0;
                for (slot, (id, quota, tag)) in steps.iter_mut().zip(rules.by_ref()) {
                    *slot = Some((tag, quota, step(&mut buckets.0, &mut hint, id, quota, now)));
                }
            }
            for (tag, quota, step) in steps.into_iter().flatten() {
                decided(tag, quota.decision(step, now));
            }
        }
    }

    /// Forgets the buckets that are full again at `now`. How many went.
    pub fn purge(&self, now: Duration) -> usize {
        let now = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
        self.shards
            .iter()
            .map(|shard| {
                let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
                let mut gone = 0;
                shard.retain(|_, buckets| {
                    let before = buckets.0.len();
                    buckets.0.retain(|(_, tat)| *tat > now);
                    gone += before - buckets.0.len();
                    !buckets.0.is_empty()
                });
                gone
            })
            .sum()
    }

    /// Buckets held (one per rule and subject).
    #[must_use]
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| {
                let shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
                shard.values().map(|buckets| buckets.0.len()).sum::<usize>()
            })
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
    fn shard(&self, subject: &Subject) -> &Mutex<Shard> {
        let hash = self.hasher.hash_one(subject);
        let count = u64::try_from(self.shards.len()).unwrap_or(1);
        let index = usize::try_from(hash % count).unwrap_or(0);
        self.shards
            .get(index)
            .expect("the index is below the shard count")
    }
}

/// Rules counted per lock of a subject's buckets (more of one key kind take more turns).
pub const BATCH: usize = 16;

/// A rule's quota in the limiter's terms, worked out once per rule set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// The time between two requests at the sustained rate, in nanoseconds, rounded up so the
    /// rate is never above the rule's.
    emission: u64,
    /// `burst` emission intervals: how far ahead of now a bucket's arrival time may be.
    capacity: u64,
    burst: u32,
    limit: u32,
}

impl Quota {
    /// The quota of a rule (a window is at most a day, so every figure fits).
    #[must_use]
    pub fn of(rule: &Rule) -> Self {
        let window = u64::try_from(rule.window().as_nanos()).unwrap_or(u64::MAX);
        let emission = window.div_ceil(u64::from(rule.limit().max(1))).max(1);
        let burst = rule.burst().unwrap_or(rule.limit()).max(1);
        Self {
            emission,
            capacity: u64::from(burst).saturating_mul(emission),
            burst,
            limit: rule.limit(),
        }
    }

    /// The decision of a step taken at `now`.
    fn decision(&self, step: Step, now: u64) -> Decision {
        if !step.allowed {
            return Decision {
                allowed: false,
                limit: self.limit,
                remaining: 0,
                reset_after: Duration::from_nanos(step.tat - now),
                retry_after: Duration::from_nanos(step.new_tat - self.capacity - now),
            };
        }
        let remaining =
            ((self.capacity - (step.new_tat - now)) / self.emission).min(u64::from(self.burst));
        let retry_after = if remaining > 0 {
            Duration::ZERO
        } else {
            Duration::from_nanos(step.new_tat + self.emission - self.capacity - now)
        };
        Decision {
            allowed: true,
            limit: self.limit,
            remaining: u32::try_from(remaining).unwrap_or(u32::MAX),
            reset_after: Duration::from_nanos(step.new_tat - now),
            retry_after,
        }
    }
}

/// What one GCRA step did: the bucket's arrival time before (at least now) and after.
#[derive(Debug, Clone, Copy)]
struct Step {
    allowed: bool,
    tat: u64,
    new_tat: u64,
}

/// One rule's GCRA step over a subject's buckets at `now` (nanoseconds): only additions and a
/// comparison, under the lock. `hint` is where to look first (rules come in the order their
/// buckets were made).
fn step(
    buckets: &mut Vec<(RuleId, u64)>,
    hint: &mut usize,
    id: RuleId,
    quota: &Quota,
    now: u64,
) -> Step {
    let at = match buckets.get(*hint) {
        Some((found, _)) if *found == id => Some(*hint),
        _ => buckets.iter().position(|(found, _)| *found == id),
    };
    let stored = at.and_then(|at| buckets.get(at)).map(|(_, tat)| *tat);
    let tat = stored.unwrap_or(now).max(now);
    let new_tat = tat.saturating_add(quota.emission);
    let allowed = new_tat - now <= quota.capacity;
    if allowed {
        match at.and_then(|at| buckets.get_mut(at)) {
            Some((_, stored)) => *stored = new_tat,
            None => buckets.push((id, new_tat)),
        }
    }
    *hint = at.map_or(buckets.len(), |at| at + 1);
    Step {
        allowed,
        tat,
        new_tat,
    }
}

/// Makes room for one more subject in a full shard: subjects whose buckets are all full go; if
/// that is not enough, the eighth nearest to full (their loss forgives the least), so a flood
/// of new keys costs each insert a constant share of one pass.
fn make_room(shard: &mut Shard, now: u64, per_shard: usize) {
    shard.retain(|_, buckets| buckets.latest() > now);
    if shard.len() < per_shard {
        return;
    }
    let mut latest: Vec<u64> = shard.values().map(Buckets::latest).collect();
    let cut = (latest.len() / 8).max(1);
    let (_, threshold, _) = latest.select_nth_unstable(cut - 1);
    let threshold = *threshold;
    let mut removed = 0;
    shard.retain(|_, buckets| {
        if removed < cut && buckets.latest() <= threshold {
            removed += 1;
            false
        } else {
            true
        }
    });
}
