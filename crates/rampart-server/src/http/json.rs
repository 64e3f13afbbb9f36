//! [`ApiJson`]: the JSON body extractor whose every rejection is a problem+json answer.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};

use crate::problem::{ApiError, FieldError};

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
            Err(rejection) => Err(match rejection {
                JsonRejection::MissingJsonContentType(_) => ApiError::unsupported_media_type(),
                JsonRejection::JsonSyntaxError(e) => {
                    ApiError::bad_request(format!("the body is not valid JSON: {}", e.body_text()))
                }
                JsonRejection::JsonDataError(e) => ApiError::validation(vec![FieldError {
                    field: "body".to_owned(),
                    message: e.body_text(),
                }]),
                JsonRejection::BytesRejection(e)
                    if e.status() == http::StatusCode::PAYLOAD_TOO_LARGE =>
                {
                    ApiError::payload_too_large(None)
                }
                other => ApiError::bad_request(other.body_text()),
            }),
        }
    }
}
