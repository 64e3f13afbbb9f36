//! What threat protection needs from storage: the [`ThreatStore`] trait (implemented by
//! `rampart-store` on SQLite and PostgreSQL) and its records. Everything here must hold across
//! nodes sharing one database: the rules in force, blocks, failure counts, exemptions and the
//! windows of shared rules.

use std::future::Future;
use std::net::IpAddr;

use time::{Duration, OffsetDateTime};

use crate::address::AddressRules;
use crate::blocks::{Block, BlockTarget};
use crate::rules::{BucketKey, RuleSet};
use crate::window::SharedDecision;

/// A stored document (a rule set or address rules, as JSON text) and its version, which
/// increases with each replacement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDocument {
    /// The document as JSON text ([`RuleSet::to_json`], [`AddressRules::to_json`]).
    pub json: String,
    /// Its version, from 1.
    pub version: u64,
}

/// What a replacement replaced: the audit entry's before and the new version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaced {
    /// The document before (none when none was stored).
    pub before: Option<StoredDocument>,
    /// The version now stored.
    pub version: u64,
}

/// The `Result` of a [`ThreatStore`] operation.
type Stored<T, E> = Result<T, E>;

/// Storage threat protection needs, implemented by `rampart-store` for each backend.
pub trait ThreatStore: Send + Sync {
    /// The backend's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The rate-limit rules set through the API, if any.
    fn rate_limits(
        &self,
    ) -> impl Future<Output = Stored<Option<StoredDocument>, Self::Error>> + Send;

    /// Replaces the rate-limit rules if the stored version is still `expected` (`None`: none
    /// stored); `None` when another change came first.
    fn replace_rate_limits(
        &self,
        rules: &RuleSet,
        expected: Option<u64>,
        now: OffsetDateTime,
    ) -> impl Future<Output = Stored<Option<Replaced>, Self::Error>> + Send;

    /// The address rules set through the API, if any.
    fn address_rules(
        &self,
    ) -> impl Future<Output = Stored<Option<StoredDocument>, Self::Error>> + Send;

    /// Replaces the address rules if the stored version is still `expected`; `None` when
    /// another change came first.
    fn replace_address_rules(
        &self,
        rules: &AddressRules,
        expected: Option<u64>,
        now: OffsetDateTime,
    ) -> impl Future<Output = Stored<Option<Replaced>, Self::Error>> + Send;

    /// Records a failure (401, 403, failed login) of an address at `now` and answers how many
    /// it has within the last `window`, this one included.
    fn record_failure(
        &self,
        address: IpAddr,
        window: Duration,
        now: OffsetDateTime,
    ) -> impl Future<Output = Stored<u64, Self::Error>> + Send;

    /// Forgets an address's failures (once it is blocked, or after a lift).
    fn clear_failures(
        &self,
        address: IpAddr,
    ) -> impl Future<Output = Stored<(), Self::Error>> + Send;

    /// Blocks in force at `now`, soonest to expire first, at most `limit`.
    fn list_blocks(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> impl Future<Output = Stored<Vec<Block>, Self::Error>> + Send;

    /// Stores a block, replacing one of the same target; every block is also kept in the
    /// history [`ThreatStore::blocks_since`] counts.
    fn insert_block(&self, block: &Block) -> impl Future<Output = Stored<(), Self::Error>> + Send;

    /// Removes the block of exactly this target (expired or not); the block removed.
    fn delete_block(
        &self,
        target: &BlockTarget,
    ) -> impl Future<Output = Stored<Option<Block>, Self::Error>> + Send;

    /// Lifts a block: removes it, forgets the target's failures, and exempts the target from
    /// automatic blocks until `exempt_until`, in one transaction. The block lifted, if any
    /// (the exemption is recorded either way).
    fn lift_block(
        &self,
        target: &BlockTarget,
        exempt_until: OffsetDateTime,
    ) -> impl Future<Output = Stored<Option<Block>, Self::Error>> + Send;

    /// The block in force at `now` that covers an address, its own or a network's (the one
    /// ending last when several do).
    fn active_block(
        &self,
        address: IpAddr,
        now: OffsetDateTime,
    ) -> impl Future<Output = Stored<Option<Block>, Self::Error>> + Send;

    /// How many automatic blocks of this address began at or after `since` (expired and
    /// lifted ones included): the repeats that double the next block.
    fn blocks_since(
        &self,
        address: IpAddr,
        since: OffsetDateTime,
    ) -> impl Future<Output = Stored<u32, Self::Error>> + Send;

    /// Until when a lifted address is exempt from automatic blocks (none, or in the past:
    /// not exempt).
    fn exempt_until(
        &self,
        address: IpAddr,
    ) -> impl Future<Output = Stored<Option<OffsetDateTime>, Self::Error>> + Send;

    /// Whether several nodes may share this storage (PostgreSQL). When not (the embedded
    /// SQLite file has one server), shared rules are counted in that server's memory: the same
    /// windows without a durable write per request.
    fn shared_by_nodes(&self) -> bool {
        true
    }

    /// Counts a request against a shared rule's bucket in one atomic statement on one row,
    /// as [`crate::shared_window_hit`] computes it.
    fn shared_hit(
        &self,
        rule: &str,
        key: &BucketKey,
        window_seconds: u32,
        limit: u32,
        now: OffsetDateTime,
    ) -> impl Future<Output = Stored<SharedDecision, Self::Error>> + Send;

    /// Deletes what no longer matters at `now`: failures and shared windows older than a day,
    /// expired exemptions, and block history older than a day (expired blocks stay listed by
    /// nothing). How many rows went.
    fn purge(&self, now: OffsetDateTime) -> impl Future<Output = Stored<u64, Self::Error>> + Send;
}
