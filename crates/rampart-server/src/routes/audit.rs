//! The audit log's routes. Each handler: authorize, parse, one call to the log, map.

use axum::Json;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use rampart_access::perm;
use rampart_audit::entry::parse_timestamp;
use rampart_audit::export::checkpoint_json;
use rampart_audit::tree::to_hex;
use rampart_audit::{ActionFilter, AuditStore, EntryFilter, NewEntry, StoredEntry, SubmittedBy};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::audit_export::{ExportError, export};
use crate::http::auth::Caller;
use crate::http::json::ApiJson;
use crate::http::query::ApiQuery;
use crate::problem::{ApiError, FieldError, MAX_FIELD_ERRORS};
use crate::state::AppState;

/// Most events in one `POST /v1/audit/entries`.
pub const MAX_EVENTS: usize = 10_000;

fn field(field: &str, message: impl Into<String>) -> FieldError {
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
    request_body(content = Object, description = "An audit event, or {\"events\": [event, ...]}"),
    responses(
        (status = 201, description = "Durably appended", body = AppendResponse),
        (status = 400, description = "Not JSON", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over the audit batch limit", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid events, each field named", body = crate::problem::Problem, content_type = "application/problem+json"),
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
    let submitted_by = SubmittedBy {
        principal_id: caller.principal().id.to_string(),
        credential_id: Some(caller.credential_id().to_string()),
    };
    let receipt = state
        .audit()
        .append(entries, submitted_by)
        .await
        .map_err(|e| ApiError::internal(&e))?;
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

/// Query parameters of `GET /v1/audit/entries`.
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
    pub status: Option<String>,
    /// One of `compliance_tags`.
    pub tag: Option<String>,
    /// `subject_id`.
    pub subject_id: Option<String>,
    /// Earliest timestamp, RFC 3339, inclusive.
    pub since: Option<String>,
    /// Latest timestamp, RFC 3339, inclusive.
    pub until: Option<String>,
    /// Lowest seq, inclusive.
    pub from_seq: Option<String>,
    /// Highest seq, inclusive.
    pub to_seq: Option<String>,
    /// `asc` (default) or `desc`, by seq.
    pub order: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Largest seq or tree size the log can hold: the database stores them as BIGINT.
const MAX_SEQ: u64 = i64::MAX.unsigned_abs();

/// A seq, size or count from the query string: digits only, at most [`MAX_SEQ`]. A value out of
/// range is a 422 naming the parameter, never a 500 further down.
fn number(errors: &mut Vec<FieldError>, name: &str, value: Option<&String>) -> Option<u64> {
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
fn entry_json(row: &StoredEntry) -> Result<Value, ApiError> {
    let mut value: Value = serde_json::from_str(&row.body).map_err(|e| ApiError::internal(&e))?;
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "leaf_hash".to_owned(),
            Value::String(to_hex(&row.leaf_hash)),
        );
    }
    Ok(value)
}

/// A page of entries.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntriesPage {
    /// The entries, each with `leaf_hash`.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<Value>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Lists entries by any combination of filters, cursor-paginated, stable under appends.
#[utoipa::path(get, path = "/v1/audit/entries", tag = "audit", security(("bearer" = [])), params(EntriesQuery),
    responses(
        (status = 200, description = "A page of entries", body = EntriesPage),
        (status = 422, description = "Invalid filter", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<EntriesQuery>,
) -> Result<Json<EntriesPage>, ApiError> {
    caller.require::<perm::AuditRead>(&state.policy())?;
    let mut filter = query.filter()?;
    filter.visible_teams = visible_teams(&state, &caller);
    if let (Some(teams), Some(team)) = (&filter.visible_teams, &filter.team_id)
        && !teams.contains(team)
    {
        return Err(ApiError::forbidden(&format!(
            "audit:read for team '{team}' (team isolation: the caller is not a member)"
        )));
    }
    let rows = state
        .store()
        .query(&filter)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let next_cursor = (rows.len() == filter.limit as usize)
        .then(|| rows.last().map(|r| r.seq.to_string()))
        .flatten();
    let items = rows.iter().map(entry_json).collect::<Result<Vec<_>, _>>()?;
    Ok(Json(EntriesPage { items, next_cursor }))
}

/// One entry, with its `leaf_hash`.
#[utoipa::path(get, path = "/v1/audit/entries/{seq}", tag = "audit", security(("bearer" = [])),
    params(("seq" = u64, Path, description = "Leaf index")),
    responses((status = 200, description = "The entry", body = Object), (status = 404, description = "No such entry", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn get_entry(
    State(state): State<AppState>,
    caller: Caller,
    Path(seq): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require::<perm::AuditRead>(&state.policy())?;
    if seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::validation(vec![field(
            "seq",
            "must be a non-negative integer",
        )]));
    }
    // A well-formed seq the log can never reach (it fills at MAX_SEQ entries) is simply absent.
    let Some((seq, end)) = seq
        .parse::<u64>()
        .ok()
        .and_then(|seq| Some((seq, seq.checked_add(1).filter(|end| *end <= MAX_SEQ)?)))
    else {
        return Err(ApiError::not_found("no audit entry with that seq"));
    };
    let rows = state
        .store()
        .entries(seq..end)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    // Another team's entry is answered as if it did not exist.
    let row = rows
        .first()
        .filter(|row| {
            crate::audit_export::may_see(
                visible_teams(&state, &caller).as_deref(),
                row.team_id.as_deref(),
            )
        })
        .ok_or_else(|| ApiError::not_found(format!("no audit entry {seq}")))?;
    Ok(Json(entry_json(row)?))
}

/// A signed tree head.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointBody {
    /// The log's origin.
    pub origin: String,
    /// Tree size.
    pub tree_size: u64,
    /// Root hash, hex.
    pub root_hash: String,
    /// When it was signed.
    pub timestamp: String,
    /// The 4-byte C2SP key id, hex.
    pub key_id: String,
    /// Ed25519 signature of the note body, base64.
    pub signature_b64: String,
    /// The C2SP signed note.
    pub note: String,
}

/// The latest signed checkpoint.
#[utoipa::path(get, path = "/v1/audit/checkpoint", tag = "audit", security(("bearer" = [])),
    responses((status = 200, description = "The latest checkpoint", body = CheckpointBody)))]
pub async fn checkpoint(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<CheckpointBody>, ApiError> {
    caller.require::<perm::AuditRead>(&state.policy())?;
    let log = state.audit();
    let signed = log
        .latest_checkpoint()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let c = checkpoint_json(log.origin(), &signed, log.verifier());
    Ok(Json(CheckpointBody {
        origin: c.origin,
        tree_size: c.tree_size,
        root_hash: c.root_hash,
        timestamp: c.timestamp,
        key_id: c.key_id,
        signature_b64: c.signature_b64,
        note: c.note,
    }))
}

/// The log's public key.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKeyBody {
    /// The 4-byte C2SP key id, hex.
    pub key_id: String,
    /// Always `ed25519`.
    pub algorithm: &'static str,
    /// The raw 32-byte public key, base64.
    pub public_key_b64: String,
    /// The log's origin.
    pub origin: String,
    /// The C2SP note verifier key string.
    pub verifier_key: String,
}

/// The public key that verifies checkpoints; no authentication.
#[utoipa::path(get, path = "/v1/audit/public-key", tag = "audit",
    responses((status = 200, description = "The log's public key", body = PublicKeyBody)))]
pub async fn public_key(State(state): State<AppState>) -> Json<PublicKeyBody> {
    use base64::Engine as _;
    let log = state.audit();
    let key = log.verifier();
    Json(PublicKeyBody {
        key_id: key.key_id().iter().map(|b| format!("{b:02x}")).collect(),
        algorithm: "ed25519",
        public_key_b64: base64::engine::general_purpose::STANDARD.encode(key.public_key),
        origin: log.origin().to_owned(),
        verifier_key: key.verifier_key(),
    })
}

/// Query of the inclusion proof.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// The leaf.
    pub seq: String,
    /// The tree size (default: the current size).
    pub tree_size: Option<String>,
}

/// An RFC 9162 inclusion proof.
#[derive(Debug, Serialize, ToSchema)]
pub struct InclusionProofBody {
    /// The leaf.
    pub seq: u64,
    /// The tree size.
    pub tree_size: u64,
    /// The leaf hash, hex.
    pub leaf_hash: String,
    /// The audit path, hex, leaf to root.
    pub hashes: Vec<String>,
}

async fn current_size(state: &AppState) -> Result<u64, ApiError> {
    Ok(state
        .audit()
        .head()
        .await
        .map_err(|e| ApiError::internal(&e))?
        .size)
}

/// The inclusion proof of an entry in a tree size (RFC 9162 §2.1.3).
#[utoipa::path(get, path = "/v1/audit/proofs/inclusion", tag = "audit", security(("bearer" = [])), params(InclusionQuery),
    responses((status = 200, description = "The proof", body = InclusionProofBody), (status = 422, description = "Not in that tree", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn inclusion(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<InclusionQuery>,
) -> Result<Json<InclusionProofBody>, ApiError> {
    caller.require::<perm::AuditRead>(&state.policy())?;
    let mut errors = Vec::new();
    let seq = number(&mut errors, "seq", Some(&query.seq));
    let size = number(&mut errors, "tree_size", query.tree_size.as_ref());
    let (Some(seq), true) = (seq, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let current = current_size(&state).await?;
    let tree_size = size.unwrap_or(current);
    if tree_size > current {
        return Err(ApiError::validation(vec![field(
            "tree_size",
            format!("the log has {current} entries"),
        )]));
    }
    match state
        .audit()
        .inclusion_proof(seq, tree_size)
        .await
        .map_err(|e| ApiError::internal(&e))?
    {
        Ok((leaf, hashes)) => Ok(Json(InclusionProofBody {
            seq,
            tree_size,
            leaf_hash: to_hex(&leaf),
            hashes: hashes.iter().map(to_hex).collect(),
        })),
        Err(e) => Err(ApiError::validation(vec![field("seq", e.to_string())])),
    }
}

/// Query of the consistency proof.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The older size.
    pub from: String,
    /// The newer size (default: the current size).
    pub to: Option<String>,
}

/// An RFC 9162 consistency proof.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsistencyProofBody {
    /// The older size.
    pub from: u64,
    /// The newer size.
    pub to: u64,
    /// The proof, hex.
    pub hashes: Vec<String>,
}

/// The consistency proof between two tree sizes (RFC 9162 §2.1.4).
#[utoipa::path(get, path = "/v1/audit/proofs/consistency", tag = "audit", security(("bearer" = [])), params(ConsistencyQuery),
    responses((status = 200, description = "The proof", body = ConsistencyProofBody), (status = 422, description = "Invalid sizes", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn consistency(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ConsistencyQuery>,
) -> Result<Json<ConsistencyProofBody>, ApiError> {
    caller.require::<perm::AuditRead>(&state.policy())?;
    let mut errors = Vec::new();
    let from = number(&mut errors, "from", Some(&query.from));
    let to = number(&mut errors, "to", query.to.as_ref());
    let (Some(from), true) = (from, errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let current = current_size(&state).await?;
    let to = to.unwrap_or(current);
    if to > current {
        return Err(ApiError::validation(vec![field(
            "to",
            format!("the log has {current} entries"),
        )]));
    }
    match state
        .audit()
        .consistency_proof(from, to)
        .await
        .map_err(|e| ApiError::internal(&e))?
    {
        Ok(hashes) => Ok(Json(ConsistencyProofBody {
            from,
            to,
            hashes: hashes.iter().map(to_hex).collect(),
        })),
        Err(e) => Err(ApiError::validation(vec![field("from", e.to_string())])),
    }
}

/// One problem found by verification.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyProblemBody {
    /// The entry concerned, if one is.
    pub seq: Option<u64>,
    /// What is wrong.
    pub problem: String,
}

/// The verdict of `POST /v1/audit/verify`.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyBody {
    /// Everything checked out.
    pub ok: bool,
    /// Entries stored.
    pub tree_size: u64,
    /// Root recomputed from the entries, hex.
    pub root_hash: String,
    /// Entries re-hashed.
    pub checked_entries: u64,
    /// What is wrong, first problem first.
    pub problems: Vec<VerifyProblemBody>,
}

/// Recomputes every leaf from the stored entries, the tree from the leaves, and checks the
/// stored tiles, head and latest checkpoint signature.
#[utoipa::path(post, path = "/v1/audit/verify", operation_id = "verify_audit_log", tag = "audit", security(("bearer" = [])),
    responses((status = 200, description = "The verdict (ok may be false)", body = VerifyBody)))]
pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<VerifyBody>, ApiError> {
    caller.require::<perm::AuditRead>(&state.policy())?;
    let report = state
        .audit()
        .verify()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(VerifyBody {
        ok: report.ok,
        tree_size: report.tree_size,
        root_hash: report.root_hash,
        checked_entries: report.checked_entries,
        problems: report
            .problems
            .into_iter()
            .map(|p| VerifyProblemBody {
                seq: p.seq,
                problem: p.problem,
            })
            .collect(),
    }))
}

/// Query of the export.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// First seq (default 0).
    pub from_seq: Option<String>,
    /// Last seq, inclusive (default: the last entry).
    pub to_seq: Option<String>,
}

/// Streams entries as NDJSON, then a checkpoint line covering exactly the exported range.
#[utoipa::path(get, path = "/v1/audit/export", tag = "audit", security(("bearer" = [])), params(ExportQuery),
    responses((status = 200, description = "One entry per line, then {\"checkpoint\": ...}", content_type = "application/x-ndjson")))]
pub async fn export_entries(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    caller.require::<perm::AuditExport>(&state.policy())?;
    let mut errors = Vec::new();
    let from = number(&mut errors, "from_seq", query.from_seq.as_ref());
    let to = number(&mut errors, "to_seq", query.to_seq.as_ref());
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let (_, stream) = export(
        state.audit(),
        state.store(),
        from,
        to,
        visible_teams(&state, &caller),
    )
    .await
    .map_err(|e| match e {
        ExportError::Range {
            field: name,
            message,
        } => ApiError::validation(vec![field(name, message)]),
        other => ApiError::internal(&other),
    })?;
    let mut response = Body::from_stream(stream).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    Ok(response)
}

/// This module's routes, their OpenAPI paths and their audit behaviour. Appends take the audit
/// body limit (`audit_body_limit_bytes`), larger than the others'.
pub(crate) fn routes(audit_body_limit: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(append, list).layer(DefaultBodyLimit::max(audit_body_limit)))
        .routes(routes!(get_entry))
        .routes(routes!(checkpoint))
        .routes(routes!(public_key))
        .routes(routes!(inclusion))
        .routes(routes!(consistency))
        .routes(routes!(verify))
        .routes(routes!(export_entries))
}
