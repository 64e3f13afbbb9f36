//! What to do with each type: the default policy of API.md and per-request overrides.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::types::PiiType;

/// What happens to a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Replace with `[REDACTED:<TYPE>]`.
    Redact,
    /// Replace with `hmac-sha256:<16 hex>`, keyed, so equal values still correlate.
    Hash,
    /// Keep the last four characters, the rest becomes `*`.
    Mask,
    /// Leave as is (still reported).
    Keep,
    /// Encrypt with the named key (needs the keys service).
    Encrypt {
        /// The key's name.
        key: String,
    },
    /// Tokenize (cards; needs the card vault).
    Tokenize,
}

impl Action {
    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Redact => "redact",
            Self::Hash => "hash",
            Self::Mask => "mask",
            Self::Keep => "keep",
            Self::Encrypt { .. } => "encrypt",
            Self::Tokenize => "tokenize",
        }
    }
}

/// A policy that cannot be used, naming the type and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The policy is not a JSON object.
    #[error("a policy is a JSON object of type -> action")]
    NotAnObject,
    /// An unknown type name.
    #[error(
        "unknown type '{0}' (expected email, credit_card, us_ssn, phone, ip_address, iban, secret, sensitive_key)"
    )]
    UnknownType(String),
    /// An unknown or malformed action.
    #[error("{field}: {message}")]
    BadAction {
        /// The type whose action is wrong.
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// An action for every type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    actions: BTreeMap<PiiType, Action>,
}

impl Default for Policy {
    fn default() -> Self {
        Self::default_policy()
    }
}

impl Policy {
    /// API.md's default: email hash, credit_card redact, us_ssn redact, phone mask, ip_address
    /// hash, iban redact, secret redact, sensitive_key redact.
    pub fn default_policy() -> Self {
        let actions = BTreeMap::from([
            (PiiType::Email, Action::Hash),
            (PiiType::CreditCard, Action::Redact),
            (PiiType::UsSsn, Action::Redact),
            (PiiType::Phone, Action::Mask),
            (PiiType::IpAddress, Action::Hash),
            (PiiType::Iban, Action::Redact),
            (PiiType::Secret, Action::Redact),
            (PiiType::SensitiveKey, Action::Redact),
        ]);
        Self { actions }
    }

    /// The action for `kind`.
    pub fn action(&self, kind: PiiType) -> &Action {
        self.actions.get(&kind).unwrap_or(&Action::Redact)
    }

    /// This policy with the overrides of a JSON object such as
    /// `{"email": "hash", "ip_address": "keep", "iban": {"action": "encrypt", "key": "pii"}}`.
    pub fn with_overrides(&self, overrides: &Value) -> Result<Self, PolicyError> {
        let object = overrides.as_object().ok_or(PolicyError::NotAnObject)?;
        let mut policy = self.clone();
        for (name, value) in object {
            let kind =
                PiiType::parse(name).ok_or_else(|| PolicyError::UnknownType(name.clone()))?;
            let bad = |message: &str| PolicyError::BadAction {
                field: name.clone(),
                message: message.to_owned(),
            };
            let action = match value {
                Value::String(s) => match s.as_str() {
                    "redact" => Action::Redact,
                    "hash" => Action::Hash,
                    "mask" => Action::Mask,
                    "keep" => Action::Keep,
                    "tokenize" if kind == PiiType::CreditCard => Action::Tokenize,
                    "tokenize" => return Err(bad("tokenize applies to credit_card only")),
                    "encrypt" => {
                        return Err(bad(
                            "encrypt needs a key: {\"action\": \"encrypt\", \"key\": \"NAME\"}",
                        ));
                    }
                    _ => return Err(bad("must be redact, hash, mask, keep, encrypt or tokenize")),
                },
                Value::Object(spec) => match (
                    spec.get("action").and_then(Value::as_str),
                    spec.get("key").and_then(Value::as_str),
                ) {
                    (Some("encrypt"), Some(key)) if !key.is_empty() => Action::Encrypt {
                        key: key.to_owned(),
                    },
                    (Some("encrypt"), _) => return Err(bad("encrypt needs a non-empty \"key\"")),
                    (Some(_), _) => {
                        return Err(bad("only encrypt takes an object; use a plain string"));
                    }
                    (None, _) => return Err(bad("an action object needs \"action\"")),
                },
                _ => return Err(bad("must be a string or an object")),
            };
            policy.actions.insert(kind, action);
        }
        Ok(policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn overrides_apply_and_bad_ones_are_named() {
        let policy = Policy::default_policy()
            .with_overrides(&json!({"email": "keep", "iban": {"action": "encrypt", "key": "pii"}}))
            .expect("valid");
        assert_eq!(policy.action(PiiType::Email), &Action::Keep);
        assert_eq!(
            policy.action(PiiType::Iban),
            &Action::Encrypt { key: "pii".into() }
        );
        assert_eq!(policy.action(PiiType::Phone), &Action::Mask);
        for bad in [
            json!([]),
            json!({"mail": "hash"}),
            json!({"email": "shred"}),
            json!({"email": "encrypt"}),
            json!({"email": "tokenize"}),
            json!({"email": 1}),
            json!({"email": {"action": "hash"}}),
        ] {
            assert!(
                Policy::default_policy().with_overrides(&bad).is_err(),
                "{bad}"
            );
        }
    }
}
