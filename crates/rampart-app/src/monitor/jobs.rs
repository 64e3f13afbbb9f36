//! Monitoring's background jobs, each under its lease: `monitor-evaluate` (every 200 ms, and at
//! once when this node appends: the alert follows its entry within a second),
//! `webhook-send` (every 200 ms, and at once when a delivery is enqueued here) and
//! `incident-escalate` (every second).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rampart_audit::AuditStore;
use rampart_monitor::MonitorStore;
use time::OffsetDateTime;

use super::MonitorService;
use crate::jobs::{Job, TickError};

/// The longest the evaluator and the sender wait for a wake-up before they look anyway.
pub const POLL: Duration = Duration::from_millis(200);
/// How often due escalations are looked for.
pub const ESCALATE_INTERVAL: Duration = Duration::from_secs(1);
/// Longest a tick works before it lets the runner renew its lease.
const TICK_BUDGET: Duration = Duration::from_secs(2);
/// Leases of the evaluator and the escalator: another node takes over within this after a
/// holder dies.
const LEASE_TTL: Duration = Duration::from_secs(10);
/// The sender's lease: longer than a tick can take (its attempts time out after 10 s), so no
/// two nodes send the same delivery.
const SENDER_LEASE_TTL: Duration = Duration::from_secs(25);

/// `monitor-evaluate`: evaluates committed entries until caught up (or the budget is spent).
pub fn evaluator<S: MonitorStore + AuditStore + Clone + Send + Sync + 'static>(
    monitor: Arc<MonitorService<S>>,
) -> Job {
    Job::leased("monitor-evaluate", Duration::from_millis(20), move || {
        let monitor = Arc::clone(&monitor);
        async move {
            // Between ticks, wait for an append on this node or the poll interval.
            let _ = tokio::time::timeout(POLL, monitor.evaluate_now.notified()).await;
            let started = Instant::now();
            loop {
                let step = monitor
                    .evaluate_step(OffsetDateTime::now_utc())
                    .await
                    .map_err(|e| TickError::new("cannot evaluate detection rules", e))?;
                if !step.more || started.elapsed() >= TICK_BUDGET {
                    return Ok(());
                }
            }
        }
    })
    .with_lease_ttl(LEASE_TTL)
}

/// `webhook-send`: sends the deliveries that are due.
pub fn sender<S: MonitorStore + AuditStore + Clone + Send + Sync + 'static>(
    monitor: Arc<MonitorService<S>>,
) -> Job {
    Job::leased("webhook-send", Duration::from_millis(20), move || {
        let monitor = Arc::clone(&monitor);
        async move {
            let _ = tokio::time::timeout(POLL, monitor.send_now.notified()).await;
            monitor
                .send_step(OffsetDateTime::now_utc())
                .await
                .map(|_| ())
                .map_err(|e| TickError::new("cannot send webhook deliveries", e))
        }
    })
    .with_lease_ttl(SENDER_LEASE_TTL)
}

/// `incident-escalate`: escalates the incidents whose deadline passed.
pub fn escalator<S: MonitorStore + AuditStore + Clone + Send + Sync + 'static>(
    monitor: Arc<MonitorService<S>>,
) -> Job {
    Job::leased("incident-escalate", ESCALATE_INTERVAL, move || {
        let monitor = Arc::clone(&monitor);
        async move {
            monitor
                .escalate_step(OffsetDateTime::now_utc())
                .await
                .map(|_| ())
                .map_err(|e| TickError::new("cannot escalate incidents", e))
        }
    })
    .with_lease_ttl(LEASE_TTL)
}
