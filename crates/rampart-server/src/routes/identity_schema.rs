//! The request schemas of principals, API keys and the role policy, for the OpenAPI document.
//! These bodies are taken apart field by field by their handlers (an unknown field is named,
//! a password is never quoted, roles are checked against the policy in force), so the types
//! here only describe them.
#![expect(
    dead_code,
    reason = "the bodies' shapes for the OpenAPI document: handlers take them apart field by field"
)]

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of `POST /v1/principals`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePrincipalRequest {
    /// `user`, `service`, `device` or `ai_agent`.
    #[serde(rename = "type")]
    #[schema(pattern = "^(user|service|device|ai_agent)$")]
    pub kind: String,
    /// Unique name: 1 to 128 of A-Z, a-z, 0-9, '.', '_', '-', '@'.
    pub name: String,
    /// Contact address.
    pub email: Option<String>,
    /// A password, for principals that log in (checked against the password policy; never
    /// stored, logged or returned).
    pub password: Option<String>,
    /// Roles of the policy (default: the `default_roles` setting); at most 64.
    pub roles: Option<Vec<String>>,
    /// Teams; at most 64.
    pub teams: Option<Vec<String>>,
    /// The data subject (GDPR) this principal is linked to: erasing the subject disables the
    /// principal, and the subject's export lists it. 1 to 256 bytes, no control characters.
    #[schema(min_length = 1, max_length = 256)]
    pub subject_id: Option<String>,
    /// The principal who answers for this one (an AI agent's owner, who may never approve its
    /// actions).
    pub owner_id: Option<String>,
}

/// The body of `PATCH /v1/principals/{id}`: the fields to change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePrincipalRequest {
    /// New roles (changing another principal's roles takes `roles:manage`).
    pub roles: Option<Vec<String>>,
    /// New teams.
    pub teams: Option<Vec<String>>,
    /// Disabling revokes every session and API key of the principal.
    pub disabled: Option<bool>,
    /// A new contact address, or `null` to remove it.
    #[schema(nullable)]
    pub email: Option<Option<String>>,
    /// Links the principal to a data subject (GDPR; 1 to 256 bytes, no control characters),
    /// or `null` removes the link.
    #[schema(nullable, min_length = 1, max_length = 256)]
    pub subject_id: Option<Option<String>>,
    /// A new owner (a principal's id), or `null` to remove it.
    #[schema(nullable)]
    pub owner_id: Option<Option<String>>,
}

/// The body of `POST /v1/api-keys`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    /// Whose key (default: the caller's own; another's takes `api_keys:manage`).
    pub principal_id: Option<String>,
    /// A name for the key.
    pub name: String,
    /// Required. Permissions the key is narrowed to (each held by the caller), or `["*"]` alone
    /// for everything the principal holds.
    pub scopes: Vec<String>,
    /// Days until the key expires.
    #[schema(minimum = 1)]
    pub expires_in_days: Option<u32>,
    /// Networks (CIDR) the key may be used from.
    pub allowed_ips: Option<Vec<String>>,
}

/// The body of `POST /v1/api-keys/{id}/rotate`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateApiKeyRequest {
    /// How long the old key keeps working (default 0: it ends now).
    #[schema(minimum = 0)]
    pub grace_seconds: Option<u64>,
}

/// A role policy, the body of `PUT /v1/policy` (`source` and `version`, as `GET` shows them,
/// may be sent back and are ignored).
#[derive(Debug, Deserialize, ToSchema)]
pub struct PolicyBody {
    /// Roles by name.
    pub roles: BTreeMap<String, RoleBody>,
}

/// The role policy in force (`GET /v1/policy`, and the answer to `PUT`).
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyInForce {
    /// Roles by name.
    pub roles: BTreeMap<String, RoleBody>,
    /// Where it comes from: `default`, `file` (`policy_file`) or `api` (`PUT /v1/policy`).
    pub source: String,
    /// Its version (0 for the default and a file).
    pub version: u64,
}

/// One role of a policy.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    /// Roles whose permissions this one includes (no cycles).
    pub inherits: Option<Vec<String>>,
    /// `resource:action`, `resource:*` or `*`.
    pub permissions: Option<Vec<String>>,
    /// Members see every team's resources.
    pub bypass_team_isolation: Option<bool>,
    /// Members need a second factor to log in.
    pub mfa_required: Option<bool>,
}
