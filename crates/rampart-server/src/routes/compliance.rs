//! Compliance reports (API.md "Compliance reports"): the frameworks and their controls,
//! reports evaluated against the running deployment (`reports`: JSON, HTML, OSCAL, and the
//! evidence package), waivers and every control's history (`waivers`).

mod reports;
mod waivers;

use rampart_app::compliance::ComplianceError;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::request::invalid;
use crate::problem::ApiError;
use crate::state::AppState;

/// `body` as the document `T`; a missing or unknown field is named (422), as is a member of
/// the wrong type.
pub(crate) fn body<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let named = message.split('`').nth(1).filter(|_| {
            message.starts_with("missing field") || message.starts_with("unknown field")
        });
        let field = match (named, path.as_str()) {
            (Some(name), "." | "") => name.to_owned(),
            (Some(name), parent) => format!("{parent}.{name}"),
            (None, "." | "") => "(body)".to_owned(),
            (None, path) => path.to_owned(),
        };
        let what = if message.starts_with("missing field") {
            "is required"
        } else if message.starts_with("unknown field") {
            "is not a field of this request"
        } else {
            "is not of the expected type"
        };
        invalid(&field, what)
    })
}

/// A compliance error as an answer.
pub(crate) fn failed(error: ComplianceError) -> ApiError {
    match error {
        ComplianceError::Invalid(invalid) => ApiError::refused_document(&invalid),
        ComplianceError::NotFound(what) => ApiError::not_found(format!("no such {what}")),
        other => ApiError::internal(&other),
    }
}

/// This module's routes and their OpenAPI paths.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(reports::list_frameworks))
        .routes(routes!(reports::create_report, reports::list_reports))
        .routes(routes!(reports::get_report))
        .routes(routes!(reports::get_evidence))
        .routes(routes!(waivers::grant_waiver, waivers::list_waivers))
        .routes(routes!(waivers::revoke_waiver))
        .routes(routes!(waivers::control_history))
}
