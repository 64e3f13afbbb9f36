//! The types of personal data and secrets, and what a finding reports.

use std::fmt;

use serde::Serialize;

/// A kind of personal data or secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PiiType {
    /// An email address.
    Email,
    /// A payment card number that passes Luhn and its brand's length rules.
    CreditCard,
    /// A US social security number that passes the area/group/serial rules.
    UsSsn,
    /// A phone number (E.164 or common national formats).
    Phone,
    /// An IPv4 or IPv6 address.
    IpAddress,
    /// An IBAN with a valid mod-97 check and its country's length.
    Iban,
    /// API keys, tokens, JWTs, private keys, bearer credentials.
    Secret,
    /// A value under a key (or URL parameter) named like a secret, whatever the value.
    SensitiveKey,
}

impl PiiType {
    /// Every type, in a fixed order.
    pub const ALL: [PiiType; 8] = [
        Self::Email,
        Self::CreditCard,
        Self::UsSsn,
        Self::Phone,
        Self::IpAddress,
        Self::Iban,
        Self::Secret,
        Self::SensitiveKey,
    ];

    /// The wire name (`email`, `credit_card`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::CreditCard => "credit_card",
            Self::UsSsn => "us_ssn",
            Self::Phone => "phone",
            Self::IpAddress => "ip_address",
            Self::Iban => "iban",
            Self::Secret => "secret",
            Self::SensitiveKey => "sensitive_key",
        }
    }

    /// The text that replaces a value of this type under the `redact` action.
    pub fn redacted_label(self) -> &'static str {
        match self {
            Self::Email => "[REDACTED:EMAIL]",
            Self::CreditCard => "[REDACTED:CREDIT_CARD]",
            Self::UsSsn => "[REDACTED:US_SSN]",
            Self::Phone => "[REDACTED:PHONE]",
            Self::IpAddress => "[REDACTED:IP_ADDRESS]",
            Self::Iban => "[REDACTED:IBAN]",
            Self::Secret => "[REDACTED:SECRET]",
            Self::SensitiveKey => "[REDACTED:SENSITIVE_KEY]",
        }
    }

    /// The type for a wire name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// When two findings overlap, the higher rank wins.
    pub(crate) fn rank(self) -> u8 {
        match self {
            Self::SensitiveKey => 8,
            Self::Secret => 7,
            // A valid IBAN can hold digits that pass as a card number; the IBAN is the truth.
            Self::Iban => 6,
            Self::CreditCard => 5,
            Self::UsSsn => 4,
            Self::Email => 3,
            Self::Phone => 2,
            Self::IpAddress => 1,
        }
    }
}

impl fmt::Display for PiiType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where something was found. Never the value itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// JSON path (`user.email`, `items[2].card`, `a["api-key"]`) in document mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The type.
    #[serde(rename = "type")]
    pub kind: PiiType,
    /// The action taken (`redact`, `hash`, `mask`, `keep`).
    pub action: &'static str,
    /// Byte offset of the start, in the string value (document mode) or the text.
    pub start: usize,
    /// Byte offset one past the end.
    pub end: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_labels_name_their_type() {
        for kind in PiiType::ALL {
            assert_eq!(
                kind.redacted_label(),
                format!("[REDACTED:{}]", kind.as_str().to_ascii_uppercase())
            );
        }
    }
}
