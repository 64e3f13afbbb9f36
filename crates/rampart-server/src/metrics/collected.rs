//! Metrics read when `/metrics` is scraped rather than counted on the way: the audit writer's
//! numbers (kept by `rampart-audit` in atomics) and the database pool's connections.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use rampart_audit::{CountHistogram, WriterStats};

/// The connection pool at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSnapshot {
    /// Connections in use.
    pub in_use: u32,
    /// Connections open and idle.
    pub idle: u32,
    /// The most connections the pool opens.
    pub max: u32,
}

/// Where the scraped metrics come from.
pub struct Sources {
    /// The audit writer's numbers.
    pub audit: Arc<WriterStats>,
    /// Append requests waiting for the writer.
    pub audit_queue: Box<dyn Fn() -> usize + Send + Sync>,
    /// The database pool.
    pub pool: Box<dyn Fn() -> PoolSnapshot + Send + Sync>,
}

pub(super) struct Collected(pub(super) Sources);

impl std::fmt::Debug for Collected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collected").finish_non_exhaustive()
    }
}

fn histogram(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    histogram: &CountHistogram,
    per_unit: f64,
) -> Result<(), std::fmt::Error> {
    let counts = histogram.counts();
    let count = counts.iter().sum();
    let buckets: Vec<(f64, u64)> = histogram
        .bounds()
        .iter()
        .map(|&bound| bound as f64 / per_unit)
        .chain(std::iter::once(f64::INFINITY))
        .zip(counts)
        .collect();
    encoder
        .encode_descriptor(name, help, None, MetricType::Histogram)?
        .encode_histogram::<NoLabelSet>(histogram.sum() as f64 / per_unit, count, &buckets, None)
}

fn gauge(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: impl prometheus_client::encoding::EncodeGaugeValue,
) -> Result<(), std::fmt::Error> {
    encoder
        .encode_descriptor(name, help, None, MetricType::Gauge)?
        .encode_gauge(&value)
}

impl Collector for Collected {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Sources {
            audit,
            audit_queue,
            pool,
        } = &self.0;
        let e = &mut encoder;
        histogram(
            e,
            "rampart_audit_append_duration_seconds",
            "Time from an audit append's request to its durable answer (committed appends)",
            &audit.append_latency_micros,
            1e6,
        )?;
        histogram(
            e,
            "rampart_audit_batch_entries",
            "Entries per batch the audit writer committed",
            &audit.batch_entries,
            1.0,
        )?;
        gauge(
            e,
            "rampart_audit_queue_depth",
            "Audit append requests waiting for the writer",
            audit_queue(),
        )?;
        gauge(
            e,
            "rampart_audit_tree_size",
            "Entries in the audit log's tree after this process's latest batch",
            audit.tree_size(),
        )?;
        if let Some(at) = audit.checkpoint_time() {
            let age = (time::OffsetDateTime::now_utc() - at)
                .as_seconds_f64()
                .max(0.0);
            gauge(
                e,
                "rampart_audit_checkpoint_age_seconds",
                "Seconds since the latest signed checkpoint this process committed or found at start",
                age,
            )?;
        }
        let pool = pool();
        gauge(
            e,
            "rampart_db_pool_connections_in_use",
            "Database connections in use",
            pool.in_use,
        )?;
        gauge(
            e,
            "rampart_db_pool_connections_idle",
            "Database connections open and idle",
            pool.idle,
        )?;
        gauge(
            e,
            "rampart_db_pool_connections_max",
            "The most database connections the pool opens",
            pool.max,
        )
    }
}
