//! `rampart alerts` and `rampart incidents`: security monitoring for an operator at a terminal.
//! Everything goes through the app layer's `MonitorService`, as the API does; each change is
//! audited as the API audits it (same action, resource and details), with the system actor
//! `rampart-cli`. The background jobs are not started: the servers run them.

use std::io::Write as _;
use std::sync::Arc;

use anyhow::Context as _;
use rampart_app::config::LoadedSettings;
use rampart_app::deployment;
use rampart_app::monitor::{MonitorError, MonitorService, alert_json, incident_json};
use rampart_monitor::{AlertFilter, AlertStatus, IncidentFilter, IncidentStatus, Severity};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::cli::{AlertsCommand, IncidentsCommand, SeverityArg, StatusArg};

/// Who the CLI's changes are by, in incident timelines and audit entries.
const ACTOR: &str = "rampart-cli";

/// One of the monitoring commands.
pub(crate) enum MonitorCommand {
    Alerts(AlertsCommand),
    Incidents(IncidentsCommand),
}

/// Runs `command` on the deployment of `loaded`.
pub(crate) async fn run(loaded: &LoadedSettings, command: MonitorCommand) -> anyhow::Result<()> {
    let opened = deployment::open(loaded).await?;
    let (store, audit) = (opened.store.clone(), opened.audit.clone());
    let monitor = MonitorService::new(
        opened.store,
        opened.audit,
        Arc::new(opened.kek),
        &loaded.settings,
    )
    .map_err(|e| anyhow::anyhow!("detection rules: {e}"))?;
    let now = OffsetDateTime::now_utc();
    let result = match command {
        MonitorCommand::Alerts(AlertsCommand::List {
            status,
            severity,
            rule,
            limit,
            json,
            ..
        }) => {
            let filter = AlertFilter {
                status: status.map(alert_status),
                severity: severity.map(self::severity),
                rule,
                limit,
            };
            let alerts = monitor.alerts(filter).await.map_err(failed("alerts"))?;
            let items: Vec<Value> = alerts.iter().map(alert_json).collect();
            if json {
                print_json(&json!({ "items": items }))
            } else {
                print_alerts(&items)
            }
        }
        MonitorCommand::Incidents(IncidentsCommand::List {
            status,
            severity,
            limit,
            json,
            ..
        }) => {
            let filter = IncidentFilter {
                status: status.map(incident_status),
                severity: severity.map(self::severity),
                limit,
            };
            let incidents = monitor
                .incidents(filter)
                .await
                .map_err(failed("incidents"))?;
            let items: Vec<Value> = incidents.iter().map(incident_json).collect();
            if json {
                print_json(&json!({ "items": items }))
            } else {
                print_incidents(&items)
            }
        }
        MonitorCommand::Incidents(IncidentsCommand::Show { id, json, .. }) => {
            let incident = monitor.incident(&id).await.map_err(failed(&id))?;
            let body = incident_json(&incident);
            if json {
                print_json(&body)
            } else {
                print_incident(&body)
            }
        }
        MonitorCommand::Incidents(IncidentsCommand::Ack { id, .. }) => {
            let incident = monitor
                .acknowledge_incident(&id, ACTOR, now)
                .await
                .map_err(failed(&id))?;
            let id = incident.id.to_text();
            // As `POST /v1/incidents/{id}/acknowledge` is audited.
            let written = rampart_app::system_audit::record(
                &audit,
                ACTOR,
                "incident.acknowledge",
                ("incident", &id),
                json!({"escalation_level": incident.escalation_level}),
            )
            .await;
            audited(written, &id, "incident.acknowledge")?;
            println!("acknowledged {id}: its escalation stopped");
            Ok(())
        }
        MonitorCommand::Incidents(IncidentsCommand::Resolve { id, resolution, .. }) => {
            let incident = monitor
                .resolve_incident(&id, &resolution, ACTOR, now)
                .await
                .map_err(failed(&id))?;
            let id = incident.id.to_text();
            // As `POST /v1/incidents/{id}/resolve` is audited.
            let written = rampart_app::system_audit::record(
                &audit,
                ACTOR,
                "incident.resolve",
                ("incident", &id),
                json!({}),
            )
            .await;
            audited(written, &id, "incident.resolve")?;
            println!("resolved {id}");
            Ok(())
        }
    };
    drop(audit);
    store.close().await;
    result
}

fn alert_status(status: StatusArg) -> AlertStatus {
    match status {
        StatusArg::Open => AlertStatus::Open,
        StatusArg::Acknowledged => AlertStatus::Acknowledged,
        StatusArg::Resolved => AlertStatus::Resolved,
    }
}

fn incident_status(status: StatusArg) -> IncidentStatus {
    match status {
        StatusArg::Open => IncidentStatus::Open,
        StatusArg::Acknowledged => IncidentStatus::Acknowledged,
        StatusArg::Resolved => IncidentStatus::Resolved,
    }
}

fn severity(severity: SeverityArg) -> Severity {
    match severity {
        SeverityArg::Low => Severity::Low,
        SeverityArg::Medium => Severity::Medium,
        SeverityArg::High => Severity::High,
        SeverityArg::Critical => Severity::Critical,
    }
}

/// One line naming what failed: `no such incident: INC-…`, `INC-…: the incident is not open`.
fn failed(what: &str) -> impl FnOnce(MonitorError) -> anyhow::Error + '_ {
    move |error| match error {
        MonitorError::NotFound(kind) => anyhow::anyhow!("no such {kind}: {what}"),
        MonitorError::Invalid(invalid) => anyhow::anyhow!("{what}: {invalid}"),
        MonitorError::Conflict(message) => anyhow::anyhow!("{what}: {message}"),
        other => anyhow::Error::new(other).context(what.to_owned()),
    }
}

/// Whether the change's audit entry was written (`system_audit::record` logs why not).
fn audited(written: bool, id: &str, action: &str) -> anyhow::Result<()> {
    if written {
        Ok(())
    } else {
        anyhow::bail!(
            "{id}: the change is made but its audit entry ({action}) could not be written"
        )
    }
}

fn print_json(body: &Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{body}")?;
    out.flush().context("cannot write to standard output")
}

/// `2026-12-05T03:13:21.123Z` as `2026-12-05 03:13:21`; `-` when absent.
fn when(value: &Value) -> String {
    match value.as_str() {
        Some(text) if !text.is_empty() => text.get(..19).unwrap_or(text).replace('T', " "),
        _ => "-".to_owned(),
    }
}

fn field(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

/// Rows under a header, each column as wide as its widest cell (the last one unpadded).
fn table(header: &[&str], rows: &[Vec<String>]) -> anyhow::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = std::io::stdout().lock();
    let line = |cells: Vec<String>| -> String {
        let last = cells.len().saturating_sub(1);
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if i == last {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  "));
            }
        }
        text.trim_end().to_owned()
    };
    writeln!(
        out,
        "{}",
        line(header.iter().map(|h| (*h).to_owned()).collect())
    )?;
    for row in rows {
        writeln!(out, "{}", line(row.clone()))?;
    }
    out.flush().context("cannot write to standard output")
}

/// A group as `actor.id=lena`.
fn group(value: &Value) -> String {
    match value.as_object() {
        Some(map) if !map.is_empty() => map
            .iter()
            .map(|(k, v)| format!("{k}={}", field(v)))
            .collect::<Vec<_>>()
            .join(","),
        _ => "-".to_owned(),
    }
}

/// Alerts (the API's JSON items) as a table.
pub(crate) fn print_alerts(items: &[Value]) -> anyhow::Result<()> {
    if items.is_empty() {
        println!("no alerts");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|a| {
            vec![
                field(&a["id"]),
                field(&a["rule"]),
                field(&a["severity"]),
                field(&a["status"]),
                field(&a["count"]),
                when(&a["first_seen_at"]),
                when(&a["last_seen_at"]),
                field(&a["incident_id"]),
                group(&a["group"]),
            ]
        })
        .collect();
    table(
        &[
            "ID",
            "RULE",
            "SEVERITY",
            "STATUS",
            "COUNT",
            "FIRST SEEN",
            "LAST SEEN",
            "INCIDENT",
            "GROUP",
        ],
        &rows,
    )
}

/// Incidents (the API's JSON items) as a table.
pub(crate) fn print_incidents(items: &[Value]) -> anyhow::Result<()> {
    if items.is_empty() {
        println!("no incidents");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|i| {
            let timeline = i["timeline"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            vec![
                field(&i["id"]),
                field(&i["severity"]),
                field(&i["status"]),
                i["alert_ids"].as_array().map_or(0, Vec::len).to_string(),
                field(&i["escalation_level"]),
                when(&i["created_at"]),
                timeline
                    .last()
                    .map_or_else(|| when(&i["created_at"]), |t| when(&t["at"])),
                field(&i["title"]),
            ]
        })
        .collect();
    table(
        &[
            "ID",
            "SEVERITY",
            "STATUS",
            "ALERTS",
            "ESCALATIONS",
            "OPENED",
            "LAST CHANGE",
            "TITLE",
        ],
        &rows,
    )
}

/// One incident (the API's JSON) with its timeline.
pub(crate) fn print_incident(incident: &Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let list = |value: &Value| match value.as_array() {
        Some(items) if !items.is_empty() => items.iter().map(field).collect::<Vec<_>>().join(", "),
        _ => "-".to_owned(),
    };
    writeln!(
        out,
        "{}  {}",
        field(&incident["id"]),
        field(&incident["title"])
    )?;
    let lines = [
        ("severity", field(&incident["severity"])),
        ("status", field(&incident["status"])),
        ("created", when(&incident["created_at"])),
        ("acknowledged", when(&incident["acknowledged_at"])),
        ("resolved", when(&incident["resolved_at"])),
        ("escalation level", field(&incident["escalation_level"])),
        ("next escalation", when(&incident["next_escalation_at"])),
        (
            "personal data breach",
            field(&incident["personal_data_breach"]),
        ),
        (
            "notify authority by",
            when(&incident["notification_deadline_at"]),
        ),
        ("alerts", list(&incident["alert_ids"])),
        ("audit entries", list(&incident["entry_seqs"])),
    ];
    for (name, value) in lines {
        writeln!(out, "  {name:<21} {value}")?;
    }
    if let Some(text) = incident["description"].as_str().filter(|t| !t.is_empty()) {
        writeln!(out, "  {:<21} {text}", "description")?;
    }
    writeln!(out, "timeline:")?;
    drop(out);
    let rows: Vec<Vec<String>> = incident["timeline"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .map(|t| {
            vec![
                format!("  {}", when(&t["at"])),
                field(&t["kind"]),
                field(&t["actor"]),
                field(&t["text"]),
            ]
        })
        .collect();
    table(&["  AT", "KIND", "BY", "TEXT"], &rows)
}
