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
    let denied = status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN;
    let own_record = route == "/v1/audit/entries" && method == Method::POST && status.is_success();
    // POSTs that only compute (redaction runs on the data path of applications) change nothing.
    let read_only = matches!(route.as_str(), "/v1/redact" | "/v1/detect");
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
    let action = match status {
        StatusCode::UNAUTHORIZED => "api.unauthenticated".to_owned(),
        StatusCode::FORBIDDEN => "api.forbidden".to_owned(),
        _ => format!("api.{}", method.as_str().to_ascii_lowercase()),
    };
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
        "resource": {"type": "api_route", "id": clean(&route, 256)},
        "context": {"request_id": request_id},
        "details": {"method": method.as_str(), "status": status.as_u16(), "credential_id": caller.as_ref().map(|c| c.credential_id.to_string())},
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
