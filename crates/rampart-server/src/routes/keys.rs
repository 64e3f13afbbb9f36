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
use rampart_crypto::fernet::FernetKey;
use rampart_crypto::{Envelope, KeyMaterial, KeyOpError, KeyRecord, KeyType, KeyUpdate};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use zeroize::Zeroizing;

use crate::http::audit_trail::AuditSlot;
use crate::http::auth::Caller;
use crate::http::json::ApiJson;
use crate::http::query::ApiQuery;
use crate::key_service::{KeyServiceError, LoadedKey, is_internal};
use crate::problem::{ApiError, FieldError};
use crate::state::AppState;

/// Most items in one batch request.
pub const MAX_BATCH_ITEMS: usize = 10_000;

pub(crate) fn field(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.into(),
    }
}

pub(crate) fn invalid(name: &str, message: impl Into<String>) -> ApiError {
    ApiError::validation(vec![field(name, message)])
}

/// The body as an object whose fields are all in `allowed`.
pub(crate) fn object<'a>(
    body: &'a Value,
    allowed: &[&str],
    prefix: &str,
) -> Result<&'a Map<String, Value>, ApiError> {
    let name = if prefix.is_empty() { "body" } else { prefix };
    let object = body
        .as_object()
        .ok_or_else(|| invalid(name, "must be a JSON object"))?;
    for key in object.keys() {
        if !allowed.contains(&key.as_str()) {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            return Err(invalid(&path, "is not a field of this request"));
        }
    }
    Ok(object)
}

/// A standard-base64 field, decoded. Never quotes the value.
pub(crate) fn b64(
    object: &Map<String, Value>,
    name: &str,
    path: &str,
    required: bool,
) -> Result<Option<Zeroizing<Vec<u8>>>, FieldError> {
    match object.get(name) {
        None | Some(Value::Null) if !required => Ok(None),
        None | Some(Value::Null) => Err(field(path, "is required")),
        Some(Value::String(text)) => STANDARD
            .decode(text)
            .map(|bytes| Some(Zeroizing::new(bytes)))
            .map_err(|_| field(path, "is not valid standard base64 (with padding)")),
        Some(_) => Err(field(path, "must be a base64 string")),
    }
}

/// A string field.
pub(crate) fn text<'a>(
    object: &'a Map<String, Value>,
    name: &str,
    path: &str,
    required: bool,
) -> Result<Option<&'a str>, FieldError> {
    match object.get(name) {
        None | Some(Value::Null) if !required => Ok(None),
        None | Some(Value::Null) => Err(field(path, "is required")),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(field(path, "must be a string")),
    }
}

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

/// A page size from `?limit=` (default 100, 1 to 1000).
pub(crate) fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    let limit = limit.unwrap_or(100);
    if (1..=1000).contains(&limit) {
        Ok(limit)
    } else {
        Err(invalid("limit", "must be between 1 and 1000"))
    }
}

/// A time as API.md writes it (`2026-11-22T14:03:07.123456Z`).
pub(crate) fn time_text(at: OffsetDateTime) -> String {
    timestamp(i64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX))
}

pub(crate) fn timestamp(micros: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
        .map(rampart_audit::entry::format_timestamp)
        .unwrap_or_default()
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
            if !caller.principal.teams.contains(team)
                && !state
                    .policy()
                    .bypasses_team_isolation(&caller.principal.roles) =>
        {
            // As if it did not exist (404): the key list does not show it either.
            Err(service_error(KeyServiceError::NotFound(
                record.name.clone(),
            )))
        }
        _ => Ok(()),
    }
}

async fn usable_key(
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
    caller.require(&state, "keys:manage")?;
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
        if !caller.principal.teams.contains(team)
            && !state
                .policy()
                .bypasses_team_isolation(&caller.principal.roles)
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

/// `?limit=N&cursor=C`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 1000 (default 100).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Lists keys.
#[utoipa::path(get, path = "/v1/keys", tag = "keys", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "A page of keys", body = KeysPage)))]
pub async fn list_keys(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<KeysPage>, ApiError> {
    caller.require(&state, "keys:read")?;
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
    caller.require(&state, "keys:read")?;
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
    caller.require(&state, "keys:manage")?;
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
    caller.require(&state, "keys:manage")?;
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

/// What one item of an operation produced.
type ItemResult = Result<Map<String, Value>, ApiError>;

/// Runs `one` on the single item (the body) or on each item of `batch`.
fn single_or_batch(
    body: &Value,
    allowed: &[&str],
    audit: &AuditSlot,
    mut one: impl FnMut(&Map<String, Value>, &str) -> ItemResult,
) -> Result<Json<Value>, ApiError> {
    let root = body
        .as_object()
        .ok_or_else(|| invalid("body", "must be a JSON object"))?;
    match root.get("batch") {
        None => {
            let item = object(body, allowed, "")?;
            audit.detail("items", 1);
            one(item, "").map(|out| Json(Value::Object(out)))
        }
        Some(Value::Array(items)) => {
            if root.len() != 1 {
                return Err(invalid("batch", "a batch request has no other fields"));
            }
            if items.is_empty() || items.len() > MAX_BATCH_ITEMS {
                return Err(invalid(
                    "batch",
                    format!("must hold 1 to {MAX_BATCH_ITEMS} items"),
                ));
            }
            let mut failed = 0u64;
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let prefix = format!("batch[{i}]");
                let result = object(item, allowed, &prefix).and_then(|o| one(o, &prefix));
                out.push(match result {
                    Ok(fields) => Value::Object(fields),
                    Err(problem) => {
                        failed += 1;
                        if problem.status().is_server_error() {
                            return Err(problem);
                        }
                        json!({"error": problem.problem().detail})
                    }
                });
            }
            audit.detail("items", items.len());
            audit.detail("failed", failed);
            Ok(Json(json!({"batch": out})))
        }
        Some(_) => Err(invalid("batch", "must be an array of items")),
    }
}

fn path_of(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

fn fields(
    item: &Map<String, Value>,
    name: &str,
    prefix: &str,
    required: bool,
) -> Result<Option<Zeroizing<Vec<u8>>>, ApiError> {
    b64(item, name, &path_of(prefix, name), required).map_err(|e| ApiError::validation(vec![e]))
}

/// The optional `associated_data` of a raw operation. Associated data in the space reserved
/// for document fields is refused, so raw encrypt cannot mint a field that
/// `/v1/documents/decrypt` accepts, and raw decrypt cannot open one.
fn associated_data(
    item: &Map<String, Value>,
    prefix: &str,
) -> Result<Option<Zeroizing<Vec<u8>>>, ApiError> {
    let aad = fields(item, "associated_data", prefix, false)?;
    if aad
        .as_deref()
        .is_some_and(|aad| rampart_crypto::document::is_reserved_aad(aad))
    {
        return Err(invalid(
            &path_of(prefix, "associated_data"),
            "starts with \"rampart-document-field-\", which is reserved for /v1/documents; use /v1/documents/encrypt and /v1/documents/decrypt for document fields",
        ));
    }
    Ok(aad)
}

fn string<'a>(item: &'a Map<String, Value>, name: &str, prefix: &str) -> Result<&'a str, ApiError> {
    text(item, name, &path_of(prefix, name), true)
        .map_err(|e| ApiError::validation(vec![e]))
        .map(Option::unwrap_or_default)
}

fn ttl(item: &Map<String, Value>, prefix: &str) -> Result<Option<u64>, ApiError> {
    match item.get("ttl_seconds") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().filter(|n| *n >= 1).map(Some).ok_or_else(|| {
            invalid(
                &path_of(prefix, "ttl_seconds"),
                "must be a positive integer",
            )
        }),
    }
}

/// Encrypts with the key's latest version.
#[utoipa::path(post, path = "/v1/keys/{name}/encrypt", tag = "keys", security(("bearer" = [])),
    params(("name" = String, Path, description = "The key's name")),
    request_body(content = Object, description = "{\"plaintext\": \"b64\", \"associated_data\": \"b64\"?} or {\"batch\": [...]}"),
    responses((status = 200, description = "{\"ciphertext\": \"rampart:v1:…\", \"key_version\": 1} or {\"batch\": [...]}", body = Object),
        (status = 422, description = "Invalid input", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn encrypt(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    audit.note("keys.encrypt", "key", &name);
    caller.require(&state, "keys:encrypt")?;
    let key = usable_key(&state, &caller, &name).await?;
    audit.detail("key_version", key.ring.latest_version());
    single_or_batch(
        &body,
        &["plaintext", "associated_data"],
        &audit,
        |item, prefix| {
            let plaintext = fields(item, "plaintext", prefix, true)?.unwrap_or_default();
            let aad = associated_data(item, prefix)?;
            let (ciphertext, version) = key
                .ring
                .encrypt(&plaintext, aad.as_deref().map(Vec::as_slice))
                .map_err(|e| op_error(&e, &path_of(prefix, "plaintext")))?;
            let mut out = Map::new();
            out.insert("ciphertext".to_owned(), Value::String(ciphertext));
            out.insert("key_version".to_owned(), json!(version));
            Ok(out)
        },
    )
}

/// The version a ciphertext names, if it names one (Fernet tokens do not).
fn named_version(ciphertext: &str) -> Option<u32> {
    Envelope::peek_version(ciphertext).ok()
}

/// Decrypts with the version the ciphertext names.
#[utoipa::path(post, path = "/v1/keys/{name}/decrypt", tag = "keys", security(("bearer" = [])),
    params(("name" = String, Path, description = "The key's name")),
    request_body(content = Object, description = "{\"ciphertext\": \"…\", \"associated_data\": \"b64\"?, \"ttl_seconds\": N?} or {\"batch\": [...]}"),
    responses((status = 200, description = "{\"plaintext\": \"b64\", \"key_version\": N} or {\"batch\": [...]}", body = Object),
        (status = 422, description = "Tampered, malformed or below min_decryption_version", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn decrypt(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    audit.note("keys.decrypt", "key", &name);
    caller.require(&state, "keys:decrypt")?;
    let key = usable_key(&state, &caller, &name).await?;
    let key = reload_for(&state, &name, key, &body, "ciphertext").await?;
    single_or_batch(
        &body,
        &["ciphertext", "associated_data", "ttl_seconds"],
        &audit,
        |item, prefix| {
            let ciphertext = string(item, "ciphertext", prefix)?;
            let aad = associated_data(item, prefix)?;
            let ttl = ttl(item, prefix)?;
            let (plaintext, version) = key
                .ring
                .decrypt(ciphertext, aad.as_deref().map(Vec::as_slice), ttl)
                .map_err(|e| op_error(&e, &path_of(prefix, "ciphertext")))?;
            let mut out = Map::new();
            out.insert(
                "plaintext".to_owned(),
                Value::String(STANDARD.encode(&*plaintext)),
            );
            out.insert("key_version".to_owned(), json!(version));
            Ok(out)
        },
    )
}

/// Re-encrypts under the latest version without revealing the plaintext.
#[utoipa::path(post, path = "/v1/keys/{name}/rewrap", tag = "keys", security(("bearer" = [])),
    params(("name" = String, Path, description = "The key's name")),
    request_body(content = Object, description = "{\"ciphertext\": \"…\", \"associated_data\": \"b64\"?} or {\"batch\": [...]}"),
    responses((status = 200, description = "{\"ciphertext\": \"…\", \"key_version\": N}", body = Object)))]
pub async fn rewrap(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    audit.note("keys.rewrap", "key", &name);
    caller.require(&state, "keys:encrypt")?;
    let key = usable_key(&state, &caller, &name).await?;
    let key = reload_for(&state, &name, key, &body, "ciphertext").await?;
    audit.detail("key_version", key.ring.latest_version());
    single_or_batch(
        &body,
        &["ciphertext", "associated_data"],
        &audit,
        |item, prefix| {
            let ciphertext = string(item, "ciphertext", prefix)?;
            let aad = associated_data(item, prefix)?;
            let (ciphertext, version) = key
                .ring
                .rewrap(ciphertext, aad.as_deref().map(Vec::as_slice))
                .map_err(|e| op_error(&e, &path_of(prefix, "ciphertext")))?;
            let mut out = Map::new();
            out.insert("ciphertext".to_owned(), Value::String(ciphertext));
            out.insert("key_version".to_owned(), json!(version));
            Ok(out)
        },
    )
}

/// HMAC-SHA256 with the latest version.
#[utoipa::path(post, path = "/v1/keys/{name}/hmac", tag = "keys", security(("bearer" = [])),
    params(("name" = String, Path, description = "The key's name")),
    request_body(content = Object, description = "{\"input\": \"b64\"} or {\"batch\": [...]}"),
    responses((status = 200, description = "{\"hmac\": \"rampart:v1:<base64>\"}", body = Object)))]
pub async fn hmac(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    audit.note("keys.hmac", "key", &name);
    caller.require(&state, "keys:encrypt")?;
    let key = usable_key(&state, &caller, &name).await?;
    single_or_batch(&body, &["input"], &audit, |item, prefix| {
        let input = fields(item, "input", prefix, true)?.unwrap_or_default();
        let mac = key
            .ring
            .hmac(&input)
            .map_err(|e| op_error(&e, &path_of(prefix, "input")))?;
        let mut out = Map::new();
        out.insert("hmac".to_owned(), Value::String(mac));
        Ok(out)
    })
}

/// Checks an HMAC in constant time.
#[utoipa::path(post, path = "/v1/keys/{name}/verify-hmac", tag = "keys", security(("bearer" = [])),
    params(("name" = String, Path, description = "The key's name")),
    request_body(content = Object, description = "{\"input\": \"b64\", \"hmac\": \"rampart:v1:…\"}"),
    responses((status = 200, description = "{\"valid\": bool}", body = Object)))]
pub async fn verify_hmac(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    audit.note("keys.verify_hmac", "key", &name);
    caller.require(&state, "keys:encrypt")?;
    let key = usable_key(&state, &caller, &name).await?;
    let key = reload_for(&state, &name, key, &body, "hmac").await?;
    single_or_batch(&body, &["input", "hmac"], &audit, |item, prefix| {
        let input = fields(item, "input", prefix, true)?.unwrap_or_default();
        let mac = string(item, "hmac", prefix)?;
        let valid = key
            .ring
            .verify_hmac(&input, mac)
            .map_err(|e| op_error(&e, &path_of(prefix, "hmac")))?;
        let mut out = Map::new();
        out.insert("valid".to_owned(), Value::Bool(valid));
        Ok(out)
    })
}

/// Reloads the key when the request names a version newer than the cached latest.
async fn reload_for(
    state: &AppState,
    name: &str,
    key: std::sync::Arc<LoadedKey>,
    body: &Value,
    field_name: &str,
) -> Result<std::sync::Arc<LoadedKey>, ApiError> {
    let one = |item: &Value| {
        item.get(field_name)
            .and_then(Value::as_str)
            .and_then(named_version)
    };
    let newest = match body.get("batch").and_then(Value::as_array) {
        Some(items) => items.iter().filter_map(one).max(),
        None => one(body),
    };
    if newest.is_some_and(|v| v > key.ring.latest_version()) {
        state
            .keys()
            .get_for_version(name, newest)
            .await
            .map_err(service_error)
    } else {
        Ok(key)
    }
}

/// Ed25519 signature with the latest version.
#[utoipa::path(post, path = "/v1/keys/{name}/sign", tag = "keys", security(("bearer" = [])),
    params(("name" = String, Path, description = "The key's name")),
    request_body(content = Object, description = "{\"input\": \"b64\"} or {\"batch\": [...]}"),
    responses((status = 200, description = "{\"signature\": \"rampart:v1:<base64>\"}", body = Object)))]
pub async fn sign(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    audit.note("keys.sign", "key", &name);
    caller.require(&state, "keys:encrypt")?;
    let key = usable_key(&state, &caller, &name).await?;
    single_or_batch(&body, &["input"], &audit, |item, prefix| {
        let input = fields(item, "input", prefix, true)?.unwrap_or_default();
        let signature = key
            .ring
            .sign(&input)
            .map_err(|e| op_error(&e, &path_of(prefix, "input")))?;
        let mut out = Map::new();
        out.insert("signature".to_owned(), Value::String(signature));
        Ok(out)
    })
}

/// Verifies an Ed25519 signature made by this key.
#[utoipa::path(post, path = "/v1/keys/{name}/verify", operation_id = "verify_signature", tag = "keys", security(("bearer" = [])),
    params(("name" = String, Path, description = "The key's name")),
    request_body(content = Object, description = "{\"input\": \"b64\", \"signature\": \"rampart:v1:…\"}"),
    responses((status = 200, description = "{\"valid\": bool}", body = Object)))]
pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    audit.note("keys.verify", "key", &name);
    caller.require(&state, "keys:encrypt")?;
    let key = usable_key(&state, &caller, &name).await?;
    let key = reload_for(&state, &name, key, &body, "signature").await?;
    single_or_batch(&body, &["input", "signature"], &audit, |item, prefix| {
        let input = fields(item, "input", prefix, true)?.unwrap_or_default();
        let signature = string(item, "signature", prefix)?;
        let valid = key
            .ring
            .verify(&input, signature)
            .map_err(|e| op_error(&e, &path_of(prefix, "signature")))?;
        let mut out = Map::new();
        out.insert("valid".to_owned(), Value::Bool(valid));
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_fields_never_quote_their_value() {
        let body = json!({"plaintext": "4111111111111111!!"});
        let error = b64(
            body.as_object().expect("object"),
            "plaintext",
            "plaintext",
            true,
        )
        .expect_err("not base64");
        assert!(!error.message.contains("4111"), "{}", error.message);
        let body = json!({"x": 1});
        assert!(
            b64(
                body.as_object().expect("object"),
                "plaintext",
                "plaintext",
                true
            )
            .is_err()
        );
        assert!(
            b64(
                body.as_object().expect("object"),
                "plaintext",
                "plaintext",
                false
            )
            .expect("optional")
            .is_none()
        );
    }
}
