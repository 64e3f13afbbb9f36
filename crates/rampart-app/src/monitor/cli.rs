//! Monitoring for an operator at a terminal (`rampart alerts list`, `rampart incidents
//! list|show|ack|resolve`): the same service the API uses, over the deployment opened by the
//! CLI; changes are audited as Rampart's own entries (actor `cli`).

use std::sync::Arc;

use rampart_monitor::{AlertFilter, AlertStatus, IncidentFilter, IncidentStatus};
use rampart_store::Store;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{MonitorError, MonitorService, alert_json, incident_json};
use crate::config::LoadedSettings;
use crate::deployment::{self, StartupError};

/// Who the CLI acts as in timelines and audit entries.
const CLI_ACTOR: &str = "cli";

/// Why a monitoring command failed.
#[derive(Debug, thiserror::Error)]
pub enum MonitorCliError {
    /// The deployment could not be opened.
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// Monitoring refused or failed.
    #[error(transparent)]
    Monitor(#[from] MonitorError),
    /// `--status` is not a status.
    #[error("--status: expected open, acknowledged or resolved")]
    BadStatus,
    /// The change was made but its audit entry could not be written.
    #[error("the change was made, but its audit entry could not be written (see the log)")]
    NotAudited,
}

/// A status as the API spells it.
fn status<T: serde::de::DeserializeOwned>(
    text: Option<&str>,
) -> Result<Option<T>, MonitorCliError> {
    text.map(|s| {
        serde_json::from_value(Value::String(s.to_owned())).map_err(|_| MonitorCliError::BadStatus)
    })
    .transpose()
}

async fn open(
    loaded: &LoadedSettings,
) -> Result<(MonitorService<Store>, rampart_audit::AuditLog<Store>, Store), MonitorCliError> {
    let opened = deployment::open(loaded).await?;
    let monitor = MonitorService::new(
        opened.store.clone(),
        opened.audit.clone(),
        Arc::new(opened.kek),
        &loaded.settings,
    )
    .map_err(StartupError::DetectionRules)?;
    Ok((monitor, opened.audit, opened.store))
}

/// `rampart alerts list`: alerts as API.md shows them, newest first.
pub async fn list_alerts(
    loaded: &LoadedSettings,
    status_text: Option<&str>,
    limit: u32,
) -> Result<Vec<Value>, MonitorCliError> {
    let status: Option<AlertStatus> = status(status_text)?;
    let (monitor, _, store) = open(loaded).await?;
    let alerts = monitor
        .alerts(AlertFilter {
            status,
            limit,
            ..AlertFilter::default()
        })
        .await;
    store.close().await;
    Ok(alerts?.iter().map(alert_json).collect())
}

/// `rampart incidents list`.
pub async fn list_incidents(
    loaded: &LoadedSettings,
    status_text: Option<&str>,
    limit: u32,
) -> Result<Vec<Value>, MonitorCliError> {
    let status: Option<IncidentStatus> = status(status_text)?;
    let (monitor, _, store) = open(loaded).await?;
    let incidents = monitor
        .incidents(IncidentFilter {
            status,
            limit,
            ..IncidentFilter::default()
        })
        .await;
    store.close().await;
    Ok(incidents?.iter().map(incident_json).collect())
}

/// `rampart incidents show ID`.
pub async fn show_incident(loaded: &LoadedSettings, id: &str) -> Result<Value, MonitorCliError> {
    let (monitor, _, store) = open(loaded).await?;
    let incident = monitor.incident(id).await;
    store.close().await;
    Ok(incident_json(&incident?))
}

/// `rampart incidents ack ID` (audited).
pub async fn acknowledge_incident(
    loaded: &LoadedSettings,
    id: &str,
) -> Result<Value, MonitorCliError> {
    let (monitor, audit, store) = open(loaded).await?;
    let result = monitor
        .acknowledge_incident(id, CLI_ACTOR, OffsetDateTime::now_utc())
        .await;
    let recorded = match &result {
        Ok(_) => {
            crate::system_audit::record(
                &audit,
                CLI_ACTOR,
                "incident.acknowledge",
                ("incident", id),
                json!({}),
            )
            .await
        }
        Err(_) => true,
    };
    store.close().await;
    let incident = result?;
    if !recorded {
        return Err(MonitorCliError::NotAudited);
    }
    Ok(incident_json(&incident))
}

/// `rampart incidents resolve ID --resolution TEXT` (audited).
pub async fn resolve_incident(
    loaded: &LoadedSettings,
    id: &str,
    resolution: &str,
) -> Result<Value, MonitorCliError> {
    let (monitor, audit, store) = open(loaded).await?;
    let result = monitor
        .resolve_incident(id, resolution, CLI_ACTOR, OffsetDateTime::now_utc())
        .await;
    let recorded = match &result {
        Ok(_) => {
            crate::system_audit::record(
                &audit,
                CLI_ACTOR,
                "incident.resolve",
                ("incident", id),
                json!({}),
            )
            .await
        }
        Err(_) => true,
    };
    store.close().await;
    let incident = result?;
    if !recorded {
        return Err(MonitorCliError::NotAudited);
    }
    Ok(incident_json(&incident))
}
