//! Erasure (GDPR Art. 17): what a request asks, what Rampart did itself, what each of the
//! application's stores confirmed, and the certificate that says so.
//!
//! Rampart's own part happens at once, in one transaction: the subject's keys destroyed (every
//! `personal` field sealed under them becomes unreadable while every leaf, checkpoint and proof
//! of the audit log stays valid), the consents' personal fields removed, linked principals
//! disabled, linked card tokens deleted. The application's stores, named in the request, each
//! confirm; the erasure is `completed` when the last one has.

use rampart_document::{FieldError, Invalid};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::keys::SubjectKeyId;

/// Most application stores one erasure may name.
pub const MAX_STORES: usize = 32;
/// Longest store name.
pub const MAX_STORE_NAME_LEN: usize = 64;
/// Longest reason.
pub const MAX_REASON_LEN: usize = 1000;
/// Store names starting with this are Rampart's own.
pub const RAMPART_STORE_PREFIX: &str = "rampart.";

crate::ids::prefixed_id!(
    /// An erasure's id: `era_` and 32 hex digits.
    ErasureId,
    "era"
);

/// `POST /v1/subjects/{id}/erasure`'s body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ErasureDocument {
    /// Why (e.g. "Art. 17 request of 2026-12-01"). Do not put personal data here: the
    /// reason is kept.
    #[serde(default)]
    pub reason: String,
    /// The application's stores that must clear the subject's data and confirm.
    #[serde(default)]
    pub stores: Vec<String>,
}

/// An erasure request that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewErasure {
    /// Why.
    pub reason: String,
    /// The application's stores, each named once.
    pub stores: Vec<String>,
}

/// Whether `name` is an application store's name: 1 to 64 of `A-Z a-z 0-9 . _ -`, not
/// starting with `rampart.`.
pub fn check_store_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty()
        || name.len() > MAX_STORE_NAME_LEN
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return Err("is 1 to 64 of A-Z, a-z, 0-9, '.', '_', '-'");
    }
    if name.starts_with(RAMPART_STORE_PREFIX) {
        return Err("names starting with 'rampart.' are Rampart's own stores");
    }
    Ok(())
}

impl ErasureDocument {
    /// Checks every field; each bad one is named.
    pub fn validate(self) -> Result<NewErasure, Invalid> {
        let mut errors = Vec::new();
        let reason = self.reason.trim();
        if reason.is_empty() || reason.len() > MAX_REASON_LEN {
            errors.push(FieldError::new("reason", "has 1 to 1000 bytes"));
        } else if reason.chars().any(|c| c.is_control() && c != '\n') {
            errors.push(FieldError::new("reason", "has no control characters"));
        }
        if self.stores.len() > MAX_STORES {
            errors.push(FieldError::new("stores", "names at most 32 stores"));
        }
        for (index, store) in self.stores.iter().enumerate().take(MAX_STORES) {
            if let Err(message) = check_store_name(store) {
                errors.push(FieldError::new(format!("stores[{index}]"), message));
            } else if self.stores.iter().take(index).any(|s| s == store) {
                errors.push(FieldError::new(
                    format!("stores[{index}]"),
                    "is named twice",
                ));
            }
        }
        if !errors.is_empty() {
            return Err(Invalid::Fields(errors));
        }
        Ok(NewErasure {
            reason: reason.to_owned(),
            stores: self.stores,
        })
    }
}

/// `POST /v1/erasures/{id}/confirmations`' body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmationDocument {
    /// The store that cleared the subject's data.
    pub store: String,
    /// How many records it deleted.
    pub records_deleted: u64,
}

/// One store's confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// The store.
    pub store: String,
    /// Records it deleted.
    pub records_deleted: u64,
    /// When it confirmed.
    pub confirmed_at: OffsetDateTime,
    /// Who confirmed (a principal id).
    pub confirmed_by: String,
}

/// What Rampart did itself, counted in the transaction that did it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ErasureEffects {
    /// Audit entries linked to the subject (their `personal` fields are now unreadable).
    pub audit_entries: u64,
    /// Subject keys destroyed.
    pub keys_destroyed: u64,
    /// Consent records whose personal fields were removed.
    pub consents: u64,
    /// Principals linked to the subject that were disabled.
    pub principals: u64,
    /// Card tokens linked to the subject that were deleted.
    pub card_tokens: u64,
}

/// `pending` until every named store confirmed, then `completed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErasureStatus {
    /// Waiting for confirmations.
    Pending,
    /// Every store confirmed.
    Completed,
}

impl ErasureStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Completed => "completed",
        }
    }
}

/// Why a confirmation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfirmationError {
    /// The request did not name this store (a `422` on `store`).
    #[error("store: the erasure did not name this store")]
    UnknownStore,
    /// The store already confirmed (a `409`).
    #[error("this store already confirmed the erasure")]
    AlreadyConfirmed,
}

/// One erasure as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Erasure {
    /// Its id.
    pub id: ErasureId,
    /// SHA-256 of the subject id, hex.
    pub subject_id_sha256: String,
    /// Why.
    pub reason: String,
    /// The application's stores that must confirm.
    pub stores: Vec<String>,
    /// When it was requested (and Rampart's own part done).
    pub requested_at: OffsetDateTime,
    /// Who requested it (a principal id).
    pub requested_by: String,
    /// When the last store confirmed (or `requested_at` when none was named).
    pub completed_at: Option<OffsetDateTime>,
    /// What Rampart did itself.
    pub effects: ErasureEffects,
    /// The keys destroyed (their ids: a restore re-destroys them).
    pub subject_keys: Vec<SubjectKeyId>,
    /// The confirmations so far, in order.
    pub confirmations: Vec<Confirmation>,
    /// The audit log's signed checkpoint when the erasure was made (the API's checkpoint JSON).
    pub checkpoint: Value,
}

fn rfc3339(at: OffsetDateTime) -> Value {
    at.format(&Rfc3339)
        .map(Value::String)
        .unwrap_or(Value::Null)
}

impl Erasure {
    /// `pending` or `completed`.
    pub fn status(&self) -> ErasureStatus {
        if self.completed_at.is_some() {
            ErasureStatus::Completed
        } else {
            ErasureStatus::Pending
        }
    }

    /// The named stores that have not confirmed yet.
    pub fn pending_stores(&self) -> Vec<&str> {
        self.stores
            .iter()
            .filter(|s| !self.confirmations.iter().any(|c| &c.store == *s))
            .map(String::as_str)
            .collect()
    }

    /// Checks a confirmation against the request: the confirmation to record, and whether it
    /// completes the erasure.
    pub fn confirm(
        &self,
        document: ConfirmationDocument,
        by: &str,
        now: OffsetDateTime,
    ) -> Result<(Confirmation, bool), ConfirmationError> {
        if !self.stores.contains(&document.store) {
            return Err(ConfirmationError::UnknownStore);
        }
        if self.confirmations.iter().any(|c| c.store == document.store) {
            return Err(ConfirmationError::AlreadyConfirmed);
        }
        let completes = self.pending_stores().len() == 1;
        Ok((
            Confirmation {
                store: document.store,
                records_deleted: document.records_deleted,
                confirmed_at: now,
                confirmed_by: by.to_owned(),
            },
            completes,
        ))
    }

    /// The certificate, unsigned: `{"id", "status", "subject_id_sha256", "requested_at",
    /// "completed_at", "actions", "pending_stores", "checkpoint"}`. The app layer adds
    /// `signature_b64` with the audit log's key.
    pub fn certificate(&self) -> Value {
        let e = &self.effects;
        let mut actions = vec![
            json!({"store": "rampart.audit.personal", "entries": e.audit_entries,
                   "keys_destroyed": e.keys_destroyed, "method": "key destroyed"}),
            json!({"store": "rampart.consents", "records": e.consents,
                   "method": "personal fields removed"}),
            json!({"store": "rampart.principals", "records": e.principals, "method": "disabled"}),
            json!({"store": "rampart.card_tokens", "records": e.card_tokens, "method": "deleted"}),
        ];
        for store in &self.stores {
            match self.confirmations.iter().find(|c| &c.store == store) {
                Some(c) => actions
                    .push(json!({"store": store, "records_deleted": c.records_deleted,
                    "confirmed_at": rfc3339(c.confirmed_at)})),
                None => actions
                    .push(json!({"store": store, "records_deleted": null, "confirmed_at": null})),
            }
        }
        json!({
            "id": self.id.as_str(),
            "status": self.status().as_str(),
            "subject_id_sha256": self.subject_id_sha256,
            "requested_at": rfc3339(self.requested_at),
            "completed_at": self.completed_at.map_or(Value::Null, rfc3339),
            "actions": actions,
            "pending_stores": self.pending_stores(),
            "checkpoint": self.checkpoint,
        })
    }

    /// The `erasure.requested` webhook's data: the subject and the stores that must clear it.
    pub fn requested_event(&self, subject_id: &str) -> Value {
        json!({
            "erasure_id": self.id.as_str(),
            "subject_id": subject_id,
            "stores": self.stores,
            "requested_at": rfc3339(self.requested_at),
        })
    }
}

#[cfg(test)]
mod tests;
