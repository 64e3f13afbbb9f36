//! RFC 9457 problem details: every error the API returns.
//!
//! Clients see a small set of stable problem types (the slug in `type`), never internal states.
//! A 500 says "internal error" and the request id; the detail goes to the log only.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// Base of every problem `type` URI.
pub const PROBLEM_BASE: &str = "https://rampart.dev/problems/";

/// Most field errors one answer carries; the rest are dropped and `errors_truncated` says so.
pub const MAX_FIELD_ERRORS: usize = 100;
/// Longest `field` and `message` of a field error, in characters (they may quote client keys).
const MAX_FIELD_CHARS: usize = 128;
const MAX_MESSAGE_CHARS: usize = 256;
/// Field errors the `detail` sentence repeats.
const DETAIL_ERRORS: usize = 10;

/// One invalid field of a request.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// The field, as a path into the request body (`events[3].action`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// The problem+json body.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// `https://rampart.dev/problems/<slug>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short, stable summary of the problem type.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened in this case.
    pub detail: String,
    /// Field-level errors, for `422`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// `true` when there were more field errors than `errors` lists (at most 100 are listed).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub errors_truncated: bool,
    /// The extension members of this problem type (RFC 9457 §3.2), beside the standard ones:
    /// e.g. what is left of a pruned audit entry. Most problems have none. The operations that
    /// answer with some document them in their own response schema.
    #[serde(flatten)]
    #[schema(ignore)]
    pub members: Map<String, Value>,
}

/// The members every problem has: extension members never take their names.
const STANDARD_MEMBERS: &[&str] = &[
    "type",
    "title",
    "status",
    "detail",
    "instance",
    "errors",
    "errors_truncated",
];

/// An error on its way to becoming a problem+json response.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    slug: &'static str,
    title: &'static str,
    detail: String,
    errors: Vec<FieldError>,
    errors_truncated: bool,
    www_authenticate: bool,
    retry_after: Option<u64>,
    /// Extension members (boxed: most errors have none, and every handler returns this type).
    members: Option<Box<Map<String, Value>>>,
}

impl ApiError {
    fn new(
        status: StatusCode,
        slug: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            slug,
            title,
            detail: detail.into(),
            errors: Vec::new(),
            errors_truncated: false,
            www_authenticate: false,
            retry_after: None,
            members: None,
        }
    }

    /// `400`: the request could not be parsed.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Malformed request",
            detail,
        )
    }

    /// `422` for a refused document (rule files, rules and other bodies the domains validate),
    /// naming each field; a parser's words are not repeated, as they may quote the client's text.
    pub fn refused_document(invalid: &rampart_document::Invalid) -> Self {
        use rampart_document::Invalid;
        let errors = match invalid {
            Invalid::Unreadable { path, .. } => vec![FieldError {
                field: if path.is_empty() {
                    "(body)".to_owned()
                } else {
                    path.clone()
                },
                message: "is not of the expected shape (see the OpenAPI schema)".to_owned(),
            }],
            Invalid::Fields(fields) => fields
                .iter()
                .map(|f| FieldError {
                    field: f.path.clone(),
                    message: f.message.clone(),
                })
                .collect(),
        };
        Self::validation(errors)
    }

    /// `422`: the request parsed but is invalid. At most [`MAX_FIELD_ERRORS`] errors are kept
    /// (each cut to a bounded length), so no input makes a large answer.
    pub fn validation(mut errors: Vec<FieldError>) -> Self {
        let truncated = errors.len() > MAX_FIELD_ERRORS;
        errors.truncate(MAX_FIELD_ERRORS);
        for error in &mut errors {
            cut(&mut error.field, MAX_FIELD_CHARS);
            cut(&mut error.message, MAX_MESSAGE_CHARS);
        }
        let mut detail = errors
            .iter()
            .take(DETAIL_ERRORS)
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        if truncated {
            detail.push_str(&format!(
                "; and more: the first {MAX_FIELD_ERRORS} errors are listed in 'errors'"
            ));
        } else if errors.len() > DETAIL_ERRORS {
            detail.push_str(&format!(
                "; and more: all {} errors are listed in 'errors'",
                errors.len()
            ));
        }
        let mut error = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
            "Invalid request",
            detail,
        );
        error.errors = errors;
        error.errors_truncated = truncated;
        error
    }

    /// `401`: the credential is missing or not valid. The same answer for every reason.
    pub fn unauthenticated() -> Self {
        let mut error = Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Authentication required",
            "send a valid API key or session token as 'Authorization: Bearer <credential>'",
        );
        error.www_authenticate = true;
        error
    }

    /// `401` with a detail of its own (a failed login: the same answer for every reason).
    pub fn unauthenticated_detail(detail: impl Into<String>) -> Self {
        let mut error = Self::unauthenticated();
        error.detail = detail.into();
        error
    }

    /// `401` of type `mfa-required`: the password was right, a second factor is needed.
    pub fn mfa_required(detail: impl Into<String>) -> Self {
        let mut error = Self::new(
            StatusCode::UNAUTHORIZED,
            "mfa-required",
            "Second factor required",
            detail,
        );
        error.www_authenticate = true;
        error
    }

    /// `423`: the account is locked.
    pub fn locked(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::LOCKED, "locked", "Account locked", detail)
    }

    /// `403`: authenticated, but without the permission.
    pub fn forbidden(permission: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Permission denied",
            format!("this credential lacks the permission '{permission}'"),
        )
    }

    /// `403`: authenticated, but refused for a reason other than a missing permission (team
    /// isolation, separation of duties), given in `detail`.
    pub fn refused(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Permission denied",
            detail,
        )
    }

    /// `409`: the request conflicts with the resource's state.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
    }

    /// `403`: the resource is reserved for Rampart's own use.
    pub fn reserved(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "reserved",
            "Reserved for Rampart",
            detail,
        )
    }

    /// `404`: no such resource or route.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    /// `410`: the resource existed and is gone for good (an audit entry pruned under
    /// retention), with extension `members` saying what is left of it. A member named like a
    /// standard one (`type`, `status`, ...) is dropped: it could not be told apart.
    pub fn gone(detail: impl Into<String>, mut members: Map<String, Value>) -> Self {
        members.retain(|name, _| !STANDARD_MEMBERS.contains(&name.as_str()));
        let mut error = Self::new(StatusCode::GONE, "gone", "Gone", detail);
        error.members = Some(Box::new(members));
        error
    }

    /// `405`: the route exists, the method does not.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            "this endpoint does not support the request's method",
        )
    }

    /// `413`: the body is larger than the configured limit.
    pub fn payload_too_large(limit: Option<u64>) -> Self {
        let detail = match limit {
            Some(limit) => format!("request bodies here are limited to {limit} bytes"),
            None => "the request body exceeds the configured limit".to_owned(),
        };
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Request body too large",
            detail,
        )
    }

    /// `415`: the body is not JSON.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "send the body as 'Content-Type: application/json'",
        )
    }

    /// `403`: the address rules refuse the client's address.
    pub fn address_denied() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "address-denied",
            "Address not allowed",
            "requests from this address are not allowed here",
        )
    }

    /// `403`: the client's address is blocked until `until` (RFC 3339), with `Retry-After`.
    pub fn address_blocked(until: &str, seconds: u64) -> Self {
        let mut error = Self::new(
            StatusCode::FORBIDDEN,
            "address-blocked",
            "Address blocked",
            format!("this address is blocked until {until}"),
        );
        error.retry_after = Some(seconds);
        error
    }

    /// `429`: rate limited; retry after `seconds`.
    pub fn rate_limited(seconds: u64) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            format!("retry after {seconds} seconds"),
        );
        error.retry_after = Some(seconds);
        error
    }

    /// `503` with `Retry-After`: the request took longer than the configured timeout.
    pub fn timeout() -> Self {
        let mut error = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "Request timed out",
            "the request took longer than the server's request timeout",
        );
        error.retry_after = Some(rampart_app::outage::RETRY_AFTER_SECONDS);
        error
    }

    /// `503` with `Retry-After`: storage could not be reached (the database is down or
    /// restarting); the same request may succeed once it is back.
    pub fn unavailable() -> Self {
        let seconds = rampart_app::outage::RETRY_AFTER_SECONDS;
        let mut error = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Storage unavailable",
            format!(
                "storage cannot be reached right now; nothing was changed; retry after {seconds} seconds"
            ),
        );
        error.retry_after = Some(seconds);
        error
    }

    /// `500`: something failed inside; the detail is logged, never sent. When the cause (or
    /// one of its sources) is storage being unreachable, [`ApiError::unavailable`] instead: an
    /// outage is no internal error, and the client should retry.
    pub fn internal(cause: &(dyn std::error::Error + 'static)) -> Self {
        if rampart_app::outage::is_storage_down(cause) {
            tracing::warn!(error = %ErrorChain(cause), "storage unavailable");
            return Self::unavailable();
        }
        tracing::error!(error = %ErrorChain(cause), "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "an internal error occurred; quote the X-Request-Id header when reporting it",
        )
    }

    /// The problem for an error status a framework layer answered in plain text before any
    /// handler ran (axum's `Path` refusing a parameter that is not UTF-8 once decoded). Its text
    /// is not kept: it may quote the request.
    pub fn from_status(status: StatusCode) -> Self {
        match status {
            StatusCode::NOT_FOUND => Self::not_found("no such endpoint; see /openapi.json"),
            StatusCode::METHOD_NOT_ALLOWED => Self::method_not_allowed(),
            StatusCode::PAYLOAD_TOO_LARGE => Self::payload_too_large(None),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::unsupported_media_type(),
            status if status.is_server_error() => {
                tracing::error!(
                    status = status.as_u16(),
                    "a framework layer failed the request"
                );
                Self::new(
                    status,
                    "internal",
                    "Internal error",
                    "an internal error occurred; quote the X-Request-Id header when reporting it",
                )
            }
            status => Self::new(
                status,
                "bad-request",
                "Malformed request",
                "the request's path, parameters or headers could not be read (path segments must be UTF-8 once percent-decoded)",
            ),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Whether this is [`ApiError::unavailable`]: storage could not be reached.
    pub fn is_unavailable(&self) -> bool {
        self.slug == "unavailable"
    }

    /// The body this error serializes to.
    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("{PROBLEM_BASE}{}", self.slug),
            title: self.title.to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            errors: self.errors.clone(),
            errors_truncated: self.errors_truncated,
            members: self.members.as_deref().cloned().unwrap_or_default(),
        }
    }
}

/// Cuts `text` to `max` characters, marking the cut with `…`.
fn cut(text: &mut String, max: usize) {
    if let Some((at, _)) = text.char_indices().nth(max) {
        text.truncate(at);
        text.push('…');
    }
}

/// Displays an error with its sources, `a: b: c`.
struct ErrorChain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.problem())).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.www_authenticate {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"rampart\""),
            );
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_hide_their_cause() {
        let cause = std::io::Error::other("SELECT secret FROM sealed_secrets");
        let problem = ApiError::internal(&cause).problem();
        assert_eq!(problem.status, 500);
        assert_eq!(problem.kind, "https://rampart.dev/problems/internal");
        assert!(!problem.detail.contains("SELECT"));
    }

    #[test]
    fn storage_outages_are_503_with_retry_after() {
        let error = ApiError::internal(&rampart_audit::JournalError::StorageDown);
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            error.problem().kind,
            "https://rampart.dev/problems/unavailable"
        );
        let response = error.into_response();
        assert_eq!(
            response.headers().get(header::RETRY_AFTER),
            Some(&HeaderValue::from(rampart_app::outage::RETRY_AFTER_SECONDS))
        );
        // Any other failure stays a 500 without Retry-After.
        let failed = ApiError::internal(&rampart_audit::JournalError::Unavailable("x".into()));
        assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            failed
                .into_response()
                .headers()
                .get(header::RETRY_AFTER)
                .is_none()
        );
    }

    /// Hardening #9: no 422 carries more than 100 errors, nor long ones.
    #[test]
    fn validation_caps_the_errors_it_reports() {
        let errors = (0..1000)
            .map(|i| FieldError {
                field: format!("{i}{}", "k".repeat(10_000)),
                message: "m".repeat(10_000),
            })
            .collect();
        let error = ApiError::validation(errors);
        let body = serde_json::to_vec(&error.problem()).expect("serializes");
        assert!(body.len() < 64 * 1024, "{} bytes", body.len());
        let body: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(
            body["errors"].as_array().map(Vec::len),
            Some(MAX_FIELD_ERRORS)
        );
        assert_eq!(body["errors_truncated"], true);
        let few = ApiError::validation(vec![FieldError {
            field: "a".into(),
            message: "b".into(),
        }]);
        let body = serde_json::to_value(few.problem()).expect("serializes");
        assert!(body.get("errors_truncated").is_none(), "{body}");
    }

    #[test]
    fn gone_carries_its_members_beside_the_standard_ones() {
        let mut members = Map::new();
        members.insert("seq".into(), Value::from(3));
        members.insert("status".into(), Value::from("forged"));
        let error = ApiError::gone("entry 3 was pruned", members);
        assert_eq!(error.status(), StatusCode::GONE);
        let body = serde_json::to_value(error.problem()).expect("serializes");
        assert_eq!(
            body,
            serde_json::json!({
                "type": "https://rampart.dev/problems/gone",
                "title": "Gone",
                "status": 410,
                "detail": "entry 3 was pruned",
                "seq": 3,
            })
        );
        // Other problems have no members.
        let plain = serde_json::to_value(ApiError::not_found("x").problem()).expect("json");
        assert_eq!(plain.as_object().map(|o| o.len()), Some(4), "{plain}");
    }

    #[test]
    fn validation_lists_every_field() {
        let error = ApiError::validation(vec![
            FieldError {
                field: "action".into(),
                message: "is required".into(),
            },
            FieldError {
                field: "status".into(),
                message: "must be success, failure or denied".into(),
            },
        ]);
        assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = serde_json::to_value(error.problem()).expect("serializes");
        assert_eq!(body["errors"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            body["type"],
            "https://rampart.dev/problems/validation-failed"
        );
    }
}
