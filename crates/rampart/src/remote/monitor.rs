//! `rampart alerts list` and `rampart incidents list|show|ack|resolve` against the server (the
//! same commands act on a store with --data-dir or --database-url: see `monitoring`).

use clap::ValueEnum;
use reqwest::Method;
use serde_json::{Value, json};

use super::Format;
use super::client::Client;
use super::failure::{Failure, code};
use super::output;
use crate::cli::{AlertsCommand, IncidentsCommand};
use crate::monitoring::{print_alerts, print_incident, print_incidents};

fn printed(result: anyhow::Result<()>) -> Result<(), Failure> {
    result.map_err(|e| Failure::new(code::OTHER, format!("{e:#}")))
}

fn name_of(value: &impl ValueEnum) -> Option<String> {
    value.to_possible_value().map(|v| v.get_name().to_owned())
}

fn items(answer: &Value) -> Vec<Value> {
    answer["items"].as_array().cloned().unwrap_or_default()
}

/// `alerts list`.
pub(crate) async fn alerts(
    client: &Client,
    format: Format,
    command: AlertsCommand,
) -> Result<(), Failure> {
    let AlertsCommand::List {
        status,
        severity,
        rule,
        limit,
        json,
        ..
    } = command;
    let mut query = vec![("limit", limit.to_string())];
    query.extend(status.as_ref().and_then(name_of).map(|s| ("status", s)));
    query.extend(severity.as_ref().and_then(name_of).map(|s| ("severity", s)));
    query.extend(rule.map(|r| ("rule", r)));
    let answer = client.get(&["v1", "alerts"], &query).await?;
    let format = if json { Format::Json } else { format };
    output::show(format, &answer, |a| printed(print_alerts(&items(a))))
}

/// `incidents list|show|ack|resolve`.
pub(crate) async fn incidents(
    client: &Client,
    format: Format,
    command: IncidentsCommand,
) -> Result<(), Failure> {
    match command {
        IncidentsCommand::List {
            status,
            severity,
            limit,
            json,
            ..
        } => {
            let mut query = vec![("limit", limit.to_string())];
            query.extend(status.as_ref().and_then(name_of).map(|s| ("status", s)));
            query.extend(severity.as_ref().and_then(name_of).map(|s| ("severity", s)));
            let answer = client.get(&["v1", "incidents"], &query).await?;
            let format = if json { Format::Json } else { format };
            output::show(format, &answer, |a| printed(print_incidents(&items(a))))
        }
        IncidentsCommand::Show { id, json, .. } => {
            let answer = client.get(&["v1", "incidents", &id], &[]).await?;
            let format = if json { Format::Json } else { format };
            output::show(format, &answer, |a| printed(print_incident(a)))
        }
        IncidentsCommand::Ack { id, .. } => {
            let answer = client
                .call(
                    Method::POST,
                    &["v1", "incidents", &id, "acknowledge"],
                    &[],
                    None,
                )
                .await?;
            output::show(format, &answer, |a| {
                output::line(&format!(
                    "acknowledged {}: its escalation stopped",
                    output::cell(&a["id"])
                ))
            })
        }
        IncidentsCommand::Resolve { id, resolution, .. } => {
            let answer = client
                .call(
                    Method::POST,
                    &["v1", "incidents", &id, "resolve"],
                    &[],
                    Some(&json!({ "resolution": resolution })),
                )
                .await?;
            output::show(format, &answer, |a| {
                output::line(&format!("resolved {}", output::cell(&a["id"])))
            })
        }
    }
}
