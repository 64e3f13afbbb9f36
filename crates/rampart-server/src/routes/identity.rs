//! Principals, passwords, login, sessions and second factors.
//!
//! Login answers an unknown name and a wrong password with the same 401 after the same work
//! (a dummy argon2id verification). Attempts are counted by the name as sent (never by
//! principal, so unknown names lock and answer alike) and reserved before any verification:
//! `max_login_attempts` per name and address (IPv6 by /64) and `account_lockout_failures` per
//! name within `lockout_seconds`; a locked attempt gets 423 after a dummy verification, for
//! `lockout_seconds`, or until an administrator unlocks. Hashing runs on blocking threads, at
//! most one per core. Passwords, TOTP secrets and codes never reach a log, an error or the audit
//! log.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse as _, Response};
use http::StatusCode;
use rampart_access::password::{PasswordPolicy, PasswordProblem};
use rampart_access::session::SessionClaims;
use rampart_access::totp::{Totp, TotpSecret, otpauth_uri};
use rampart_access::{Principal, PrincipalKind};
use rampart_crypto::SealContext;
use rampart_store::{
    LoginLimits, LoginSettle, PrincipalRecord, PrincipalUpdate, SessionRecord, StoreChange,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::http::audit_trail::AuditSlot;
use crate::http::auth::{Caller, CallerSlot, CredentialError, CredentialKind, check_credential};
use crate::http::context::ClientIp;
use crate::http::json::ApiJson;
use crate::http::query::ApiQuery;
use crate::problem::{ApiError, FieldError};
use crate::routes::keys::{PageQuery, field, invalid, object, page_limit, text, time_text};
use crate::state::AppState;

/// A principal as the API shows it: never a password or a secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrincipalBody {
    /// The id.
    pub id: String,
    /// `user`, `service`, `device` or `ai_agent`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Unique name.
    pub name: String,
    /// Contact address.
    pub email: Option<String>,
    /// Roles from the role policy.
    pub roles: Vec<String>,
    /// Teams.
    pub teams: Vec<String>,
    /// Disabled principals keep their history; none of their credentials work.
    pub disabled: bool,
    /// Whether the principal can log in with a password.
    pub has_password: bool,
    /// Whether a second factor (TOTP) is enrolled.
    pub totp_enabled: bool,
    /// The latest end of a login lock of this name in force (account-wide, or for one
    /// address), if any.
    pub locked_until: Option<String>,
    /// Creation time.
    pub created_at: String,
}

fn body_of(record: &PrincipalRecord, now: OffsetDateTime) -> PrincipalBody {
    let p = &record.principal;
    PrincipalBody {
        id: p.id.to_string(),
        kind: p.kind.as_str(),
        name: p.name.clone(),
        email: p.email.clone(),
        roles: p.roles.clone(),
        teams: p.teams.clone(),
        disabled: p.disabled,
        has_password: record.password_hash.is_some(),
        totp_enabled: record.totp_enabled,
        locked_until: record
            .locked_until
            .filter(|until| *until > now)
            .map(time_text),
        created_at: time_text(p.created_at),
    }
}

fn store_error(e: rampart_store::StoreError) -> ApiError {
    ApiError::internal(&e)
}

fn principal_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError::not_found("no principal with that id"))
}

async fn load(state: &AppState, id: Uuid) -> Result<PrincipalRecord, ApiError> {
    state
        .store()
        .principal(id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::not_found("no principal with that id"))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

fn valid_email(email: &str) -> bool {
    email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !email.chars().any(char::is_whitespace)
}

/// Most roles, and most teams, one principal may have.
const MAX_NAMES: usize = 64;

/// A list of names (roles or teams): at most [`MAX_NAMES`], duplicates removed.
fn names(object: &Map<String, Value>, key: &str) -> Result<Option<Vec<String>>, FieldError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => {
            if items.len() > MAX_NAMES {
                return Err(field(key, format!("at most {MAX_NAMES} names")));
            }
            let mut names: Vec<String> = Vec::with_capacity(items.len());
            for item in items {
                let name = item.as_str().filter(|s| valid_name(s)).ok_or_else(|| {
                    field(
                        key,
                        "must be a list of names (A-Z, a-z, 0-9, '.', '_', '-', '@')",
                    )
                })?;
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_owned());
                }
            }
            Ok(Some(names))
        }
        Some(_) => Err(field(key, "must be a list of names")),
    }
}

/// Whether the caller's roles bypass team isolation.
fn bypasses(state: &AppState, caller: &Caller) -> bool {
    state
        .policy()
        .bypasses_team_isolation(&caller.principal.roles)
}

/// A manager acts on another principal only when that principal is in at least one team and
/// all its teams are among the manager's own (or the manager's roles bypass team isolation;
/// principals in no team belong to those roles alone), and never when that principal holds a
/// role the caller lacks: whose permissions the caller does not hold with this credential (its
/// roles and scopes). Otherwise `users:manage` in one team would reach every team, and a narrow
/// manager, or an admin's narrowly scoped key, could disable or strip an admin.
pub(crate) fn may_manage(
    state: &AppState,
    caller: &Caller,
    target: &Principal,
) -> Result<(), ApiError> {
    if target.id == caller.principal.id {
        return Ok(());
    }
    let bypass = bypasses(state, caller);
    if !bypass {
        if target.teams.is_empty() {
            return Err(ApiError::forbidden(
                "a role that bypasses team isolation (the principal is in no team)",
            ));
        }
        if let Some(team) = target
            .teams
            .iter()
            .find(|t| !caller.principal.teams.contains(t))
        {
            return Err(ApiError::forbidden(&format!(
                "users:manage over team '{team}' (the principal is in a team this caller is not in)"
            )));
        }
    }
    let policy = state.policy();
    if let Some(role) = target
        .roles
        .iter()
        .find(|r| !policy.covers(r, |p| caller.holds(state, p), bypass))
    {
        return Err(ApiError::forbidden(&format!(
            "the role '{role}' (the principal holds a role this caller lacks)"
        )));
    }
    Ok(())
}

/// Roles must exist, and a caller without `roles:manage` may only grant roles it holds itself.
fn check_roles(state: &AppState, caller: &Caller, roles: &[String]) -> Result<(), ApiError> {
    let policy = state.policy();
    for role in roles {
        if !policy.has_role(role) {
            return Err(invalid(
                "roles",
                format!("'{role}' is not a role of the policy"),
            ));
        }
        // A scoped credential grants roles only with roles:manage among its scopes.
        if !caller.holds(state, "roles:manage")
            && (caller.scopes.is_some() || !caller.principal.roles.contains(role))
        {
            return Err(ApiError::forbidden(&format!(
                "roles:manage (to grant the role '{role}', which this caller does not hold)"
            )));
        }
    }
    Ok(())
}

/// Teams decide isolation: a caller without `roles:manage` may only place principals in teams
/// it belongs to itself, unless a role of its bypasses team isolation.
fn check_teams(state: &AppState, caller: &Caller, teams: &[String]) -> Result<(), ApiError> {
    if caller.holds(state, "roles:manage")
        || (caller.scopes.is_none()
            && state
                .policy()
                .bypasses_team_isolation(&caller.principal.roles))
    {
        return Ok(());
    }
    if teams.is_empty() {
        // A principal in no team belongs to the roles that bypass isolation alone.
        return Err(invalid(
            "teams",
            "name at least one of your teams (principals in no team are managed only by roles that bypass team isolation)",
        ));
    }
    match teams.iter().find(|t| !caller.principal.teams.contains(t)) {
        Some(team) => Err(ApiError::forbidden(&format!(
            "roles:manage (to place a principal in team '{team}', which this caller is not in)"
        ))),
        None => Ok(()),
    }
}

fn password_problems(problems: Vec<PasswordProblem>) -> ApiError {
    ApiError::validation(
        problems
            .into_iter()
            .map(|p| field("password", p.to_string()))
            .collect(),
    )
}

/// Checks a password against the policy and hashes it on a blocking thread.
async fn hash_password(
    state: &AppState,
    password: SecretString,
    context: Vec<String>,
) -> Result<String, ApiError> {
    let policy = PasswordPolicy {
        min_length: usize::try_from(state.settings().password_min_length).unwrap_or(12),
        ..PasswordPolicy::default()
    };
    let refs: Vec<&str> = context.iter().map(String::as_str).collect();
    policy.check(&password, &refs).map_err(password_problems)?;
    let hasher = Arc::clone(&state.identity().passwords);
    state
        .identity()
        .hashing
        .run(move || hasher.hash(&password))
        .await
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| ApiError::internal(&e))
}

/// Creates a principal.
#[utoipa::path(post, path = "/v1/principals", tag = "identity", security(("bearer" = [])),
    request_body(content = Object, description = "{\"type\": \"user\", \"name\": \"alice\", \"email\": \"…\", \"password\": \"…\", \"roles\": [\"operator\"], \"teams\": [\"payments\"]}"),
    responses((status = 201, description = "The principal (never the password)", body = PrincipalBody),
        (status = 409, description = "The name is taken", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field or weak password", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn create_principal(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<PrincipalBody>), ApiError> {
    audit.note("principals.create", "principal", "-");
    caller.require(&state, "users:manage")?;
    let object = object(
        &body,
        &["type", "name", "email", "password", "roles", "teams"],
        "",
    )?;
    let one = |e: FieldError| ApiError::validation(vec![e]);
    let kind = match text(object, "type", "type", false).map_err(one)? {
        None => PrincipalKind::User,
        Some(t) => t
            .parse::<PrincipalKind>()
            .map_err(|_| invalid("type", "must be user, service, device or ai_agent"))?,
    };
    let name = text(object, "name", "name", true)
        .map_err(one)?
        .unwrap_or_default();
    if !valid_name(name) {
        return Err(invalid(
            "name",
            "1 to 128 characters of A-Z, a-z, 0-9, '.', '_', '-', '@'",
        ));
    }
    let email = text(object, "email", "email", false).map_err(one)?;
    if email.is_some_and(|e| !valid_email(e)) {
        return Err(invalid("email", "is not an email address"));
    }
    let roles = names(object, "roles").map_err(one)?.unwrap_or_default();
    let teams = names(object, "teams").map_err(one)?.unwrap_or_default();
    check_roles(&state, &caller, &roles)?;
    check_teams(&state, &caller, &teams)?;
    let password_hash = match object.get("password") {
        None | Some(Value::Null) => None,
        Some(Value::String(password)) => {
            let mut context = vec![name.to_owned()];
            context.extend(email.map(str::to_owned));
            Some(hash_password(&state, SecretString::from(password.clone()), context).await?)
        }
        Some(_) => return Err(invalid("password", "must be a string")),
    };
    let now = OffsetDateTime::now_utc();
    let principal = Principal {
        id: Uuid::now_v7(),
        kind,
        name: name.to_owned(),
        email: email.map(str::to_owned),
        roles,
        teams,
        disabled: false,
        created_at: now,
    };
    audit.note("principals.create", "principal", &principal.id.to_string());
    audit.detail("name", principal.name.clone());
    audit.detail("roles", principal.roles.clone());
    audit.detail("teams", principal.teams.clone());
    let id = principal.id;
    if !audit
        .commit(
            &state,
            &caller,
            StatusCode::CREATED,
            StoreChange::CreatePrincipal {
                principal,
                password_hash,
            },
        )
        .await?
    {
        return Err(ApiError::conflict(format!(
            "a principal named '{name}' already exists"
        )));
    }
    let record = load(&state, id).await?;
    Ok((StatusCode::CREATED, Json(body_of(&record, now))))
}

/// A page of principals.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrincipalsPage {
    /// Principals by id.
    pub items: Vec<PrincipalBody>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

fn can_read_principals(state: &AppState, caller: &Caller) -> bool {
    caller.holds(state, "users:read") || caller.holds(state, "users:manage")
}

/// Lists principals.
#[utoipa::path(get, path = "/v1/principals", tag = "identity", security(("bearer" = [])), params(crate::routes::keys::PageQuery),
    responses((status = 200, description = "A page of principals", body = PrincipalsPage)))]
pub async fn list_principals(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<PrincipalsPage>, ApiError> {
    if !can_read_principals(&state, &caller) {
        return Err(ApiError::forbidden("users:read"));
    }
    let limit = page_limit(query.limit)?;
    let after = match &query.cursor {
        Some(c) => Some(
            Uuid::parse_str(c)
                .map_err(|_| invalid("cursor", "is not a cursor this API returned"))?,
        ),
        None => None,
    };
    let records = state
        .store()
        .list_principals(after, limit)
        .await
        .map_err(store_error)?;
    let now = OffsetDateTime::now_utc();
    let next_cursor = (records.len() == limit as usize)
        .then(|| records.last().map(|r| r.principal.id.to_string()))
        .flatten();
    Ok(Json(PrincipalsPage {
        items: records.iter().map(|r| body_of(r, now)).collect(),
        next_cursor,
    }))
}

/// One principal (any principal may read itself).
#[utoipa::path(get, path = "/v1/principals/{id}", tag = "identity", security(("bearer" = [])),
    params(("id" = String, Path, description = "The principal's id")),
    responses((status = 200, description = "The principal", body = PrincipalBody)))]
pub async fn get_principal(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<PrincipalBody>, ApiError> {
    let id = principal_id(&id)?;
    if id != caller.principal.id && !can_read_principals(&state, &caller) {
        return Err(ApiError::forbidden("users:read"));
    }
    let record = load(&state, id).await?;
    Ok(Json(body_of(&record, OffsetDateTime::now_utc())))
}

/// Changes roles, teams, email or `disabled`.
#[utoipa::path(patch, path = "/v1/principals/{id}", tag = "identity", security(("bearer" = [])),
    params(("id" = String, Path, description = "The principal's id")),
    request_body(content = Object, description = "{\"roles\": [...], \"teams\": [...], \"disabled\": bool, \"email\": \"…\" | null}"),
    responses((status = 200, description = "The principal", body = PrincipalBody)))]
pub async fn update_principal(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<PrincipalBody>, ApiError> {
    audit.note("principals.update", "principal", &id);
    caller.require(&state, "users:manage")?;
    let id = principal_id(&id)?;
    let object = object(&body, &["roles", "teams", "disabled", "email"], "")?;
    let one = |e: FieldError| ApiError::validation(vec![e]);
    let target = load(&state, id).await?;
    may_manage(&state, &caller, &target.principal)?;
    let roles = names(object, "roles").map_err(one)?;
    if let Some(roles) = &roles {
        check_roles(&state, &caller, roles)?;
        let mut before = target.principal.roles.clone();
        let mut after = roles.clone();
        before.sort();
        after.sort();
        // Adding or removing another principal's roles is role management.
        if before != after && id != caller.principal.id {
            caller.require(&state, "roles:manage")?;
        }
        audit.detail("roles_before", target.principal.roles.clone());
        audit.detail("roles", roles.clone());
    }
    let disabled = match object.get("disabled") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(invalid("disabled", "must be true or false")),
    };
    let email = match object.get("email") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(e)) if valid_email(e) => Some(Some(e.clone())),
        Some(_) => return Err(invalid("email", "is not an email address")),
    };
    if let Some(disabled) = disabled {
        audit.detail("disabled", disabled);
    }
    let teams = names(object, "teams").map_err(one)?;
    if let Some(teams) = &teams {
        check_teams(&state, &caller, teams)?;
        audit.detail("teams", teams.clone());
    }
    let update = PrincipalUpdate {
        teams,
        roles,
        disabled,
        email,
    };
    apply_update(&state, &caller, &audit, &target.principal, update).await
}

/// Applies a change to a principal (disabling also ends its sessions and revokes its API keys)
/// in the transaction of its audit entry, and answers with it.
/// The change commits only if the principal's roles and teams are still those of `target`,
/// which the caller's right to make it was checked against.
async fn apply_update(
    state: &AppState,
    caller: &Caller,
    audit: &AuditSlot,
    target: &Principal,
    update: PrincipalUpdate,
) -> Result<Json<PrincipalBody>, ApiError> {
    let now = OffsetDateTime::now_utc();
    let id = target.id;
    let seen = Some((target.roles.clone(), target.teams.clone()));
    if !audit
        .commit(
            state,
            caller,
            StatusCode::OK,
            StoreChange::UpdatePrincipal {
                id,
                update,
                now,
                seen,
            },
        )
        .await?
    {
        return Err(ApiError::conflict(
            "the principal changed (or went) meanwhile; read it again",
        ));
    }
    state.identity().cache.clear();
    Ok(Json(body_of(&load(state, id).await?, now)))
}

/// Disables a principal: its history stays, its sessions end and its API keys stop working.
#[utoipa::path(delete, path = "/v1/principals/{id}", tag = "identity", security(("bearer" = [])),
    params(("id" = String, Path, description = "The principal's id")),
    responses((status = 200, description = "The principal, disabled", body = PrincipalBody)))]
pub async fn disable_principal(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
) -> Result<Json<PrincipalBody>, ApiError> {
    audit.note("principals.disable", "principal", &id);
    caller.require(&state, "users:manage")?;
    let id = principal_id(&id)?;
    let target = load(&state, id).await?;
    may_manage(&state, &caller, &target.principal)?;
    let update = PrincipalUpdate {
        disabled: Some(true),
        ..PrincipalUpdate::default()
    };
    apply_update(&state, &caller, &audit, &target.principal, update).await
}

/// Lifts a lockout.
#[utoipa::path(post, path = "/v1/principals/{id}/unlock", tag = "identity", security(("bearer" = [])),
    params(("id" = String, Path, description = "The principal's id")),
    responses((status = 200, description = "The principal, unlocked", body = PrincipalBody)))]
pub async fn unlock_principal(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
) -> Result<Json<PrincipalBody>, ApiError> {
    audit.note("principals.unlock", "principal", &id);
    caller.require(&state, "users:manage")?;
    let id = principal_id(&id)?;
    let record = load(&state, id).await?;
    // Every lock of the name: account-wide and per address, with its audit entry.
    audit
        .commit(
            &state,
            &caller,
            StatusCode::OK,
            StoreChange::ClearLoginThrottles {
                name: record.principal.name.clone(),
            },
        )
        .await?;
    Ok(Json(body_of(
        &load(&state, id).await?,
        OffsetDateTime::now_utc(),
    )))
}

fn totp_context(id: Uuid) -> SealContext {
    SealContext::new(format!("totp/{id}"), 1)
}

/// A second factor is enrolled only by its owner, logged in with a session (never with an API
/// key, which is not a proof of presence), and never by anyone else: whoever enrols a factor
/// for another principal holds that principal's second factor.
fn self_in_session(caller: &Caller, id: Uuid) -> Result<(), ApiError> {
    if caller.principal.id == id && caller.kind == CredentialKind::Session {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "the principal itself, logged in with a session (nobody enrols a second factor for someone else)",
        ))
    }
}

/// Starts TOTP enrollment: a new secret, in effect after confirmation.
#[utoipa::path(post, path = "/v1/principals/{id}/totp", tag = "identity", security(("bearer" = [])),
    params(("id" = String, Path, description = "The principal's id")),
    responses((status = 201, description = "{\"secret_b32\": \"…\", \"otpauth_uri\": \"otpauth://totp/…\"}", body = Object)))]
pub async fn enroll_totp(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    audit.note("principals.totp_enroll", "principal", &id);
    let id = principal_id(&id)?;
    self_in_session(&caller, id)?;
    let record = load(&state, id).await?;
    // Replacing a second factor in force takes an administrator's removal first, not only
    // the password.
    if record.totp_enabled {
        return Err(ApiError::conflict(
            "TOTP is enabled; replacing it takes an administrator's removal first (DELETE /v1/principals/{id}/totp)",
        ));
    }
    let secret = TotpSecret::generate().map_err(|e| ApiError::internal(&e))?;
    let sealed = state
        .keys()
        .kek()
        .seal(&totp_context(id), secret.as_bytes())
        .map_err(|e| ApiError::internal(&e))?;
    audit
        .commit(
            &state,
            &caller,
            StatusCode::CREATED,
            StoreChange::SetTotpPending { id, sealed },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "secret_b32": secret.to_base32(),
            "otpauth_uri": otpauth_uri("Rampart", &record.principal.name, &secret),
        })),
    ))
}

fn unseal_totp(state: &AppState, record: &PrincipalRecord) -> Result<Option<TotpSecret>, ApiError> {
    let Some(sealed) = &record.totp_sealed else {
        return Ok(None);
    };
    let bytes = state
        .keys()
        .kek()
        .open(&totp_context(record.principal.id), sealed)
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Some(TotpSecret::from_bytes(bytes.expose_secret())))
}

fn now_unix(now: OffsetDateTime) -> u64 {
    u64::try_from(now.unix_timestamp()).unwrap_or(0)
}

/// Confirms TOTP enrollment with a current code.
#[utoipa::path(post, path = "/v1/principals/{id}/totp/confirm", tag = "identity", security(("bearer" = [])),
    params(("id" = String, Path, description = "The principal's id")),
    request_body(content = Object, description = "{\"code\": \"123456\"}"),
    responses((status = 200, description = "{\"totp_enabled\": true}", body = Object),
        (status = 422, description = "Wrong code", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn confirm_totp(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    audit.note("principals.totp_confirm", "principal", &id);
    let id = principal_id(&id)?;
    self_in_session(&caller, id)?;
    let object = object(&body, &["code"], "")?;
    let code = text(object, "code", "code", true)
        .map_err(|e| ApiError::validation(vec![e]))?
        .unwrap_or_default();
    let record = load(&state, id).await?;
    let pending = record.totp_pending.clone().ok_or_else(|| {
        ApiError::conflict("no TOTP enrollment is pending: POST /v1/principals/{id}/totp first")
    })?;
    let bytes = state
        .keys()
        .kek()
        .open(&totp_context(id), &pending)
        .map_err(|e| ApiError::internal(&e))?;
    let secret = TotpSecret::from_bytes(bytes.expose_secret());
    let now = now_unix(OffsetDateTime::now_utc());
    let step = Totp::DEFAULT
        .verify(&secret, code, now, 1, record.totp_last_step)
        .ok_or_else(|| invalid("code", "is not the current code of this secret"))?;
    let step = i64::try_from(step).map_err(|_| invalid("code", "is out of range"))?;
    if !audit
        .commit(
            &state,
            &caller,
            StatusCode::OK,
            StoreChange::ConfirmTotp {
                id,
                checked: pending,
                step,
            },
        )
        .await?
    {
        return Err(ApiError::conflict(
            "another enrollment replaced this one meanwhile; enroll again",
        ));
    }
    Ok(Json(json!({"totp_enabled": true})))
}

/// Removes TOTP.
#[utoipa::path(delete, path = "/v1/principals/{id}/totp", tag = "identity", security(("bearer" = [])),
    params(("id" = String, Path, description = "The principal's id")),
    responses((status = 200, description = "{\"totp_enabled\": false}", body = Object)))]
pub async fn remove_totp(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    audit.note("principals.totp_remove", "principal", &id);
    caller.require(&state, "users:manage")?;
    let id = principal_id(&id)?;
    let target = load(&state, id).await?;
    may_manage(&state, &caller, &target.principal)?;
    if !audit
        .commit(
            &state,
            &caller,
            StatusCode::OK,
            StoreChange::RemoveTotp { id },
        )
        .await?
    {
        return Err(ApiError::not_found("no principal with that id"));
    }
    Ok(Json(json!({"totp_enabled": false})))
}

fn retry_after(not_until: governor::NotUntil<governor::clock::QuantaInstant>) -> ApiError {
    use governor::clock::{Clock as _, DefaultClock};
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    ApiError::rate_limited(wait.as_secs().max(1))
}

/// The per-address limiter's key: the address, or for IPv6 its /64 (one host usually holds a
/// whole /64, so counting single addresses would let it rotate past the limit).
fn limiter_address(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(std::net::Ipv6Addr::from(bits))
            }
        },
        v4 => v4,
    }
}

/// The answer to a failed login: the same for an unknown name, a disabled principal and a wrong
/// password.
fn login_failed() -> ApiError {
    ApiError::unauthenticated_detail("the name or the password is wrong")
}

/// The answer to a locked login: the same for every name, known or not, whether the lock holds
/// for this address or for the whole account.
fn login_locked() -> ApiError {
    ApiError::locked(
        "too many failed logins for this name: try later or ask an administrator to unlock it",
    )
}

/// The source a login is throttled by: the client address, IPv6 by its /64.
fn throttle_source(client_ip: Option<IpAddr>) -> String {
    match client_ip.map(limiter_address) {
        Some(IpAddr::V6(prefix)) => format!("{prefix}/64"),
        Some(IpAddr::V4(v4)) => v4.to_string(),
        None => "-".to_owned(),
    }
}

/// The login limits from the settings: `max_login_attempts` per name and address,
/// `account_lockout_failures` per name, both within `lockout_seconds`, locking for as long.
fn login_limits(state: &AppState) -> LoginLimits {
    let settings = state.settings();
    let lockout =
        time::Duration::seconds(i64::try_from(settings.lockout_seconds).unwrap_or(i64::MAX));
    LoginLimits {
        per_source: settings.max_login_attempts,
        per_account: settings.account_lockout_failures,
        window: lockout,
        lockout,
    }
}

/// Logs in with a name and password (and a TOTP code when required): a session token.
#[utoipa::path(post, path = "/v1/auth/login", tag = "identity",
    request_body(content = Object, description = "{\"name\": \"alice\", \"password\": \"…\", \"totp\": \"123456\"?}"),
    responses((status = 200, description = "{\"token\": \"v4.public.…\", \"expires_at\": \"…\"}", body = Object),
        (status = 401, description = "Wrong name or password, or a second factor is required (type mfa-required)", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 423, description = "Locked after too many failures", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this address or for this name", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn login(
    State(state): State<AppState>,
    audit: AuditSlot,
    slot: CallerSlot,
    client: Option<axum::Extension<ClientIp>>,
    headers: http::HeaderMap,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    audit.note("auth.login", "principal", "-");
    let client_ip: Option<IpAddr> = client.map(|c| c.0.0);
    if let Some(ip) = client_ip
        && let Err(not_until) = state
            .identity()
            .login_per_ip
            .check_key(&limiter_address(ip))
    {
        return Err(retry_after(not_until));
    }
    let object = object(&body, &["name", "password", "totp"], "")?;
    let one = |e: FieldError| ApiError::validation(vec![e]);
    let name = text(object, "name", "name", true)
        .map_err(one)?
        .unwrap_or_default()
        .to_owned();
    let password = match object.get("password") {
        Some(Value::String(p)) => SecretString::from(p.clone()),
        _ => return Err(invalid("password", "is required (a string)")),
    };
    let code = text(object, "totp", "totp", false)
        .map_err(one)?
        .map(str::to_owned);
    // Names are keys of the per-name limiter: bounded, so junk names cannot grow it much.
    let limiter_key: String = name.to_lowercase().chars().take(128).collect();
    if let Err(not_until) = state.identity().login_per_name.check_key(&limiter_key) {
        return Err(retry_after(not_until));
    }
    let now = OffsetDateTime::now_utc();
    // Reserve the attempt before verifying anything: concurrent attempts never verify more
    // passwords than the limits allow. Counted by the name as sent, so unknown names count,
    // lock and answer exactly like real ones.
    let source = throttle_source(client_ip);
    let limits = login_limits(&state);
    let reservation = state
        .store()
        .reserve_login_attempt(&name, &source, &limits, now)
        .await
        .map_err(store_error)?;
    let settle = |outcome: LoginSettle| {
        let state = state.clone();
        let (name, source) = (name.clone(), source.clone());
        async move {
            state
                .store()
                // A lock lasts from the verdict, however long the verification took.
                .settle_login_attempt(&name, &source, outcome, &limits, OffsetDateTime::now_utc())
                .await
                .map_err(store_error)
        }
    };
    let record = state
        .store()
        .principal_by_name(&name)
        .await
        .map_err(store_error)?;
    if let Some(record) = &record {
        audit.note("auth.login", "principal", &record.principal.id.to_string());
    }
    let hasher = Arc::clone(&state.identity().passwords);
    // A locked attempt verifies nothing, but spends the same time on a dummy verification.
    let stored = record
        .as_ref()
        .filter(|r| reservation.granted() && !r.principal.disabled)
        .and_then(|r| r.password_hash.clone());
    let verified = state
        .identity()
        .hashing
        .run(move || match stored {
            Some(stored) => hasher.verify(&password, &stored).ok(),
            None => {
                hasher.verify_dummy(&password);
                None
            }
        })
        .await
        .map_err(|e| ApiError::internal(&e))?;
    if !reservation.granted() {
        // Refused attempts count against neither row: give back what the other row counted.
        settle(LoginSettle::Release {
            source: !reservation.source_locked,
            account: !reservation.account_locked,
        })
        .await?;
        return Err(login_locked());
    }
    let fail = || async {
        if settle(LoginSettle::Failed).await? {
            Err(login_locked())
        } else {
            Err(login_failed())
        }
    };
    let (Some(record), Some(verified)) = (record, verified) else {
        // An unknown or disabled name: the same writes a wrong password costs.
        return fail().await;
    };
    let id = record.principal.id;
    if !verified.ok {
        return fail().await;
    }
    // The password is right: a second factor when enrolled or required by a role.
    let mfa_needed = record.totp_enabled || state.policy().mfa_required(&record.principal.roles);
    // A role requires a second factor that is not enrolled yet: the right password earns a
    // session that can only enrol it (nobody else may enrol it for this principal).
    let enrollment_only = mfa_needed && !record.totp_enabled;
    if mfa_needed && !enrollment_only {
        let Some(code) = code else {
            // No verdict yet: the attempt is not counted, and clears nothing.
            settle(LoginSettle::Release {
                source: true,
                account: true,
            })
            .await?;
            return Err(ApiError::mfa_required(if record.totp_enabled {
                "send the current TOTP code as \"totp\""
            } else {
                "a role of this principal requires a second factor: enroll TOTP (POST /v1/principals/{id}/totp) first"
            }));
        };
        let secret = if record.totp_enabled {
            unseal_totp(&state, &record)?
        } else {
            None
        };
        let Some(secret) = secret else {
            settle(LoginSettle::Release {
                source: true,
                account: true,
            })
            .await?;
            return Err(ApiError::mfa_required(
                "a role of this principal requires a second factor: enroll TOTP (POST /v1/principals/{id}/totp) first",
            ));
        };
        let step = Totp::DEFAULT.verify(&secret, &code, now_unix(now), 1, record.totp_last_step);
        let claimed = match step {
            Some(step) => state
                .store()
                .claim_totp_step(id, step)
                .await
                .map_err(store_error)?,
            None => false,
        };
        if !claimed {
            return fail().await;
        }
    }
    settle(LoginSettle::Succeeded).await?;
    if verified.needs_rehash {
        let hasher = Arc::clone(&state.identity().passwords);
        if let Some(Value::String(p)) = object.get("password") {
            let password = SecretString::from(p.clone());
            let rehashed = state
                .identity()
                .hashing
                .run(move || hasher.hash(&password))
                .await
                .map_err(|e| ApiError::internal(&e))?;
            if let Ok(hash) = rehashed {
                state
                    .store()
                    .set_password_hash(id, &hash)
                    .await
                    .map_err(store_error)?;
                audit.detail("rehashed", true);
            }
        }
    }
    let ttl = if enrollment_only {
        time::Duration::seconds(ENROLLMENT_SESSION_SECONDS)
    } else {
        time::Duration::seconds(i64::try_from(state.settings().session_ttl_seconds).unwrap_or(3600))
    };
    let session = SessionRecord {
        id: Uuid::now_v7(),
        principal_id: id,
        created_at: now,
        last_seen_at: now,
        expires_at: now + ttl,
        revoked_at: None,
        enrollment_only,
    };
    let user_agent = headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| {
            ua.chars()
                .filter(|c| !c.is_control())
                .take(512)
                .collect::<String>()
        });
    let token = state
        .identity()
        .sessions
        .issue(&SessionClaims {
            session_id: session.id,
            principal_id: id,
            issued_at: now,
            expires_at: session.expires_at,
        })
        .map_err(|e| ApiError::internal(&e))?;
    // The audit trail records the login as the principal's, with the session as credential;
    // the session and that entry commit together.
    let caller = Caller {
        principal: record.principal,
        credential_id: session.id,
        scopes: None,
        kind: CredentialKind::Session,
        expires_at: Some(session.expires_at),
        allowed_ips: None,
    };
    slot.set(&caller);
    audit.detail("mfa", mfa_needed);
    if enrollment_only {
        audit.detail("enrollment_session", true);
    }
    let status = if enrollment_only {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let expires_at = session.expires_at;
    audit
        .commit(
            &state,
            &caller,
            status,
            StoreChange::InsertSession {
                session,
                client_ip: client_ip.map(|ip| ip.to_string()),
                user_agent,
            },
        )
        .await?;
    if enrollment_only {
        return Ok(enrollment_required(&token, id, expires_at));
    }
    Ok(Json(json!({
        "token": token,
        "expires_at": time_text(expires_at),
    }))
    .into_response())
}

/// Lifetime of a session that may only enrol a second factor.
const ENROLLMENT_SESSION_SECONDS: i64 = 600;

/// The `401 mfa-required` answer to a right password when a role requires a second factor
/// that is not enrolled: it carries an `enrollment_token`, a session good only for
/// `POST /v1/principals/{id}/totp` and its confirmation.
fn enrollment_required(token: &str, id: Uuid, expires_at: OffsetDateTime) -> Response {
    let body = json!({
        "type": "https://rampart.dev/problems/mfa-required",
        "title": "Second factor required",
        "status": 401,
        "detail": format!(
            "a role of this principal requires a second factor: enroll TOTP with the enrollment_token (POST /v1/principals/{id}/totp, then /confirm), then log in with the code"
        ),
        "enrollment_token": token,
        "enrollment_expires_at": time_text(expires_at),
    });
    let mut response = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/problem+json"),
    );
    headers.insert(
        http::header::WWW_AUTHENTICATE,
        http::HeaderValue::from_static("Bearer realm=\"rampart\""),
    );
    response
}

/// Ends the presented session.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "identity", security(("bearer" = [])),
    responses((status = 200, description = "{\"revoked\": true}", body = Object)))]
pub async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
) -> Result<Json<Value>, ApiError> {
    audit.note("auth.logout", "session", &caller.credential_id.to_string());
    if caller.kind != CredentialKind::Session {
        return Err(invalid(
            "authorization",
            "logout ends sessions; revoke an API key with DELETE /v1/api-keys/{id}",
        ));
    }
    let revoked = audit
        .commit(
            &state,
            &caller,
            StatusCode::OK,
            StoreChange::RevokeSession {
                id: caller.credential_id,
                now: OffsetDateTime::now_utc(),
            },
        )
        .await?;
    Ok(Json(json!({"revoked": revoked})))
}

/// Checks a credential an application's caller presented.
#[utoipa::path(post, path = "/v1/auth/introspect", tag = "identity", security(("bearer" = [])),
    request_body(content = Object, description = "{\"credential\": \"rk_… | v4.public.…\", \"client_ip\": \"203.0.113.7\"?}"),
    responses((status = 200, description = "{\"active\": true, \"principal_id\", …} or {\"active\": false}", body = Object)))]
pub async fn introspect(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&state, "authz:check")?;
    let object = object(&body, &["credential", "client_ip"], "")?;
    let one = |e: FieldError| ApiError::validation(vec![e]);
    let credential = text(object, "credential", "credential", true)
        .map_err(one)?
        .unwrap_or_default();
    let client_ip = match text(object, "client_ip", "client_ip", false).map_err(one)? {
        Some(ip) => Some(
            ip.parse::<IpAddr>()
                .map_err(|_| invalid("client_ip", "is not an IP address"))?,
        ),
        None => None,
    };
    match check_credential(&state, credential, client_ip, OffsetDateTime::now_utc()).await {
        // A password without its required second factor is no login for an application.
        Ok(found) if crate::http::auth::is_enrollment_only(&found) => {
            tracing::info!("introspection: an enrollment session is not a login");
            Ok(Json(json!({"active": false})))
        }
        Ok(found) => Ok(Json(json!({
            "active": true,
            "principal_id": found.principal.id.to_string(),
            "principal_type": found.principal.kind.as_str(),
            "name": found.principal.name,
            "roles": found.principal.roles,
            "teams": found.principal.teams,
            "scopes": found.scopes,
            "credential_type": match found.kind { CredentialKind::ApiKey => "api_key", CredentialKind::Session => "session" },
            "expires_at": found.expires_at.map(time_text),
        }))),
        Err(CredentialError::Refused(reason)) => {
            tracing::info!(reason, "introspection: credential not active");
            Ok(Json(json!({"active": false})))
        }
        Err(CredentialError::Store(e)) => Err(ApiError::internal(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_sources_are_addresses_and_ipv6_prefixes() {
        let source = |text: &str| throttle_source(Some(text.parse().expect("address")));
        assert_eq!(source("192.0.2.7"), "192.0.2.7");
        assert_eq!(source("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(source("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(source("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::/64");
        assert_ne!(source("2001:db8:1:3::1"), source("2001:db8:1:2::1"));
        assert_eq!(throttle_source(None), "-");
    }
}
