//! API-key lifecycle: create (shown once; only the keyed hash is stored), list, revoke, rotate
//! with a grace period. A principal manages its own keys; `api_keys:manage` manages everyone's.
//! A device key rotates itself on each sync (`POST /v1/api-keys/{id}/rotate` with that key).

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use ipnet::IpNet;
use rampart_access::ApiKeyRecord;
use rampart_access::IdentityChange;
use rampart_access::identity;
use rampart_access::perm;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::http::audit_trail::AuditSlot;
use crate::http::auth::Caller;
use crate::http::json::ApiJson;
use crate::http::query::ApiQuery;
use crate::http::request::{Page, invalid, object, page_limit, text, time_text};
use crate::problem::{ApiError, FieldError};
use crate::routes::identity::commit_identity;
use crate::state::AppState;

/// Longest lifetime a key may be given.
const MAX_EXPIRES_IN_DAYS: u64 = 3650;
/// Longest grace period of a rotation (30 days).
const MAX_GRACE_SECONDS: u64 = 30 * 86_400;

/// An API key's metadata: never the key or its hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyBody {
    /// The key's id.
    pub id: String,
    /// The name its owner gave it.
    pub name: String,
    /// The principal it speaks for.
    pub principal_id: String,
    /// Scopes it is limited to; null means all of the principal's permissions.
    pub scopes: Option<Vec<String>>,
    /// Networks it may be used from; null means any.
    pub allowed_ips: Option<Vec<String>>,
    /// Creation time.
    pub created_at: String,
    /// When it stops working, if ever.
    pub expires_at: Option<String>,
    /// Last use (updated every few seconds).
    pub last_used_at: Option<String>,
    /// Uses so far (updated every few seconds).
    pub usage_count: u64,
    /// Whether it was revoked.
    pub revoked: bool,
    /// The key it replaced by rotation.
    pub rotated_from: Option<String>,
}

/// A key just made (created or rotated): its metadata and the key itself, shown this once.
#[derive(Serialize, ToSchema)]
pub struct IssuedApiKey {
    /// The key's metadata.
    #[serde(flatten)]
    pub metadata: ApiKeyBody,
    /// The key (`rk_…`): shown once, only its keyed hash is stored.
    #[schema(format = Password)]
    pub key: String,
    /// After a rotation: when the old key stops working.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_key_expires_at: Option<String>,
}

/// The answer to a revocation.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedApiKey {
    /// The key.
    pub id: String,
    /// Always true: the key no longer works.
    pub revoked: bool,
    /// Whether it was active until now (false: revoked already).
    pub was_active: bool,
}

fn body_of(record: &ApiKeyRecord) -> ApiKeyBody {
    ApiKeyBody {
        id: record.id.to_string(),
        name: record.name.clone(),
        principal_id: record.principal_id.to_string(),
        scopes: record.scopes.clone(),
        allowed_ips: record
            .allowed_ips
            .as_ref()
            .map(|nets| nets.iter().map(ToString::to_string).collect()),
        created_at: time_text(record.created_at),
        expires_at: record.expires_at.map(time_text),
        last_used_at: record.last_used_at.map(time_text),
        usage_count: record.usage_count,
        revoked: record.revoked_at.is_some(),
        rotated_from: record.rotated_from.map(|id| id.to_string()),
    }
}

/// CIDRs (or single addresses) of `allowed_ips`.
fn allowed_ips(object: &Map<String, Value>) -> Result<Option<Vec<IpNet>>, ApiError> {
    match object.get("allowed_ips") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) if !items.is_empty() && items.len() <= 100 => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let text = item.as_str().unwrap_or_default();
                text.parse::<IpNet>()
                    .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| {
                        invalid(
                            &format!("allowed_ips[{i}]"),
                            "is not a CIDR (10.0.0.0/8, 2001:db8::/32) or an IP address",
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|mut nets| {
                let mut seen = std::collections::HashSet::new();
                nets.retain(|net| seen.insert(*net));
                Some(nets)
            }),
        Some(_) => Err(invalid(
            "allowed_ips",
            "must be a list of 1 to 100 CIDRs or addresses",
        )),
    }
}

/// Most scopes one key may carry.
const MAX_SCOPES: usize = 64;

/// `scopes`, required so that no key gets all of its principal's power by omission: a list of 1
/// to [`MAX_SCOPES`] permissions (duplicates removed, first occurrence kept), or `["*"]` alone,
/// stated on purpose, for everything the principal holds (`None`: no narrowing).
fn scopes_of(object: &Map<String, Value>) -> Result<Option<Vec<String>>, ApiError> {
    let items = match object.get("scopes") {
        None | Some(Value::Null) => {
            return Err(invalid(
                "scopes",
                "is required: the permissions this key needs, or [\"*\"] for everything the principal holds",
            ));
        }
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid("scopes", "must be a list of permissions")),
    };
    if items.len() > MAX_SCOPES {
        return Err(invalid(
            "scopes",
            format!("at most {MAX_SCOPES} permissions"),
        ));
    }
    let mut scopes: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let scope = item
            .as_str()
            .ok_or_else(|| invalid("scopes", "must be a list of permissions"))?;
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    if scopes.iter().any(|s| s == "*") {
        if scopes.len() > 1 {
            return Err(invalid(
                "scopes",
                "\"*\" means everything the principal holds and stands alone",
            ));
        }
        return Ok(None);
    }
    Ok(Some(scopes))
}

/// Creates an API key.
#[utoipa::path(post, path = "/v1/api-keys", tag = "identity", security(("bearer" = [])),
    request_body = crate::routes::identity_schema::CreateApiKeyRequest,
    responses((status = 201, description = "The key, shown once, and its metadata", body = IssuedApiKey),
        (status = 409, description = "The principal was disabled meanwhile", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Scope escalation or invalid field", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn create_api_key(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<IssuedApiKey>), ApiError> {
    audit.note("api_keys.create", "api_key", "-");
    let object = object(
        &body,
        &[
            "principal_id",
            "name",
            "scopes",
            "expires_in_days",
            "allowed_ips",
        ],
        "",
    )?;
    let one = |e: FieldError| ApiError::validation(vec![e]);
    let principal_id = match text(object, "principal_id", "principal_id", false).map_err(one)? {
        None => caller.principal().id,
        Some(id) => Uuid::parse_str(id).map_err(|_| invalid("principal_id", "is not an id"))?,
    };
    if principal_id != caller.principal().id {
        caller.require::<perm::ApiKeysManage>(&state.policy())?;
    }
    let name = text(object, "name", "name", true)
        .map_err(one)?
        .unwrap_or_default();
    if name.is_empty() || name.chars().count() > 128 || name.chars().any(char::is_control) {
        return Err(invalid("name", "1 to 128 printable characters"));
    }
    // Every field is read before any verdict: bad input is a 422 whoever sends it.
    let scopes = scopes_of(object)?;
    let now = OffsetDateTime::now_utc();
    let expires_at = match object.get("expires_in_days") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let days = v
                .as_u64()
                .filter(|d| (1..=MAX_EXPIRES_IN_DAYS).contains(d))
                .ok_or_else(|| {
                    invalid(
                        "expires_in_days",
                        format!("must be an integer from 1 to {MAX_EXPIRES_IN_DAYS}"),
                    )
                })?;
            Some(now + time::Duration::days(i64::try_from(days).unwrap_or(1)))
        }
    };
    let allowed_ips = allowed_ips(object)?;
    let target = state.api_keys().owner_of_new_key(principal_id).await?;
    identity::may_issue(
        &state.policy(),
        &caller,
        &target.principal,
        scopes.as_deref(),
    )?;
    let (expires_at, allowed_ips) = identity::fence_new_key(&caller, expires_at, allowed_ips)?;
    let pepper = state.authenticator().pepper();
    let (key, mut record) = pepper
        .issue(principal_id, name, scopes, expires_at, now)
        .map_err(|e| ApiError::internal(&e))?;
    record.allowed_ips = allowed_ips;
    audit.note("api_keys.create", "api_key", &record.id.to_string());
    audit.detail("principal_id", principal_id.to_string());
    audit.detail("scopes", json!(record.scopes));
    if !commit_identity(
        &audit,
        &state,
        &caller,
        StatusCode::CREATED,
        IdentityChange::InsertApiKey(record.clone()),
    )
    .await?
    {
        // The principal was disabled (or removed) after it was read: no key was stored.
        return Err(ApiError::conflict(
            "the principal was disabled meanwhile; no key was made",
        ));
    }
    Ok((
        StatusCode::CREATED,
        Json(IssuedApiKey {
            metadata: body_of(&record),
            key: key.expose().to_owned(),
            old_key_expires_at: None,
        }),
    ))
}

/// `?principal_id=…&limit=N&cursor=C`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeysQuery {
    /// Only this principal's keys (callers without `api_keys:manage` see only their own).
    pub principal_id: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Lists API keys (metadata only).
#[utoipa::path(get, path = "/v1/api-keys", tag = "identity", security(("bearer" = [])), params(KeysQuery),
    responses((status = 200, description = "A page of keys", body = Page<ApiKeyBody>)))]
pub async fn list_api_keys(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<KeysQuery>,
) -> Result<Json<Page<ApiKeyBody>>, ApiError> {
    let limit = page_limit(query.limit)?;
    let requested = match &query.principal_id {
        Some(id) => Some(Uuid::parse_str(id).map_err(|_| invalid("principal_id", "is not an id"))?),
        None => None,
    };
    let after = match &query.cursor {
        Some(c) => Some(
            Uuid::parse_str(c)
                .map_err(|_| invalid("cursor", "is not a cursor this API returned"))?,
        ),
        None => None,
    };
    let records = state
        .api_keys()
        .list_for(&state.policy(), &caller, requested, after, limit)
        .await?;
    let next_cursor = (records.len() == limit as usize)
        .then(|| records.last().map(|r| r.id.to_string()))
        .flatten();
    // Uses counted on this node and not stored yet are added, so a count is never stale here.
    let items = records
        .iter()
        .map(|record| {
            let mut body = body_of(record);
            if let Some((uses, last)) = state.pending_key_uses(record.id) {
                body.usage_count = body.usage_count.saturating_add(uses);
                let stored = record.last_used_at.unwrap_or(last);
                body.last_used_at = Some(time_text(stored.max(last)));
            }
            body
        })
        .collect();
    Ok(Json(Page { items, next_cursor }))
}

/// The key `id`, if the caller may manage it (its own principal's, or with `api_keys:manage`).
async fn manageable(state: &AppState, caller: &Caller, id: &str) -> Result<ApiKeyRecord, ApiError> {
    let id = Uuid::parse_str(id).map_err(|_| ApiError::not_found("no API key with that id"))?;
    Ok(state
        .api_keys()
        .key_for(&state.policy(), caller, id)
        .await?)
}

/// Revokes an API key at once.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "identity", security(("bearer" = [])),
    params(("id" = String, Path, description = "The key's id")),
    responses((status = 200, description = "The key is revoked", body = RevokedApiKey)))]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
) -> Result<Json<RevokedApiKey>, ApiError> {
    audit.note("api_keys.revoke", "api_key", &id);
    let record = manageable(&state, &caller, &id).await?;
    let revoked = commit_identity(
        &audit,
        &state,
        &caller,
        StatusCode::OK,
        IdentityChange::RevokeApiKey {
            id: record.id,
            now: OffsetDateTime::now_utc(),
        },
    )
    .await?;
    state.identity().cache.clear();
    Ok(Json(RevokedApiKey {
        id: record.id.to_string(),
        revoked: true,
        was_active: revoked,
    }))
}

/// Replaces a key with a new one; the old one keeps working for `grace_seconds` only.
#[utoipa::path(post, path = "/v1/api-keys/{id}/rotate", tag = "identity", security(("bearer" = [])),
    params(("id" = String, Path, description = "The key's id")),
    request_body = crate::routes::identity_schema::RotateApiKeyRequest,
    responses((status = 201, description = "The new key (shown once) and when the old one ends", body = IssuedApiKey),
        (status = 409, description = "The key is revoked or expired, or was rotated meanwhile", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn rotate_api_key(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<IssuedApiKey>), ApiError> {
    audit.note("api_keys.rotate", "api_key", &id);
    let old = manageable(&state, &caller, &id).await?;
    // The body is optional (a device rotating itself may send none).
    let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(&body)
            .map_err(|_| ApiError::bad_request("the body is not valid JSON"))?
    };
    let object = object(&body, &["grace_seconds"], "")?;
    let grace = match object.get("grace_seconds") {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_u64()
            .filter(|g| *g <= MAX_GRACE_SECONDS)
            .ok_or_else(|| {
                invalid(
                    "grace_seconds",
                    format!("must be an integer from 0 to {MAX_GRACE_SECONDS}"),
                )
            })?,
    };
    let now = OffsetDateTime::now_utc();
    rampart_access::identity::rotatable(&old, now)?;
    // A key rotating itself (a device on its sync) renews what it already is. Anyone else
    // rotating it mints a new key, under the same rules as creating it: without them,
    // api_keys:manage would mint an unscoped admin key by rotating the admin's.
    let by_itself = caller.credential_id() == old.id;
    if !by_itself {
        let owner = state.api_keys().owner_of(&old).await?;
        identity::may_issue(
            &state.policy(),
            &caller,
            &owner.principal,
            old.scopes.as_deref(),
        )
        .map_err(ApiError::from)
        .map_err(|e| {
            if e.status() == StatusCode::UNPROCESSABLE_ENTITY {
                ApiError::forbidden(
                    "roles:manage (the key carries permissions this caller could not grant)",
                )
            } else {
                e
            }
        })?;
    }
    audit.detail("rotated_by_itself", by_itself);
    audit.detail("old_key_id", old.id.to_string());
    let lifetime = old.expires_at.map(|at| at - old.created_at);
    let (key, mut new) = state
        .authenticator()
        .pepper()
        .issue(
            old.principal_id,
            &old.name,
            old.scopes.clone(),
            lifetime.map(|l| now + l),
            now,
        )
        .map_err(|e| ApiError::internal(&e))?;
    new.allowed_ips = old.allowed_ips.clone();
    if !by_itself {
        identity::fence_successor(&caller, &mut new)?;
    }
    new.rotated_from = Some(old.id);
    let old_ends = now + time::Duration::seconds(i64::try_from(grace).unwrap_or(0));
    audit.detail("new_key_id", new.id.to_string());
    audit.detail("grace_seconds", grace);
    if !commit_identity(
        &audit,
        &state,
        &caller,
        StatusCode::CREATED,
        IdentityChange::RotateApiKey {
            old: old.id,
            new: new.clone(),
            old_ends,
        },
    )
    .await?
    {
        return Err(ApiError::conflict(
            "the key was revoked or rotated meanwhile",
        ));
    }
    state.identity().cache.clear();
    Ok((
        StatusCode::CREATED,
        Json(IssuedApiKey {
            metadata: body_of(&new),
            key: key.expose().to_owned(),
            old_key_expires_at: Some(time_text(old_ends.min(old.expires_at.unwrap_or(old_ends)))),
        }),
    ))
}

/// This module's routes, their OpenAPI paths and their audit behaviour.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_api_key, list_api_keys))
        .routes(routes!(revoke_api_key))
        .routes(routes!(rotate_api_key))
}
