//! The audit trail of the API itself: every request that changes state with a valid credential,
//! and every 401 and 403, gets its own audit entry before the response leaves, with the actor
//! taken from the credential, the client address, user agent and request id. The log is thus
//! complete without the application doing anything.
//!
//! Successful `POST /v1/audit/entries` are not logged again: the entries are their own record,
//! with `submitted_by` from the credential. `POST /v1/redact` and `/v1/detect` change nothing
//! and are not logged unless denied.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{Method, StatusCode, header};
use rampart_audit::{NewEntry, SubmittedBy};
use serde_json::json;

use crate::http::auth::CallerSlot;
use crate::http::context::{ClientIp, RequestId};
use crate::problem::ApiError;
use crate::state::AppState;

/// What a handler tells the audit trail about its request: the domain action and resource and
/// details (never plaintext, key material, PANs or credentials). Without a note the entry
/// names the route.
#[derive(Debug, Clone, Default)]
pub struct AuditNote {
    /// e.g. `keys.encrypt`.
    pub action: String,
    /// e.g. `key`.
    pub resource_type: String,
    /// e.g. the key's name.
    pub resource_id: String,
    /// Extra facts (versions, counts).
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// Where a handler leaves its [`AuditNote`]; extract it as a handler argument.
#[derive(Debug, Clone, Default)]
pub struct AuditSlot(std::sync::Arc<std::sync::Mutex<Option<AuditNote>>>);

impl AuditSlot {
    /// Names the action and resource of this request.
    pub fn note(&self, action: &str, resource_type: &str, resource_id: &str) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(AuditNote {
                action: action.to_owned(),
                resource_type: resource_type.to_owned(),
                resource_id: scrub_identifier(&clean(resource_id, 256)),
                details: serde_json::Map::new(),
            });
        }
    }

    /// Adds a detail to the note (after [`AuditSlot::note`]).
    pub fn detail(&self, name: &str, value: impl Into<serde_json::Value>) {
        if let Ok(mut slot) = self.0.lock()
            && let Some(note) = slot.as_mut()
        {
            let value = match value.into() {
                serde_json::Value::String(text) => {
                    serde_json::Value::String(scrub_identifier(&text))
                }
                other => other,
            };
            note.details.insert(name.to_owned(), value);
        }
    }

    fn take(&self) -> Option<AuditNote> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for AuditSlot {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<AuditSlot>()
            .cloned()
            .unwrap_or_default())
    }
}

/// The detector behind [`scrub_identifier`], built once.
static DETECTOR: std::sync::LazyLock<rampart_privacy::Detector> =
    std::sync::LazyLock::new(rampart_privacy::Detector::new);

/// An identifier (path parameter, resource id, string detail) as it may be written to the
/// append-only audit log or shown in an error: card numbers and secrets (API keys, JWTs,
/// bearer tokens, private keys) replaced by `[REDACTED:CREDIT_CARD]` / `[REDACTED:SECRET]`.
/// Besides the detector's word-bounded matches, any run of 12 or more digits (single spaces or
/// dashes allowed between them) holding a Luhn-valid 12-to-19-digit window is a card number
/// here, so `payments_5105105105105100` is caught too.
pub(crate) fn scrub_identifier(text: &str) -> String {
    use rampart_privacy::PiiType;
    if uuid::Uuid::try_parse(text).is_ok() {
        // Principal, key and session ids: never a card number, and must stay exact.
        return text.to_owned();
    }
    let mut spans: Vec<(std::ops::Range<usize>, &str)> = DETECTOR
        .detect(text)
        .into_iter()
        .filter_map(|(kind, range)| match kind {
            PiiType::CreditCard => Some((range, "[REDACTED:CREDIT_CARD]")),
            PiiType::Secret | PiiType::SensitiveKey => Some((range, "[REDACTED:SECRET]")),
            _ => None,
        })
        .collect();
    spans.extend(
        digit_runs_with_card(text)
            .into_iter()
            .map(|range| (range, "[REDACTED:CREDIT_CARD]")),
    );
    if spans.is_empty() {
        return text.to_owned();
    }
    spans.sort_by_key(|(range, _)| range.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (range, label) in spans {
        if range.end <= at {
            continue;
        }
        out.push_str(text.get(at..range.start.max(at)).unwrap_or_default());
        out.push_str(label);
        at = range.end;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    out
}

/// Byte ranges of digit runs (single ` ` or `-` allowed between digits) of 12 or more digits
/// with a Luhn-valid window of 12 to 19 digits.
fn digit_runs_with_card(text: &str) -> Vec<std::ops::Range<usize>> {
    let bytes = text.as_bytes();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
            continue;
        }
        let start = i;
        let mut digits = Vec::new();
        let mut end = i;
        while let Some(b) = bytes.get(i) {
            if b.is_ascii_digit() {
                digits.push(b - b'0');
                i += 1;
                end = i;
            } else if matches!(b, b' ' | b'-') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                i += 1;
            } else {
                break;
            }
        }
        let has_card =
            (12..=19).any(|len| digits.len() >= len && digits.windows(len).any(luhn_valid));
        if has_card {
            runs.push(start..end);
        }
        i = end.max(start + 1);
    }
    runs
}

fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(*d);
            if !i.is_multiple_of(2) {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Keeps at most `max` characters, without control characters.
fn clean(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}

/// The middleware; see the module documentation.
pub async fn audit_trail(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let slot = CallerSlot::default();
    request.extensions_mut().insert(slot.clone());
    let notes = AuditSlot::default();
    request.extensions_mut().insert(notes.clone());
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let request_id = request.extensions().get::<RequestId>().map(|r| r.0.clone());
    let client_ip = request.extensions().get::<ClientIp>().map(|c| c.0);
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| clean(ua, 512));

    let response = next.run(request).await;
    let status = response.status();
    let caller = slot.get();
    let changes_state = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    let denied = matches!(
        status,
        StatusCode::UNAUTHORIZED
            | StatusCode::FORBIDDEN
            | StatusCode::LOCKED
            | StatusCode::TOO_MANY_REQUESTS
    );
    let own_record = route == "/v1/audit/entries" && method == Method::POST && status.is_success();
    // POSTs that only compute (redaction runs on the data path of applications) change nothing.
    // A redaction that tokenized cards stored them: its handler leaves a note, and it is audited.
    let note = notes.take();
    // Checks and computations change nothing; they are audited only when a handler says so
    // (a denied authorization, a redaction that stored cards).
    let read_only = matches!(
        route.as_str(),
        "/v1/redact" | "/v1/detect" | "/v1/authorize" | "/v1/auth/introspect"
    ) && note.is_none();
    let changes_state = changes_state && !read_only;
    if !(denied || (caller.is_some() && changes_state && !own_record)) {
        return response;
    }
    if denied && client_ip.is_some_and(|ip| !state.admit_denied_event(ip)) {
        state.metrics().record_suppressed_denial();
        return response;
    }
    let (actor_type, actor_id) = match &caller {
        Some(c) => (
            c.principal.kind.as_str().to_owned(),
            c.principal.id.to_string(),
        ),
        None => ("user".to_owned(), "anonymous".to_owned()),
    };
    let action = match (status, &note) {
        (StatusCode::UNAUTHORIZED, _) => "api.unauthenticated".to_owned(),
        (StatusCode::FORBIDDEN, None) => "api.forbidden".to_owned(),
        (StatusCode::LOCKED, _) => "auth.locked".to_owned(),
        (StatusCode::TOO_MANY_REQUESTS, _) => "api.rate_limited".to_owned(),
        (_, Some(note)) => note.action.clone(),
        _ => format!("api.{}", method.as_str().to_ascii_lowercase()),
    };
    let (resource_type, resource_id) = match &note {
        Some(note) => (note.resource_type.clone(), note.resource_id.clone()),
        None => ("api_route".to_owned(), clean(&route, 256)),
    };
    let mut details = serde_json::Map::new();
    details.insert("method".to_owned(), json!(method.as_str()));
    details.insert("route".to_owned(), json!(clean(&route, 256)));
    details.insert("status".to_owned(), json!(status.as_u16()));
    details.insert(
        "credential_id".to_owned(),
        json!(caller.as_ref().map(|c| c.credential_id.to_string())),
    );
    if let Some(note) = note {
        details.extend(note.details);
    }
    let outcome = if denied {
        "denied"
    } else if status.is_success() {
        "success"
    } else {
        "failure"
    };
    let event = json!({
        "actor": {"type": actor_type, "id": actor_id, "ip": client_ip.map(|ip| ip.to_string()), "user_agent": user_agent},
        "action": action,
        "resource": {"type": resource_type, "id": resource_id},
        "context": {"request_id": request_id},
        "details": details,
        "status": outcome,
        "data_classification": "internal",
    });
    let entry = match NewEntry::from_json(&event, "") {
        Ok(entry) => entry,
        Err(errors) => {
            tracing::error!(?errors, "cannot build the audit entry of a request");
            return response;
        }
    };
    match state
        .audit()
        .append(vec![entry], SubmittedBy::rampart())
        .await
    {
        Ok(_) => response,
        Err(e) if changes_state && !denied => {
            // The change happened but its record did not: fail closed so the client retries
            // or raises it, instead of trusting an unrecorded change.
            ApiError::internal(&e).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot audit a denied request");
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_lose_card_numbers_and_secrets() {
        for (input, gone) in [
            ("5105105105105100", "5105105105105100"),
            ("payments_5105105105105100", "5105105105105100"),
            ("x-4111-1111-1111-1111", "4111-1111-1111-1111"),
            (
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
                "eyJhbGciOiJIUzI1NiJ9",
            ),
        ] {
            let out = scrub_identifier(input);
            assert!(!out.contains(gone), "{input} -> {out}");
            assert!(out.contains("[REDACTED:"), "{input} -> {out}");
        }
        for keep in [
            "payments",
            "key-2024-01",
            "order-123456",
            "-",
            "tok_abc",
            "12345678-1234-4234-8234-123456789012",
        ] {
            assert_eq!(scrub_identifier(keep), keep);
        }
    }
}
