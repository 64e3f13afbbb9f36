//! The OpenAPI shapes of the data-subject requests and answers (API.md's). Bodies are read by
//! `rampart_subjects`' documents, which name every wrong field; these types only describe them.
#![allow(dead_code, reason = "schema only: bodies are read by rampart_subjects")]

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// `POST /v1/subjects/{id}/consents`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentBody {
    /// The purpose: 1 to 64 of `a-z 0-9 _ . : -`, starting with a letter.
    pub purpose: String,
    /// Given (`true`) or withdrawn (`false`).
    pub given: bool,
    /// Where the subject said so.
    pub source: Option<String>,
    /// The privacy policy's version the subject saw.
    pub policy_version: Option<String>,
}

/// One record of the consent ledger.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentRecordBody {
    /// Its place in the ledger.
    pub id: i64,
    /// The purpose.
    pub purpose: String,
    /// Given or withdrawn.
    pub given: bool,
    /// Where (`null` once erased).
    pub source: Option<String>,
    /// The policy version.
    pub policy_version: Option<String>,
    /// When (RFC 3339).
    pub at: String,
    /// The principal that recorded it.
    pub recorded_by: String,
    /// Whether erasure removed its personal fields.
    pub erased: bool,
}

/// A purpose's current consent.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentConsentBody {
    /// Given or withdrawn.
    pub given: bool,
    /// Since when.
    pub at: String,
}

/// `GET /v1/subjects/{id}/consents`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentsBody {
    /// Each purpose's current consent.
    pub current: std::collections::BTreeMap<String, CurrentConsentBody>,
    /// Every record, in ledger order.
    pub history: Vec<ConsentRecordBody>,
}

/// A subject in `GET /v1/consents`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentHolderBody {
    /// The subject.
    pub subject_id: String,
    /// Its current consent to the purpose.
    pub given: bool,
    /// Since when.
    pub at: String,
}

/// `GET /v1/consents`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentHoldersBody {
    /// Subjects in id order.
    pub items: Vec<ConsentHolderBody>,
    /// The next page's cursor.
    pub next_cursor: Option<String>,
}

/// `GET /v1/subjects/{id}/export`: signed with the audit log's key over the RFC 8785 form
/// without `signature_b64`; `rampart gdpr verify-export FILE` checks it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectExportBody {
    /// The subject.
    pub subject_id: String,
    /// When (RFC 3339).
    pub generated_at: String,
    /// `{"current", "history"}` as `GET /v1/subjects/{id}/consents`.
    #[schema(value_type = Object)]
    pub consents: Value,
    /// The subject's entries, each with `leaf_hash` and `personal_plain`.
    #[schema(value_type = Vec<Object>)]
    pub audit_entries: Vec<Value>,
    /// Principals linked to the subject.
    #[schema(value_type = Vec<Object>)]
    pub principals: Vec<Value>,
    /// Card tokens linked to the subject (never a PAN).
    #[schema(value_type = Vec<Object>)]
    pub card_tokens: Vec<Value>,
    /// The audit log's signed checkpoint the entries are in.
    #[schema(value_type = Object)]
    pub checkpoint: Value,
    /// Ed25519 signature (base64).
    pub signature_b64: String,
}

/// `POST /v1/subjects/{id}/erasure`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasureBody {
    /// Why (kept: no personal data here).
    pub reason: String,
    /// The application's stores that must clear the subject and confirm (names not starting
    /// with `rampart.`).
    pub stores: Option<Vec<String>>,
}

/// An erasure accepted.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasureAccepted {
    /// `era_…`.
    pub id: String,
    /// `pending` or `completed`.
    pub status: String,
}

/// One erasure in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasureSummary {
    /// `era_…`.
    pub id: String,
    /// `pending` or `completed`.
    pub status: String,
    /// SHA-256 of the subject id (hex).
    pub subject_id_sha256: String,
    /// When requested.
    pub requested_at: String,
    /// When completed.
    pub completed_at: Option<String>,
    /// Stores that have not confirmed.
    pub pending_stores: Vec<String>,
}

/// `GET /v1/erasures`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasureListBody {
    /// Erasures, oldest first.
    pub items: Vec<ErasureSummary>,
    /// The next page's cursor.
    pub next_cursor: Option<String>,
}

/// The erasure certificate, signed with the audit log's key (`rampart gdpr
/// verify-certificate FILE` checks it offline).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErasureCertificate {
    /// `era_…`.
    pub id: String,
    /// `pending` or `completed`.
    pub status: String,
    /// SHA-256 of the subject id (hex).
    pub subject_id_sha256: String,
    /// When requested.
    pub requested_at: String,
    /// When the last store confirmed.
    pub completed_at: Option<String>,
    /// Every store touched: Rampart's (`rampart.audit.personal` with `entries` and
    /// `method: "key destroyed"`, `rampart.consents`, `rampart.principals`,
    /// `rampart.card_tokens`) and the application's (`records_deleted`, `confirmed_at`).
    #[schema(value_type = Vec<Object>)]
    pub actions: Vec<Value>,
    /// Stores that have not confirmed.
    pub pending_stores: Vec<String>,
    /// The audit log's signed checkpoint at the erasure.
    #[schema(value_type = Object)]
    pub checkpoint: Value,
    /// Ed25519 signature (base64).
    pub signature_b64: String,
}

/// `POST /v1/erasures/{id}/confirmations`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConfirmationBody {
    /// A store the erasure named.
    pub store: String,
    /// How many records it deleted.
    pub records_deleted: u64,
}
