//! Prometheus metrics, one registry per server (no globals, so tests can run several apps).

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
        Self {
            registry,
            requests,
            latency,
            suppressed_denials,
            rate_limited,
            threat_refusals,
            blocks,
        }
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
}
