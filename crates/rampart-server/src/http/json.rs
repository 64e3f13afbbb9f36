//! [`ApiJson`]: the JSON body extractor whose every rejection is a problem+json answer.
//!
//! Bodies are typed structs (`#[derive(Deserialize, ToSchema)]`, `deny_unknown_fields` where
//! API.md fixes the fields). A body that does not fit its type is a `422` naming the field by
//! its path (`items[2].plaintext`) and saying what was expected, never quoting what was sent:
//! serde's own messages quote the offending value (`invalid type: string "4111…"`), which could
//! be a secret or a card number.

use axum::extract::{FromRequest, Request};
use bytes::Bytes;
use http::header;
use serde::de::DeserializeOwned;

use crate::problem::{ApiError, FieldError};

/// A JSON request body of type `T`.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(&request) {
            return Err(ApiError::unsupported_media_type());
        }
        let bytes = Bytes::from_request(request, state).await.map_err(|e| {
            if e.status() == http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::payload_too_large(None)
            } else {
                ApiError::bad_request("the body could not be read")
            }
        })?;
        parse(&bytes).map(Self)
    }
}

/// Whether the request says its body is JSON (`application/json`, or `application/<x>+json`).
fn is_json(request: &Request) -> bool {
    let Some(value) = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json")
            || subtype.len() > 5
                && subtype
                    .get(subtype.len() - 5..)
                    .is_some_and(|tail| tail.eq_ignore_ascii_case("+json")))
}

/// Parses a JSON body into `T`: a syntax error is a `400`, a body that does not fit `T` a `422`
/// naming the field (see the module documentation).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut *deserializer) {
        Ok(value) => match deserializer.end() {
            Ok(()) => Ok(value),
            Err(e) => Err(ApiError::bad_request(format!(
                "the body is not valid JSON: something follows the value (line {}, column {})",
                e.line(),
                e.column()
            ))),
        },
        Err(e) => {
            let path = e.path().to_string();
            let parent = parent_path(e.path());
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                return Err(ApiError::bad_request(format!(
                    "the body is not valid JSON (line {}, column {})",
                    inner.line(),
                    inner.column()
                )));
            }
            let text = inner.to_string();
            let path = if text.starts_with("unknown field `") {
                // The path ends with the name sent, the client's own text: name its place.
                parent
            } else {
                path
            };
            let (field, message) = describe(&path, &text);
            Err(ApiError::validation(vec![FieldError { field, message }]))
        }
    }
}

/// The field and a message for serde's data error `text` at `path`, without the value sent.
fn describe(path: &str, text: &str) -> (String, String) {
    // serde_json appends " at line L column C" to its messages.
    let text = text.rsplit_once(" at line ").map_or(text, |(head, _)| head);
    let join = |name: &str| {
        if path.is_empty() || path == "." {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    let at = if path.is_empty() || path == "." {
        "body".to_owned()
    } else {
        path.to_owned()
    };
    if let Some(name) = backticked(text, "missing field `") {
        return (join(name), "is required".to_owned());
    }
    if text.starts_with("unknown field `") {
        // The name sent is the client's own text: name the place, list what is accepted.
        let expected = text
            .split_once(", expected ")
            .map(|(_, e)| format!(" (expected {e})"))
            .unwrap_or_default();
        return (
            at,
            format!("holds a field this request does not take{expected}"),
        );
    }
    if let Some(name) = backticked(text, "duplicate field `") {
        return (join(name), "is given twice".to_owned());
    }
    if text.starts_with("unknown variant `") {
        let expected = text
            .split_once(", expected ")
            .map_or_else(|| "a known value".to_owned(), |(_, e)| e.to_owned());
        return (at, format!("must be {expected}"));
    }
    if let Some((_, expected)) = text.rsplit_once(", expected ") {
        return (at, format!("must be {expected}"));
    }
    if let Some(message) = text.strip_prefix(SAFE_MESSAGE) {
        // A message of our own deserializers (they never quote what was sent).
        return (at, message.to_owned());
    }
    (at, "is not valid here".to_owned())
}

/// The prefix of messages our own `Deserialize` implementations give (see [`safe_error`]): they
/// never hold what was sent, so the edge passes them on.
const SAFE_MESSAGE: &str = "rampart: ";

/// An error for a custom `Deserialize` implementation whose `message` holds no value sent:
/// the client sees the message with the field's path.
pub fn safe_error<E: serde::de::Error>(message: &str) -> E {
    E::custom(format_args!("{SAFE_MESSAGE}{message}"))
}

/// `path` without its last segment, as text (`.` for the top level).
fn parent_path(path: &serde_path_to_error::Path) -> String {
    let segments: Vec<_> = path.iter().collect();
    let Some((_, parents)) = segments.split_last() else {
        return ".".to_owned();
    };
    let mut text = String::new();
    for segment in parents {
        match segment {
            serde_path_to_error::Segment::Seq { index } => text.push_str(&format!("[{index}]")),
            serde_path_to_error::Segment::Map { key } => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(key);
            }
            serde_path_to_error::Segment::Enum { variant } => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push_str(variant);
            }
            serde_path_to_error::Segment::Unknown => {
                if !text.is_empty() {
                    text.push('.');
                }
                text.push('?');
            }
        }
    }
    if text.is_empty() {
        ".".to_owned()
    } else {
        text
    }
}

fn backticked<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.strip_prefix(prefix)?
        .split_once('`')
        .map(|(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        plaintext: String,
        count: Option<u32>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        items: Vec<Item>,
        mode: Option<Mode>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        Fast,
        Slow,
    }

    fn problem(body: &str) -> (u16, String, String) {
        let error = parse::<Body>(body.as_bytes()).expect_err(body);
        let problem = error.problem();
        let (field, message) = problem
            .errors
            .first()
            .map(|e| (e.field.clone(), e.message.clone()))
            .unwrap_or_default();
        (problem.status, field, message)
    }

    #[test]
    fn errors_name_the_field_and_never_quote_the_value() {
        let secret = "4111111111111111-canary-SECRET";
        for (body, field, needle) in [
            (
                r#"{"items": [{"plaintext": "a"}, {"plaintext": 7, "count": 1}]}"#.to_owned(),
                "items[1].plaintext",
                "must be a string",
            ),
            (
                format!(r#"{{"items": [{{"plaintext": "a", "count": "{secret}"}}]}}"#),
                "items[0].count",
                "must be u32",
            ),
            (
                r#"{"items": [{}]}"#.to_owned(),
                "items[0].plaintext",
                "is required",
            ),
            ("{}".to_owned(), "items", "is required"),
            (
                format!(r#"{{"items": [], "{secret}": 1}}"#),
                "body",
                "does not take",
            ),
            (
                format!(r#"{{"items": [], "mode": "{secret}"}}"#),
                "mode",
                "must be `fast` or `slow`",
            ),
            (
                r#"{"items": [{"plaintext": "a", "count": -1}]}"#.to_owned(),
                "items[0].count",
                "must be u32",
            ),
        ] {
            let (status, got_field, message) = problem(&body);
            assert_eq!(status, 422, "{body}");
            assert_eq!(got_field, field, "{body}");
            assert!(message.contains(needle), "{body}: {message}");
            assert!(
                !message.contains("canary") && !message.contains("4111"),
                "{message}"
            );
        }
    }

    #[test]
    fn syntax_errors_are_400_without_the_body() {
        let error = parse::<Body>(b"{\"items\": [\"4111111111111111").expect_err("eof");
        let problem = error.problem();
        assert_eq!(problem.status, 400);
        assert!(!problem.detail.contains("4111"), "{}", problem.detail);
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct EncryptBody {
        plaintext_b64: String,
        version: Option<u32>,
    }

    const PAN: &str = "4111111111111111";

    async fn answer(content_type: Option<&str>, body: &str) -> (u16, serde_json::Value) {
        let mut request = Request::builder().method("POST").uri("/");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let request = request
            .body(axum::body::Body::from(body.to_owned()))
            .expect("request");
        let error = ApiJson::<EncryptBody>::from_request(request, &())
            .await
            .expect_err("rejected");
        let response = axum::response::IntoResponse::into_response(error);
        let status = response.status().as_u16();
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        (
            status,
            serde_json::from_slice(&bytes).expect("problem+json"),
        )
    }

    #[tokio::test]
    async fn a_typed_body_is_refused_by_field_without_quoting_it() {
        let json = Some("application/json");
        let cases = [
            (
                json,
                format!(r#"{{"plaintext_b64": 1, "version": "{PAN}"}}"#),
                422,
                "plaintext_b64",
            ),
            (
                json,
                format!(r#"{{"plaintext_b64": "x", "version": "{PAN}"}}"#),
                422,
                "version",
            ),
            (
                json,
                format!(r#"{{"plaintext_b64": "x", "{PAN}": 1}}"#),
                422,
                "body",
            ),
            (json, r#"{"version": 1}"#.to_owned(), 422, "plaintext_b64"),
            (json, format!(r#"["{PAN}"]"#), 422, "body"),
            (json, format!(r#"{{"plaintext_b64": "{PAN}"#), 400, ""),
            (
                json,
                format!(r#"{{"plaintext_b64": "{PAN}"}} {PAN}"#),
                400,
                "",
            ),
            (
                Some("text/plain"),
                format!(r#"{{"plaintext_b64": "{PAN}"}}"#),
                415,
                "",
            ),
            (None, format!(r#"{{"plaintext_b64": "{PAN}"}}"#), 415, ""),
        ];
        for (content_type, body, status, field) in cases {
            let (got, problem) = answer(content_type, &body).await;
            assert_eq!(got, status, "{body}: {problem}");
            assert!(!problem.to_string().contains(PAN), "{problem}");
            if status == 422 {
                assert_eq!(problem["errors"][0]["field"], field, "{problem}");
            }
        }
    }
}
