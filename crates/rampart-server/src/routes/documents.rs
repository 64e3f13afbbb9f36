//! Field-level encryption of JSON documents.

use rampart_access::perm;
use std::collections::HashMap;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use axum::Json;
use axum::extract::State;
use rampart_crypto::KeyType;
use rampart_crypto::document::{
    FieldSelector, PathStep, encrypt_selected, field_aad, replace_encrypted,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::http::audit_trail::AuditSlot;
use crate::http::auth::Caller;
use crate::http::json::ApiJson;
use crate::http::request::{invalid, object, text};
use crate::key_service::{KeyError, LoadedKey, is_internal};
use crate::problem::{ApiError, FieldError};
use crate::routes::keys::{op_error, team_scope};
use crate::state::AppState;

/// Most selectors in one request.
const MAX_FIELDS: usize = 1000;

/// Longest `document_id`, in bytes.
const MAX_DOCUMENT_ID_BYTES: usize = 256;

/// The optional `document_id` of a request: bound into every field's associated data
/// ([`field_aad`]: key, document id, concrete path), so a field copied into another document or
/// moved to another path does not decrypt. Raw `/v1/keys/{name}/encrypt` refuses associated
/// data in that space, so it cannot mint fields either (that would turn
/// `sensitive_data:decrypt` into `keys:decrypt` on every key).
fn document_id(object: &serde_json::Map<String, Value>) -> Result<Option<&str>, ApiError> {
    let id = text(object, "document_id", "document_id", false)
        .map_err(|e| ApiError::validation(vec![e]))?;
    if let Some(id) = id
        && (id.is_empty() || id.len() > MAX_DOCUMENT_ID_BYTES)
    {
        return Err(invalid(
            "document_id",
            format!("must be 1 to {MAX_DOCUMENT_ID_BYTES} bytes"),
        ));
    }
    Ok(id)
}

/// `POST /v1/documents/encrypt`.
#[derive(Debug, ToSchema)]
#[expect(
    dead_code,
    reason = "the body's shape for the OpenAPI document: the body is taken apart field by field, so an unknown field is named and no error quotes a value"
)]
pub struct EncryptDocumentRequest {
    /// The `aes256-gcm` key that encrypts the fields.
    key: String,
    /// 1 to 1000 field selectors: `a.b`, `a[*].b`, `a[0]`, `a["x.y"]`.
    fields: Vec<String>,
    /// The document, a JSON object or array.
    #[schema(value_type = Object)]
    document: Value,
    /// Bound into every field (1 to 256 bytes): a field copied into another document does not
    /// decrypt.
    document_id: Option<String>,
}

/// `POST /v1/documents/decrypt`.
#[derive(Debug, ToSchema)]
#[expect(
    dead_code,
    reason = "the body's shape for the OpenAPI document: the body is taken apart field by field, so an unknown field is named and no error quotes a value"
)]
pub struct DecryptDocumentRequest {
    /// The document with encrypted fields.
    #[schema(value_type = Object)]
    document: Value,
    /// The `document_id` it was encrypted with, if any.
    document_id: Option<String>,
}

/// A document with its selected fields encrypted.
#[derive(Debug, Serialize, ToSchema)]
pub struct EncryptedDocument {
    /// The document; each selected field is `{"__encrypted__": true, "ciphertext": "…", "key": "…"}`.
    #[schema(value_type = Object)]
    pub document: Value,
    /// How many values were encrypted.
    pub encrypted_fields: usize,
}

/// A document with its encrypted fields decrypted (or shown as `"[ENCRYPTED]"`).
#[derive(Debug, Serialize, ToSchema)]
pub struct DecryptedDocument {
    /// The document.
    #[schema(value_type = Object)]
    pub document: Value,
    /// How many fields were decrypted (0 without `sensitive_data:decrypt`).
    pub decrypted_fields: usize,
}

/// Encrypts the selected fields of a document.
#[utoipa::path(post, path = "/v1/documents/encrypt", tag = "keys", security(("bearer" = [])),
    request_body = EncryptDocumentRequest,
    responses((status = 200, description = "The document, each selected field bound to its key, its path and the document_id", body = EncryptedDocument),
        (status = 404, description = "The key named in the body does not exist", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn encrypt_document(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<EncryptedDocument>, ApiError> {
    audit.note("documents.encrypt", "document", "-");
    let granted = caller.require::<perm::KeysEncrypt>(&state.policy())?;
    let object = object(&body, &["key", "fields", "document", "document_id"], "")?;
    let document_id = document_id(object)?;
    let name = text(object, "key", "key", true)
        .map_err(|e| ApiError::validation(vec![e]))?
        .unwrap_or_default()
        .to_owned();
    audit.note("documents.encrypt", "key", &name);
    let selectors = match object.get("fields") {
        Some(Value::Array(items)) if !items.is_empty() && items.len() <= MAX_FIELDS => {
            let mut selectors = Vec::with_capacity(items.len());
            let mut errors = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item.as_str().map(FieldSelector::parse) {
                    Some(Ok(selector)) => selectors.push(selector),
                    Some(Err(e)) => errors.push(FieldError {
                        field: format!("fields[{i}]"),
                        message: e.to_string(),
                    }),
                    None => errors.push(FieldError {
                        field: format!("fields[{i}]"),
                        message: "must be a string".to_owned(),
                    }),
                }
            }
            if !errors.is_empty() {
                return Err(ApiError::validation(errors));
            }
            selectors
        }
        _ => {
            return Err(invalid(
                "fields",
                format!("must be an array of 1 to {MAX_FIELDS} field selectors"),
            ));
        }
    };
    let mut document = match object.get("document") {
        Some(document @ (Value::Object(_) | Value::Array(_))) => document.clone(),
        _ => return Err(invalid("document", "must be a JSON object or array")),
    };
    let key = state
        .keys()
        .usable(granted, team_scope(&state, &caller), &name, None)
        .await?;
    if key.ring.key_type() != KeyType::Aes256Gcm {
        return Err(invalid(
            "key",
            format!(
                "documents are encrypted with aes256-gcm keys (which bind each field to its key); '{name}' is {}",
                key.ring.key_type()
            ),
        ));
    }
    let mut encrypted = 0;
    for selector in &selectors {
        encrypted += encrypt_selected(
            &mut document,
            selector,
            &mut |path: &[PathStep], plaintext: &[u8]| {
                key.ring
                    .encrypt_at(
                        plaintext,
                        Some(&field_aad(&name, document_id, path)),
                        crate::routes::key_ops::unix_now(),
                    )
                    .map(|(ciphertext, _)| ciphertext)
                    .map_err(|e| op_error(&e, "key"))
            },
            &name,
        )?;
    }
    audit.detail("key_version", key.ring.latest_version());
    audit.detail("encrypted_fields", encrypted);
    audit.detail("document_id_bound", document_id.is_some());
    Ok(Json(EncryptedDocument {
        document,
        encrypted_fields: encrypted,
    }))
}

/// Decrypts the encrypted fields of a document for callers with `sensitive_data:decrypt`;
/// others read `"[ENCRYPTED]"` in their place.
#[utoipa::path(post, path = "/v1/documents/decrypt", tag = "keys", security(("bearer" = [])),
    request_body = DecryptDocumentRequest,
    responses((status = 200, description = "The document (422: a field does not decrypt, tampered, moved to another path, or from another document_id; names the field)", body = DecryptedDocument),
        (status = 404, description = "An encrypted field names a key of another team", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn decrypt_document(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<DecryptedDocument>, ApiError> {
    audit.note("documents.decrypt", "document", "-");
    let object = object(&body, &["document", "document_id"], "")?;
    let document_id = document_id(object)?;
    let mut document = match object.get("document") {
        Some(document @ (Value::Object(_) | Value::Array(_))) => document.clone(),
        _ => return Err(invalid("document", "must be a JSON object or array")),
    };
    let granted = caller
        .require::<perm::SensitiveDataDecrypt>(&state.policy())
        .ok();
    audit.detail("decrypted", granted.is_some());
    let Some(granted) = granted else {
        let hidden = replace_encrypted(&mut document, &mut |_| {
            Ok::<_, ApiError>(Value::String("[ENCRYPTED]".to_owned()))
        })?;
        audit.detail("fields", hidden);
        return Ok(Json(DecryptedDocument {
            document,
            decrypted_fields: 0,
        }));
    };
    // Load each key once; collect every key the document names first.
    let mut names: HashMap<String, Option<u32>> = HashMap::new();
    replace_encrypted(&mut document.clone(), &mut |field| {
        let version = rampart_crypto::Envelope::peek_version(field.ciphertext).ok();
        let newest = names.entry(field.key.to_owned()).or_default();
        *newest = (*newest).max(version);
        Ok::<_, ApiError>(Value::Null)
    })?;
    let mut keys: HashMap<String, Arc<LoadedKey>> = HashMap::new();
    for (name, newest) in names {
        if is_internal(&name) || name.is_empty() {
            return Err(invalid(
                "document",
                format!(
                    "an encrypted field names the key '{name}', which cannot decrypt documents"
                ),
            ));
        }
        let key = state
            .keys()
            .usable(granted, team_scope(&state, &caller), &name, newest)
            .await
            .map_err(|e| match e {
                KeyError::NotFound(_) => invalid(
                    "document",
                    format!("an encrypted field names the key '{name}', which does not exist"),
                ),
                other => ApiError::from(other),
            })?;
        keys.insert(name, key);
    }
    let decrypted = replace_encrypted(&mut document, &mut |field| {
        let path = format!("document.{}", field.path);
        let key = keys
            .get(field.key)
            .ok_or_else(|| invalid(&path, "names an unknown key"))?;
        let (plaintext, _) = key
            .ring
            .decrypt_at(
                field.ciphertext,
                Some(&field_aad(field.key, document_id, field.steps)),
                None,
                crate::routes::key_ops::unix_now(),
            )
            .map_err(|e| op_error(&e, &path))?;
        serde_json::from_slice(&plaintext)
            .map_err(|_| invalid(&path, "decrypts to something that is not JSON"))
    })?;
    audit.detail("fields", decrypted);
    Ok(Json(DecryptedDocument {
        document,
        decrypted_fields: decrypted,
    }))
}

/// This module's routes, their OpenAPI paths and their audit behaviour.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(encrypt_document))
        .routes(routes!(decrypt_document))
}
