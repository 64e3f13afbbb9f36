//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::problem::{FieldError, Problem};
use crate::routes::{
    AppendResponse, AppendedEntry, AuditHealth, CheckpointBody, ConsistencyProofBody, DetectBody,
    EntriesPage, FindingBody, Health, InclusionProofBody, KeyMetadata, KeyVersionBody, KeysPage,
    PublicKeyBody, TokenizedCard, VerifyBody, VerifyProblemBody, WhoAmI,
};

/// Rampart's API document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Rampart", description = "Security and compliance layer: audit log, keys and encryption, identity and access, PII redaction."),
    paths(
        crate::routes::append,
        crate::routes::list,
        crate::routes::get_entry,
        crate::routes::checkpoint,
        crate::routes::public_key,
        crate::routes::inclusion,
        crate::routes::consistency,
        crate::routes::verify,
        crate::routes::export_entries,
        crate::routes::redact,
        crate::routes::detect,
        crate::routes::health,
        crate::routes::openapi,
        crate::routes::metrics,
        crate::routes::whoami,
        crate::routes::keys::create_key,
        crate::routes::keys::list_keys,
        crate::routes::keys::get_key,
        crate::routes::keys::rotate_key,
        crate::routes::keys::update_key,
        crate::routes::key_ops::encrypt,
        crate::routes::key_ops::decrypt,
        crate::routes::key_ops::rewrap,
        crate::routes::key_ops::hmac,
        crate::routes::key_ops::verify_hmac,
        crate::routes::key_ops::sign,
        crate::routes::key_ops::verify,
        crate::routes::documents::encrypt_document,
        crate::routes::documents::decrypt_document,
        crate::routes::cards::tokenize,
        crate::routes::cards::detokenize,
        crate::routes::identity::create_principal,
        crate::routes::identity::list_principals,
        crate::routes::identity::get_principal,
        crate::routes::identity::update_principal,
        crate::routes::identity::disable_principal,
        crate::routes::identity::unlock_principal,
        crate::routes::totp::enroll_totp,
        crate::routes::totp::confirm_totp,
        crate::routes::totp::remove_totp,
        crate::routes::sessions::login,
        crate::routes::sessions::logout,
        crate::routes::sessions::introspect,
        crate::routes::api_keys::create_api_key,
        crate::routes::api_keys::list_api_keys,
        crate::routes::api_keys::revoke_api_key,
        crate::routes::api_keys::rotate_api_key,
        crate::routes::authz::authorize,
        crate::routes::authz::get_policy,
        crate::routes::authz::put_policy,
    ),
    components(schemas(
        Health, AuditHealth, WhoAmI, Problem, FieldError, AppendResponse, AppendedEntry, EntriesPage,
        CheckpointBody, PublicKeyBody, InclusionProofBody, ConsistencyProofBody, VerifyBody, VerifyProblemBody,
        DetectBody, FindingBody, KeyMetadata, KeyVersionBody, KeysPage, TokenizedCard,
        crate::routes::identity::PrincipalBody, crate::routes::identity::PrincipalsPage,
        crate::routes::api_keys::ApiKeyBody, crate::routes::api_keys::ApiKeysPage,
    )),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

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
