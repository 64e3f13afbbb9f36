//! The audit log's routes. Each handler: authorize (the permission proof stays here, at the
//! edge: `rampart-audit` does not depend on `rampart-access`), parse, one call to the log, map.
//! Team isolation is applied by the log where it loads entries, from the reader's
//! [`visible_teams`]. `entries` here (append, list, read one); the tree (checkpoint, public
//! key, proofs, verification, export) in [`tree`]; the wire shapes of events and entries in
//! [`schema`].

pub(crate) mod schema;
mod tree;

use axum::Json;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use rampart_access::perm;
use rampart_audit::entry::{format_timestamp, parse_timestamp};
use rampart_audit::tree::to_hex;
use rampart_audit::{
    ActionFilter, EntryFilter, MAX_SEQ, NewEntry, ReadError, StoredEntry, SubmittedBy,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::http::auth::Caller;
use crate::http::json::ApiJson;
use crate::http::query::ApiQuery;
use crate::http::request::Page;
use crate::problem::{ApiError, FieldError, MAX_FIELD_ERRORS};
use crate::state::AppState;
use schema::{AppendRequest, EntryJson};

/// Most events in one `POST /v1/audit/entries`.
pub const MAX_EVENTS: usize = 10_000;

pub(super) fn field(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// Where one appended entry landed.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppendedEntry {
    /// Leaf index.
    pub seq: u64,
    /// UUIDv7 of the entry.
    pub id: String,
    /// Leaf hash, hex.
    pub leaf_hash: String,
}

/// `201` of `POST /v1/audit/entries`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppendResponse {
    /// One per submitted event, in order.
    pub entries: Vec<AppendedEntry>,
    /// Tree size after the batch that committed them.
    pub tree_size: u64,
}

/// Appends one event, or `{"events": [...]}` (up to 10,000) as one all-or-nothing batch. Answers
/// only once the entries are durable.
#[utoipa::path(post, path = "/v1/audit/entries", tag = "audit", security(("bearer" = [])),
    request_body(content = AppendRequest, description = "An audit event, or {\"events\": [event, ...]}"),
    responses(
        (status = 201, description = "Durably appended", body = AppendResponse),
    ))]
pub async fn append(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    caller.require::<perm::AuditWrite>(&state.policy())?;
    let events: Vec<(&Value, String)> = match body.get("events") {
        Some(Value::Array(events)) if body.as_object().is_some_and(|o| o.len() == 1) => {
            if events.is_empty() || events.len() > MAX_EVENTS {
                return Err(ApiError::validation(vec![field(
                    "events",
                    format!("holds 1 to {MAX_EVENTS} events"),
                )]));
            }
            events
                .iter()
                .enumerate()
                .map(|(i, e)| (e, format!("events[{i}].")))
                .collect()
        }
        Some(_) => {
            return Err(ApiError::validation(vec![field(
                "events",
                "must be the only field, an array of events",
            )]));
        }
        None => vec![(&body, String::new())],
    };
    let mut entries = Vec::with_capacity(events.len());
    let mut errors = Vec::new();
    let teams = visible_teams(&state, &caller);
    for (event, prefix) in events {
        match NewEntry::from_json(event, &prefix) {
            Ok(entry) => {
                // A writer records only for its own teams: otherwise it could plant entries
                // in another team's trail.
                if let (Some(teams), Some(team)) = (
                    &teams,
                    entry.context.as_ref().and_then(|c| c.team_id.as_deref()),
                ) && !teams.iter().any(|t| t == team)
                {
                    errors.push(field(
                        &format!("{prefix}context.team_id"),
                        "is not a team of the writer (only roles that bypass team isolation write for other teams)",
                    ));
                }
                entries.push(entry);
            }
            Err(found) => errors.extend(found.into_iter().map(|e| field(&e.field, e.message))),
        }
        // Validation stops once the answer is full (one more error says it was cut).
        if errors.len() > MAX_FIELD_ERRORS {
            break;
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    // Personal data is sealed with each subject's key before the leaf is computed.
    state
        .subjects()
        .seal_entries(&mut entries)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let submitted_by = SubmittedBy {
        principal_id: caller.principal().id.to_string(),
        credential_id: Some(caller.credential_id().to_string()),
    };
    let receipt = state
        .audit()
        .append(entries, submitted_by)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    state.monitor().entries_appended();
    let body = AppendResponse {
        entries: receipt
            .entries
            .into_iter()
            .map(|e| AppendedEntry {
                seq: e.seq,
                id: e.id,
                leaf_hash: to_hex(&e.leaf_hash),
            })
            .collect(),
        tree_size: receipt.tree_size,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Team isolation of audit data (seed 003's `TeamIsolation.apply_filter`): `None` when the
/// caller's roles bypass it (every entry), else the caller's teams. Entries without a team
/// (Rampart's own: logins, key and identity administration) carry addresses, user agents and
/// who administers what, so they stay with roles that bypass isolation, like the auditors'.
pub fn visible_teams(state: &AppState, caller: &Caller) -> Option<Vec<String>> {
    if state
        .policy()
        .bypasses_team_isolation(&caller.principal().roles)
    {
        None
    } else {
        Some(caller.principal().teams.clone())
    }
}

/// The order of a list, by seq (a parameter's schema; the query parses its text).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(
    dead_code,
    reason = "schema only: the parameter is parsed from its text"
)]
pub enum SortOrder {
    /// Oldest first.
    Asc,
    /// Newest first.
    Desc,
}

/// Query parameters of `GET /v1/audit/entries`. Numbers and choices are taken as text and
/// parsed here, so a bad value is a 422 naming its parameter; their schemas say what is valid.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    /// `actor.id`.
    pub actor_id: Option<String>,
    /// `actor.type`.
    pub actor_type: Option<String>,
    /// Exact action, or a prefix ending in `*`.
    pub action: Option<String>,
    /// `resource.type`.
    pub resource_type: Option<String>,
    /// `resource.id`.
    pub resource_id: Option<String>,
    /// `context.team_id`.
    pub team_id: Option<String>,
    /// `success`, `failure` or `denied`.
    #[param(value_type = Option<schema::AuditStatus>, inline)]
    pub status: Option<String>,
    /// One of `compliance_tags`.
    pub tag: Option<String>,
    /// `subject_id`.
    pub subject_id: Option<String>,
    /// Earliest timestamp, RFC 3339, inclusive.
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<String>,
    /// Latest timestamp, RFC 3339, inclusive.
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<String>,
    /// Lowest seq, inclusive.
    #[param(value_type = Option<u64>)]
    pub from_seq: Option<String>,
    /// Highest seq, inclusive.
    #[param(value_type = Option<u64>)]
    pub to_seq: Option<String>,
    /// `asc` (default) or `desc`, by seq.
    #[param(value_type = Option<SortOrder>, inline)]
    pub order: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A seq, size or count from the query string: digits only, at most [`MAX_SEQ`]. A value out of
/// range is a 422 naming the parameter, never a 500 further down.
pub(super) fn number(
    errors: &mut Vec<FieldError>,
    name: &str,
    value: Option<&String>,
) -> Option<u64> {
    let value = value?;
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        errors.push(field(name, "must be a non-negative integer"));
        return None;
    }
    match value.parse::<u64>() {
        Ok(n) if n <= MAX_SEQ => Some(n),
        _ => {
            errors.push(field(name, format!("must be at most {MAX_SEQ}")));
            None
        }
    }
}

fn time(errors: &mut Vec<FieldError>, name: &str, value: Option<&String>) -> Option<i64> {
    let value = value?;
    match parse_timestamp(value).and_then(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000).ok())
    {
        Some(micros) => Some(micros),
        None => {
            errors.push(field(
                name,
                "must be an RFC 3339 time such as 2026-11-22T14:03:07Z",
            ));
            None
        }
    }
}

impl EntriesQuery {
    fn filter(&self) -> Result<EntryFilter, ApiError> {
        let mut errors = Vec::new();
        let limit = match number(&mut errors, "limit", self.limit.as_ref()) {
            None => 100,
            Some(n @ 1..=1000) => u32::try_from(n).unwrap_or(100),
            Some(_) => {
                errors.push(field("limit", "must be between 1 and 1000"));
                100
            }
        };
        let descending = match self.order.as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(_) => {
                errors.push(field("order", "must be asc or desc"));
                false
            }
        };
        if let Some(status) = &self.status
            && !["success", "failure", "denied"].contains(&status.as_str())
        {
            errors.push(field("status", "must be success, failure or denied"));
        }
        let action = self.action.as_ref().map(|a| match a.strip_suffix('*') {
            Some(prefix) => ActionFilter::Prefix(prefix.to_owned()),
            None => ActionFilter::Exact(a.clone()),
        });
        let after_seq = number(&mut errors, "cursor", self.cursor.as_ref());
        let filter = EntryFilter {
            actor_id: self.actor_id.clone(),
            actor_type: self.actor_type.clone(),
            action,
            resource_type: self.resource_type.clone(),
            resource_id: self.resource_id.clone(),
            team_id: self.team_id.clone(),
            visible_teams: None,
            status: self.status.clone(),
            tag: self.tag.clone(),
            subject_id: self.subject_id.clone(),
            since_micros: time(&mut errors, "since", self.since.as_ref()),
            until_micros: time(&mut errors, "until", self.until.as_ref()),
            from_seq: number(&mut errors, "from_seq", self.from_seq.as_ref()),
            to_seq: number(&mut errors, "to_seq", self.to_seq.as_ref()),
            descending,
            after_seq,
            limit,
        };
        if errors.is_empty() {
            Ok(filter)
        } else {
            Err(ApiError::validation(errors))
        }
    }
}

/// An entry as the API returns it: the stored canonical entry plus `leaf_hash`.
fn entry_json(row: &StoredEntry) -> Result<EntryJson, ApiError> {
    let mut value: Value = serde_json::from_str(&row.body).map_err(|e| ApiError::internal(&e))?;
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "leaf_hash".to_owned(),
            Value::String(to_hex(&row.leaf_hash)),
        );
    }
    Ok(EntryJson(value))
}

/// Adds `personal_plain` (outside the leaf) to entries with sealed personal data, for callers
/// holding `gdpr:read`: the opened object, or `"[ERASED]"` once the subject was erased.
async fn reveal_personal(
    state: &AppState,
    caller: &Caller,
    items: &mut [EntryJson],
) -> Result<(), ApiError> {
    if !items.iter().any(|i| i.0.get("personal").is_some())
        || !caller.holds(&state.policy(), "gdpr:read")
    {
        return Ok(());
    }
    let values: Vec<&Value> = items.iter().map(|i| &i.0).collect();
    let plains = state
        .subjects()
        .reveal(&values)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    for (item, plain) in items.iter_mut().zip(plains) {
        if let (Some(plain), Some(object)) = (plain, item.0.as_object_mut()) {
            object.insert("personal_plain".to_owned(), plain);
        }
    }
    Ok(())
}

/// What a read of the log answers when it answers no data.
impl<E: std::error::Error + 'static> From<ReadError<E>> for ApiError {
    fn from(e: ReadError<E>) -> Self {
        match e {
            ReadError::OtherTeam(_) => Self::forbidden(&e.to_string()),
            ReadError::Unreachable | ReadError::NoEntry(_) => Self::not_found(e.to_string()),
            ReadError::Pruned {
                seq,
                leaf_hash,
                pruned,
            } => {
                let mut members = serde_json::Map::new();
                members.insert("seq".to_owned(), Value::from(seq));
                members.insert("leaf_hash".to_owned(), Value::from(to_hex(&leaf_hash)));
                members.insert(
                    "pruned_at".to_owned(),
                    Value::from(format_timestamp(pruned.pruned_at)),
                );
                members.insert(
                    "certificate_id".to_owned(),
                    Value::from(pruned.certificate_id),
                );
                Self::gone(
                    format!(
                        "audit entry {seq} was pruned under retention: its content was deleted, its leaf hash kept (its inclusion proof still verifies)"
                    ),
                    members,
                )
            }
            ReadError::OutOfRange { field, message } => {
                Self::validation(vec![self::field(field, message)])
            }
            ReadError::Log(e) => Self::internal(&e),
        }
    }
}

/// Lists entries by any combination of filters, cursor-paginated, stable under appends.
#[utoipa::path(get, path = "/v1/audit/entries", tag = "audit", security(("bearer" = [])), params(EntriesQuery),
    responses(
        (status = 200, description = "A page of entries, each with `leaf_hash`", body = Page<EntryJson>),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<EntriesQuery>,
) -> Result<Json<Page<EntryJson>>, ApiError> {
    caller.require::<perm::AuditRead>(&state.policy())?;
    let filter = query.filter()?;
    let limit = filter.limit as usize;
    let rows = state
        .audit()
        .entries_for(filter, visible_teams(&state, &caller))
        .await?;
    let next_cursor = (rows.len() == limit)
        .then(|| rows.last().map(|r| r.seq.to_string()))
        .flatten();
    // Queries match no pruned entry; should one come back all the same, it has no content to
    // show and is left out rather than failing the page.
    let mut items = rows
        .iter()
        .filter(|row| row.pruned.is_none())
        .map(entry_json)
        .collect::<Result<Vec<_>, _>>()?;
    reveal_personal(&state, &caller, &mut items).await?;
    Ok(Json(Page { items, next_cursor }))
}

/// One entry, with its `leaf_hash`. An entry pruned under retention is `410 Gone`, with what is
/// left of it: `seq`, `leaf_hash`, `pruned_at` and the disposal certificate's id.
#[utoipa::path(get, path = "/v1/audit/entries/{seq}", tag = "audit", security(("bearer" = [])),
    params(("seq" = u64, Path, description = "Leaf index")),
    responses(
        (status = 200, description = "The entry", body = EntryJson),
        (status = 410, description = "The entry was pruned under retention (type `gone`): its content is deleted, its leaf hash kept", body = schema::PrunedEntryProblem, content_type = "application/problem+json"),
    ))]
pub async fn get_entry(
    State(state): State<AppState>,
    caller: Caller,
    Path(seq): Path<String>,
) -> Result<Json<EntryJson>, ApiError> {
    caller.require::<perm::AuditRead>(&state.policy())?;
    if seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::validation(vec![field(
            "seq",
            "must be a non-negative integer",
        )]));
    }
    // Digits beyond u64 name an entry the log can never hold, like any seq past MAX_SEQ.
    let seq = seq
        .parse::<u64>()
        .map_err(|_| ApiError::not_found("no audit entry with that seq"))?;
    let row = state
        .audit()
        .entry_for(seq, visible_teams(&state, &caller).as_deref())
        .await?;
    let mut items = [entry_json(&row)?];
    reveal_personal(&state, &caller, &mut items).await?;
    let [item] = items;
    Ok(Json(item))
}

/// This module's routes, their OpenAPI paths and their audit behaviour. Appends take the audit
/// body limit (`audit_body_limit_bytes`), larger than the others'.
pub(crate) fn routes(audit_body_limit: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(append, list).layer(DefaultBodyLimit::max(audit_body_limit)))
        .routes(routes!(get_entry))
        .merge(tree::routes())
}
