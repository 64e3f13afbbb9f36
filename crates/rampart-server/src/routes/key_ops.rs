//! Operations with a named key: encrypt, decrypt and rewrap (single and batch), HMAC and its
//! constant-time check, Ed25519 signatures. One audit entry per request, with versions and
//! counts, never values; another team's key does not exist for the caller.

use axum::Json;
use axum::extract::{Path, State};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rampart_access::perm;
use rampart_crypto::Envelope;
use serde_json::{Map, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use zeroize::Zeroizing;

use crate::http::audit_trail::AuditSlot;
use crate::http::auth::Caller;
use crate::http::json::ApiJson;
use crate::http::request::{b64, invalid, object, text};
use crate::metrics::{KeyOp, Metrics};
use crate::problem::ApiError;
use crate::routes::keys::{MAX_BATCH_ITEMS, op_error, team_scope};
use crate::state::AppState;

mod schema;

pub use schema::*;

/// The time a Fernet token is stamped with or checked against (Unix seconds): the edge reads the
/// clock, the keyring takes it as a parameter.
pub(crate) fn unix_now() -> u64 {
    u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0)
}

/// Runs `one` on the single item (the body) or on each item of `batch`.
fn single_or_batch<T>(
    (metrics, op): (&Metrics, KeyOp),
    body: &Value,
    allowed: &[&str],
    audit: &AuditSlot,
    mut one: impl FnMut(&Map<String, Value>, &str) -> Result<T, ApiError>,
) -> Result<Json<Results<T>>, ApiError> {
    let root = body
        .as_object()
        .ok_or_else(|| invalid("body", "must be a JSON object"))?;
    match root.get("batch") {
        None => {
            let item = object(body, allowed, "")?;
            audit.detail("items", 1);
            let out = one(item, "")?;
            metrics.record_key_ops(op, 1);
            Ok(Json(Results::One(out)))
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
                    Ok(done) => Outcome::Done(done),
                    Err(problem) => {
                        failed += 1;
                        if problem.status().is_server_error() {
                            return Err(problem);
                        }
                        Outcome::Failed {
                            error: problem.problem().detail,
                        }
                    }
                });
            }
            audit.detail("items", items.len());
            audit.detail("failed", failed);
            let done = u64::try_from(items.len()).unwrap_or(u64::MAX);
            metrics.record_key_ops(op, done.saturating_sub(failed));
            Ok(Json(Results::Batch { batch: out }))
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

/// The optional `at_time` of a Fernet operation (Unix seconds: the time a token is stamped
/// with, or the "now" of its TTL check, as Python's `encrypt_at_time`/`decrypt_at_time`),
/// else the clock. Refused for other key types, which have no timestamps.
fn at_time(
    item: &Map<String, Value>,
    prefix: &str,
    key_type: rampart_crypto::KeyType,
) -> Result<u64, ApiError> {
    match item.get("at_time") {
        None | Some(Value::Null) => Ok(unix_now()),
        Some(_) if key_type != rampart_crypto::KeyType::Fernet => Err(invalid(
            &path_of(prefix, "at_time"),
            "applies only to fernet keys",
        )),
        Some(v) => v
            .as_u64()
            .filter(|n| i64::try_from(*n).is_ok())
            .ok_or_else(|| {
                invalid(
                    &path_of(prefix, "at_time"),
                    "must be a non-negative integer (Unix seconds)",
                )
            }),
    }
}

/// Encrypts with the key's latest version.
#[utoipa::path(post, path = "/v1/keys/{name}/encrypt", tag = "keys", security(("bearer" = [])),
    params(("name" = String, Path, description = "The key's name")),
    request_body = EncryptRequest,
    responses((status = 200, description = "The ciphertext, or a batch of results", body = Results<Sealed>),
        (status = 409, description = "The latest version reached its encryption limit; rotate the key", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn encrypt(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Results<Sealed>>, ApiError> {
    audit.note("keys.encrypt", "key", &name);
    let granted = caller.require::<perm::KeysEncrypt>(&state.policy())?;
    let key = state
        .keys()
        .usable(granted, team_scope(&state, &caller), &name, None)
        .await?;
    audit.detail("key_version", key.ring.latest_version());
    single_or_batch(
        (state.metrics(), KeyOp::Encrypt),
        &body,
        &["plaintext", "associated_data", "at_time"],
        &audit,
        |item, prefix| {
            let plaintext = fields(item, "plaintext", prefix, true)?.unwrap_or_default();
            let aad = associated_data(item, prefix)?;
            let now = at_time(item, prefix, key.ring.key_type())?;
            let (ciphertext, version) = key
                .ring
                .encrypt_at(&plaintext, aad.as_deref().map(Vec::as_slice), now)
                .map_err(|e| op_error(&e, &path_of(prefix, "plaintext")))?;
            Ok(Sealed {
                ciphertext,
                key_version: version,
            })
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
    request_body = DecryptRequest,
    responses((status = 200, description = "The plaintext, or a batch of results (422: tampered, malformed or below min_decryption_version)", body = Results<Opened>)))]
pub async fn decrypt(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Results<Opened>>, ApiError> {
    audit.note("keys.decrypt", "key", &name);
    let granted = caller.require::<perm::KeysDecrypt>(&state.policy())?;
    let key = state
        .keys()
        .usable(
            granted,
            team_scope(&state, &caller),
            &name,
            newest_version(&body, "ciphertext"),
        )
        .await?;
    single_or_batch(
        (state.metrics(), KeyOp::Decrypt),
        &body,
        &["ciphertext", "associated_data", "ttl_seconds", "at_time"],
        &audit,
        |item, prefix| {
            let ciphertext = string(item, "ciphertext", prefix)?;
            let aad = associated_data(item, prefix)?;
            let ttl = ttl(item, prefix)?;
            let now = at_time(item, prefix, key.ring.key_type())?;
            let (plaintext, version) = key
                .ring
                .decrypt_at(ciphertext, aad.as_deref().map(Vec::as_slice), ttl, now)
                .map_err(|e| op_error(&e, &path_of(prefix, "ciphertext")))?;
            Ok(Opened {
                plaintext: STANDARD.encode(&*plaintext),
                key_version: version,
            })
        },
    )
}

/// Re-encrypts under the latest version without revealing the plaintext.
#[utoipa::path(post, path = "/v1/keys/{name}/rewrap", tag = "keys", security(("bearer" = [])),
    params(("name" = String, Path, description = "The key's name")),
    request_body = RewrapRequest,
    responses((status = 200, description = "The new ciphertext, or a batch of results", body = Results<Sealed>),
        (status = 409, description = "The latest version reached its encryption limit; rotate the key", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn rewrap(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Results<Sealed>>, ApiError> {
    audit.note("keys.rewrap", "key", &name);
    let granted = caller.require::<perm::KeysEncrypt>(&state.policy())?;
    let key = state
        .keys()
        .usable(
            granted,
            team_scope(&state, &caller),
            &name,
            newest_version(&body, "ciphertext"),
        )
        .await?;
    audit.detail("key_version", key.ring.latest_version());
    single_or_batch(
        (state.metrics(), KeyOp::Rewrap),
        &body,
        &["ciphertext", "associated_data"],
        &audit,
        |item, prefix| {
            let ciphertext = string(item, "ciphertext", prefix)?;
            let aad = associated_data(item, prefix)?;
            let (ciphertext, version) = key
                .ring
                .rewrap_at(ciphertext, aad.as_deref().map(Vec::as_slice), unix_now())
                .map_err(|e| op_error(&e, &path_of(prefix, "ciphertext")))?;
            Ok(Sealed {
                ciphertext,
                key_version: version,
            })
        },
    )
}

/// HMAC-SHA256 with the latest version.
#[utoipa::path(post, path = "/v1/keys/{name}/hmac", tag = "keys", security(("bearer" = [])),
    params(("name" = String, Path, description = "The key's name")),
    request_body = InputRequest,
    responses((status = 200, description = "The HMAC, or a batch of results", body = Results<Mac>)))]
pub async fn hmac(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Results<Mac>>, ApiError> {
    audit.note("keys.hmac", "key", &name);
    let granted = caller.require::<perm::KeysEncrypt>(&state.policy())?;
    let key = state
        .keys()
        .usable(granted, team_scope(&state, &caller), &name, None)
        .await?;
    single_or_batch(
        (state.metrics(), KeyOp::Hmac),
        &body,
        &["input"],
        &audit,
        |item, prefix| {
            let input = fields(item, "input", prefix, true)?.unwrap_or_default();
            let mac = key
                .ring
                .hmac(&input)
                .map_err(|e| op_error(&e, &path_of(prefix, "input")))?;
            Ok(Mac { hmac: mac })
        },
    )
}

/// Checks an HMAC in constant time.
#[utoipa::path(post, path = "/v1/keys/{name}/verify-hmac", tag = "keys", security(("bearer" = [])),
    params(("name" = String, Path, description = "The key's name")),
    request_body = VerifyHmacRequest,
    responses((status = 200, description = "Whether it is valid, or a batch of results", body = Results<Validity>)))]
pub async fn verify_hmac(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Results<Validity>>, ApiError> {
    audit.note("keys.verify_hmac", "key", &name);
    let granted = caller.require::<perm::KeysEncrypt>(&state.policy())?;
    let key = state
        .keys()
        .usable(
            granted,
            team_scope(&state, &caller),
            &name,
            newest_version(&body, "hmac"),
        )
        .await?;
    single_or_batch(
        (state.metrics(), KeyOp::HmacVerify),
        &body,
        &["input", "hmac"],
        &audit,
        |item, prefix| {
            let input = fields(item, "input", prefix, true)?.unwrap_or_default();
            let mac = string(item, "hmac", prefix)?;
            let valid = key
                .ring
                .verify_hmac(&input, mac)
                .map_err(|e| op_error(&e, &path_of(prefix, "hmac")))?;
            Ok(Validity { valid })
        },
    )
}

/// The highest version the request's `field_name` values name (a ciphertext, HMAC or
/// signature of the single item or of any batch item), so a key rotated by another server is
/// reloaded before use.
fn newest_version(body: &Value, field_name: &str) -> Option<u32> {
    let one = |item: &Value| {
        item.get(field_name)
            .and_then(Value::as_str)
            .and_then(named_version)
    };
    match body.get("batch").and_then(Value::as_array) {
        Some(items) => items.iter().filter_map(one).max(),
        None => one(body),
    }
}

/// Ed25519 signature with the latest version.
#[utoipa::path(post, path = "/v1/keys/{name}/sign", tag = "keys", security(("bearer" = [])),
    params(("name" = String, Path, description = "The key's name")),
    request_body = InputRequest,
    responses((status = 200, description = "The signature, or a batch of results", body = Results<Signed>)))]
pub async fn sign(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Results<Signed>>, ApiError> {
    audit.note("keys.sign", "key", &name);
    let granted = caller.require::<perm::KeysEncrypt>(&state.policy())?;
    let key = state
        .keys()
        .usable(granted, team_scope(&state, &caller), &name, None)
        .await?;
    single_or_batch(
        (state.metrics(), KeyOp::Sign),
        &body,
        &["input"],
        &audit,
        |item, prefix| {
            let input = fields(item, "input", prefix, true)?.unwrap_or_default();
            let signature = key
                .ring
                .sign(&input)
                .map_err(|e| op_error(&e, &path_of(prefix, "input")))?;
            Ok(Signed { signature })
        },
    )
}

/// Verifies an Ed25519 signature made by this key.
#[utoipa::path(post, path = "/v1/keys/{name}/verify", operation_id = "verify_signature", tag = "keys", security(("bearer" = [])),
    params(("name" = String, Path, description = "The key's name")),
    request_body = VerifySignatureRequest,
    responses((status = 200, description = "Whether it is valid, or a batch of results", body = Results<Validity>)))]
pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Results<Validity>>, ApiError> {
    audit.note("keys.verify", "key", &name);
    let granted = caller.require::<perm::KeysEncrypt>(&state.policy())?;
    let key = state
        .keys()
        .usable(
            granted,
            team_scope(&state, &caller),
            &name,
            newest_version(&body, "signature"),
        )
        .await?;
    single_or_batch(
        (state.metrics(), KeyOp::Verify),
        &body,
        &["input", "signature"],
        &audit,
        |item, prefix| {
            let input = fields(item, "input", prefix, true)?.unwrap_or_default();
            let signature = string(item, "signature", prefix)?;
            let valid = key
                .ring
                .verify(&input, signature)
                .map_err(|e| op_error(&e, &path_of(prefix, "signature")))?;
            Ok(Validity { valid })
        },
    )
}

/// This module's routes, their OpenAPI paths and their audit behaviour.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(encrypt))
        .routes(routes!(decrypt))
        .routes(routes!(rewrap))
        .routes(routes!(hmac))
        .routes(routes!(verify_hmac))
        .routes(routes!(sign))
        .routes(routes!(verify))
}
