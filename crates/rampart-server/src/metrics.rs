//! Prometheus metrics, one registry per server (no globals, so tests can run several apps).
//!
//! On request paths a metric costs an atomic addition: the labelled counters whose labels are
//! known in advance (key operations, login results) are created once and kept by index, so
//! counting never looks a label set up. The audit writer's and the pool's numbers are read
//! when `/metrics` is scraped ([`collected`]).

mod collected;

pub use collected::{PoolSnapshot, Sources};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RuleLabels {
    rule: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabels {
    op: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

/// An operation with a named key, counted by `rampart_key_operations_total{op}` (per item, for
/// those that succeeded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOp {
    /// `POST /v1/keys/{name}/encrypt`.
    Encrypt,
    /// `POST /v1/keys/{name}/decrypt`.
    Decrypt,
    /// `POST /v1/keys/{name}/rewrap`.
    Rewrap,
    /// `POST /v1/keys/{name}/hmac`.
    Hmac,
    /// `POST /v1/keys/{name}/hmac/verify`.
    HmacVerify,
    /// `POST /v1/keys/{name}/sign`.
    Sign,
    /// `POST /v1/keys/{name}/verify`.
    Verify,
}

impl KeyOp {
    const ALL: [Self; 7] = [
        Self::Encrypt,
        Self::Decrypt,
        Self::Rewrap,
        Self::Hmac,
        Self::HmacVerify,
        Self::Sign,
        Self::Verify,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Encrypt => "encrypt",
            Self::Decrypt => "decrypt",
            Self::Rewrap => "rewrap",
            Self::Hmac => "hmac",
            Self::HmacVerify => "hmac_verify",
            Self::Sign => "sign",
            Self::Verify => "verify",
        }
    }
}

/// How a login ended, counted by `rampart_logins_total{result}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginResult {
    /// A session was issued.
    Success,
    /// Wrong name, password or code, or a disabled principal.
    Failure,
    /// Refused by a lock (423).
    Locked,
    /// A right password, and a second factor to send or to enrol.
    MfaRequired,
    /// Refused by the login rate limits (429).
    RateLimited,
    /// Storage or verification failed.
    Error,
}

impl LoginResult {
    const ALL: [Self; 6] = [
        Self::Success,
        Self::Failure,
        Self::Locked,
        Self::MfaRequired,
        Self::RateLimited,
        Self::Error,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Locked => "locked",
            Self::MfaRequired => "mfa_required",
            Self::RateLimited => "rate_limited",
            Self::Error => "error",
        }
    }
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 100 µs to ~3.3 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    suppressed_denials: Counter,
    rate_limited: Family<RuleLabels, Counter>,
    threat_refusals: Family<ReasonLabels, Counter>,
    blocks: Counter,
    /// One counter per [`KeyOp`], in `KeyOp::ALL` order.
    key_ops: Vec<Counter>,
    /// One counter per [`LoginResult`], in `LoginResult::ALL` order.
    logins: Vec<Counter>,
    lockouts: Counter,
}

impl Metrics {
    /// A registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "rampart_http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "rampart_http_request_duration_seconds",
            "Time to answer HTTP requests, by method and route template",
            latency.clone(),
        );
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_owned(),
            })
            .set(1);
        registry.register("rampart_build_info", "The running Rampart version", build);
        let suppressed_denials = Counter::default();
        registry.register(
            "rampart_audit_denials_suppressed",
            "Denied requests not written to the audit log because their client address exceeded its rate",
            suppressed_denials.clone(),
        );
        let rate_limited = Family::<RuleLabels, Counter>::default();
        registry.register(
            "rampart_rate_limited",
            "Requests refused with 429, by the rate-limit rule that refused them",
            rate_limited.clone(),
        );
        let threat_refusals = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "rampart_address_refusals",
            "Requests refused before authentication: address-denied (address rules) or address-blocked",
            threat_refusals.clone(),
        );
        let blocks = Counter::default();
        registry.register(
            "rampart_address_blocks",
            "Addresses blocked automatically after repeated failures",
            blocks.clone(),
        );
        let key_op_family = Family::<OpLabels, Counter>::default();
        let key_ops = KeyOp::ALL
            .iter()
            .map(|op| key_op_family.get_or_create_owned(&OpLabels { op: op.as_str() }))
            .collect();
        registry.register(
            "rampart_key_operations",
            "Operations with named keys that succeeded, per item, by operation",
            key_op_family,
        );
        let login_family = Family::<ResultLabels, Counter>::default();
        let logins = LoginResult::ALL
            .iter()
            .map(|r| login_family.get_or_create_owned(&ResultLabels { result: r.as_str() }))
            .collect();
        registry.register(
            "rampart_logins",
            "Login attempts by how they ended",
            login_family,
        );
        let lockouts = Counter::default();
        registry.register(
            "rampart_login_lockouts",
            "Failed logins that locked a name (for one address or for all)",
            lockouts.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            suppressed_denials,
            rate_limited,
            threat_refusals,
            blocks,
            key_ops,
            logins,
            lockouts,
        }
    }

    /// Adds the metrics read at each scrape: the audit writer's and the database pool's.
    pub fn register_sources(&mut self, sources: Sources) {
        self.registry
            .register_collector(Box::new(collected::Collected(sources)));
    }

    /// Counts `items` successful operations of kind `op`.
    pub fn record_key_ops(&self, op: KeyOp, items: u64) {
        if let Some(counter) = self.key_ops.get(op as usize) {
            counter.inc_by(items);
        }
    }

    /// Counts one login that ended with `result`.
    pub fn record_login(&self, result: LoginResult) {
        if let Some(counter) = self.logins.get(result as usize) {
            counter.inc();
        }
    }

    /// Counts a failed login that locked a name.
    pub fn record_lockout(&self) {
        self.lockouts.inc();
    }

    /// Records one answered request.
    pub fn record_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    /// Counts a denied request whose audit entry was suppressed by the per-address rate.
    pub fn record_suppressed_denial(&self) {
        self.suppressed_denials.inc();
    }

    /// Counts a request refused by rate-limit rule `rule`.
    pub fn record_rate_limited(&self, rule: &str) {
        self.rate_limited
            .get_or_create(&RuleLabels {
                rule: rule.to_owned(),
            })
            .inc();
    }

    /// Counts a request refused before authentication (`address-denied`, `address-blocked`).
    pub fn record_address_refusal(&self, reason: &str) {
        self.threat_refusals
            .get_or_create(&ReasonLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// Counts an automatic block.
    pub fn record_block(&self) {
        self.blocks.inc();
    }

    /// The metrics in the OpenMetrics text format.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_recorded_requests() {
        let metrics = Metrics::new();
        metrics.record_request("GET", "/v1/health", 200, 0.001);
        let text = metrics.render().expect("renders");
        assert!(
            text.contains(
                r#"rampart_http_requests_total{method="GET",route="/v1/health",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains("rampart_build_info"));
        assert!(text.trim_end().ends_with("# EOF"));
    }

    #[test]
    fn labelled_counters_are_kept_by_index() {
        for (i, op) in KeyOp::ALL.iter().enumerate() {
            assert_eq!(*op as usize, i, "{op:?}");
        }
        for (i, result) in LoginResult::ALL.iter().enumerate() {
            assert_eq!(*result as usize, i, "{result:?}");
        }
        let metrics = Metrics::new();
        metrics.record_key_ops(KeyOp::HmacVerify, 3);
        metrics.record_login(LoginResult::MfaRequired);
        let text = metrics.render().expect("renders");
        assert!(
            text.contains(r#"rampart_key_operations_total{op="hmac_verify"} 3"#),
            "{text}"
        );
        assert!(
            text.contains(r#"rampart_key_operations_total{op="sign"} 0"#),
            "{text}"
        );
        assert!(
            text.contains(r#"rampart_logins_total{result="mfa_required"} 1"#),
            "{text}"
        );
    }

    #[test]
    fn scraped_sources_render_as_histograms_and_gauges() {
        let stats = std::sync::Arc::new(rampart_audit::WriterStats::default());
        stats.append_latency_micros.observe(150);
        stats.append_latency_micros.observe(5_000_000);
        stats.batch_entries.observe(3);
        let mut metrics = Metrics::new();
        metrics.register_sources(Sources {
            audit: std::sync::Arc::clone(&stats),
            audit_queue: Box::new(|| 7),
            pool: Box::new(|| PoolSnapshot {
                in_use: 2,
                idle: 3,
                max: 10,
            }),
        });
        let text = metrics.render().expect("renders");
        for line in [
            "# TYPE rampart_audit_append_duration_seconds histogram",
            r#"rampart_audit_append_duration_seconds_bucket{le="0.0001"} 0"#,
            r#"rampart_audit_append_duration_seconds_bucket{le="0.0002"} 1"#,
            r#"rampart_audit_append_duration_seconds_bucket{le="+Inf"} 2"#,
            "rampart_audit_append_duration_seconds_count 2",
            r#"rampart_audit_batch_entries_bucket{le="4.0"} 1"#,
            "rampart_audit_queue_depth 7",
            "rampart_audit_tree_size 0",
            "rampart_db_pool_connections_in_use 2",
            "rampart_db_pool_connections_idle 3",
            "rampart_db_pool_connections_max 10",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line}:\n{text}");
        }
        // No checkpoint known yet: no age rather than a made-up one.
        assert!(
            !text.contains("rampart_audit_checkpoint_age_seconds"),
            "{text}"
        );
        assert!(text.trim_end().ends_with("# EOF"));
    }
}
