//! [`ApiJson`]: the JSON body extractor whose every rejection is a problem+json answer that
//! names the field at fault and never quotes the body (see [`super::deserialize`]).

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};

use super::deserialize::describe;
use crate::problem::ApiError;

/// A JSON request body of type `T`.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(rejected(&rejection)),
        }
    }
}

/// The problem for a rejected body: 415 without a JSON content type, 400 for text that is not
/// JSON, 413 over the size limit, 422 for JSON that is not what the operation takes.
fn rejected(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::unsupported_media_type(),
        JsonRejection::JsonSyntaxError(_) => {
            // serde_json's syntax errors say where, never what: `EOF while parsing an object at
            // line 1 column 1`. The path in front of it may hold the client's keys: dropped.
            let syntax = path_error(rejection)
                .map(serde_path_to_error::Error::inner)
                .or_else(|| source::<serde_json::Error>(rejection));
            ApiError::bad_request(match syntax {
                Some(error) => format!("the body is not valid JSON: {error}"),
                None => "the body is not valid JSON".to_owned(),
            })
        }
        JsonRejection::JsonDataError(_) => {
            let field = path_error(rejection).map_or_else(
                || crate::problem::FieldError {
                    field: "body".to_owned(),
                    message: "is not what this operation takes".to_owned(),
                },
                |error| describe(error.path(), &error.inner().to_string(), "body").1,
            );
            ApiError::validation(vec![field])
        }
        JsonRejection::BytesRejection(e) if e.status() == http::StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::payload_too_large(None)
        }
        other => ApiError::bad_request(other.body_text()),
    }
}

/// The path-tracking serde_json error under a rejection (axum wraps it twice).
fn path_error(rejection: &JsonRejection) -> Option<&serde_path_to_error::Error<serde_json::Error>> {
    source::<serde_path_to_error::Error<serde_json::Error>>(rejection)
}

/// The first error of type `E` in a rejection's chain of sources.
fn source<E: std::error::Error + 'static>(rejection: &JsonRejection) -> Option<&E> {
    let mut source = std::error::Error::source(rejection);
    while let Some(error) = source {
        if let Some(found) = error.downcast_ref::<E>() {
            return Some(found);
        }
        source = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::response::IntoResponse as _;
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Encrypt {
        plaintext_b64: String,
        version: Option<u32>,
    }

    const PAN: &str = "4111111111111111";

    async fn answer(content_type: Option<&str>, body: &str) -> (u16, serde_json::Value) {
        let mut request = Request::builder().method("POST").uri("/");
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let request = request.body(Body::from(body.to_owned())).expect("request");
        let error = ApiJson::<Encrypt>::from_request(request, &())
            .await
            .expect_err("rejected");
        let response = error.into_response();
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
                "?",
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
