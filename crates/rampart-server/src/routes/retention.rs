//! Retention (API.md "Retention and legal hold"): legal holds (`holds`), policies, disposal
//! runs, confirmations and certificates (`disposal`).

mod disposal;
mod holds;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// This module's routes and their OpenAPI paths.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(holds::place_hold, holds::list_holds))
        .routes(routes!(holds::release_hold))
        .routes(routes!(disposal::list_retention_policies))
        .routes(routes!(
            disposal::put_retention_policy,
            disposal::remove_retention_policy
        ))
        .routes(routes!(disposal::start_retention_run))
        .routes(routes!(disposal::get_retention_run))
        .routes(routes!(disposal::confirm_app_disposal))
        .routes(routes!(disposal::list_disposal_certificates))
}
