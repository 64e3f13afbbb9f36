//! The card vault: tokenize and detokenize. A PAN appears in no log line, audit entry or error
//! message; card security codes and PINs are refused without being read.

use axum::Json;
use axum::extract::State;
use http::StatusCode;
use rampart_access::perm;
use rampart_crypto::is_security_code_field;
use rampart_privacy::Pan;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::card_vault::{VaultError, plausible_token};
use crate::http::audit_trail::AuditSlot;
use crate::http::auth::Caller;
use crate::http::json::ApiJson;
use crate::http::request::{invalid, text};
use crate::key_service::KeyJournal;
use crate::problem::ApiError;
use crate::state::AppState;

/// A tokenized card.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenizedCard {
    /// The token that stands for the card (`tok_…`).
    pub token: String,
    /// The last four digits.
    pub last_four: String,
    /// `visa`, `mastercard`, `amex`, `discover`, `jcb`, `diners`, `unionpay` or `unknown`.
    pub brand: String,
    /// Keyed HMAC of the PAN: equal for equal PANs, useless without the deployment's key.
    pub fingerprint: String,
}

impl From<VaultError> for ApiError {
    fn from(error: VaultError) -> Self {
        match error {
            VaultError::Keys(e) => ApiError::from(e),
            VaultError::Journal(e) => ApiError::from(e),
            other => ApiError::internal(&other),
        }
    }
}

/// `POST /v1/cards/tokenize`. Any field holding a card security code or PIN is refused.
#[derive(Debug, ToSchema)]
#[expect(
    dead_code,
    reason = "the body's shape for the OpenAPI document: the body is taken apart field by field, so a security-code field is refused by name and no error quotes a value"
)]
pub struct TokenizeRequest {
    /// The card number, 12 to 19 digits passing the Luhn check.
    pan: String,
    /// `MM/YY` or `MM/YYYY`.
    expiry: Option<String>,
    /// The data subject (GDPR) the card belongs to: erasing the subject deletes the card, and
    /// the subject's export lists its token. 1 to 256 bytes, no control characters.
    #[schema(min_length = 1, max_length = 256)]
    subject_id: Option<String>,
}

/// `POST /v1/cards/detokenize`.
#[derive(Debug, ToSchema)]
#[expect(
    dead_code,
    reason = "the body's shape for the OpenAPI document: the body is taken apart field by field, so a security-code field is refused by name and no error quotes a value"
)]
pub struct DetokenizeRequest {
    /// The token (`tok_…`).
    token: String,
}

/// A detokenized card.
#[derive(Serialize, ToSchema)]
pub struct CardDetails {
    /// The card number.
    pub pan: String,
    /// The expiry, if one was stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry: Option<String>,
}

/// `MM/YY` or `MM/YYYY` with a month from 01 to 12.
fn valid_expiry(expiry: &str) -> bool {
    let Some((month, year)) = expiry.split_once('/') else {
        return false;
    };
    let month_ok = month.len() == 2 && month.parse::<u8>().is_ok_and(|m| (1..=12).contains(&m));
    let year_ok = matches!(year.len(), 2 | 4) && year.bytes().all(|b| b.is_ascii_digit());
    month_ok && year_ok
}

/// Stores a card and returns a token for it.
#[utoipa::path(post, path = "/v1/cards/tokenize", tag = "cards", security(("bearer" = [])),
    request_body = TokenizeRequest,
    responses((status = 201, description = "The token (422: invalid PAN or expiry, or a CVV/CVC/PIN field was sent)", body = TokenizedCard)))]
pub async fn tokenize(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    ApiJson(body): ApiJson<Value>,
) -> Result<(StatusCode, Json<TokenizedCard>), ApiError> {
    audit.note("cards.tokenize", "card", "-");
    let granted = caller.require::<perm::CardsTokenize>(&state.policy())?;
    let object = body
        .as_object()
        .ok_or_else(|| invalid("body", "must be a JSON object"))?;
    if let Some(name) = object.keys().find(|k| is_security_code_field(k)) {
        return Err(invalid(
            name,
            "card security codes and PINs must never be sent to or stored by the vault (PCI DSS 3.3.1); remove the field",
        ));
    }
    if let Some(name) = object
        .keys()
        .find(|k| !["pan", "expiry", "subject_id"].contains(&k.as_str()))
    {
        return Err(invalid(name, "is not a field of this request"));
    }
    let pan = text(object, "pan", "pan", true).map_err(|e| ApiError::validation(vec![e]))?;
    let pan = Pan::parse(pan.unwrap_or_default()).map_err(|e| invalid("pan", e.to_string()))?;
    let expiry =
        text(object, "expiry", "expiry", false).map_err(|e| ApiError::validation(vec![e]))?;
    if expiry.is_some_and(|e| !valid_expiry(e)) {
        return Err(invalid("expiry", "must be MM/YY or MM/YYYY"));
    }
    let subject_id = match object.get("subject_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => {
            rampart_subjects::check_subject_id(id).map_err(|e| invalid("subject_id", e))?;
            Some(id.as_str())
        }
        Some(_) => return Err(invalid("subject_id", "must be a string")),
    };
    // The card and its audit entry (token, brand, last four, key version) commit together.
    let journal = KeyJournal::new(&audit, &state, &caller, StatusCode::CREATED);
    let record = state
        .vault()
        .tokenize(
            granted,
            &pan,
            expiry,
            subject_id,
            OffsetDateTime::now_utc(),
            &journal,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenizedCard {
            token: record.token,
            last_four: record.last_four,
            brand: record.brand,
            fingerprint: record.fingerprint,
        }),
    ))
}

/// Returns the PAN behind a token.
#[utoipa::path(post, path = "/v1/cards/detokenize", tag = "cards", security(("bearer" = [])),
    request_body = DetokenizeRequest,
    responses((status = 200, description = "The card", body = CardDetails),
        (status = 404, description = "Unknown token", body = crate::problem::Problem, content_type = "application/problem+json")))]
pub async fn detokenize(
    State(state): State<AppState>,
    caller: Caller,
    audit: AuditSlot,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<CardDetails>, ApiError> {
    audit.note("cards.detokenize", "card", "-");
    let granted = caller.require::<perm::CardsDetokenize>(&state.policy())?;
    let object = crate::http::request::object(&body, &["token"], "")?;
    let token = text(object, "token", "token", true)
        .map_err(|e| ApiError::validation(vec![e]))?
        .unwrap_or_default();
    // Only a token-shaped value is recorded: a PAN pasted into `token` must not reach the log.
    if plausible_token(token) {
        audit.note("cards.detokenize", "card", token);
    }
    let card = state
        .vault()
        .detokenize(granted, token)
        .await?
        .ok_or_else(|| ApiError::not_found("no card with that token"))?;
    audit.detail("last_four", card.record.last_four.clone());
    audit.detail("brand", card.record.brand.clone());
    Ok(Json(CardDetails {
        pan: card.pan.as_str().to_owned(),
        expiry: card.expiry.as_ref().map(|e| e.as_str().to_owned()),
    }))
}

/// This module's routes, their OpenAPI paths and their audit behaviour.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(tokenize))
        .routes(routes!(detokenize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_code_fields_are_recognized_in_any_spelling() {
        for name in [
            "cvv",
            "CVV2",
            "card_cvc",
            "cvc",
            "security_code",
            "Security-Code",
            "pin",
            "PIN_block",
            "cvv_code",
        ] {
            assert!(is_security_code_field(name), "{name}");
        }
        assert!(!is_security_code_field("pan"));
        assert!(!is_security_code_field("shipping"));
        assert!(!is_security_code_field("expiry"));
        assert!(valid_expiry("12/29"));
        assert!(valid_expiry("01/2031"));
        assert!(!valid_expiry("13/29"));
        assert!(!valid_expiry("1229"));
        assert!(!valid_expiry("12/2"));
    }
}
