//! [`ApiQuery`]: the query-string extractor whose rejections are problem+json answers.

use axum::extract::FromRequestParts;
use axum::extract::rejection::QueryRejection;
use http::request::Parts;
use serde::de::DeserializeOwned;

use super::deserialize::{Mistake, describe};
use crate::problem::ApiError;

/// Query parameters of type `T`.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(rejected(&rejection)),
        }
    }
}

/// The problem for a query string that does not deserialize: 422 naming a parameter whose value
/// is not what it takes (an integer out of its type's range, a word not among its choices), 400
/// for the shape of the query (a required parameter missing, an unknown or repeated one). Neither quotes the query: the
/// client's parameter names and values stay out of the answer (a card number typed as a
/// parameter name included).
fn rejected(rejection: &QueryRejection) -> ApiError {
    let Some(error) = path_error(rejection) else {
        return ApiError::bad_request("invalid query string");
    };
    match describe(error.path(), &error.inner().to_string(), "query") {
        (Mistake::Value, field) => ApiError::validation(vec![field]),
        (Mistake::Shape, field) => ApiError::bad_request(format!(
            "invalid query string: {}: {}",
            field.field, field.message
        )),
    }
}

/// The path-tracking error under a rejection (axum wraps it twice).
fn path_error(
    rejection: &QueryRejection,
) -> Option<&serde_path_to_error::Error<serde::de::value::Error>> {
    let mut source = std::error::Error::source(rejection);
    while let Some(error) = source {
        if let Some(found) =
            error.downcast_ref::<serde_path_to_error::Error<serde::de::value::Error>>()
        {
            return Some(found);
        }
        source = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse as _;
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Page {
        limit: Option<u32>,
        order: Option<Order>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    #[allow(dead_code)]
    enum Order {
        Asc,
        Desc,
    }

    const PAN: &str = "4111111111111111";

    async fn answer(query: &str) -> (u16, serde_json::Value) {
        let request = http::Request::builder()
            .uri(format!("/v1/things?{query}"))
            .body(())
            .expect("request");
        let (mut parts, ()) = request.into_parts();
        let error = ApiQuery::<Page>::from_request_parts(&mut parts, &())
            .await
            .expect_err("rejected");
        let response = error.into_response();
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        (
            status,
            serde_json::from_slice(&bytes).expect("problem+json"),
        )
    }

    #[tokio::test]
    async fn a_bad_parameter_is_named_and_the_query_never_quoted() {
        let cases = [
            (format!("limit={PAN}{PAN}"), 422, "limit"),
            ("limit=-1".to_owned(), 422, "limit"),
            ("limit=".to_owned(), 422, "limit"),
            (format!("order={PAN}"), 422, "order"),
            (format!("{PAN}=1"), 400, ""),
            (format!("colour={PAN}"), 400, ""),
            ("limit=1&limit=2".to_owned(), 400, ""),
        ];
        for (query, status, field) in cases {
            let (got, problem) = answer(&query).await;
            assert_eq!(got, status, "{query}: {problem}");
            assert!(!problem.to_string().contains(PAN), "{problem}");
            if status == 422 {
                assert_eq!(problem["errors"][0]["field"], field, "{problem}");
            }
        }
        let (_, problem) = answer("limit=99999999999").await;
        assert_eq!(
            problem["errors"][0]["message"],
            "must be a whole number within the parameter's range"
        );
    }
}
