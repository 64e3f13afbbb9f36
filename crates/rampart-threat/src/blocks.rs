//! Blocking (fail2ban-like): an address with `block_after_failures` 401/403/failed logins
//! within `block_window_seconds` is blocked for `block_seconds`, doubled for each earlier
//! block of it within a day, at most 24 hours. Blocks live in the database (the
//! [`crate::ThreatStore`]), so they survive restarts and hold on every node.
//!
//! Loopback is never blocked automatically unless `block_loopback`, nor a trusted proxy (its
//! failures are its clients'), nor an address lifted by an operator less than
//! `block_exempt_seconds` ago (CrowdSec re-bans lifted addresses: crowdsecurity/crowdsec#2457).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use time::{Duration, OffsetDateTime};

use crate::address::{canonical, net_text, parse_net};

/// The longest automatic block: a day.
pub const MAX_BLOCK: Duration = Duration::hours(24);

/// The block settings (Rampart's configuration; defaults from API.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockSettings {
    /// Failures within the window that block an address (default 20; 0 never blocks).
    pub block_after_failures: u32,
    /// How long failures count, in seconds (default 300).
    pub block_window_seconds: u32,
    /// The first block's length in seconds (default 3600), doubled for each repeat within a
    /// day, at most 24 hours.
    pub block_seconds: u32,
    /// After an operator lifts a block, how long the address is not blocked again automatically,
    /// in seconds (default 600).
    pub block_exempt_seconds: u32,
    /// Whether loopback addresses may be blocked automatically (default false).
    pub block_loopback: bool,
    /// The trusted proxies, never blocked automatically.
    pub trusted_proxies: Vec<IpNet>,
}

impl Default for BlockSettings {
    fn default() -> Self {
        Self {
            block_after_failures: 20,
            block_window_seconds: 300,
            block_seconds: 3_600,
            block_exempt_seconds: 600,
            block_loopback: false,
            trusted_proxies: Vec::new(),
        }
    }
}

impl BlockSettings {
    /// How long failures count.
    #[must_use]
    pub fn window(&self) -> Duration {
        Duration::seconds(i64::from(self.block_window_seconds))
    }

    /// How long a lifted address is exempt from automatic blocks.
    #[must_use]
    pub fn exemption(&self) -> Duration {
        Duration::seconds(i64::from(self.block_exempt_seconds))
    }
}

/// Whether `failures_in_window` failures block an address.
#[must_use]
pub fn should_block(failures_in_window: u64, settings: &BlockSettings) -> bool {
    settings.block_after_failures > 0
        && failures_in_window >= u64::from(settings.block_after_failures)
}

/// The length of an automatic block of an address blocked `repeats_within_day` times already
/// in the last 24 hours: `block_seconds` doubled per repeat, at most [`MAX_BLOCK`].
#[must_use]
pub fn block_duration(repeats_within_day: u32, settings: &BlockSettings) -> Duration {
    let base = u64::from(settings.block_seconds);
    let max = u64::try_from(MAX_BLOCK.whole_seconds()).unwrap_or(86_400);
    let seconds = base
        .saturating_mul(1u64 << repeats_within_day.min(63))
        .min(max);
    Duration::seconds(i64::try_from(seconds).unwrap_or(86_400))
}

/// Whether an address may be blocked automatically at `now`: not loopback (unless
/// `block_loopback`), not a trusted proxy, not within its exemption after a lift.
#[must_use]
pub fn auto_block_allowed(
    address: IpAddr,
    settings: &BlockSettings,
    exempt_until: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> bool {
    let address = canonical(address);
    if address.is_loopback() && !settings.block_loopback {
        return false;
    }
    if settings
        .trusted_proxies
        .iter()
        .any(|net| net.contains(&address))
    {
        return false;
    }
    exempt_until.is_none_or(|until| until <= now)
}

/// What a block covers: one address (`203.0.113.9`) or a network (`198.51.100.0/24`), in
/// canonical form (IPv4-mapped IPv6 as IPv4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockTarget(IpNet);

/// Not an address or CIDR network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an address or CIDR (a network's host bits must be zero)")]
pub struct BlockTargetError;

impl BlockTarget {
    /// The target of one address.
    #[must_use]
    pub fn address(address: IpAddr) -> Self {
        Self(IpNet::from(canonical(address)))
    }

    /// The network covered.
    #[must_use]
    pub fn net(&self) -> IpNet {
        self.0
    }

    /// Whether the target covers an address.
    #[must_use]
    pub fn covers(&self, address: IpAddr) -> bool {
        self.0.contains(&canonical(address))
    }
}

impl FromStr for BlockTarget {
    type Err = BlockTargetError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_net(text).map(Self).ok_or(BlockTargetError)
    }
}

impl fmt::Display for BlockTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&net_text(self.0))
    }
}

/// A block as stored and listed by `GET /v1/blocks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The address or network blocked.
    pub target: BlockTarget,
    /// Why (an operator's words, or what the automatic block counted).
    pub reason: String,
    /// When it began.
    pub blocked_at: OffsetDateTime,
    /// When it ends by itself.
    pub expires_at: OffsetDateTime,
    /// Failures counted when it was made (0 for a manual block).
    pub failures: u64,
    /// Whether an operator made it.
    pub manual: bool,
}

impl Block {
    /// The automatic block of an address after `failures` failures, blocked
    /// `repeats_within_day` times already in the last day.
    #[must_use]
    pub fn automatic(
        address: IpAddr,
        failures: u64,
        repeats_within_day: u32,
        settings: &BlockSettings,
        now: OffsetDateTime,
    ) -> Self {
        let window = settings.block_window_seconds;
        Self {
            target: BlockTarget::address(address),
            reason: format!("{failures} failures within {window} s"),
            blocked_at: now,
            expires_at: now + block_duration(repeats_within_day, settings),
            failures,
            manual: false,
        }
    }

    /// An operator's block of `target` for `length`.
    #[must_use]
    pub fn manual(
        target: BlockTarget,
        length: Duration,
        reason: String,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            target,
            reason,
            blocked_at: now,
            expires_at: now + length,
            failures: 0,
            manual: true,
        }
    }

    /// Whether the block holds at `now`.
    #[must_use]
    pub fn in_force(&self, now: OffsetDateTime) -> bool {
        self.blocked_at <= now && now < self.expires_at
    }
}

#[cfg(test)]
mod tests;
