//! `rampart audit query`: entries of the audit log through `GET /v1/audit/entries`, following
//! its cursor.

use clap::Args;
use serde_json::{Value, json};

use super::Format;
use super::client::Client;
use super::failure::Failure;
use super::output::{self, at, cell, when};

/// The filters of `rampart audit query` (the API's query parameters).
#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    /// Only this actor.
    #[arg(long, value_name = "ID")]
    actor_id: Option<String>,
    /// user, service, ai_agent, device or system.
    #[arg(long, value_name = "TYPE")]
    actor_type: Option<String>,
    /// An action, or a prefix ending in `*` (`keys.*`).
    #[arg(long)]
    action: Option<String>,
    /// Only this resource type.
    #[arg(long, value_name = "TYPE")]
    resource_type: Option<String>,
    /// Only this resource id.
    #[arg(long, value_name = "ID")]
    resource_id: Option<String>,
    /// Only this team.
    #[arg(long, value_name = "TEAM")]
    team_id: Option<String>,
    /// success, failure or denied.
    #[arg(long)]
    status: Option<String>,
    /// A compliance tag.
    #[arg(long)]
    tag: Option<String>,
    /// A data subject.
    #[arg(long, value_name = "ID")]
    subject_id: Option<String>,
    /// From this time (RFC 3339), inclusive.
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Up to this time (RFC 3339), inclusive.
    #[arg(long, value_name = "TIME")]
    until: Option<String>,
    /// From this entry, inclusive.
    #[arg(long, value_name = "N")]
    from_seq: Option<u64>,
    /// Up to this entry, inclusive.
    #[arg(long, value_name = "N")]
    to_seq: Option<u64>,
    /// asc (default) or desc, by seq.
    #[arg(long, value_parser = ["asc", "desc"])]
    order: Option<String>,
    /// At most this many entries, fetched page by page.
    #[arg(long, value_name = "N", default_value_t = 100, conflicts_with = "all")]
    limit: usize,
    /// Every matching entry, however many.
    #[arg(long)]
    all: bool,
}

impl QueryArgs {
    fn query(&self) -> Vec<(&'static str, String)> {
        let texts = [
            ("actor_id", &self.actor_id),
            ("actor_type", &self.actor_type),
            ("action", &self.action),
            ("resource_type", &self.resource_type),
            ("resource_id", &self.resource_id),
            ("team_id", &self.team_id),
            ("status", &self.status),
            ("tag", &self.tag),
            ("subject_id", &self.subject_id),
            ("since", &self.since),
            ("until", &self.until),
            ("order", &self.order),
        ];
        let mut query: Vec<(&'static str, String)> = texts
            .into_iter()
            .filter_map(|(name, value)| value.clone().map(|v| (name, v)))
            .collect();
        for (name, value) in [("from_seq", self.from_seq), ("to_seq", self.to_seq)] {
            if let Some(value) = value {
                query.push((name, value.to_string()));
            }
        }
        query
    }
}

/// Runs the query and prints what it found (with the cursor to go on from, when cut short).
pub(crate) async fn query(
    client: &Client,
    format: Format,
    args: &QueryArgs,
) -> Result<(), Failure> {
    let limit = if args.all { None } else { Some(args.limit) };
    let (items, next) = client
        .list(&["v1", "audit", "entries"], &args.query(), limit)
        .await?;
    output::show(
        format,
        &json!({ "items": items, "next_cursor": next }),
        |_| {
            let rows: Vec<Vec<String>> = items.iter().map(row).collect();
            output::table(
                &["SEQ", "TIME", "ACTOR", "ACTION", "RESOURCE", "STATUS"],
                &rows,
            )?;
            if next.is_some() {
                eprintln!("note: more entries match; raise --limit or pass --all");
            }
            Ok(())
        },
    )
}

fn row(entry: &Value) -> Vec<String> {
    let resource = match at(at(entry, "resource"), "id").as_str() {
        Some(id) => format!("{}/{id}", cell(at(at(entry, "resource"), "type"))),
        None => cell(at(at(entry, "resource"), "type")),
    };
    vec![
        cell(&entry["seq"]),
        when(&entry["timestamp"]),
        format!(
            "{}:{}",
            cell(at(at(entry, "actor"), "type")),
            cell(at(at(entry, "actor"), "id"))
        ),
        cell(&entry["action"]),
        resource,
        cell(&entry["status"]),
    ]
}
