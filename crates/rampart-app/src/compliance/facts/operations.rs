//! Facts of retention (policies, holds, the latest run), threat protection (rate limits,
//! address rules) and monitoring (detection rules, webhooks, incidents).

use rampart_compliance::{Facts, catalog};
use rampart_monitor::{IncidentFilter, IncidentStatus, MonitorStore};
use rampart_retention::RetentionStore;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{err, names};
use crate::compliance::{ComplianceError, ComplianceService};

impl ComplianceService {
    pub(super) async fn retention_facts(&self, facts: &mut Facts) -> Result<(), ComplianceError> {
        let policies = RetentionStore::policies(&self.store).await.map_err(err)?;
        let listed: Vec<Value> = policies
            .iter()
            .map(|p| {
                json!({
                    "data_type": p.data_type.to_string(),
                    "mode": p.mode.as_str(),
                    "retain_seconds": p.retain_seconds,
                })
            })
            .collect();
        let audit_retention = policies
            .iter()
            .find(|p| p.data_type.to_string() == "audit")
            .map(|p| p.retain_seconds);
        facts.insert(
            catalog::RETENTION_POLICIES,
            listed,
            "retention store: policies",
        );
        facts.insert(
            catalog::AUDIT_RETENTION_SECONDS,
            audit_retention,
            "retention store: the audit policy (none: kept forever)",
        );
        let holds = self.store.holds().await.map_err(err)?;
        facts.insert(
            catalog::LEGAL_HOLDS,
            names(holds.iter().map(|h| h.name.clone()).collect()),
            "retention store: legal holds in force",
        );
        let runs = self.store.recent_runs(1).await.map_err(err)?;
        facts.insert(
            catalog::RETENTION_LAST_RUN,
            runs.first().map(|run| {
                json!({
                    "id": run.id.as_str(),
                    "state": if run.finished_at.is_some() { "finished" } else { "running" },
                    "started_at": rampart_compliance::rfc3339(run.started_at),
                    "finished_at": run.finished_at.map(rampart_compliance::rfc3339),
                })
            }),
            "retention store: disposal runs",
        );
        Ok(())
    }

    pub(super) async fn monitoring_facts(
        &self,
        facts: &mut Facts,
        now: OffsetDateTime,
    ) -> Result<(), ComplianceError> {
        let (rules, source, _) = self.threat.rules();
        facts.insert(
            catalog::RATE_LIMITS,
            json!({
                "rules": rules.rules().iter().map(|r| r.name()).collect::<Vec<_>>(),
                "rules_source": source.as_str(),
                "per_address_per_second": self.settings.rate_limit_per_second,
                "auth_per_minute": self.settings.auth_rate_limit_per_minute,
            }),
            "threat protection: rate-limit rules in force; settings",
        );
        let (address_rules, _) = self.threat.address_rules();
        let cidrs =
            |nets: &[ipnet::IpNet]| nets.iter().map(ToString::to_string).collect::<Vec<_>>();
        facts.insert(
            catalog::IP_RULES,
            json!({"allow": cidrs(address_rules.allow()), "deny": cidrs(address_rules.deny())}),
            "threat protection: address rules in force",
        );
        let detection = self
            .monitor
            .rules()
            .await
            .map_err(|e| ComplianceError::Facts(e.to_string()))?;
        let enabled: Vec<String> = detection
            .rules
            .rules()
            .iter()
            .filter(|r| r.enabled())
            .map(|r| r.name().to_owned())
            .collect();
        facts.insert(
            catalog::DETECTION_RULES,
            enabled,
            "security monitoring: detection rules in force (enabled)",
        );
        let webhooks = self.store.list_webhooks().await.map_err(err)?;
        facts.insert(
            catalog::WEBHOOK_ENDPOINTS,
            webhooks.len() as u64,
            "security monitoring: webhook endpoints",
        );
        let mut open = Vec::new();
        for status in [IncidentStatus::Open, IncidentStatus::Acknowledged] {
            let filter = IncidentFilter {
                status: Some(status),
                severity: None,
                limit: 10_000,
            };
            open.extend(self.store.list_incidents(&filter).await.map_err(err)?);
        }
        let late: Vec<String> = open
            .iter()
            .filter(|i| {
                i.notification_deadline_at.is_some_and(|d| d <= now)
                    || i.next_escalation_at.is_some_and(|d| d <= now)
            })
            .map(|i| format!("{} {}", i.id.to_text(), i.title))
            .collect();
        facts.insert(
            catalog::OPEN_INCIDENTS,
            open.len() as u64,
            "security monitoring: incidents",
        );
        facts.insert(
            catalog::INCIDENTS_PAST_DEADLINE,
            late,
            "security monitoring: open incidents past their notification deadline or escalation",
        );
        Ok(())
    }
}
