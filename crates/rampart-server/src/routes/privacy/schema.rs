//! The request shape of `POST /v1/redact` and `POST /v1/detect` (API.md "Privacy"), for the
//! OpenAPI document. The handlers take the body apart field by field (see the parent module),
//! so these types are never built.
#![allow(
    dead_code,
    reason = "schema-only types: they describe the wire in the OpenAPI document and are never built"
)]

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// The body of `POST /v1/redact` and `POST /v1/detect`: a `document` or a `text` (not both),
/// and optional overrides of the deployment's policy.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanRequest {
    /// A JSON document (any JSON value): every string in it is scanned, and sensitive keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<Value>,
    /// A text to scan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Actions by PII type for this request, over the deployment's policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyOverrides>,
}

/// Actions by PII type (API.md "Privacy"); a type not named keeps the deployment's action.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyOverrides {
    /// E-mail addresses.
    pub email: Option<PolicyAction>,
    /// Card numbers (the only type that may be `tokenize`d).
    pub credit_card: Option<PolicyAction>,
    /// US social security numbers.
    pub us_ssn: Option<PolicyAction>,
    /// Phone numbers.
    pub phone: Option<PolicyAction>,
    /// IPv4 and IPv6 addresses.
    pub ip_address: Option<PolicyAction>,
    /// IBANs.
    pub iban: Option<PolicyAction>,
    /// API keys, JWTs, private keys, bearer tokens.
    pub secret: Option<PolicyAction>,
    /// Values of keys named like passwords, tokens, card numbers.
    pub sensitive_key: Option<PolicyAction>,
}

/// What to do with a finding: a plain action, or encryption with a named key.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum PolicyAction {
    /// `redact`, `hash`, `mask`, `keep` or `tokenize`.
    Plain(PlainAction),
    /// `{"action": "encrypt", "key": "NAME"}`.
    Encrypt(EncryptAction),
}

/// The actions that need no key.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlainAction {
    /// `[REDACTED:<TYPE>]`.
    Redact,
    /// `hmac-sha256:<16 hex>`, keyed.
    Hash,
    /// All but the last four characters masked.
    Mask,
    /// Left as it is.
    Keep,
    /// Replaced by a card-vault token (`credit_card` only; needs `cards:tokenize`).
    Tokenize,
}

/// Encryption with a named key (needs `keys:encrypt`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EncryptAction {
    /// Always `encrypt`.
    pub action: EncryptName,
    /// The named key (`aes256-gcm` or `fernet`).
    pub key: String,
}

/// The name of the encrypt action.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EncryptName {
    /// `encrypt`.
    Encrypt,
}
