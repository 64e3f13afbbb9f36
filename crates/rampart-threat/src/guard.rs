//! The threat service: what a node holds in memory (the rules in force, the address rules and
//! the blocks, refreshed from storage) and the decisions the server asks for before and after a
//! request. Storage stays the truth: every node reads the same rules and blocks, shared rules
//! are counted in the database, and blocks made or lifted on one node reach the others within
//! one refresh.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use std::time::Duration as StdDuration;

use arc_swap::ArcSwap;

use time::{Duration, OffsetDateTime};

use crate::address::{AddressRules, AddressVerdict, canonical};
use crate::blocks::{Block, BlockSettings, BlockTarget, auto_block_allowed, should_block};
use crate::limiter::Limiter;
use crate::rules::{BucketKey, RequestFacts, Rule, RuleSet, Subject};
use crate::store::{Replaced, ThreatStore};
use crate::window::{SharedDecision, WindowState, shared_window_hit};

/// Blocks held in memory at most (the soonest to expire are listed first by the store; an
/// attack with more distinct addresses than this is still answered by the database check of
/// [`ThreatGuard::record_failure`]).
const MAX_CACHED_BLOCKS: u32 = 100_000;

/// [`ThreatGuard`]'s flag: address rules are set.
const HAS_ADDRESS_RULES: u8 = 1;
/// [`ThreatGuard`]'s flag: some block is held (in force or not yet purged).
const HAS_BLOCKS: u8 = 2;
/// [`ThreatGuard`]'s flag: some rule counts authenticated requests.
const COUNTS_AUTHENTICATED: u8 = 4;

mod answers;
mod counting;

pub use answers::{ChangeError, Counted, Limits, Refusal, RulesSource};
use counting::{Compiled, KINDS, Report, Tally};

#[derive(Debug)]
struct Snapshot {
    rules: Arc<RuleSet>,
    /// The same rules, ready for counting.
    compiled: Arc<Compiled>,
    /// Whether any rule counts authenticated requests.
    counts_authenticated: bool,
    rules_source: RulesSource,
    rules_version: Option<u64>,
    addresses: Arc<AddressRules>,
    addresses_version: Option<u64>,
    blocks: Arc<Vec<Block>>,
}

/// Threat protection on one node, over storage `S`.
#[derive(Debug)]
pub struct ThreatGuard<S> {
    store: S,
    settings: BlockSettings,
    file_rules: Option<Arc<RuleSet>>,
    limiter: Limiter,
    /// Read by every request without a lock or a shared reference count.
    snapshot: ArcSwap<Snapshot>,
    /// Held while a new snapshot is made from the one in force (writers take turns).
    writing: Mutex<()>,
    /// What the snapshot holds, readable without touching the lock or the `Arc` (every request
    /// reads it; most deployments have no address rules and no blocks):
    /// [`HAS_ADDRESS_RULES`], [`HAS_BLOCKS`], [`COUNTS_AUTHENTICATED`].
    flags: AtomicU8,
    /// When each per-node bucket's refusal was last reported (rule, key): at most one audit
    /// entry per key and rule per window.
    reported: Mutex<HashMap<(String, BucketKey), OffsetDateTime>>,
    /// Shared rules' windows when the storage has one node ([`ThreatStore::shared_by_nodes`]).
    local_windows: Mutex<HashMap<(String, BucketKey), WindowState>>,
}

impl<S: ThreatStore> ThreatGuard<S> {
    /// Loads the rules, address rules and blocks from `store`; `file_rules` (from
    /// `rate_limits_file`) win over stored rules.
    pub async fn open(
        store: S,
        settings: BlockSettings,
        file_rules: Option<RuleSet>,
        now: OffsetDateTime,
    ) -> Result<Self, S::Error> {
        let limiter = Limiter::default();
        let guard = Self {
            store,
            settings,
            file_rules: file_rules.map(Arc::new),
            writing: Mutex::new(()),
            snapshot: ArcSwap::from_pointee(Snapshot {
                counts_authenticated: counts_authenticated(&RuleSet::defaults()),
                compiled: Arc::new(Compiled::new(&RuleSet::defaults(), &limiter)),
                rules: Arc::new(RuleSet::defaults()),
                rules_source: RulesSource::Default,
                rules_version: None,
                addresses: Arc::new(AddressRules::default()),
                addresses_version: None,
                blocks: Arc::new(Vec::new()),
            }),
            limiter,
            reported: Mutex::new(HashMap::new()),
            local_windows: Mutex::new(HashMap::new()),
            flags: AtomicU8::new(0),
        };
        guard.refresh(now).await?;
        Ok(guard)
    }

    /// The storage.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The block settings.
    pub fn settings(&self) -> &BlockSettings {
        &self.settings
    }

    fn current(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Reads the rules, address rules and blocks in force again (every node, every second or
    /// two, and after its own changes). A stored document that no longer parses (written by a
    /// newer version) keeps what is in force.
    pub async fn refresh(&self, now: OffsetDateTime) -> Result<(), S::Error> {
        let rules = self.store.rate_limits().await?;
        let addresses = self.store.address_rules().await?;
        let blocks = self.store.list_blocks(now, MAX_CACHED_BLOCKS).await?;
        let previous = self.current();
        let (rules, rules_source, rules_version) = match (&self.file_rules, rules) {
            (Some(file), stored) => (
                Arc::clone(file),
                RulesSource::File,
                stored.map(|s| s.version),
            ),
            // Unchanged since the last read: kept as it is (no parse every second).
            (None, Some(stored))
                if previous.rules_source == RulesSource::Api
                    && previous.rules_version == Some(stored.version) =>
            {
                (
                    Arc::clone(&previous.rules),
                    RulesSource::Api,
                    Some(stored.version),
                )
            }
            (None, Some(stored)) => match RuleSet::parse_json(&stored.json) {
                Ok(parsed) => (Arc::new(parsed), RulesSource::Api, Some(stored.version)),
                Err(_) => (
                    Arc::clone(&previous.rules),
                    previous.rules_source,
                    previous.rules_version,
                ),
            },
            (None, None) if previous.rules_source == RulesSource::Default => {
                (Arc::clone(&previous.rules), RulesSource::Default, None)
            }
            (None, None) => (Arc::new(RuleSet::defaults()), RulesSource::Default, None),
        };
        let (addresses, addresses_version) = match addresses {
            Some(stored) if previous.addresses_version == Some(stored.version) => {
                (Arc::clone(&previous.addresses), Some(stored.version))
            }
            Some(stored) => match AddressRules::parse_json(&stored.json) {
                Ok(parsed) => (Arc::new(parsed), Some(stored.version)),
                Err(_) => (Arc::clone(&previous.addresses), previous.addresses_version),
            },
            None => (Arc::new(AddressRules::default()), None),
        };
        let snapshot = Snapshot {
            counts_authenticated: counts_authenticated(&rules),
            compiled: if Arc::ptr_eq(&rules, &previous.rules) {
                Arc::clone(&previous.compiled)
            } else {
                Arc::new(Compiled::new(&rules, &self.limiter))
            },
            rules,
            rules_source,
            rules_version,
            addresses,
            addresses_version,
            blocks: Arc::new(blocks),
        };
        let _writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        self.install(snapshot);
        Ok(())
    }

    /// Before authentication: the address rules, then blocks (from memory; no database
    /// round trip). `Ok` lets the request on.
    pub fn admit(&self, address: IpAddr, now: OffsetDateTime) -> Result<(), Refusal> {
        if self.flags.load(Ordering::Acquire) & (HAS_ADDRESS_RULES | HAS_BLOCKS) == 0 {
            return Ok(());
        }
        let snapshot = self.snapshot.load();
        if snapshot.addresses.verdict(address) == AddressVerdict::Denied {
            return Err(Refusal::AddressDenied);
        }
        let address = canonical(address);
        let block = snapshot
            .blocks
            .iter()
            .filter(|b| b.in_force(now) && b.target.covers(address))
            .max_by_key(|b| b.expires_at);
        match block {
            Some(block) => Err(Refusal::Blocked(block.clone())),
            None => Ok(()),
        }
    }

    /// The rules in force and where they come from, with the stored version (for `PUT`).
    pub fn rules(&self) -> (Arc<RuleSet>, RulesSource, Option<u64>) {
        let snapshot = self.current();
        (
            Arc::clone(&snapshot.rules),
            snapshot.rules_source,
            snapshot.rules_version,
        )
    }

    /// Whether any rule in force counts authenticated requests (when none does, the server
    /// skips counting them altogether).
    pub fn counts_authenticated(&self) -> bool {
        self.flags.load(Ordering::Acquire) & COUNTS_AUTHENTICATED != 0
    }

    /// Installs `snapshot` and its flags (the caller holds `writing`).
    fn install(&self, snapshot: Snapshot) {
        let mut flags = 0;
        if !snapshot.addresses.is_empty() {
            flags |= HAS_ADDRESS_RULES;
        }
        if !snapshot.blocks.is_empty() {
            flags |= HAS_BLOCKS;
        }
        if snapshot.counts_authenticated {
            flags |= COUNTS_AUTHENTICATED;
        }
        self.snapshot.store(Arc::new(snapshot));
        self.flags.store(flags, Ordering::Release);
    }

    /// The address rules in force and their stored version.
    pub fn address_rules(&self) -> (Arc<AddressRules>, Option<u64>) {
        let snapshot = self.current();
        (Arc::clone(&snapshot.addresses), snapshot.addresses_version)
    }

    /// Counts a request against every rule that matches it: per-node rules in memory at
    /// `monotonic` (time since any fixed start), shared rules in storage at `now`. Every
    /// matching rule counts the request, even after one refused it, so a client that keeps
    /// sending is held back by all of them.
    pub async fn count(
        &self,
        facts: &RequestFacts<'_>,
        monotonic: StdDuration,
        now: OffsetDateTime,
    ) -> Result<Limits, S::Error> {
        let snapshot = self.snapshot.load();
        // The built-in rules aim at clients from elsewhere: the host itself (health checks, a
        // local proxy not yet listed in `trusted_proxies`) and logins, which keep their own
        // limits, are not counted by them. Rules set through the API or a file count everyone.
        if snapshot.rules_source == RulesSource::Default
            && (canonical(facts.address).is_loopback()
                || (facts.method == "POST" && facts.path == "/v1/auth/login"))
        {
            return Ok(Limits::default());
        }
        let report = |rule: &Rule, subject| self.first_report(rule, subject, now);
        if snapshot.compiled.shared.is_empty() {
            let mut tally = Tally::default();
            self.count_per_node(&snapshot, facts, monotonic, &mut tally);
            return Ok(tally.finish(report));
        }
        // Shared rules wait for storage: the snapshot is held by reference count meanwhile.
        let snapshot = arc_swap::Guard::into_inner(snapshot);
        let mut tally = Tally::default();
        self.count_per_node(&snapshot, facts, monotonic, &mut tally);
        let mut shared = Vec::new();
        for c in &snapshot.compiled.shared {
            if !c.rule.applies(facts) {
                continue;
            }
            let Some(key) = c.rule.bucket_key(facts) else {
                continue;
            };
            let rule = &c.rule;
            let hit = if self.store.shared_by_nodes() {
                self.store
                    .shared_hit(rule.name(), &key, rule.window_seconds(), rule.limit(), now)
                    .await?
            } else {
                self.local_hit(rule, &key, now)
            };
            shared.push((c, hit));
        }
        for (c, hit) in shared {
            tally.add(c, hit.decision, Report::Known(hit.first_refusal));
        }
        Ok(tally.finish(report))
    }

    /// Counts a request against the per-node rules: one limiter call per key kind, nothing
    /// shared touched per rule (the tally borrows the rules).
    fn count_per_node<'a>(
        &self,
        snapshot: &'a Snapshot,
        facts: &RequestFacts<'_>,
        monotonic: StdDuration,
        tally: &mut Tally<'a>,
    ) {
        for (kind, group) in KINDS.iter().zip(snapshot.compiled.per_node.iter()) {
            if group.is_empty() {
                continue;
            }
            let Some(subject) = Subject::of(*kind, facts) else {
                continue;
            };
            let applying = group
                .iter()
                .filter(|c| c.rule.applies(facts))
                .map(|c| (c.id, &c.quota, c));
            self.limiter
                .check_all(subject, monotonic, applying, |c, decision| {
                    tally.add(c, decision, Report::PerNode(subject));
                });
        }
    }

    /// A shared rule counted in this node's memory (storage with one node).
    fn local_hit(&self, rule: &Rule, key: &BucketKey, now: OffsetDateTime) -> SharedDecision {
        let now = now
            .replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
            .unwrap_or(now);
        let mut windows = self
            .local_windows
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if windows.len() > 100_000 {
            windows.retain(|_, w| now - w.started_at < Duration::days(1));
        }
        let slot = (rule.name().to_owned(), key.clone());
        let previous = windows.get(&slot).copied();
        let (state, decision) =
            shared_window_hit(previous, rule.limit(), rule.window_seconds(), now);
        windows.insert(slot, state);
        decision
    }

    /// Whether a per-node refusal of `subject` under `rule` is the first in the rule's window.
    fn first_report(&self, rule: &Rule, subject: Subject, now: OffsetDateTime) -> bool {
        let key = subject.bucket_key();
        let window = Duration::seconds(i64::from(rule.window_seconds()));
        let mut reported = self.reported.lock().unwrap_or_else(PoisonError::into_inner);
        if reported.len() > 100_000 {
            reported.retain(|_, at| now - *at < window.max(Duration::hours(1)));
        }
        let slot = (rule.name().to_owned(), key);
        match reported.get(&slot) {
            Some(at) if now - *at < window => false,
            _ => {
                reported.insert(slot, now);
                true
            }
        }
    }

    /// Forgets per-node buckets and reports that no longer matter.
    pub fn purge_memory(&self, monotonic: StdDuration, now: OffsetDateTime) {
        self.limiter.purge(monotonic);
        let mut reported = self.reported.lock().unwrap_or_else(PoisonError::into_inner);
        reported.retain(|_, at| now - *at < Duration::days(1));
        drop(reported);
        let mut windows = self
            .local_windows
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        windows.retain(|_, w| now - w.started_at < Duration::days(1));
    }

    /// After a failure from `address` (a 401 or 403, a failed login): counts it, and blocks
    /// the address when it has `block_after_failures` within the window and may be blocked
    /// automatically. The block made, if any.
    pub async fn record_failure(
        &self,
        address: IpAddr,
        now: OffsetDateTime,
    ) -> Result<Option<Block>, S::Error> {
        let address = canonical(address);
        if self.settings.block_after_failures == 0
            || !auto_block_allowed(address, &self.settings, None, now)
        {
            return Ok(None);
        }
        let failures = self
            .store
            .record_failure(address, self.settings.window(), now)
            .await?;
        if !should_block(failures, &self.settings) {
            return Ok(None);
        }
        let exempt_until = self.store.exempt_until(address).await?;
        if !auto_block_allowed(address, &self.settings, exempt_until, now)
            || self.store.active_block(address, now).await?.is_some()
        {
            return Ok(None);
        }
        let repeats = self
            .store
            .blocks_since(address, now - Duration::days(1))
            .await?;
        let block = Block::automatic(address, failures, repeats, &self.settings, now);
        self.store.insert_block(&block).await?;
        self.store.clear_failures(address).await?;
        self.remember(block.clone());
        Ok(Some(block))
    }

    /// An operator's block of `target` for `length`.
    pub async fn block(
        &self,
        target: BlockTarget,
        length: Duration,
        reason: String,
        now: OffsetDateTime,
    ) -> Result<Block, S::Error> {
        let block = Block::manual(target, length, reason, now);
        self.store.insert_block(&block).await?;
        self.remember(block.clone());
        Ok(block)
    }

    /// Lifts the block of `target`: gone on this node at once (on the others within a
    /// refresh), and the target is not blocked automatically for `block_exempt_seconds`.
    pub async fn lift(
        &self,
        target: &BlockTarget,
        now: OffsetDateTime,
    ) -> Result<Option<Block>, S::Error> {
        let lifted = self
            .store
            .lift_block(target, now + self.settings.exemption())
            .await?;
        self.forget(target);
        Ok(lifted)
    }

    /// Blocks in force, soonest to expire first, at most `limit`.
    pub async fn list_blocks(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<Block>, S::Error> {
        self.store.list_blocks(now, limit).await
    }

    /// Replaces the rate-limit rules (refused while they come from a file); `expected` is
    /// the version the caller read (`None`: whatever is stored).
    pub async fn replace_rules(
        &self,
        rules: &RuleSet,
        expected: Option<Option<u64>>,
        now: OffsetDateTime,
    ) -> Result<Replaced, ChangeError<S::Error>> {
        if self.file_rules.is_some() {
            return Err(ChangeError::FromFile);
        }
        let expected = match expected {
            Some(version) => version,
            None => self
                .store
                .rate_limits()
                .await
                .map_err(ChangeError::Store)?
                .map(|d| d.version),
        };
        let replaced = self
            .store
            .replace_rate_limits(rules, expected, now)
            .await
            .map_err(ChangeError::Store)?
            .ok_or(ChangeError::Conflict)?;
        self.refresh(now).await.map_err(ChangeError::Store)?;
        Ok(replaced)
    }

    /// Replaces the address rules; `expected` as for [`ThreatGuard::replace_rules`].
    pub async fn replace_address_rules(
        &self,
        rules: &AddressRules,
        expected: Option<Option<u64>>,
        now: OffsetDateTime,
    ) -> Result<Replaced, ChangeError<S::Error>> {
        let expected = match expected {
            Some(version) => version,
            None => self
                .store
                .address_rules()
                .await
                .map_err(ChangeError::Store)?
                .map(|d| d.version),
        };
        let replaced = self
            .store
            .replace_address_rules(rules, expected, now)
            .await
            .map_err(ChangeError::Store)?
            .ok_or(ChangeError::Conflict)?;
        self.refresh(now).await.map_err(ChangeError::Store)?;
        Ok(replaced)
    }

    fn remember(&self, block: Block) {
        self.change_blocks(|blocks| {
            blocks.retain(|b| b.target != block.target);
            blocks.push(block);
        });
    }

    fn forget(&self, target: &BlockTarget) {
        self.change_blocks(|blocks| blocks.retain(|b| &b.target != target));
    }

    /// Installs a snapshot whose blocks are this node's copy changed by `change`.
    fn change_blocks(&self, change: impl FnOnce(&mut Vec<Block>)) {
        let _writing = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = self.snapshot.load();
        let mut blocks = slot.blocks.as_ref().clone();
        change(&mut blocks);
        let snapshot = Snapshot {
            compiled: Arc::clone(&slot.compiled),
            counts_authenticated: slot.counts_authenticated,
            rules: Arc::clone(&slot.rules),
            rules_source: slot.rules_source,
            rules_version: slot.rules_version,
            addresses: Arc::clone(&slot.addresses),
            addresses_version: slot.addresses_version,
            blocks: Arc::new(blocks),
        };
        self.install(snapshot);
    }
}

/// Whether any rule of `rules` counts authenticated requests.
fn counts_authenticated(rules: &RuleSet) -> bool {
    rules
        .rules()
        .iter()
        .any(|r| r.applies_to() != crate::rules::AppliesTo::Unauthenticated)
}
