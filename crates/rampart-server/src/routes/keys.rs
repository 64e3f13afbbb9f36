//! Key administration: create, list, read, rotate and change named keys. Handlers parse,
//! authorize, call one method of the keys service (`rampart_crypto::KeyService`) with the
//! caller's proof and team scope, and map the result; errors map through
//! `From<KeyError> for ApiError`.
//!
//! Bodies are read as JSON values and taken apart field by field into domain types, so no
//! error message can echo a plaintext or a key (serde's messages quote the offending value), and
//! an unknown field is named. Their shapes are documented by the request types below.

use axum::Json;
use axum::extract::{Path, State};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::StatusCode;
use rampart_access::perm;
use rampart_crypto::fernet::FernetKey;
use rampart_crypto::{
    KeyMaterial, KeyOpError, KeyRecord, KeySpec, KeyType, KeyUpdate, KeyView, TeamScope,
};
use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::audit_trail::AuditSlot;
use crate::http::auth::Caller;
use crate::http::json::ApiJson;
use crate::http::query::ApiQuery;
use crate::http::request::{Page, PageQuery, invalid, object, page_limit, text, timestamp};
use crate::key_service::{KeyError, KeyJournal, is_internal};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// Most items in one batch request.
pub const MAX_BATCH_ITEMS: usize = 10_000;

/// The caller's team scope for keys: its teams, and whether its roles bypass team isolation.
pub(crate) fn team_scope<'a>(state: &AppState, caller: &'a Caller) -> TeamScope<'a> {
    let principal = caller.principal();
    TeamScope::new(
        &principal.teams,
        state.policy().bypasses_team_isolation(&principal.roles),
    )
}

impl From<KeyError> for ApiError {
    fn from(error: KeyError) -> Self {
        // Names come from the path: a card number or secret typed there is not echoed.
        let scrub = crate::http::audit_trail::scrub_identifier;
        match error {
            KeyError::NotFound(name) | KeyError::OtherTeam(name) => {
                ApiError::not_found(format!("no key named '{}'", scrub(&name)))
            }
            KeyError::NameTaken(name) => {
                ApiError::conflict(format!("a key named '{}' already exists", scrub(&name)))
            }
            KeyError::InvalidName => invalid("name", KeyError::InvalidName.to_string()),
            KeyError::Reserved(name) => ApiError::reserved(format!(
                "'{}' is one of Rampart's own keys; it cannot be used through this endpoint",
                scrub(&name)
            )),
            KeyError::Invalid { field, message } => invalid(field, message),
            KeyError::Conflict => ApiError::conflict(
                "the key was changed by another request at the same moment; retry",
            ),
            stranded @ KeyError::CardsStranded { .. } => ApiError::conflict(stranded.to_string()),
            KeyError::Journal(e) => ApiError::from(e),
            other => ApiError::internal(&other),
        }
    }
}

/// The problem for an operation's failure; `path` names the input at fault.
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

/// `POST /v1/keys`.
#[derive(Debug, ToSchema)]
#[expect(
    dead_code,
    reason = "the body's shape for the OpenAPI document: the body is taken apart field by field, so an unknown field is named and no error quotes a value"
)]
pub struct CreateKeyRequest {
    /// The key's name: 1 to 128 characters of A-Z, a-z, 0-9, `_` and `-`.
    name: String,
    /// `aes256-gcm` (default), `fernet`, `hmac-sha256` or `ed25519`.
    #[schema(rename = "type")]
    key_type: Option<String>,
    /// Days between automatic rotations (1 to 36500).
    rotation_period_days: Option<u32>,
    /// An existing Fernet key (url-safe base64 of 32 bytes) to import, for `fernet` keys.
    import_key: Option<String>,
    /// Existing Fernet keys to import, newest first, as a `MultiFernet` lists them (at most
    /// 16): one version each, the newest the latest (it encrypts), the older ones decrypt.
    import_keys: Option<Vec<String>>,
    /// The team whose members alone use the key.
    team_id: Option<String>,
}

impl CreateKeyRequest {
    /// The key a body asks for (imported material is zeroized when dropped).
    fn parse(body: &Value) -> Result<KeySpec, ApiError> {
        let fields = [
            "name",
            "type",
            "rotation_period_days",
            "import_key",
            "import_keys",
            "team_id",
        ];
        let object = object(body, &fields, "")?;
        let text_of = |name: &str, required: bool| {
            text(object, name, name, required).map_err(|e| ApiError::validation(vec![e]))
        };
        let name = text_of("name", true)?.unwrap_or_default().to_owned();
        if is_internal(&name) {
            return Err(KeyError::Reserved(name).into());
        }
        let key_type = match text_of("type", false)? {
            None => KeyType::Aes256Gcm,
            Some(t) => t
                .parse()
                .map_err(|e: rampart_crypto::UnknownKeyType| invalid("type", e.to_string()))?,
        };
        let rotation_period_days = positive(object, "rotation_period_days")?.flatten();
        let materials = imported_materials(object, key_type, text_of("import_key", false)?)?;
        let team_id = text_of("team_id", false)?.map(str::to_owned);
        if let Some(team) = &team_id
            && (team.is_empty()
                || team.len() > 128
                || !team
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')))
        {
            return Err(invalid(
                "team_id",
                "1 to 128 characters of A-Z, a-z, 0-9, '.', '_', '-', '@'",
            ));
        }
        Ok(KeySpec {
            name,
            key_type,
            rotation_period_days,
            materials,
            team_id,
        })
    }
}

/// The Fernet keys a body imports, oldest first: `import_key` (one) or `import_keys` (newest
/// first, as `MultiFernet` lists them), never both; only for `fernet` keys.
fn imported_materials(
    object: &serde_json::Map<String, Value>,
    key_type: KeyType,
    one: Option<&str>,
) -> Result<Vec<KeyMaterial>, ApiError> {
    let many = match object.get("import_keys") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(items),
        Some(_) => {
            return Err(invalid(
                "import_keys",
                "must be an array of Fernet keys, newest first",
            ));
        }
    };
    let texts: Vec<(String, &str)> = match (one, many) {
        (None, None) => return Ok(Vec::new()),
        (Some(_), Some(_)) => {
            return Err(invalid(
                "import_keys",
                "give import_key or import_keys, not both",
            ));
        }
        (Some(text), None) => vec![("import_key".to_owned(), text)],
        (None, Some(items)) => {
            if items.is_empty() || items.len() > rampart_crypto::MAX_IMPORTED_VERSIONS {
                return Err(invalid(
                    "import_keys",
                    format!(
                        "must hold 1 to {} Fernet keys, newest first",
                        rampart_crypto::MAX_IMPORTED_VERSIONS
                    ),
                ));
            }
            let mut texts = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let field = format!("import_keys[{i}]");
                let text = item
                    .as_str()
                    .ok_or_else(|| invalid(&field, "must be a string"))?;
                texts.push((field, text));
            }
            texts
        }
    };
    let field_of =
        |texts: &[(String, &str)]| texts.first().map(|(f, _)| f.clone()).unwrap_or_default();
    if key_type != KeyType::Fernet {
        let field = if many.is_some() {
            "import_keys".to_owned()
        } else {
            field_of(&texts)
        };
        return Err(invalid(
            &field,
            "only fernet keys can be imported (an existing Python Fernet key)",
        ));
    }
    let mut materials = Vec::with_capacity(texts.len());
    for (field, text) in &texts {
        let key = FernetKey::from_base64(text).map_err(|_| {
            invalid(
                field,
                "is not a Fernet key: expected the url-safe base64 of 32 bytes, as Fernet.generate_key() makes",
            )
        })?;
        let material = KeyMaterial::from_slice(key.to_bytes().as_slice())
            .ok_or_else(|| invalid(field, "is not a Fernet key"))?;
        materials.push(material);
    }
    // Given newest first; versions go oldest first (the newest is the latest and encrypts).
    materials.reverse();
    Ok(materials)
}

/// `PATCH /v1/keys/{name}`.
#[derive(Debug, ToSchema)]
#[expect(
    dead_code,
    reason = "the body's shape for the OpenAPI document: the body is taken apart field by field, so an unknown field is named and no error quotes a value"
)]
pub struct UpdateKeyRequest {
    /// The lowest version that may decrypt or verify (from 1 to the latest version).
    min_decryption_version: Option<u32>,
    /// Days between automatic rotations, or null to turn automatic rotation off.
    rotation_period_days: Option<u32>,
    /// Lowering `min_decryption_version` (reviving retired versions) needs `true`.
    allow_lowering: Option<bool>,
}

impl UpdateKeyRequest {
    /// The update a body asks for.
    fn parse(body: &Value) -> Result<KeyUpdate, ApiError> {
        let fields = [
            "min_decryption_version",
            "rotation_period_days",
            "allow_lowering",
        ];
        let object = object(body, &fields, "")?;
        let allow_lowering = match object.get("allow_lowering") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(allow)) => *allow,
            Some(_) => return Err(invalid("allow_lowering", "must be true or false")),
        };
        let min_decryption_version = match positive(object, "min_decryption_version")? {
            Some(None) => return Err(invalid("min_decryption_version", "must be a number")),
            Some(Some(n)) => Some(n),
            None => None,
        };
        Ok(KeyUpdate {
            min_decryption_version,
            rotation_period_days: positive(object, "rotation_period_days")?,
            allow_lowering,
        })
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

impl From<&KeyView> for KeyMetadata {
    fn from(view: &KeyView) -> Self {
        let record = &view.record;
        Self {
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
                    public_key_b64: view
                        .loaded
                        .as_ref()
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
}

/// The metadata of a key just loaded (with its public keys).
fn loaded_metadata(loaded: std::sync::Arc<rampart_crypto::LoadedKey>) -> KeyMetadata {
    KeyMetadata::from(&KeyView {
        record: loaded.record.clone(),
        loaded: Some(loaded),
    })
}

/// Creates a key.
#[utoipa::path(post, path = "/v1/keys", tag = "keys", security(("bearer" = [])),
    request_body = CreateKeyRequest,
    responses(
        (status = 201, description = "The key", body = KeyMetadata),
        (status = 409, description = "The name is taken", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<KeyMetadata>), ApiError> {
    let granted = caller.require::<perm::KeysManage>(&state.policy())?;
    if let Some(name) = body.get("name").and_then(Value::as_str) {
        audit.note("keys.create", "key", name);
    }
    let spec = CreateKeyRequest::parse(&body)?;
    if let Some(team) = &spec.team_id {
        audit.detail("team_id", team.clone());
    }
    audit.detail("type", spec.key_type.as_str());
    audit.detail("imported", !spec.materials.is_empty());
    if spec.materials.len() > 1 {
        audit.detail("imported_versions", spec.materials.len());
    }
    let journal = KeyJournal::new(&audit, &state, &caller, StatusCode::CREATED);
    let loaded = state
        .keys()
        .create(
            granted,
            team_scope(&state, &caller),
            spec,
            OffsetDateTime::now_utc(),
            &journal,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(loaded_metadata(loaded))))
}

/// Lists keys.
#[utoipa::path(get, path = "/v1/keys", tag = "keys", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, description = "A page of keys", body = Page<KeyMetadata>)))]
pub async fn list_keys(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<Page<KeyMetadata>>, ApiError> {
    let granted = caller.require::<perm::KeysRead>(&state.policy())?;
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
    let page = state
        .keys()
        .list(
            granted,
            team_scope(&state, &caller),
            after.as_deref(),
            limit,
        )
        .await?;
    Ok(Json(Page {
        items: page.keys.iter().map(KeyMetadata::from).collect(),
        next_cursor: page.next_after.map(|name| URL_SAFE_NO_PAD.encode(name)),
    }))
}

/// One key's metadata.
#[utoipa::path(get, path = "/v1/keys/{name}", tag = "keys", security(("bearer" = [])),
    params(("name" = String, Path, description = "The key's name")),
    responses((status = 200, description = "The key", body = KeyMetadata)))]
pub async fn get_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<KeyMetadata>, ApiError> {
    let granted = caller.require::<perm::KeysRead>(&state.policy())?;
    let view = state
        .keys()
        .read(granted, team_scope(&state, &caller), &name)
        .await?;
    Ok(Json(KeyMetadata::from(&view)))
}

/// Adds a version and makes it the latest.
#[utoipa::path(post, path = "/v1/keys/{name}/rotate", tag = "keys", security(("bearer" = [])),
    params(("name" = String, Path, description = "The key's name")),
    responses((status = 200, description = "The key with its new latest version", body = KeyMetadata),
        (status = 409, description = "Another request rotated the key at the same moment", body = Problem, content_type = "application/problem+json")))]
pub async fn rotate_key(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(name): Path<String>,
) -> Result<Json<KeyMetadata>, ApiError> {
    audit.note("keys.rotate", "key", &name);
    let granted = caller.require::<perm::KeysManage>(&state.policy())?;
    let journal = KeyJournal::new(&audit, &state, &caller, StatusCode::OK);
    let loaded = state
        .keys()
        .rotate(
            granted,
            team_scope(&state, &caller),
            &name,
            OffsetDateTime::now_utc(),
            &journal,
        )
        .await?;
    Ok(Json(loaded_metadata(loaded)))
}

/// Changes `min_decryption_version` and/or `rotation_period_days`. Lowering the minimum
/// (reviving retired versions) needs `"allow_lowering": true` and is audited with both values.
#[utoipa::path(patch, path = "/v1/keys/{name}", tag = "keys", security(("bearer" = [])),
    params(("name" = String, Path, description = "The key's name")),
    request_body = UpdateKeyRequest,
    responses((status = 200, description = "The key", body = KeyMetadata),
        (status = 409, description = "Changed by another request meanwhile, or stored cards are still under the versions to retire", body = Problem, content_type = "application/problem+json")))]
pub async fn update_key(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<KeyMetadata>, ApiError> {
    audit.note("keys.update", "key", &name);
    let granted = caller.require::<perm::KeysManage>(&state.policy())?;
    let update = UpdateKeyRequest::parse(&body)?;
    // A change of the minimum is recorded with the minimum it replaces, refused or not.
    let (min, allow_lowering) = (update.min_decryption_version, update.allow_lowering);
    let checking = |stored: &KeyRecord| {
        if let Some(min) = min {
            audit.detail(
                "previous_min_decryption_version",
                stored.min_decryption_version,
            );
            audit.detail("min_decryption_version", min);
            audit.detail("allow_lowering", allow_lowering);
        }
    };
    let journal = KeyJournal::new(&audit, &state, &caller, StatusCode::OK);
    let loaded = state
        .keys()
        .update(
            granted,
            team_scope(&state, &caller),
            &name,
            update,
            OffsetDateTime::now_utc(),
            &journal,
            checking,
        )
        .await?;
    Ok(Json(loaded_metadata(loaded)))
}

/// This module's routes, their OpenAPI paths and their audit behaviour.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_key, list_keys))
        .routes(routes!(get_key, update_key))
        .routes(routes!(rotate_key))
}
