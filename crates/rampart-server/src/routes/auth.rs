//! Who the caller is.

use crate::state::AppState;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::auth::Caller;

/// `GET /v1/auth/whoami`: the principal and credential behind the request.
#[derive(Debug, Serialize, ToSchema)]
pub struct WhoAmI {
    /// The principal's id.
    pub principal_id: String,
    /// `user`, `service`, `device` or `ai_agent`.
    pub principal_type: &'static str,
    /// The principal's name.
    pub name: String,
    /// The principal's roles.
    pub roles: Vec<String>,
    /// The principal's teams.
    pub teams: Vec<String>,
    /// The id of the credential presented.
    pub credential_id: String,
    /// The credential's scopes; `null` means all of the principal's permissions.
    pub scopes: Option<Vec<String>>,
}

/// Describes the authenticated caller; any valid credential may call it.
#[utoipa::path(
    get,
    path = "/v1/auth/whoami",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = WhoAmI),
        (status = 401, description = "Missing or invalid credential", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn whoami(caller: Caller) -> Json<WhoAmI> {
    Json(WhoAmI {
        principal_id: caller.principal().id.to_string(),
        principal_type: caller.principal().kind.as_str(),
        name: caller.principal().name.clone(),
        roles: caller.principal().roles.clone(),
        teams: caller.principal().teams.clone(),
        credential_id: caller.credential_id().to_string(),
        scopes: caller.scopes().map(<[String]>::to_vec),
    })
}

/// This module's routes, their OpenAPI paths and their audit behaviour.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(whoami))
}
