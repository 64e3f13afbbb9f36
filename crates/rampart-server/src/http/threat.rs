//! Threat protection at the edge (API.md "Threat protection"): before authentication the
//! address rules and blocks (from memory, no database round trip) and the rate limits of
//! requests without a credential; the [`crate::http::auth`] extractor counts authenticated
//! requests once it knows the caller ([`count_authenticated`]). Over a limit: `429` with
//! `Retry-After`, `RateLimit-Policy` and `RateLimit`, audited `denied` at most once per key and
//! rule per window. After the answer, a `401` or `403` counts as a failure of the address,
//! which may block it.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{HeaderName, HeaderValue, StatusCode, header};
use rampart_access::Caller;
use rampart_threat::{Limits, Refusal, RequestFacts};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::http::audit_trail::AuditSlot;
use crate::http::auth::CallerSlot;
use crate::http::context::ClientIp;
use crate::problem::ApiError;
use crate::state::AppState;

mod permissions;

pub use permissions::{is_public, route_permission};

/// The rate-limit answers of this request, for the headers of its response, and whether the
/// request was counted (a credential the extractor never accepted leaves it uncounted).
#[derive(Debug, Clone, Default)]
pub struct LimitsSlot(Arc<Mutex<Option<Limits>>>);

impl LimitsSlot {
    fn set(&self, limits: Limits) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(limits);
        }
    }

    fn take(&self) -> Option<Limits> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// On a `429`: whether the audit trail records it (the first refusal of its key and rule in the
/// rule's window) or not (every later one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimited {
    /// Whether this refusal is audited.
    pub audited: bool,
}

/// Whether the request presents a credential (the extractor counts it once authenticated).
fn carries_credential(request: &Request) -> bool {
    request.headers().contains_key(header::AUTHORIZATION)
}

/// The middleware; see the module documentation.
pub async fn threat_guard(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(address) = request.extensions().get::<ClientIp>().map(|c| c.0) else {
        return next.run(request).await;
    };
    let now = OffsetDateTime::now_utc();
    match state.threat().admit(address, now) {
        Ok(()) => {}
        Err(Refusal::AddressDenied) => {
            state.metrics().record_address_refusal("address-denied");
            return ApiError::address_denied().into_response();
        }
        Err(Refusal::Blocked(block)) => {
            state.metrics().record_address_refusal("address-blocked");
            let seconds =
                u64::try_from((block.expires_at - now).whole_seconds().max(1)).unwrap_or(1);
            let until = block.expires_at.format(&Rfc3339).unwrap_or_default();
            return ApiError::address_blocked(&until, seconds).into_response();
        }
    }
    // What the rules need, kept cheaply (shared buffers) until it is known whether they run.
    let method = request.method().clone();
    let uri = request.uri().clone();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let facts = || RequestFacts {
        method: method.as_str(),
        path: uri.path(),
        permission: route
            .as_ref()
            .and_then(|r| route_permission(method.as_str(), r.as_str())),
        authenticated: false,
        address,
        principal: None,
        credential: None,
    };
    // Public routes never read a credential: counted here, before their handler runs (a login
    // refused by a rule must not happen), whatever `Authorization` header comes with them.
    let credential = carries_credential(&request)
        && !route
            .as_ref()
            .is_some_and(|r| permissions::is_public(method.as_str(), r.as_str()));
    let mut counted = None;
    let mut slot = None;
    if !credential {
        let limits = match state.threat().count(&facts(), state.monotonic(), now).await {
            Ok(limits) => limits,
            Err(e) => return storage_error(&e),
        };
        if limits.refused().is_some() {
            note_refusal(&request, &limits);
            let mut response = refused_response(&state, &limits);
            headers(&mut response, &limits);
            return response;
        }
        counted = Some(limits);
    } else if state.threat().counts_authenticated() {
        // The extractor counts the request once it has accepted the credential.
        let limits = LimitsSlot::default();
        request.extensions_mut().insert(limits.clone());
        slot = Some(limits);
    }
    let audit_slot = request.extensions().get::<AuditSlot>().cloned();
    let caller_slot = request.extensions().get::<CallerSlot>().cloned();
    let mut response = next.run(request).await;
    let status = response.status();
    let accepted = caller_slot.as_ref().is_some_and(CallerSlot::is_set);
    if credential && !accepted {
        // The credential was never accepted (refused): the request counts as one without a
        // credential, or an `Authorization` header would take any request out of every rule.
        match state.threat().count(&facts(), state.monotonic(), now).await {
            Ok(limits) if limits.refused().is_some() => {
                if let Some(audit) = &audit_slot {
                    note_refusal_in(audit, &limits);
                }
                response = refused_response(&state, &limits);
                headers(&mut response, &limits);
            }
            Ok(limits) => headers(&mut response, &limits),
            Err(e) => return storage_error(&e),
        }
    } else if let Some(limits) = counted.or_else(|| slot.and_then(|s| s.take())) {
        headers(&mut response, &limits);
        if response.status() == StatusCode::TOO_MANY_REQUESTS
            && let Some(refused) = limits.refused()
        {
            state.metrics().record_rate_limited(refused.rule.name());
            if let Some(audit) = &audit_slot {
                note(audit, refused);
            }
            response.extensions_mut().insert(RateLimited {
                audited: refused.first_refusal,
            });
        }
    }
    if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
        failure(&state, address, now).await;
    }
    response
}

/// A `401` or `403` from `address`: counted; a block it causes is recorded.
async fn failure(state: &AppState, address: IpAddr, now: OffsetDateTime) {
    match state.threat().record_failure(address, now).await {
        Ok(Some(block)) => {
            state.metrics().record_block();
            let until = block.expires_at.format(&Rfc3339).unwrap_or_default();
            tracing::warn!(address = %block.target, until, failures = block.failures, "address blocked after repeated failures");
            rampart_app::system_audit::record(
                state.audit(),
                "threat-protection",
                "security.address_blocked",
                ("address", &block.target.to_string()),
                serde_json::json!({
                    "reason": block.reason,
                    "failures": block.failures,
                    "expires_at": until,
                    "manual": false,
                }),
            )
            .await;
        }
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "cannot count a failure toward blocking"),
    }
}

/// Counts an authenticated request against the rules that apply to it (for the `Caller`
/// extractor, once it knows who calls). `Err` is the `429` to answer.
pub async fn count_authenticated(
    state: &AppState,
    parts: &Parts,
    caller: &Caller,
) -> Result<(), ApiError> {
    let Some(address) = parts.extensions.get::<ClientIp>().map(|c| c.0) else {
        return Ok(());
    };
    if !state.threat().counts_authenticated() {
        return Ok(());
    }
    let method = parts.method.as_str();
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map(MatchedPath::as_str);
    let facts = RequestFacts {
        method,
        path: parts.uri.path(),
        permission: route.and_then(|r| route_permission(method, r)),
        authenticated: true,
        address,
        principal: Some(caller.principal().id),
        credential: Some(caller.credential_id()),
    };
    let now = OffsetDateTime::now_utc();
    let limits = state
        .threat()
        .count(&facts, state.monotonic(), now)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let refused = limits
        .refused()
        .map(|r| rampart_threat::retry_after_seconds(r.decision.retry_after));
    if let Some(slot) = parts.extensions.get::<LimitsSlot>() {
        slot.set(limits);
    }
    match refused {
        Some(seconds) => Err(ApiError::rate_limited(seconds)),
        None => Ok(()),
    }
}

/// A storage failure (a `503` while storage is down: [`ApiError::internal`] tells).
fn storage_error(e: &(dyn std::error::Error + 'static)) -> Response {
    ApiError::internal(e).into_response()
}

/// The audit note of a refusal: the rule and bucket (the entry is written by the audit trail).
fn note(audit: &AuditSlot, refused: &rampart_threat::Counted) {
    audit.note(
        "security.rate_limited",
        "rate_limit_rule",
        refused.rule.name(),
    );
    audit.detail("limit", refused.rule.limit());
    audit.detail("window_seconds", refused.rule.window_seconds());
    audit.detail("shared", refused.rule.shared());
    audit.denied();
}

fn note_refusal_in(audit: &AuditSlot, limits: &Limits) {
    if let Some(refused) = limits.refused() {
        note(audit, refused);
    }
}

fn note_refusal(request: &Request, limits: &Limits) {
    if let (Some(audit), Some(refused)) =
        (request.extensions().get::<AuditSlot>(), limits.refused())
    {
        note(audit, refused);
    }
}

/// The `429` of a request refused before its handler.
fn refused_response(state: &AppState, limits: &Limits) -> Response {
    let Some(refused) = limits.refused() else {
        return ApiError::rate_limited(1).into_response();
    };
    state.metrics().record_rate_limited(refused.rule.name());
    let seconds = rampart_threat::retry_after_seconds(refused.decision.retry_after);
    let mut response = ApiError::rate_limited(seconds).into_response();
    response.extensions_mut().insert(RateLimited {
        audited: refused.first_refusal,
    });
    response
}

/// `RateLimit-Policy` and `RateLimit` of the rule closest to its limit (the one that refused,
/// else the least remaining share of its quota): what a client must respect, in two short
/// headers whatever the number of rules (the draft lets a server send only that policy).
fn headers(response: &mut Response, limits: &Limits) {
    let closest = limits.closest();
    let Some(closest) = closest else {
        return;
    };
    let policy = rampart_threat::rate_limit_policy_header([&*closest.rule]);
    let current = rampart_threat::rate_limit_header([(&*closest.rule, &closest.decision)]);
    for (name, value) in [("ratelimit-policy", policy), ("ratelimit", current)] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
}
