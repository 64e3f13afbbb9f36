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
                resource_id: clean(resource_id, 256),
                details: serde_json::Map::new(),
            });
        }
    }

    /// Adds a detail to the note (after [`AuditSlot::note`]).
    pub fn detail(&self, name: &str, value: impl Into<serde_json::Value>) {
        if let Ok(mut slot) = self.0.lock()
            && let Some(note) = slot.as_mut()
        {
            note.details.insert(name.to_owned(), value.into());
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
