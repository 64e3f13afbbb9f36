//! The OpenAPI document, generated from the handlers' annotations as the route modules
//! register them.

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Object, Ref, RefOr, Type};
use utoipa::{Modify, OpenApi};

use crate::problem::{FieldError, Problem};

/// Rampart's API document: its info, the security scheme and shared schemas. The paths are
/// added by the route modules as they register their routes (see [`crate::routes::api`]).
#[derive(OpenApi)]
#[openapi(
    info(title = "Rampart", description = "Security and compliance layer: audit log, keys and encryption, identity and access, PII redaction."),
    components(schemas(Problem, FieldError)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

/// The whole document, paths included, built once.
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOCUMENT: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut document = crate::routes::api(usize::MAX).split_for_parts().1;
        add_problem_responses(&mut document);
        document
    })
}

/// The problem+json answers every operation of a kind can give, added where its annotation
/// does not list them: the edge answers them whatever the handler does.
/// - every operation: `500` (internal error), `503` (timed out, or storage unavailable;
///   with `Retry-After`), `403` (threat protection: the address rules refuse the client's
///   address, or it is blocked) and `429` (a rate-limit rule; with `Retry-After`);
/// - authenticated ones: `401` (no valid credential) and `403` (a permission, an enrollment
///   session);
/// - with a JSON body: `400` (not JSON), `413` (too large), `415` (not `application/json`) and
///   `422` (invalid fields);
/// - with a path parameter: `404` (no such resource, or an integer out of range) and `422`
///   (a parameter of the wrong form);
/// - with query parameters: `400` (not parseable) and `422` (invalid values).
///
/// Every 4xx and 5xx answer, listed here or by the annotation, is `application/problem+json`.
fn add_problem_responses(document: &mut utoipa::openapi::OpenApi) {
    for item in document.paths.paths.values_mut() {
        for operation in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            let mut statuses = vec![
                (
                    500,
                    "Internal error (the detail is in the server log, under the request id)",
                ),
                (503, "The request timed out, or storage is unavailable"),
                (
                    403,
                    "The client's address is not allowed here, or is blocked (threat protection)",
                ),
                (
                    429,
                    "Over a rate limit (`Retry-After`, `RateLimit-Policy`, `RateLimit`)",
                ),
            ];
            if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                statuses.push((401, "No valid credential"));
                statuses.push((403, "The credential lacks a permission this needs"));
            }
            if operation.request_body.is_some() {
                statuses.push((400, "The body is not JSON"));
                statuses.push((413, "The body is too large"));
                statuses.push((415, "The body is not `application/json`"));
                statuses.push((422, "Invalid fields (each named in `errors`)"));
            }
            let parameters = operation.parameters.iter().flatten();
            let (mut path, mut query) = (false, false);
            for parameter in parameters {
                if let RefOr::T(parameter) = parameter {
                    path |= parameter.parameter_in == ParameterIn::Path;
                    query |= parameter.parameter_in == ParameterIn::Query;
                }
            }
            if path {
                statuses.push((404, "No such resource"));
                statuses.push((422, "A path parameter is not valid"));
            }
            if query {
                statuses.push((400, "A query parameter does not parse"));
                statuses.push((422, "Invalid query parameters (each named in `errors`)"));
            }
            let responses = &mut operation.responses.responses;
            for (status, description) in statuses {
                responses.entry(status.to_string()).or_insert_with(|| {
                    RefOr::T(ResponseBuilder::new().description(description).build())
                });
            }
            for (status, response) in responses.iter_mut() {
                if !(status.starts_with('4') || status.starts_with('5')) {
                    continue;
                }
                if let RefOr::T(response) = response {
                    // A problem whose annotation gives its own problem+json schema (one with
                    // extension members) keeps it.
                    if response.content.len() == 1
                        && response.content.contains_key("application/problem+json")
                    {
                        continue;
                    }
                    response.content.clear();
                    response.content.insert(
                        "application/problem+json".to_owned(),
                        RefOr::T(
                            ContentBuilder::new()
                                .schema(Some(RefOr::Ref(Ref::from_schema_name("Problem"))))
                                .build(),
                        ),
                    );
                }
            }
            if let Some(RefOr::T(response)) = responses.get_mut("503") {
                response
                    .headers
                    .entry("Retry-After".to_owned())
                    .or_insert_with(|| {
                        RefOr::T(
                            HeaderBuilder::new()
                                .schema(Some(Object::with_type(Type::Integer)))
                                .description(Some("Seconds to wait before retrying"))
                                .build(),
                        )
                    });
            }
        }
    }
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A Rampart API key (`rk_…`) or session token"))
                    .build(),
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every operation documents its `503` (timeout, storage unavailable) with `Retry-After`.
    #[test]
    fn every_503_carries_retry_after() {
        let mut operations = 0;
        for item in document().paths.paths.values() {
            for operation in [&item.get, &item.put, &item.post, &item.delete, &item.patch]
                .into_iter()
                .flatten()
            {
                operations += 1;
                let Some(RefOr::T(response)) = operation.responses.responses.get("503") else {
                    panic!("{:?} documents no 503", operation.operation_id);
                };
                assert!(
                    response.headers.contains_key("Retry-After"),
                    "{:?}: 503 without Retry-After",
                    operation.operation_id
                );
            }
        }
        assert!(operations >= 40, "{operations} operations");
    }
}
