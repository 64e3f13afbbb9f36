//! Principals: create, read, change, disable, unlock; who may manage whom (team isolation and
//! role coverage). Every change commits with its audit entry. Passwords never reach a log, an
//! error or the audit log.

use rampart_access::perm;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use rampart_access::IdentityChange;
use rampart_access::identity::IdentityError;
use rampart_access::password::{PasswordPolicy, PasswordProblem};
use rampart_access::{Principal, PrincipalKind};
use rampart_access::{PrincipalRecord, PrincipalUpdate};
use rampart_audit::{Journal as _, JournalError};
use secrecy::SecretString;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::http::audit_trail::AuditSlot;
use crate::http::auth::Caller;
use crate::http::json::ApiJson;
use crate::http::query::ApiQuery;
use crate::http::request::{Page, PageQuery, field, invalid, object, page_limit, text, time_text};
use crate::problem::{ApiError, FieldError};
use crate::state::AppState;

mod fields;

use fields::{names, note_subject_link, owner_link, subject_link, valid_email, valid_name};

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
    /// The data subject (GDPR) the application linked the principal to, or `null`.
    pub subject_id: Option<String>,
    /// The principal who answers for this one (an AI agent's owner: never an approver of its
    /// actions), or `null`.
    pub owner_id: Option<String>,
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
        subject_id: p.subject_id.clone(),
        owner_id: p.owner_id.map(|o| o.to_string()),
    }
}

pub(super) fn principal_id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError::not_found("no principal with that id"))
}

pub(super) async fn load(state: &AppState, id: Uuid) -> Result<PrincipalRecord, ApiError> {
    Ok(state.principals().get(id).await?)
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
    Ok(rampart_access::identity::may_manage(
        &state.policy(),
        caller,
        target,
    )?)
}

/// Commits an identity change with this request's audit entry (see `AuditSlot::commit`), as
/// `caller`, for an answer of `status`: `false` when its precondition no longer held and
/// nothing was written.
pub(super) async fn commit_identity(
    audit: &AuditSlot,
    state: &AppState,
    caller: &Caller,
    status: StatusCode,
    change: IdentityChange,
) -> Result<bool, ApiError> {
    match audit.journal(state, caller, status).commit(change).await {
        Ok(()) => Ok(true),
        Err(JournalError::Refused) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

impl From<IdentityError> for ApiError {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::NotFound(what) => ApiError::not_found(what),
            IdentityError::Forbidden(what) => ApiError::forbidden(&what),
            IdentityError::Refused(why) => ApiError::refused(why),
            IdentityError::Denied(denied) => denied.into(),
            IdentityError::InvalidField { field, message } => invalid(field, message),
            IdentityError::Conflict(what) => ApiError::conflict(what),
            IdentityError::Journal(e) => e.into(),
            IdentityError::Store(cause) => ApiError::internal(&*cause),
        }
    }
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
        if !caller.holds(&state.policy(), "roles:manage")
            && (caller.scopes().is_some() || !caller.principal().roles.contains(role))
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
    if caller.holds(&state.policy(), "roles:manage")
        || (caller.scopes().is_none()
            && state
                .policy()
                .bypasses_team_isolation(&caller.principal().roles))
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
    match teams.iter().find(|t| !caller.principal().teams.contains(t)) {
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
    let settings = state.settings();
    let policy = PasswordPolicy {
        min_length: usize::try_from(settings.password_min_length).unwrap_or(12),
        require_upper: settings.password_require_upper,
        require_lower: settings.password_require_lower,
        require_digit: settings.password_require_digit,
        require_symbol: settings.password_require_symbol,
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
    request_body = crate::routes::identity_schema::CreatePrincipalRequest,
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
    caller.require::<perm::UsersManage>(&state.policy())?;
    let object = object(
        &body,
        &[
            "type",
            "name",
            "email",
            "password",
            "roles",
            "teams",
            "subject_id",
            "owner_id",
        ],
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
    // A request that names no roles gets `default_roles` (granted like named ones).
    let roles = names(object, "roles")
        .map_err(one)?
        .unwrap_or_else(|| state.settings().default_roles.clone());
    let teams = names(object, "teams").map_err(one)?.unwrap_or_default();
    let subject_id = subject_link(object)?.flatten();
    let owner_id = owner_link(&state, object, None).await?.flatten();
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
        subject_id,
        owner_id,
    };
    audit.note("principals.create", "principal", &principal.id.to_string());
    audit.detail("name", principal.name.clone());
    audit.detail("roles", principal.roles.clone());
    audit.detail("teams", principal.teams.clone());
    if let Some(owner) = principal.owner_id {
        audit.detail("owner_id", owner.to_string());
    }
    // The link is the entry's own `subject_id` (indexed, part of the subject's export), never
    // a detail.
    if let Some(subject_id) = &principal.subject_id {
        audit.subject(subject_id);
        audit.detail("subject_link", "linked");
    }
    let id = principal.id;
    if !commit_identity(
        &audit,
        &state,
        &caller,
        StatusCode::CREATED,
        IdentityChange::CreatePrincipal {
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

/// Lists principals.
#[utoipa::path(get, path = "/v1/principals", tag = "identity", security(("bearer" = [])), params(crate::http::request::PageQuery),
    responses((status = 200, description = "A page of principals", body = Page<PrincipalBody>)))]
pub async fn list_principals(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Page<PrincipalBody>>, ApiError> {
    let limit = page_limit(query.limit)?;
    let after = match &query.cursor {
        Some(c) => Some(
            Uuid::parse_str(c)
                .map_err(|_| invalid("cursor", "is not a cursor this API returned"))?,
        ),
        None => None,
    };
    let records = state
        .principals()
        .list(&state.policy(), &caller, after, limit)
        .await?;
    let now = OffsetDateTime::now_utc();
    let next_cursor = (records.len() == limit as usize)
        .then(|| records.last().map(|r| r.principal.id.to_string()))
        .flatten();
    Ok(Json(Page {
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
    let record = state
        .principals()
        .readable(&state.policy(), &caller, id)
        .await?;
    Ok(Json(body_of(&record, OffsetDateTime::now_utc())))
}

/// Changes roles, teams, email, the data-subject link (`subject_id`), the owner (`owner_id`)
/// or `disabled`.
#[utoipa::path(patch, path = "/v1/principals/{id}", tag = "identity", security(("bearer" = [])),
    params(("id" = String, Path, description = "The principal's id")),
    request_body = crate::routes::identity_schema::UpdatePrincipalRequest,
    responses((status = 200, description = "The principal", body = PrincipalBody)))]
pub async fn update_principal(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<PrincipalBody>, ApiError> {
    audit.note("principals.update", "principal", &id);
    let granted = caller.require::<perm::UsersManage>(&state.policy())?;
    let id = principal_id(&id)?;
    let object = object(
        &body,
        &[
            "roles",
            "teams",
            "disabled",
            "email",
            "subject_id",
            "owner_id",
        ],
        "",
    )?;
    let one = |e: FieldError| ApiError::validation(vec![e]);
    let target = state
        .principals()
        .manageable(&state.policy(), &caller, granted, id)
        .await?;
    let roles = names(object, "roles").map_err(one)?;
    if let Some(roles) = &roles {
        check_roles(&state, &caller, roles)?;
        let mut before = target.principal.roles.clone();
        let mut after = roles.clone();
        before.sort();
        after.sort();
        // Adding or removing another principal's roles is role management.
        if before != after && id != caller.principal().id {
            caller.require::<perm::RolesManage>(&state.policy())?;
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
    let subject_id = subject_link(object)?;
    if let Some(link) = &subject_id {
        note_subject_link(
            &audit,
            target.principal.subject_id.as_deref(),
            link.as_deref(),
        );
    }
    let owner_id = owner_link(&state, object, Some(id)).await?;
    if let Some(owner) = &owner_id {
        audit.detail(
            "owner_id_before",
            target.principal.owner_id.map(|o| o.to_string()),
        );
        audit.detail("owner_id", owner.map(|o| o.to_string()));
    }
    let update = PrincipalUpdate {
        teams,
        roles,
        disabled,
        email,
        subject_id,
        owner_id,
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
    if !commit_identity(
        audit,
        state,
        caller,
        StatusCode::OK,
        IdentityChange::UpdatePrincipal {
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
    let granted = caller.require::<perm::UsersManage>(&state.policy())?;
    let id = principal_id(&id)?;
    let target = state
        .principals()
        .manageable(&state.policy(), &caller, granted, id)
        .await?;
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
    caller.require::<perm::UsersManage>(&state.policy())?;
    let id = principal_id(&id)?;
    let record = load(&state, id).await?;
    // Every lock of the name: account-wide and per address, with its audit entry.
    commit_identity(
        &audit,
        &state,
        &caller,
        StatusCode::OK,
        IdentityChange::ClearLoginThrottles {
            name: record.principal.name.clone(),
        },
    )
    .await?;
    Ok(Json(body_of(
        &load(&state, id).await?,
        OffsetDateTime::now_utc(),
    )))
}

/// This module's routes, their OpenAPI paths and their audit behaviour.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_principal, list_principals))
        .routes(routes!(get_principal, update_principal, disable_principal))
        .routes(routes!(unlock_principal))
}
