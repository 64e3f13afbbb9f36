//! How many unauthenticated denials (401s and the like from callers without a valid credential)
//! each get their own audit entry: per client address (IPv6 by /64, since one host usually holds
//! a whole /64), a burst of 50, then 10 per second. Beyond that a denial is counted, and every
//! [`SUMMARY_INTERVAL`] one entry per address records how many were suppressed, so a flood of
//! junk tokens cannot flood the log nor hide in it. Denials of authenticated callers are never
//! limited (the audit-trail middleware records each).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::json;

use crate::state::AppState;

/// How often suppressed denials are summed into audit entries.
pub const SUMMARY_INTERVAL: Duration = Duration::from_secs(10);

/// The key that counts a client: its IPv4 address, or the /64 of its IPv6 address.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
        v4 => v4,
    }
}

/// The address key as text: `203.0.113.7` or `2001:db8:1:2::/64`.
fn key_text(key: IpAddr) -> String {
    match key {
        IpAddr::V6(v6) => format!("{v6}/64"),
        v4 => v4.to_string(),
    }
}

/// The gate; see the module documentation.
pub struct DeniedEvents {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    suppressed: Mutex<HashMap<IpAddr, u64>>,
}

impl Default for DeniedEvents {
    fn default() -> Self {
        let per_second = NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(50).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
            suppressed: Mutex::new(HashMap::new()),
        }
    }
}

impl DeniedEvents {
    /// Whether this unauthenticated denial gets its own entry; if not, it is counted for the
    /// next summary.
    pub fn admit(&self, ip: IpAddr) -> bool {
        let key = address_key(ip);
        if self.limiter.check_key(&key).is_ok() {
            return true;
        }
        if let Ok(mut counts) = self.suppressed.lock() {
            *counts.entry(key).or_insert(0) += 1;
        }
        false
    }

    /// Takes the counts suppressed since the last call, and forgets limiter state of addresses
    /// that have gone quiet (so the limiter's memory stays bounded).
    pub fn take_suppressed(&self) -> Vec<(IpAddr, u64)> {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        self.suppressed
            .lock()
            .map(|mut counts| counts.drain().collect())
            .unwrap_or_default()
    }
}

/// Writes one `api.denials_suppressed` entry per address that had denials suppressed since the
/// last run. Returns how many entries were written.
pub async fn record_summaries(state: &AppState) -> usize {
    let mut written = 0;
    for (key, count) in state.denials().take_suppressed() {
        let address = key_text(key);
        if crate::system_audit::record(
            state.audit(),
            "rampart",
            "api.denials_suppressed",
            ("client_address", &address),
            json!({
                "count": count,
                "address": address,
                "summary": format!("{count} denials suppressed from {address}"),
                "window_seconds": SUMMARY_INTERVAL.as_secs(),
            }),
        )
        .await
        {
            written += 1;
        }
    }
    written
}

/// Runs [`record_summaries`] every [`SUMMARY_INTERVAL`], forever.
pub async fn run_summaries(state: AppState) {
    let mut ticks = tokio::time::interval(SUMMARY_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        record_summaries(&state).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_of_one_64_share_a_key() {
        let a: IpAddr = "2001:db8:1:2::1"
            .parse()
            .unwrap_or(IpAddr::V4([0; 4].into()));
        let b: IpAddr = "2001:db8:1:2:ffff::9"
            .parse()
            .unwrap_or(IpAddr::V4([0; 4].into()));
        let c: IpAddr = "2001:db8:1:3::1"
            .parse()
            .unwrap_or(IpAddr::V4([0; 4].into()));
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        assert_eq!(key_text(address_key(a)), "2001:db8:1:2::/64");
    }

    #[test]
    fn beyond_the_burst_denials_are_counted_per_key() {
        let gate = DeniedEvents::default();
        let ip: IpAddr = "2001:db8::1".parse().expect("address");
        let admitted = (0..80).filter(|_| gate.admit(ip)).count();
        assert!((50..60).contains(&admitted), "{admitted}");
        let suppressed = gate.take_suppressed();
        assert_eq!(suppressed.len(), 1);
        assert_eq!(suppressed.first().map(|s| s.1), Some(80 - admitted as u64));
        assert!(gate.take_suppressed().is_empty());
    }
}
