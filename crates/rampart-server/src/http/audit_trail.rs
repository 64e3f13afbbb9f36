//! The audit trail of the API itself: every request that changes state with a valid credential,
//! and every 401 and 403, gets its own audit entry before the response leaves, with the actor
//! taken from the credential, the client address, user agent and request id. The log is thus
//! complete without the application doing anything.
//!
//! Successful `POST /v1/audit/entries` are not logged again: the entries are their own record,
//! with `submitted_by` from the credential. `POST /v1/redact` and `/v1/detect` change nothing
//! and are not logged unless denied.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{Method, StatusCode, header};
use rampart_audit::{Journal, JournalError, LogError, NewEntry, SubmittedBy};
use rampart_store::StoreChange;
use serde_json::{Value, json};

use utoipa_axum::router::{UtoipaMethodRouter, UtoipaMethodRouterExt};

use crate::http::auth::{Caller, CallerSlot};
use crate::http::context::{ClientIp, RequestId};
use crate::problem::{ApiError, FieldError};
use crate::state::AppState;

mod scrub;

pub(crate) use scrub::scrub_identifier;

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
    /// The entry's `status` when the HTTP status does not say it (a refusal answered 200).
    pub outcome: Option<&'static str>,
    /// The data subject (GDPR) the request concerns: the entry's `subject_id`, so the entry is
    /// indexed under the subject and belongs to its export, while `details` never name it.
    pub subject_id: Option<String>,
}

/// What the middleware knows of a request before the handler runs: enough for a handler to
/// build its own entry (see [`AuditSlot::commit`]).
#[derive(Debug, Clone, Default)]
struct RequestFacts {
    method: String,
    route: String,
    request_id: Option<String>,
    client_ip: Option<IpAddr>,
    user_agent: Option<String>,
}

#[derive(Debug, Default)]
struct SlotState {
    note: Option<AuditNote>,
    facts: RequestFacts,
    /// The handler committed its change together with its entry: the middleware adds none.
    recorded: bool,
    /// The route changes nothing (a check or a computation): it is audited only when denied
    /// or when its handler leaves a note (see [`only_when_noted`]).
    only_when_noted: bool,
    /// A read the handler wants recorded though it changes nothing (an export of a data
    /// subject's personal data).
    record_read: bool,
}

/// Where a handler leaves its [`AuditNote`]; extract it as a handler argument.
#[derive(Debug, Clone, Default)]
pub struct AuditSlot(Arc<Mutex<SlotState>>);

impl AuditSlot {
    /// Names the action and resource of this request.
    pub fn note(&self, action: &str, resource_type: &str, resource_id: &str) {
        if let Ok(mut slot) = self.0.lock() {
            slot.note = Some(AuditNote {
                action: action.to_owned(),
                resource_type: resource_type.to_owned(),
                resource_id: scrub_identifier(&clean(resource_id, 256)),
                details: serde_json::Map::new(),
                outcome: None,
                subject_id: None,
            });
        }
    }

    /// Adds a detail to the note (after [`AuditSlot::note`]).
    pub fn detail(&self, name: &str, value: impl Into<serde_json::Value>) {
        if let Ok(mut slot) = self.0.lock()
            && let Some(note) = slot.note.as_mut()
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

    /// Names the data subject the request concerns (after [`AuditSlot::note`]): the entry's
    /// `subject_id`, kept exact (a subject id is checked where it is received: 1 to 256 bytes,
    /// no control characters).
    pub fn subject(&self, subject_id: &str) {
        if let Ok(mut slot) = self.0.lock()
            && let Some(note) = slot.note.as_mut()
        {
            note.subject_id = Some(subject_id.to_owned());
        }
    }

    /// Records the request as a refusal (`status: "denied"`) though it is answered 200: a
    /// denied authorization decision (after [`AuditSlot::note`]).
    pub fn denied(&self) {
        if let Ok(mut slot) = self.0.lock()
            && let Some(note) = slot.note.as_mut()
        {
            note.outcome = Some("denied");
        }
    }

    /// The request's id, client address and user agent (cleaned), for a service that writes
    /// this request's entry itself (see [`AuditSlot::mark_recorded`]).
    pub fn origin(&self) -> (Option<String>, Option<IpAddr>, Option<String>) {
        self.0
            .lock()
            .map(|slot| {
                (
                    slot.facts.request_id.clone(),
                    slot.facts.client_ip,
                    slot.facts.user_agent.clone(),
                )
            })
            .unwrap_or_default()
    }

    /// Says a domain service committed this request's change with its own entry (one the
    /// middleware could not write: another actor, the domain's details): the middleware adds
    /// none.
    pub fn mark_recorded(&self) {
        if let Ok(mut slot) = self.0.lock() {
            slot.recorded = true;
        }
    }

    /// Records this read (a `GET`) as if it changed state: who read a subject's personal data.
    pub fn record_read(&self) {
        if let Ok(mut slot) = self.0.lock() {
            slot.record_read = true;
        }
    }

    /// The request's facts and note, whether the handler recorded it, whether the route is
    /// audited only when noted, and whether the handler asked its read recorded, taken out of
    /// the slot.
    fn take(&self) -> (RequestFacts, Option<AuditNote>, bool, bool, bool) {
        self.0
            .lock()
            .map(|mut slot| {
                (
                    std::mem::take(&mut slot.facts),
                    slot.note.take(),
                    slot.recorded,
                    slot.only_when_noted,
                    slot.record_read,
                )
            })
            .unwrap_or_default()
    }

    /// Makes `change` and records it in one transaction, with the entry the middleware would
    /// have written for a `status` answer: either both are written or neither. `Ok(false)` when
    /// the change was refused (its precondition no longer held; nothing written: the handler
    /// answers its own error, which the middleware then records). An entry that cannot be
    /// built (details beyond the audit log's limits) is a 422 and nothing is changed.
    pub async fn commit(
        &self,
        state: &AppState,
        caller: &Caller,
        status: StatusCode,
        change: impl Into<StoreChange>,
    ) -> Result<bool, ApiError> {
        let change = change.into();
        let (facts, note) = match self.0.lock() {
            Ok(slot) => (slot.facts.clone(), slot.note.clone()),
            Err(_) => {
                return Err(ApiError::internal(&std::io::Error::other(
                    "the audit slot is poisoned",
                )));
            }
        };
        let event = event_of(&facts, Some(caller), status, note.as_ref(), false);
        let entry = NewEntry::from_json(&event, "").map_err(|_| {
            ApiError::validation(vec![FieldError {
                field: String::new(),
                message: "the change is too large to record in the audit log; nothing was changed"
                    .to_owned(),
            }])
        })?;
        match state
            .audit()
            .append_with(vec![entry], SubmittedBy::rampart(), change)
            .await
        {
            Ok(_) => {
                if let Ok(mut slot) = self.0.lock() {
                    slot.recorded = true;
                }
                state.monitor().entries_appended();
                Ok(true)
            }
            Err(LogError::Refused(_)) => Ok(false),
            Err(e) => Err(ApiError::internal(&e)),
        }
    }
}

/// The journal of one request: commits a domain service's change with this request's audit
/// entry (see [`AuditSlot::commit`]), as the caller, with the status the handler will answer.
pub struct RequestJournal<'a> {
    slot: &'a AuditSlot,
    state: &'a AppState,
    caller: &'a Caller,
    status: StatusCode,
}

impl AuditSlot {
    /// The journal a domain service commits this request's change through.
    pub fn journal<'a>(
        &'a self,
        state: &'a AppState,
        caller: &'a Caller,
        status: StatusCode,
    ) -> RequestJournal<'a> {
        RequestJournal {
            slot: self,
            state,
            caller,
            status,
        }
    }
}

impl<C: Into<StoreChange> + Send> Journal<C> for RequestJournal<'_> {
    async fn commit(&self, change: C) -> Result<(), JournalError> {
        match self
            .slot
            .commit(self.state, self.caller, self.status, change.into())
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(JournalError::Refused),
            Err(e) if e.status() == StatusCode::UNPROCESSABLE_ENTITY => Err(JournalError::TooLarge),
            Err(e) if e.is_unavailable() => Err(JournalError::StorageDown),
            Err(_) => Err(JournalError::Unavailable(
                "the audit log did not record the change".to_owned(),
            )),
        }
    }
}

impl From<JournalError> for ApiError {
    fn from(e: JournalError) -> Self {
        match e {
            JournalError::Refused => ApiError::conflict(
                "the change was refused: it conflicts with a change made meanwhile",
            ),
            JournalError::TooLarge => ApiError::validation(vec![FieldError {
                field: String::new(),
                message: JournalError::TooLarge.to_string(),
            }]),
            JournalError::Unavailable(_) => ApiError::internal(&e),
            JournalError::StorageDown => ApiError::unavailable(),
        }
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

/// Registers routes that change nothing, such as checks and computations (`POST /v1/redact`,
/// `/v1/detect`, `/v1/authorize`, `/v1/auth/introspect`): their requests are audited only when
/// denied or when the handler leaves a note (a denied authorization, a redaction that stored
/// cards), not as state changes.
pub fn only_when_noted(routes: UtoipaMethodRouter<AppState>) -> UtoipaMethodRouter<AppState> {
    routes.layer(axum::middleware::from_fn(mark_only_when_noted))
}

async fn mark_only_when_noted(request: Request, next: Next) -> Response {
    if let Some(slot) = request.extensions().get::<AuditSlot>()
        && let Ok(mut slot) = slot.0.lock()
    {
        slot.only_when_noted = true;
    }
    next.run(request).await
}

/// Keeps at most `max` characters, without control characters.
fn clean(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}

/// The audit event of a request: the actor from the credential, the client address, user agent
/// and request id, the handler's note (or the route), and the outcome. With `compact`, only the
/// request's own facts go into `details` (for a note whose details are beyond the log's limits).
fn event_of(
    facts: &RequestFacts,
    caller: Option<&Caller>,
    status: StatusCode,
    note: Option<&AuditNote>,
    compact: bool,
) -> Value {
    let denied = is_denial(status);
    let (actor_type, actor_id) = match caller {
        Some(c) => (
            c.principal().kind.as_str().to_owned(),
            c.principal().id.to_string(),
        ),
        None => ("user".to_owned(), "anonymous".to_owned()),
    };
    // A login that did not succeed is a failed login (`failure`), not a refused call; that
    // includes a right password that still needs its second factor enrolled.
    let failed_login =
        status == StatusCode::UNAUTHORIZED && note.is_some_and(|n| n.action == "auth.login");
    let action = match (status, note) {
        (StatusCode::UNAUTHORIZED, Some(note)) if failed_login => note.action.clone(),
        (StatusCode::UNAUTHORIZED, _) => "api.unauthenticated".to_owned(),
        (StatusCode::FORBIDDEN, None) => "api.forbidden".to_owned(),
        (StatusCode::LOCKED, _) => "auth.locked".to_owned(),
        // A rate-limit rule's refusal names itself (`security.rate_limited`, with the rule).
        (StatusCode::TOO_MANY_REQUESTS, Some(note)) if note.action == "security.rate_limited" => {
            note.action.clone()
        }
        (StatusCode::TOO_MANY_REQUESTS, _) => "api.rate_limited".to_owned(),
        (_, Some(note)) => note.action.clone(),
        _ => format!("api.{}", facts.method.to_ascii_lowercase()),
    };
    let (resource_type, resource_id) = match note {
        Some(note) => (note.resource_type.clone(), note.resource_id.clone()),
        None => ("api_route".to_owned(), clean(&facts.route, 256)),
    };
    let mut details = serde_json::Map::new();
    details.insert("method".to_owned(), json!(facts.method));
    details.insert("route".to_owned(), json!(clean(&facts.route, 256)));
    details.insert("status".to_owned(), json!(status.as_u16()));
    details.insert(
        "credential_id".to_owned(),
        json!(caller.map(|c| c.credential_id().to_string())),
    );
    if let Some(note) = note {
        if compact {
            details.insert(
                "details_omitted".to_owned(),
                json!("the request's details exceed the audit log's limits"),
            );
        } else {
            details.extend(note.details.clone());
        }
    }
    let outcome = if failed_login {
        "failure"
    } else if denied {
        "denied"
    } else if let Some(outcome) = note.and_then(|n| n.outcome) {
        outcome
    } else if status.is_success() {
        "success"
    } else {
        "failure"
    };
    json!({
        "actor": {"type": actor_type, "id": actor_id, "ip": facts.client_ip.map(|ip| ip.to_string()), "user_agent": facts.user_agent},
        "action": action,
        "resource": {"type": resource_type, "id": resource_id},
        "context": {"request_id": facts.request_id},
        "details": details,
        "status": outcome,
        "data_classification": "internal",
        "subject_id": note.and_then(|n| n.subject_id.as_deref()),
    })
}

fn is_denial(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::UNAUTHORIZED
            | StatusCode::FORBIDDEN
            | StatusCode::LOCKED
            | StatusCode::TOO_MANY_REQUESTS
    )
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
    let facts = RequestFacts {
        method: method.as_str().to_owned(),
        route: request
            .extensions()
            .get::<MatchedPath>()
            .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned()),
        request_id: request.extensions().get::<RequestId>().map(|r| r.0.clone()),
        client_ip: request.extensions().get::<ClientIp>().map(|c| c.0),
        user_agent: request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| scrub_identifier(&clean(ua, 512))),
    };
    let notes = AuditSlot(Arc::new(Mutex::new(SlotState {
        facts,
        ..SlotState::default()
    })));
    request.extensions_mut().insert(notes.clone());

    let response = next.run(request).await;
    let status = response.status();
    let caller = slot.get();
    let (facts, note, recorded, only_when_noted, record_read) = notes.take();
    if recorded {
        // The handler's change and its entry committed together.
        return response;
    }
    let changes_state =
        record_read || !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    let denied = is_denial(status);
    let route = facts.route.as_str();
    let own_record = route == "/v1/audit/entries" && method == Method::POST && status.is_success();
    // Checks and computations change nothing; they are audited only when a handler says so
    // (a denied authorization, a redaction that stored cards).
    let read_only = only_when_noted && note.is_none();
    let changes_state = changes_state && !read_only;
    if !(denied || (caller.is_some() && changes_state && !own_record)) {
        return response;
    }
    // A rate limit's refusals are recorded once per key and rule per window.
    if response
        .extensions()
        .get::<crate::http::threat::RateLimited>()
        .is_some_and(|limited| !limited.audited)
    {
        return response;
    }
    // Only denials without a valid credential are limited (a flood of junk tokens must not
    // flood the log); what an authenticated caller was refused is always recorded. Suppressed
    // denials are summed per address and recorded as one entry per window.
    if denied
        && caller.is_none()
        && let Some(ip) = facts.client_ip
        && !state.denials().admit(ip)
    {
        state.metrics().record_suppressed_denial();
        return response;
    }
    let event = event_of(&facts, caller.as_ref(), status, note.as_ref(), false);
    let entry = match NewEntry::from_json(&event, "") {
        Ok(entry) => entry,
        Err(_) => {
            // Details beyond the log's limits must not cost the record: keep its facts.
            let compact = event_of(&facts, caller.as_ref(), status, note.as_ref(), true);
            match NewEntry::from_json(&compact, "") {
                Ok(entry) => entry,
                Err(errors) => {
                    tracing::error!(?errors, "cannot build the audit entry of a request");
                    return if changes_state && !denied {
                        ApiError::internal(&std::io::Error::other(
                            "the change could not be recorded",
                        ))
                        .into_response()
                    } else {
                        response
                    };
                }
            }
        }
    };
    match state
        .audit()
        .append(vec![entry], SubmittedBy::rampart())
        .await
    {
        Ok(_) => {
            // Detection reads it at once rather than at its next poll.
            state.monitor().entries_appended();
            response
        }
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
