//! Field-level encryption of JSON documents.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use rampart_crypto::KeyType;
use rampart_crypto::document::{FieldSelector, encrypt_selected, replace_encrypted};
use serde_json::{Value, json};

use crate::http::audit_trail::AuditSlot;
use crate::http::auth::Caller;
use crate::http::json::ApiJson;
use crate::key_service::{KeyServiceError, LoadedKey, is_internal};
use crate::problem::{ApiError, FieldError};
use crate::routes::keys::{invalid, object, op_error, service_error, text};
use crate::state::AppState;

/// Most selectors in one request.
const MAX_FIELDS: usize = 1000;

/// Associated data of document fields: binds each ciphertext to documents and to its key, so a
/// ciphertext from `/v1/keys/{name}/encrypt` wrapped in an encrypted-field object does not
/// decrypt here (that would turn `sensitive_data:decrypt` into `keys:decrypt` on every key).
fn field_aad(key: &str) -> Vec<u8> {
    let mut aad = b"rampart-document-field-v1\0".to_vec();
    aad.extend_from_slice(key.as_bytes());
    aad
}

/// Encrypts the selected fields of a document.
#[utoipa::path(post, path = "/v1/documents/encrypt", tag = "keys", security(("bearer" = [])),
    request_body(content = Object, description = "{\"key\": \"payments\", \"fields\": [\"card.number\", \"items[*].note\"], \"document\": {...}}"),
    responses((status = 200, description = "{\"document\": {...}, \"encrypted_fields\": N}; each selected field is {\"__encrypted__\": true, \"ciphertext\": \"…\", \"key\": \"payments\"}", body = Object),
        (status = 422, description = "Invalid selector, key or document", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn encrypt_document(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    audit.note("documents.encrypt", "document", "-");
    caller.require(&state, "keys:encrypt")?;
    let object = object(&body, &["key", "fields", "document"], "")?;
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
    if is_internal(&name) {
        return Err(service_error(KeyServiceError::Reserved(name)));
    }
    let key = state.keys().get(&name).await.map_err(service_error)?;
    crate::routes::keys::may_use_key(&state, &caller, &key.record)?;
    if key.ring.key_type() != KeyType::Aes256Gcm {
        return Err(invalid(
            "key",
            format!(
                "documents are encrypted with aes256-gcm keys (which bind each field to its key); '{name}' is {}",
                key.ring.key_type()
            ),
        ));
    }
    let aad = field_aad(&name);
    let mut encrypted = 0;
    for selector in &selectors {
        encrypted += encrypt_selected(
            &mut document,
            selector,
            &mut |plaintext: &[u8]| {
                key.ring
                    .encrypt(plaintext, Some(&aad))
                    .map(|(ciphertext, _)| ciphertext)
                    .map_err(|e| op_error(&e, "key"))
            },
            &name,
        )?;
    }
    audit.detail("key_version", key.ring.latest_version());
    audit.detail("encrypted_fields", encrypted);
    Ok(Json(
        json!({"document": document, "encrypted_fields": encrypted}),
    ))
}

/// Decrypts the encrypted fields of a document for callers with `sensitive_data:decrypt`;
/// others read `"[ENCRYPTED]"` in their place.
#[utoipa::path(post, path = "/v1/documents/decrypt", tag = "keys", security(("bearer" = [])),
    request_body(content = Object, description = "{\"document\": {...}}"),
    responses((status = 200, description = "{\"document\": {...}, \"decrypted_fields\": N}", body = Object),
        (status = 422, description = "A field does not decrypt", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn decrypt_document(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Value>, ApiError> {
    audit.note("documents.decrypt", "document", "-");
    let object = object(&body, &["document"], "")?;
    let mut document = match object.get("document") {
        Some(document @ (Value::Object(_) | Value::Array(_))) => document.clone(),
        _ => return Err(invalid("document", "must be a JSON object or array")),
    };
    let allowed = caller.require(&state, "sensitive_data:decrypt").is_ok();
    audit.detail("decrypted", allowed);
    if !allowed {
        let hidden = replace_encrypted(&mut document, &mut |_| {
            Ok::<_, ApiError>(Value::String("[ENCRYPTED]".to_owned()))
        })?;
        audit.detail("fields", hidden);
        return Ok(Json(json!({"document": document, "decrypted_fields": 0})));
    }
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
            .get_for_version(&name, newest)
            .await
            .map_err(|e| match e {
                KeyServiceError::NotFound(_) => invalid(
                    "document",
                    format!("an encrypted field names the key '{name}', which does not exist"),
                ),
                other => service_error(other),
            })?;
        crate::routes::keys::may_use_key(&state, &caller, &key.record)?;
        keys.insert(name, key);
    }
    let decrypted = replace_encrypted(&mut document, &mut |field| {
        let path = format!("document.{}", field.path);
        let key = keys
            .get(field.key)
            .ok_or_else(|| invalid(&path, "names an unknown key"))?;
        let (plaintext, _) = key
            .ring
            .decrypt(field.ciphertext, Some(&field_aad(field.key)), None)
            .map_err(|e| op_error(&e, &path))?;
        serde_json::from_slice(&plaintext)
            .map_err(|_| invalid(&path, "decrypts to something that is not JSON"))
    })?;
    audit.detail("fields", decrypted);
    Ok(Json(
        json!({"document": document, "decrypted_fields": decrypted}),
    ))
}
