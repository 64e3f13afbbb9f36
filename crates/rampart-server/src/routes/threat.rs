//! Threat protection's administration (API.md "Threat protection"): the rate-limit rules, the
//! address rules and blocks. Reading needs `security:read`, changing `security:manage`; every
//! change is audited with what it replaced.

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use rampart_access::perm;
use rampart_threat::{AddressRules, Block, BlockTarget, ChangeError, RuleSet};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::audit_trail::AuditSlot;
use crate::http::auth::Caller;
use crate::http::json::ApiJson;
use crate::problem::{ApiError, FieldError};
use crate::state::AppState;

/// Most blocks `GET /v1/blocks` lists.
const MAX_LISTED_BLOCKS: u32 = 1_000;
/// The longest manual block: a year.
const MAX_BLOCK_SECONDS: i64 = 366 * 86_400;

/// One rate-limit rule (API.md's shape).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[allow(dead_code, reason = "schema only: bodies are read by rampart_threat")]
pub struct RateLimitRule {
    /// Unique name: 1 to 64 of `A-Z a-z 0-9 . _ -`.
    pub name: String,
    /// `ip`, `principal`, `credential` or `global`.
    pub key: String,
    /// `["*"]`, permission names (`keys:decrypt`) or `METHOD /path` prefixes.
    #[serde(rename = "match")]
    pub matches: Vec<String>,
    /// Requests per window.
    pub limit: u32,
    /// The window in seconds.
    pub window_seconds: u32,
    /// Requests that may come at once (default: `limit`); not for shared rules.
    pub burst: Option<u32>,
    /// Counted in the database across every node (a fixed window per key).
    pub shared: Option<bool>,
    /// `all` (default), `authenticated` or `unauthenticated`.
    pub applies_to: Option<String>,
}

/// `PUT /v1/rate-limits`.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code, reason = "schema only: bodies are read by rampart_threat")]
pub struct RateLimitsBody {
    /// The rules, in order.
    pub rules: Vec<RateLimitRule>,
}

/// The rate-limit rules in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct RateLimitsInForce {
    /// The rules, in order.
    #[schema(value_type = Vec<RateLimitRule>)]
    pub rules: Value,
    /// `default`, `api` or `file` (`rate_limits_file`, which the API cannot change).
    pub source: &'static str,
    /// The stored version (none until rules are set through the API).
    pub version: Option<u64>,
}

/// Address rules: with a non-empty `allow`, other addresses are refused; `deny` always wins.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IpRules {
    /// Addresses and networks (CIDR) allowed.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Addresses and networks (CIDR) refused.
    #[serde(default)]
    pub deny: Vec<String>,
    /// The stored version (none until set).
    #[serde(default, skip_deserializing)]
    pub version: Option<u64>,
}

/// A block.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockItem {
    /// The address or network (CIDR) blocked.
    pub address: String,
    /// Why.
    pub reason: String,
    /// When it began (RFC 3339).
    pub blocked_at: String,
    /// When it ends by itself (RFC 3339).
    pub expires_at: String,
    /// Failures counted when it was made (0 for a manual block).
    pub failures: u64,
    /// Whether an operator made it.
    pub manual: bool,
}

/// `GET /v1/blocks`.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockList {
    /// Blocks in force, soonest to end first.
    pub items: Vec<BlockItem>,
}

/// `POST /v1/blocks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBlock {
    /// An address or network (CIDR).
    pub address: String,
    /// How long, in seconds (1 to a year).
    pub seconds: i64,
    /// Why (shown in `GET /v1/blocks`).
    #[serde(default)]
    pub reason: String,
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

fn item(block: &Block) -> BlockItem {
    BlockItem {
        address: block.target.to_string(),
        reason: block.reason.clone(),
        blocked_at: rfc3339(block.blocked_at),
        expires_at: rfc3339(block.expires_at),
        failures: block.failures,
        manual: block.manual,
    }
}

fn change_error<E: std::error::Error + 'static>(error: ChangeError<E>) -> ApiError {
    match error {
        ChangeError::FromFile => ApiError::conflict(
            "the rate-limit rules come from the rate_limits_file setting; change that file (and restart) instead",
        ),
        ChangeError::Conflict => {
            ApiError::conflict("the rules changed meanwhile; read them again and retry")
        }
        ChangeError::Store(e) => ApiError::internal(&e),
    }
}

fn rules_in_force(state: &AppState) -> Result<RateLimitsInForce, ApiError> {
    let (rules, source, version) = state.threat().rules();
    let document = serde_json::to_value(rules.to_document()).map_err(|e| ApiError::internal(&e))?;
    Ok(RateLimitsInForce {
        rules: document
            .get("rules")
            .cloned()
            .unwrap_or(Value::Array(Vec::new())),
        source: source.as_str(),
        version,
    })
}

/// The rate-limit rules in force and where they come from.
#[utoipa::path(get, path = "/v1/rate-limits", tag = "threat", security(("bearer" = [])),
    responses((status = 200, description = "The rules in force", body = RateLimitsInForce)))]
pub async fn get_rate_limits(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<RateLimitsInForce>, ApiError> {
    caller.require::<perm::SecurityRead>(&state.policy())?;
    Ok(Json(rules_in_force(&state)?))
}

/// Replaces the rate-limit rules (every node follows within a second).
#[utoipa::path(put, path = "/v1/rate-limits", tag = "threat", security(("bearer" = [])),
    request_body = RateLimitsBody,
    responses((status = 200, description = "The rules now in force", body = RateLimitsInForce),
        (status = 409, description = "The rules come from rate_limits_file, or changed meanwhile", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A rule is invalid (the field is named)", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn put_rate_limits(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    ApiJson(mut body): ApiJson<Value>,
) -> Result<Json<RateLimitsInForce>, ApiError> {
    audit.note("security.rate_limits.update", "rate_limits", "rules");
    caller.require::<perm::SecurityManage>(&state.policy())?;
    if let Some(map) = body.as_object_mut() {
        // GET's extra fields may be sent back unchanged.
        map.remove("source");
        map.remove("version");
    }
    let rules =
        RuleSet::parse_json(&body.to_string()).map_err(|e| ApiError::refused_document(&e))?;
    let (before, _, _) = state.threat().rules();
    let replaced = state
        .threat()
        .replace_rules(&rules, None, OffsetDateTime::now_utc())
        .await
        .map_err(change_error)?;
    audit.detail("version", replaced.version);
    audit.detail("before", json!(before.to_document()));
    audit.detail("after", json!(rules.to_document()));
    Ok(Json(rules_in_force(&state)?))
}

fn ip_rules(state: &AppState) -> IpRules {
    let (rules, version) = state.threat().address_rules();
    let document = rules.to_document();
    IpRules {
        allow: document.allow,
        deny: document.deny,
        version,
    }
}

/// The address rules in force.
#[utoipa::path(get, path = "/v1/ip-rules", tag = "threat", security(("bearer" = [])),
    responses((status = 200, description = "The address rules", body = IpRules)))]
pub async fn get_ip_rules(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<IpRules>, ApiError> {
    caller.require::<perm::SecurityRead>(&state.policy())?;
    Ok(Json(ip_rules(&state)))
}

/// Replaces the address rules (every node follows within a second).
#[utoipa::path(put, path = "/v1/ip-rules", tag = "threat", security(("bearer" = [])),
    request_body = IpRules,
    responses((status = 200, description = "The address rules now in force", body = IpRules),
        (status = 422, description = "An entry is not an address or network (named)", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn put_ip_rules(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    ApiJson(mut body): ApiJson<Value>,
) -> Result<Json<IpRules>, ApiError> {
    audit.note("security.ip_rules.update", "ip_rules", "rules");
    caller.require::<perm::SecurityManage>(&state.policy())?;
    if let Some(map) = body.as_object_mut() {
        map.remove("version");
    }
    let rules =
        AddressRules::parse_json(&body.to_string()).map_err(|e| ApiError::refused_document(&e))?;
    let (before, _) = state.threat().address_rules();
    let replaced = state
        .threat()
        .replace_address_rules(&rules, None, OffsetDateTime::now_utc())
        .await
        .map_err(change_error)?;
    audit.detail("version", replaced.version);
    audit.detail("before", json!(before.to_document()));
    audit.detail("after", json!(rules.to_document()));
    Ok(Json(ip_rules(&state)))
}

/// Blocks in force.
#[utoipa::path(get, path = "/v1/blocks", tag = "threat", security(("bearer" = [])),
    responses((status = 200, description = "Blocks in force, soonest to end first", body = BlockList)))]
pub async fn list_blocks(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<BlockList>, ApiError> {
    caller.require::<perm::SecurityRead>(&state.policy())?;
    let blocks = state
        .threat()
        .list_blocks(OffsetDateTime::now_utc(), MAX_LISTED_BLOCKS)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(BlockList {
        items: blocks.iter().map(item).collect(),
    }))
}

/// Blocks an address or network for `seconds`.
#[utoipa::path(post, path = "/v1/blocks", tag = "threat", security(("bearer" = [])),
    request_body = NewBlock,
    responses((status = 201, description = "Blocked", body = BlockItem),
        (status = 422, description = "Not an address or network, or a length out of range", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn create_block(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    ApiJson(body): ApiJson<NewBlock>,
) -> Result<(StatusCode, Json<BlockItem>), ApiError> {
    audit.note("security.block", "address", &body.address);
    caller.require::<perm::SecurityManage>(&state.policy())?;
    let mut errors = Vec::new();
    let target = body.address.parse::<BlockTarget>().map_err(|_| FieldError {
        field: "address".to_owned(),
        message: "is not an IP address or a network in CIDR notation".to_owned(),
    });
    if !(1..=MAX_BLOCK_SECONDS).contains(&body.seconds) {
        errors.push(FieldError {
            field: "seconds".to_owned(),
            message: format!("must be 1 to {MAX_BLOCK_SECONDS}"),
        });
    }
    if body.reason.chars().count() > 500 {
        errors.push(FieldError {
            field: "reason".to_owned(),
            message: "is at most 500 characters".to_owned(),
        });
    }
    let target = match target {
        Ok(target) if errors.is_empty() => target,
        Ok(_) => return Err(ApiError::validation(errors)),
        Err(error) => {
            errors.insert(0, error);
            return Err(ApiError::validation(errors));
        }
    };
    let block = state
        .threat()
        .block(
            target,
            time::Duration::seconds(body.seconds),
            body.reason,
            OffsetDateTime::now_utc(),
        )
        .await
        .map_err(|e| ApiError::internal(&e))?;
    audit.detail("expires_at", rfc3339(block.expires_at));
    audit.detail("seconds", body.seconds);
    Ok((StatusCode::CREATED, Json(item(&block))))
}

/// Lifts the block of an address or network (`/` of a CIDR written `%2F`); the address is
/// then not blocked automatically for `block_exempt_seconds`.
#[utoipa::path(delete, path = "/v1/blocks/{address}", tag = "threat", security(("bearer" = [])),
    params(("address" = String, Path, description = "The address or network (CIDR, `/` as `%2F`)")),
    responses((status = 204, description = "Lifted"),
        (status = 404, description = "No block of this address or network", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn lift_block(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(address): Path<String>,
) -> Result<StatusCode, ApiError> {
    audit.note("security.unblock", "address", &address);
    caller.require::<perm::SecurityManage>(&state.policy())?;
    let target = address.parse::<BlockTarget>().map_err(|_| {
        ApiError::validation(vec![FieldError {
            field: "address".to_owned(),
            message: "is not an IP address or a network in CIDR notation".to_owned(),
        }])
    })?;
    let lifted = state
        .threat()
        .lift(&target, OffsetDateTime::now_utc())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    match lifted {
        Some(block) => {
            audit.detail("was_manual", block.manual);
            audit.detail("expires_at", rfc3339(block.expires_at));
            Ok(StatusCode::NO_CONTENT)
        }
        None => Err(ApiError::not_found("no block of this address or network")),
    }
}

/// This module's routes and their OpenAPI paths.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_rate_limits, put_rate_limits))
        .routes(routes!(get_ip_rules, put_ip_rules))
        .routes(routes!(list_blocks, create_block))
        .routes(routes!(lift_block))
}
