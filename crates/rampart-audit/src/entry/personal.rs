//! Personal data in an entry (API.md "Data subjects"): a client sends `personal` as a plain
//! JSON object about the entry's `subject_id`; before the entry reaches the log it is sealed
//! with that subject's own key, and only the sealed form is stored and hashed. Destroying the
//! subject's key then erases every `personal` of theirs while every leaf, and so the log, still
//! verifies.
//!
//! This crate does not seal: it holds the two states apart ([`Personal::Plain`] on a
//! [`NewEntry`] only, [`SealedPersonal`] on both), and the log refuses to append an entry whose
//! personal data is still plain ([`crate::LogError::UnsealedPersonal`]), so plaintext never
//! reaches the writer, the leaf or storage.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::NewEntry;

/// The sealed form of an entry's personal data, as stored, hashed and returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedPersonal {
    /// The ciphertext in the envelope text form, `rampart:v1:<base64url, no padding>`.
    pub sealed: String,
    /// The id of the subject key that sealed it (e.g. `sk_<32 hex>`).
    pub subject_key: String,
}

/// An entry whose personal data is still plain cannot become an [`super::Entry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the entry's personal data is not sealed: seal it with the subject's key first")]
pub struct UnsealedPersonal;

/// The personal data of a [`NewEntry`]: plain as the client sent it, or sealed.
#[derive(Clone, PartialEq)]
pub enum Personal {
    /// As the client sent it (always plain, even if it looks like a sealed object), as its
    /// JSON text (wiped when dropped): must be sealed with [`NewEntry::seal_personal`] before
    /// the entry is appended.
    Plain(Zeroizing<Vec<u8>>),
    /// Sealed with the subject's key.
    Sealed(SealedPersonal),
}

/// Never prints plain personal data (an entry may be logged while it is being handled).
impl std::fmt::Debug for Personal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Plain(json) => write!(f, "Plain([REDACTED: {} bytes])", json.len()),
            Self::Sealed(sealed) => f.debug_tuple("Sealed").field(sealed).finish(),
        }
    }
}

impl NewEntry {
    /// The subject and the plain personal data to seal for them, if any (`None` as well for
    /// plain data without a subject, which [`NewEntry::from_json`] never makes:
    /// [`NewEntry::has_unsealed_personal`] still tells).
    pub fn personal_plain(&self) -> Option<(&str, &[u8])> {
        match (&self.personal, &self.subject_id) {
            (Some(Personal::Plain(json)), Some(subject_id)) => Some((subject_id, json)),
            _ => None,
        }
    }

    /// Whether the entry holds personal data that is not sealed yet (the log refuses it).
    pub fn has_unsealed_personal(&self) -> bool {
        matches!(self.personal, Some(Personal::Plain(_)))
    }

    /// Seals plain personal data with `seal(subject_id, data)`. Does nothing when there is no
    /// personal data, when it is sealed already, or when the entry names no subject (then it
    /// stays plain and the log refuses the entry: [`NewEntry::from_json`] never makes one).
    pub fn seal_personal<E>(
        &mut self,
        seal: impl FnOnce(&str, &[u8]) -> Result<SealedPersonal, E>,
    ) -> Result<(), E> {
        let (Some(Personal::Plain(json)), Some(subject_id)) = (&self.personal, &self.subject_id)
        else {
            return Ok(());
        };
        let sealed = seal(subject_id, json)?;
        self.personal = Some(Personal::Sealed(sealed));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn event(personal: Value) -> Value {
        json!({"actor": {"type": "user", "id": "u1"}, "action": "profile.update",
            "resource": {"type": "profile"}, "status": "success", "subject_id": "subj-1",
            "personal": personal})
    }

    fn sealed() -> SealedPersonal {
        SealedPersonal {
            sealed: "rampart:v1:AAAA".into(),
            subject_key: format!("sk_{}", "0".repeat(32)),
        }
    }

    #[test]
    fn personal_needs_an_object_and_a_subject() {
        let errors = NewEntry::from_json(&event(json!("a@example.com")), "").expect_err("text");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "personal");
        assert_eq!(errors[0].message, "must be a JSON object");
        let mut no_subject = event(json!({"email": "a@example.com"}));
        no_subject["subject_id"] = Value::Null;
        let errors = NewEntry::from_json(&no_subject, "events[2].").expect_err("no subject");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "events[2].personal");
        assert_eq!(
            errors[0].message,
            "requires subject_id: personal data is sealed with the subject's key"
        );
        // Nothing of the value is quoted.
        assert!(!format!("{errors:?}").contains("example.com"));
    }

    #[test]
    fn personal_has_the_limits_of_details() {
        let mut deep = json!(1);
        for _ in 0..40 {
            deep = json!([deep]);
        }
        let errors = NewEntry::from_json(&event(json!({"a": deep})), "").expect_err("deep");
        assert_eq!(errors[0].field, "personal");
        let big = "x".repeat(super::super::MAX_DOCUMENT_BYTES);
        let errors = NewEntry::from_json(&event(json!({"a": big})), "").expect_err("big");
        assert_eq!(errors[0].field, "personal");
        let errors = NewEntry::from_json(&event(json!({"n": 9_007_199_254_740_993u64})), "")
            .expect_err("unsafe integer");
        assert_eq!(errors[0].field, "personal");
    }

    #[test]
    fn a_clients_object_is_plain_even_when_it_looks_sealed() {
        let looks_sealed = serde_json::to_value(sealed()).expect("value");
        let new = NewEntry::from_json(&event(looks_sealed.clone()), "").expect("valid");
        assert!(new.has_unsealed_personal());
        let (subject, json) = new.personal_plain().expect("plain");
        assert_eq!(subject, "subj-1");
        assert_eq!(
            serde_json::from_slice::<Value>(json).expect("json"),
            looks_sealed
        );
        // A null personal is no personal.
        let new = NewEntry::from_json(&event(Value::Null), "").expect("valid");
        assert_eq!(new.personal, None);
    }

    #[test]
    fn sealing_replaces_the_plain_data_once() {
        let mut new =
            NewEntry::from_json(&event(json!({"email": "a@example.com"})), "").expect("valid");
        assert!(!format!("{new:?}").contains("example.com"));
        let mut seen = None;
        new.seal_personal(|subject, map| {
            seen = Some((subject.to_owned(), map.to_vec()));
            Ok::<_, ()>(sealed())
        })
        .expect("sealed");
        let (subject, map) = seen.expect("called");
        assert_eq!(subject, "subj-1");
        let map: Value = serde_json::from_slice(&map).expect("json");
        assert_eq!(map["email"], json!("a@example.com"));
        assert_eq!(new.personal, Some(Personal::Sealed(sealed())));
        assert!(!new.has_unsealed_personal());
        // Sealed already: the sealer is not called again.
        new.seal_personal(|_, _| Err("called twice"))
            .expect("no-op");
        // A sealing error is the caller's, and the data stays plain.
        let mut other =
            NewEntry::from_json(&event(json!({"email": "b@example.com"})), "").expect("valid");
        assert_eq!(other.seal_personal(|_, _| Err("no key")), Err("no key"));
        assert!(other.has_unsealed_personal());
    }

    #[test]
    fn entries_carry_only_the_sealed_form() {
        let mut new =
            NewEntry::from_json(&event(json!({"email": "a@example.com"})), "").expect("valid");
        let at = time::macros::datetime!(2026-11-22 14:03:07 UTC);
        let refused = new.clone().into_entry(
            0,
            uuid::Uuid::nil(),
            at,
            super::super::SubmittedBy::rampart(),
        );
        assert!(refused.is_err());
        new.seal_personal(|_, _| Ok::<_, ()>(sealed()))
            .expect("sealed");
        let entry = new
            .into_entry(
                0,
                uuid::Uuid::nil(),
                at,
                super::super::SubmittedBy::rampart(),
            )
            .expect("sealed");
        assert_eq!(entry.personal, Some(sealed()));
        let value = serde_json::to_value(&entry).expect("value");
        assert_eq!(
            value["personal"]["subject_key"],
            json!(sealed().subject_key)
        );
        assert_eq!(
            serde_json::from_value::<super::super::Entry>(value).expect("parses"),
            entry
        );
    }
}
