//! PII redaction and detection for JSON documents and text.
//!
//! The body ([`ScanRequest`] in the OpenAPI document, described in [`schema`]) is taken apart field by field here rather
//! than by serde: a body that is not an object is named `body`, an unknown field by its own
//! name, and the policy's overrides by `policy.<type>` (their rules live in
//! `rampart_privacy::Policy::with_overrides`). No error quotes a value.

mod schema;

use crate::http::audit_trail::only_when_noted;
use axum::Json;
use axum::extract::State;
use rampart_access::perm;
use rampart_privacy::{Finding, Redactor};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use std::sync::Arc;

use rampart_privacy::Protector;

use crate::http::audit_trail::AuditSlot;
use crate::http::auth::Caller;
use crate::http::json::ApiJson;
use crate::problem::{ApiError, FieldError};
use crate::protector::{CardMode, Needs, ServiceProtector};
use crate::state::AppState;
use schema::ScanRequest;

fn field(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// The answer of `POST /v1/redact`: the redacted `document` or `text` (as sent), with findings.
#[derive(Debug, Serialize, ToSchema)]
pub struct RedactResponse {
    /// The redacted document, when a document was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<Value>,
    /// The redacted text, when a text was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// What was found, and the action taken.
    pub findings: Vec<FindingBody>,
}

/// What the request asks to scan.
enum Input<'a> {
    Document(&'a Value),
    Text(&'a str),
}

/// Parses `{"document": ...} | {"text": "..."}` with an optional `"policy"`, and the redactor
/// for that policy.
fn parse<'a>(state: &AppState, body: &'a Value) -> Result<(Input<'a>, Redactor), ApiError> {
    let object = body.as_object().ok_or_else(|| {
        ApiError::validation(vec![field(
            "body",
            "must be an object with \"document\" or \"text\"",
        )])
    })?;
    for key in object.keys() {
        if !["document", "text", "policy"].contains(&key.as_str()) {
            return Err(ApiError::validation(vec![field(
                key,
                "is not a field of this request",
            )]));
        }
    }
    let input = match (object.get("document"), object.get("text")) {
        (Some(document), None) => Input::Document(document),
        (None, Some(Value::String(text))) => Input::Text(text),
        (None, Some(_)) => {
            return Err(ApiError::validation(vec![field(
                "text",
                "must be a string",
            )]));
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::validation(vec![field(
                "body",
                "send either \"document\" or \"text\", not both",
            )]));
        }
        (None, None) => {
            return Err(ApiError::validation(vec![field(
                "body",
                "needs \"document\" or \"text\"",
            )]));
        }
    };
    let redactor = match object.get("policy") {
        None | Some(Value::Null) => state.redactor().clone(),
        Some(overrides) => {
            let policy = state
                .redactor()
                .policy()
                .with_overrides(overrides)
                .map_err(|e| ApiError::validation(vec![field("policy", e.to_string())]))?;
            state.redactor().with_policy(policy).map_err(|e| {
                ApiError::validation(vec![field(&format!("policy.{}", e.kind), e.to_string())])
            })?
        }
    };
    Ok((input, redactor))
}

/// One finding: where, what, and the action taken. Never the value.
#[derive(Debug, Serialize, ToSchema)]
pub struct FindingBody {
    /// JSON path in document mode (`user.email`, `items[2].card`, `a["api-key"]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `email`, `credit_card`, `us_ssn`, `phone`, `ip_address`, `iban`, `secret`, `sensitive_key`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `redact`, `hash`, `mask` or `keep`.
    pub action: String,
    /// Byte offset of the start in the string (document mode) or the text.
    pub start: usize,
    /// Byte offset one past the end.
    pub end: usize,
}

fn findings(found: Vec<Finding>) -> Vec<FindingBody> {
    found
        .into_iter()
        .map(|f| FindingBody {
            path: f.path,
            kind: f.kind.as_str().to_owned(),
            action: f.action.to_owned(),
            start: f.start,
            end: f.end,
        })
        .collect()
}

/// Redacts a document or a text by the default policy and the request's overrides.
#[utoipa::path(post, path = "/v1/redact", tag = "privacy", security(("bearer" = [])),
    request_body = ScanRequest,
    responses(
        (status = 200, description = "The redacted document or text, with findings", body = RedactResponse),
    ))]
pub async fn redact(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<RedactResponse>, ApiError> {
    caller.require::<perm::PrivacyRedact>(&state.policy())?;
    let (input, redactor) = parse(&state, &body)?;
    let needs = Needs::of(redactor.policy());
    if !needs.is_empty() {
        return protected_redaction(&state, &caller, &audit, &body, redactor, &needs).await;
    }
    Ok(Json(match input {
        Input::Document(document) => {
            let redacted = redactor.redact_json(document);
            RedactResponse {
                document: Some(redacted.value),
                text: None,
                findings: findings(redacted.findings),
            }
        }
        Input::Text(text) => {
            let redacted = redactor.redact_text(text);
            RedactResponse {
                document: None,
                text: Some(redacted.value),
                findings: findings(redacted.findings),
            }
        }
    }))
}

/// A redaction whose policy encrypts or tokenizes: the caller needs `keys:encrypt` /
/// `cards:tokenize` too, every named key is checked first, and the walk runs on a blocking
/// thread. Tokenizing only seals cards there; they are stored afterwards in one transaction
/// (all or none), at most `max_tokenized_per_request` of them (more: 422, nothing stored). A
/// request that times out before the commit stores nothing; one that times out during it gets
/// its audit entry from the task that commits. It is audited, with counts, never values.
async fn protected_redaction(
    state: &AppState,
    caller: &Caller,
    audit: &AuditSlot,
    body: &Value,
    redactor: Redactor,
    needs: &Needs,
) -> Result<Json<RedactResponse>, ApiError> {
    audit.note("privacy.redact", "pii", "-");
    if !needs.encrypt.is_empty() {
        caller.require::<perm::KeysEncrypt>(&state.policy())?;
    }
    if needs.tokenize {
        caller.require::<perm::CardsTokenize>(&state.policy())?;
    }
    let max_cards =
        usize::try_from(state.settings().max_tokenized_per_request).unwrap_or(usize::MAX);
    let protector = ServiceProtector::prepare(
        needs,
        state.keys(),
        Arc::clone(state.vault()),
        CardMode::Deferred { max: max_cards },
    )
    .await
    .map_err(|e| match e.internal {
        Some(internal) => ApiError::internal(&internal),
        None => ApiError::validation(vec![field(&e.field, e.message)]),
    })?;
    let protector = Arc::new(protector);
    let redactor = redactor.with_request_protector(Arc::clone(&protector) as Arc<dyn Protector>);
    let input = if body.get("document").is_some() {
        "document"
    } else {
        "text"
    };
    let body = body.clone();
    let (mut out, found) = tokio::task::spawn_blocking(move || {
        let mut out = RedactResponse {
            document: None,
            text: None,
            findings: Vec::new(),
        };
        let found = if let Some(document) = body.get("document") {
            let redacted = redactor.redact_json(document);
            out.document = Some(redacted.value);
            redacted.findings
        } else {
            let text = body.get("text").and_then(Value::as_str).unwrap_or_default();
            let redacted = redactor.redact_text(text);
            out.text = Some(redacted.value);
            redacted.findings
        };
        (out, found)
    })
    .await
    .map_err(|e| ApiError::internal(&e))?;
    if protector.over_limit() {
        return Err(ApiError::validation(vec![field(
            input,
            format!(
                "holds more than {max_cards} card numbers to tokenize; at most {max_cards} per request (max_tokenized_per_request): split it"
            ),
        )]));
    }
    let cards = protector.take_cards();
    audit.detail("encrypted", protector.counts().0);
    audit.detail("tokenized", cards.len());
    store_cards(state, caller, audit, cards).await?;
    out.findings = findings(found);
    Ok(Json(out))
}

/// Stores the cards a redaction tokenized together with the request's audit entry, in one
/// transaction (all or none), on a task of its own: a request timeout does not cut the commit
/// in half, and if the request is gone by then, its entry is written all the same.
async fn store_cards(
    state: &AppState,
    caller: &Caller,
    audit: &AuditSlot,
    cards: Vec<rampart_crypto::CardRecord>,
) -> Result<(), ApiError> {
    if cards.is_empty() {
        return Ok(());
    }
    let (done, waiting) = tokio::sync::oneshot::channel();
    let (task_state, task_caller, task_audit) = (state.clone(), caller.clone(), audit.clone());
    tokio::spawn(async move {
        let stored = task_audit
            .commit(
                &task_state,
                &task_caller,
                http::StatusCode::OK,
                rampart_crypto::KeyChange::InsertCards(cards),
            )
            .await;
        let _ = done.send(stored);
    });
    match waiting.await {
        Ok(Ok(true)) => Ok(()),
        Ok(Ok(false)) => Err(ApiError::internal(&std::io::Error::other(
            "the cards were not stored",
        ))),
        Ok(Err(e)) => Err(e),
        Err(e) => Err(ApiError::internal(&e)),
    }
}

/// Findings only
#[derive(Debug, Serialize, ToSchema)]
pub struct DetectBody {
    /// What was found (the action is what `redact` would do).
    pub findings: Vec<FindingBody>,
}

/// Finds personal data and secrets without changing anything.
#[utoipa::path(post, path = "/v1/detect", tag = "privacy", security(("bearer" = [])),
    request_body = ScanRequest,
    responses(
        (status = 200, description = "The findings", body = DetectBody),
    ))]
pub async fn detect(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<DetectBody>, ApiError> {
    caller.require::<perm::PrivacyRedact>(&state.policy())?;
    let (input, redactor) = parse(&state, &body)?;
    // Detection changes nothing: `encrypt` and `tokenize` are reported, not carried out (the
    // shared redactor's stand-in protector redacts instead), so the action is the policy's.
    let mut found = match input {
        Input::Document(document) => redactor.redact_json(document).findings,
        Input::Text(text) => redactor.redact_text(text).findings,
    };
    for finding in &mut found {
        finding.action = redactor.policy().action(finding.kind).as_str();
    }
    Ok(Json(DetectBody {
        findings: findings(found),
    }))
}

/// This module's routes, their OpenAPI paths and their audit behaviour.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(only_when_noted(routes!(redact)))
        .routes(only_when_noted(routes!(detect)))
}
