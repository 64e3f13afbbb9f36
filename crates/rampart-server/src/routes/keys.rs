//! Keys and encryption as a service: named keys, encrypt/decrypt/rewrap (single and batch),
//! HMAC and signatures.
//!
//! Bodies are read as JSON values and taken apart field by field, so no error message can echo
//! a plaintext or a key (serde's messages quote the offending value).

use axum::Json;
use axum::extract::{Path, State};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::StatusCode;
use rampart_access::perm;
use rampart_crypto::fernet::FernetKey;
use rampart_crypto::{KeyMaterial, KeyOpError, KeyRecord, KeyType, KeyUpdate};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::audit_trail::AuditSlot;
use crate::http::auth::Caller;
use crate::http::json::ApiJson;
use crate::http::query::ApiQuery;
use crate::http::request::{PageQuery, invalid, object, page_limit, text, timestamp};
use crate::key_service::{KeyServiceError, LoadedKey, is_internal};
use crate::problem::ApiError;
use crate::state::AppState;

/// Most items in one batch request.
pub const MAX_BATCH_ITEMS: usize = 10_000;

/// A positive integer field that fits a `u32`.
fn positive(object: &Map<String, Value>, name: &str) -> Result<Option<Option<u32>>, ApiError> {
    match object.get(name) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(value) => value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n >= 1)
            .map(|n| Some(Some(n)))
            .ok_or_else(|| invalid(name, "must be an integer from 1 to 4294967295")),
    }
}

/// One version of a key.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyVersionBody {
    /// The version number.
    pub version: u32,
    /// When it was created.
    pub created_at: String,
    /// The Ed25519 public key of this version (standard base64), for `ed25519` keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key_b64: Option<String>,
}

/// A key's metadata. Never key material.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyMetadata {
    /// The key's name.
    pub name: String,
    /// `aes256-gcm`, `fernet`, `hmac-sha256` or `ed25519`.
    #[serde(rename = "type")]
    pub key_type: String,
    /// The version that encrypts and signs.
    pub latest_version: u32,
    /// The lowest version that may decrypt or verify.
    pub min_decryption_version: u32,
    /// Every version, oldest first.
    pub versions: Vec<KeyVersionBody>,
    /// Days between automatic rotations, or null.
    pub rotation_period_days: Option<u32>,
    /// When the next automatic rotation is due, or null.
    pub next_rotation_at: Option<String>,
    /// When the key was created.
    pub created_at: String,
    /// The team whose members alone use the key; null: any caller with the permission.
    pub team_id: Option<String>,
}

fn metadata(record: &KeyRecord, loaded: Option<&LoadedKey>) -> KeyMetadata {
    KeyMetadata {
        name: record.name.clone(),
        key_type: record.key_type.as_str().to_owned(),
        latest_version: record.latest_version,
        min_decryption_version: record.min_decryption_version,
        versions: record
            .versions
            .iter()
            .map(|v| KeyVersionBody {
                version: v.version,
                created_at: timestamp(v.created_at),
                public_key_b64: loaded
                    .and_then(|l| l.ring.public_key(v.version))
                    .map(|k| STANDARD.encode(k)),
            })
            .collect(),
        rotation_period_days: record.rotation_period_days,
        next_rotation_at: record.next_rotation_at().map(timestamp),
        created_at: timestamp(record.created_at),
        team_id: record.team_id.clone(),
    }
}

/// Maps a keys-service failure to its problem.
pub(crate) fn service_error(error: KeyServiceError) -> ApiError {
    // Names come from the path: a card number or secret typed there is not echoed.
    let scrub = crate::http::audit_trail::scrub_identifier;
    match error {
        KeyServiceError::NotFound(name) => {
            ApiError::not_found(format!("no key named '{}'", scrub(&name)))
        }
        KeyServiceError::Exists(name) => {
            ApiError::conflict(format!("a key named '{}' already exists", scrub(&name)))
        }
        KeyServiceError::InvalidName => invalid("name", KeyServiceError::InvalidName.to_string()),
        KeyServiceError::Reserved(name) => ApiError::reserved(format!(
            "'{}' is one of Rampart's own keys; it cannot be used through this endpoint",
            scrub(&name)
        )),
        KeyServiceError::Invalid { field, message } => invalid(field, message),
        KeyServiceError::Conflict => {
            ApiError::conflict("the key was changed by another request at the same moment; retry")
        }
        other => ApiError::internal(&other),
    }
}

/// The problem for an operation's failure; `field` names the input at fault.
pub(crate) fn op_error(error: &KeyOpError, path: &str) -> ApiError {
    match error {
        KeyOpError::Random => ApiError::internal(error),
        KeyOpError::WrongKeyType { .. } | KeyOpError::TtlUnsupported => {
            invalid("key", error.to_string())
        }
        KeyOpError::AssociatedDataUnsupported => invalid(
            &path.replace("ciphertext", "associated_data"),
            error.to_string(),
        ),
        KeyOpError::Exhausted => ApiError::conflict(error.to_string()),
        _ => invalid(path, error.to_string()),
    }
}

/// Team isolation of keys: a key with a `team_id` serves only members of that team, or callers
/// whose roles bypass team isolation; to others it does not exist.
pub(crate) fn may_use_key(
    state: &AppState,
    caller: &Caller,
    record: &KeyRecord,
) -> Result<(), ApiError> {
    match &record.team_id {
        Some(team)
            if !caller.principal().teams.contains(team)
                && !state
                    .policy()
                    .bypasses_team_isolation(&caller.principal().roles) =>
        {
            // As if it did not exist (404): the key list does not show it either.
            Err(service_error(KeyServiceError::NotFound(
                record.name.clone(),
            )))
        }
        _ => Ok(()),
    }
}

pub(super) async fn usable_key(
    state: &AppState,
    caller: &Caller,
    name: &str,
) -> Result<std::sync::Arc<LoadedKey>, ApiError> {
    if is_internal(name) {
        return Err(service_error(KeyServiceError::Reserved(name.to_owned())));
    }
    let key = state.keys().get(name).await.map_err(service_error)?;
    may_use_key(state, caller, &key.record)?;
    Ok(key)
}

/// Creates a key.
#[utoipa::path(post, path = "/v1/keys", tag = "keys", security(("bearer" = [])),
    request_body(content = Object, description = "{\"name\": \"payments\", \"type\": \"aes256-gcm\", \"rotation_period_days\": 90, \"import_key\": \"<Fernet key>\"?}"),
    responses(
        (status = 201, description = "The key", body = KeyMetadata),
        (status = 409, description = "The name is taken", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid request", body = crate::problem::Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<KeyMetadata>), ApiError> {
    caller.require::<perm::KeysManage>(&state.policy())?;
    let object = object(
        &body,
        &[
            "name",
            "type",
            "rotation_period_days",
            "import_key",
            "team_id",
        ],
        "",
    )?;
    let name = text(object, "name", "name", true)
        .map_err(|e| ApiError::validation(vec![e]))?
        .unwrap_or_default();
    audit.note("keys.create", "key", name);
    if is_internal(name) {
        return Err(service_error(KeyServiceError::Reserved(name.to_owned())));
    }
    let key_type =
        match text(object, "type", "type", false).map_err(|e| ApiError::validation(vec![e]))? {
            None => KeyType::Aes256Gcm,
            Some(t) => t
                .parse()
                .map_err(|e: rampart_crypto::UnknownKeyType| invalid("type", e.to_string()))?,
        };
    let rotation = positive(object, "rotation_period_days")?.flatten();
    let material = match text(object, "import_key", "import_key", false)
        .map_err(|e| ApiError::validation(vec![e]))?
    {
        None => None,
        Some(_) if key_type != KeyType::Fernet => {
            return Err(invalid(
                "import_key",
                "only fernet keys can be imported (an existing Python Fernet key)",
            ));
        }
        Some(imported) => {
            let key = FernetKey::from_base64(imported).map_err(|_| {
                invalid(
                    "import_key",
                    "is not a Fernet key: expected the url-safe base64 of 32 bytes, as Fernet.generate_key() makes",
                )
            })?;
            KeyMaterial::from_slice(key.to_bytes().as_slice())
        }
    };
    let team_id = text(object, "team_id", "team_id", false)
        .map_err(|e| ApiError::validation(vec![e]))?
        .map(str::to_owned);
    if let Some(team) = &team_id {
        if team.is_empty()
            || team.len() > 128
            || !team
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
        {
            return Err(invalid(
                "team_id",
                "1 to 128 characters of A-Z, a-z, 0-9, '.', '_', '-', '@'",
            ));
        }
        if !caller.principal().teams.contains(team)
            && !state
                .policy()
                .bypasses_team_isolation(&caller.principal().roles)
        {
            return Err(invalid(
                "team_id",
                "is not a team of the caller (only roles that bypass team isolation create keys for other teams)",
            ));
        }
        audit.detail("team_id", team.clone());
    }
    audit.detail("type", key_type.as_str());
    audit.detail("imported", material.is_some());
    let change = state
        .keys()
        .prepare_create(name, key_type, rotation, material, team_id)
        .map_err(service_error)?;
    if !audit
        .commit(&state, &caller, StatusCode::CREATED, change)
        .await?
    {
        return Err(service_error(KeyServiceError::Exists(name.to_owned())));
    }
    let loaded = state.keys().reload(name).await.map_err(service_error)?;
    let record = loaded.record.clone();
    let loaded = Some(loaded);
    Ok((
        StatusCode::CREATED,
        Json(metadata(&record, loaded.as_deref())),
    ))
}

/// Page of keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeysPage {
    /// Keys by name.
    pub items: Vec<KeyMetadata>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Lists keys.
#[utoipa::path(get, path = "/v1/keys", tag = "keys", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "A page of keys", body = KeysPage)))]
pub async fn list_keys(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<KeysPage>, ApiError> {
    caller.require::<perm::KeysRead>(&state.policy())?;
    let limit = page_limit(query.limit)?;
    let after = match &query.cursor {
        Some(cursor) => Some(
            URL_SAFE_NO_PAD
                .decode(cursor)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| invalid("cursor", "is not a cursor this API returned"))?,
        ),
        None => None,
    };
    let records = state
        .keys()
        .list(after.as_deref(), limit)
        .await
        .map_err(service_error)?;
    let next_cursor = (records.len() == limit as usize)
        .then(|| records.last().map(|r| URL_SAFE_NO_PAD.encode(&r.name)))
        .flatten();
    let mut items = Vec::with_capacity(records.len());
    for record in records
        .iter()
        .filter(|r| may_use_key(&state, &caller, r).is_ok())
    {
        let loaded = if record.key_type == KeyType::Ed25519 {
            state.keys().get(&record.name).await.ok()
        } else {
            None
        };
        items.push(metadata(record, loaded.as_deref()));
    }
    Ok(Json(KeysPage { items, next_cursor }))
}

/// One key's metadata.
#[utoipa::path(get, path = "/v1/keys/{name}", tag = "keys", security(("bearer" = [])),
    params(("name" = String, Path, description = "The key's name")),
    responses((status = 200, description = "The key", body = KeyMetadata),
        (status = 404, description = "No such key", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn get_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<KeyMetadata>, ApiError> {
    caller.require::<perm::KeysRead>(&state.policy())?;
    let record = state.keys().record(&name).await.map_err(service_error)?;
    may_use_key(&state, &caller, &record)?;
    let loaded = if record.key_type == KeyType::Ed25519 {
        Some(state.keys().get(&name).await.map_err(service_error)?)
    } else {
        None
    };
    Ok(Json(metadata(&record, loaded.as_deref())))
}

/// Adds a version and makes it the latest.
#[utoipa::path(post, path = "/v1/keys/{name}/rotate", tag = "keys", security(("bearer" = [])),
    params(("name" = String, Path, description = "The key's name")),
    responses((status = 200, description = "The key with its new latest version", body = KeyMetadata)))]
pub async fn rotate_key(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(name): Path<String>,
) -> Result<Json<KeyMetadata>, ApiError> {
    audit.note("keys.rotate", "key", &name);
    caller.require::<perm::KeysManage>(&state.policy())?;
    may_use_key(
        &state,
        &caller,
        &state.keys().record(&name).await.map_err(service_error)?,
    )?;
    let before = state.keys().record(&name).await.map_err(service_error)?;
    let change = state
        .keys()
        .prepare_rotation(&name, before.latest_version)
        .map_err(service_error)?;
    audit.detail("latest_version", before.latest_version.saturating_add(1));
    if !audit
        .commit(&state, &caller, StatusCode::OK, change)
        .await?
    {
        return Err(service_error(KeyServiceError::Conflict));
    }
    let loaded = state.keys().reload(&name).await.map_err(service_error)?;
    let record = loaded.record.clone();
    let loaded = Some(loaded);
    Ok(Json(metadata(&record, loaded.as_deref())))
}

/// Changes `min_decryption_version` and/or `rotation_period_days`. Lowering the minimum
/// (reviving retired versions) needs `"allow_lowering": true` and is audited with both values.
#[utoipa::path(patch, path = "/v1/keys/{name}", tag = "keys", security(("bearer" = [])),
    params(("name" = String, Path, description = "The key's name")),
    request_body(content = Object, description = "{\"min_decryption_version\": N, \"rotation_period_days\": N | null, \"allow_lowering\": bool?}"),
    responses((status = 200, description = "The key", body = KeyMetadata),
        (status = 422, description = "Invalid value, or a lower minimum without allow_lowering", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn update_key(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<KeyMetadata>, ApiError> {
    audit.note("keys.update", "key", &name);
    caller.require::<perm::KeysManage>(&state.policy())?;
    may_use_key(
        &state,
        &caller,
        &state.keys().record(&name).await.map_err(service_error)?,
    )?;
    let object = object(
        &body,
        &[
            "min_decryption_version",
            "rotation_period_days",
            "allow_lowering",
        ],
        "",
    )?;
    let allow_lowering = match object.get("allow_lowering") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(allow)) => *allow,
        Some(_) => return Err(invalid("allow_lowering", "must be true or false")),
    };
    let min = match positive(object, "min_decryption_version")? {
        Some(None) => return Err(invalid("min_decryption_version", "must be a number")),
        Some(Some(n)) => Some(n),
        None => None,
    };
    let update = KeyUpdate {
        min_decryption_version: min,
        rotation_period_days: positive(object, "rotation_period_days")?,
        allow_lowering,
    };
    if let Some(min) = update.min_decryption_version {
        let before = state.keys().record(&name).await.map_err(service_error)?;
        audit.detail(
            "previous_min_decryption_version",
            before.min_decryption_version,
        );
        audit.detail("min_decryption_version", min);
        audit.detail("allow_lowering", allow_lowering);
        // Retiring a version of the cards key while cards are still under it would strand them.
        if name == crate::key_service::CARDS_KEY {
            let stranded = rampart_crypto::CardStore::count_cards_below(state.store(), min)
                .await
                .map_err(|e| ApiError::internal(&e))?;
            if stranded > 0 {
                return Err(ApiError::conflict(format!(
                    "{stranded} stored cards are still encrypted under versions below {min}; run `rampart keys rewrap-all --key {name}` first"
                )));
            }
        }
    }
    let change = state
        .keys()
        .prepare_update(&name, &update)
        .await
        .map_err(service_error)?;
    if !audit
        .commit(&state, &caller, StatusCode::OK, change)
        .await?
    {
        return Err(service_error(state.keys().update_refused(&name).await));
    }
    let loaded = state.keys().reload(&name).await.map_err(service_error)?;
    let record = loaded.record.clone();
    Ok(Json(metadata(&record, Some(&loaded))))
}

/// This module's routes, their OpenAPI paths and their audit behaviour.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_key, list_keys))
        .routes(routes!(get_key, update_key))
        .routes(routes!(rotate_key))
}
