//! Standard Webhooks signatures: the secret (`whsec_` and the base64 of 24 to 64 random
//! bytes; the key is those bytes), `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`,
//! verification of a `webhook-signature` header (space-separated, any `v1` may match,
//! compared in constant time), and the body `{"type", "timestamp", "data"}`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;
use serde_json::Value;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

use super::EventType;

/// Fewest and most secret bytes the spec allows.
const SECRET_BYTES: std::ops::RangeInclusive<usize> = 24..=64;
/// The secret's text prefix.
const PREFIX: &str = "whsec_";

/// A webhook's signing secret; its `Debug` shows nothing.
#[derive(Clone)]
pub struct WebhookSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

/// Why a secret's text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// Not `whsec_` and base64 of 24 to 64 bytes.
    #[error("a webhook secret is whsec_ and the base64 of 24 to 64 bytes")]
    Malformed,
}

impl WebhookSecret {
    /// A secret of random bytes (from the app's random source), 24 to 64 of them.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, SecretError> {
        let bytes = Zeroizing::new(bytes);
        if SECRET_BYTES.contains(&bytes.len()) {
            Ok(Self(bytes))
        } else {
            Err(SecretError::Malformed)
        }
    }

    /// Reads `whsec_<base64>` (the prefix may be left out, as the spec's libraries allow).
    pub fn parse(text: &str) -> Result<Self, SecretError> {
        let encoded = text.strip_prefix(PREFIX).unwrap_or(text);
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| SecretError::Malformed)?;
        Self::from_bytes(bytes)
    }

    /// The text shown once to whoever made the webhook: `whsec_<base64>`.
    #[must_use]
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("{PREFIX}{}", STANDARD.encode(self.0.as_slice())))
    }

    /// The raw bytes, for sealing by the app layer.
    #[must_use]
    pub fn expose_bytes(&self) -> &[u8] {
        &self.0
    }

    fn tag(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> hmac::Tag {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let mut context = hmac::Context::with_key(&key);
        context.update(msg_id.as_bytes());
        context.update(b".");
        context.update(timestamp.to_string().as_bytes());
        context.update(b".");
        context.update(body);
        context.sign()
    }
}

/// The `webhook-signature` header of a message: `v1,<base64 HMAC-SHA256>` over
/// `{msg_id}.{timestamp}.{body}`, `timestamp` in seconds since the Unix epoch (the
/// `webhook-timestamp` header).
#[must_use]
pub fn sign(secret: &WebhookSecret, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "v1,{}",
        STANDARD.encode(secret.tag(msg_id, timestamp, body).as_ref())
    )
}

/// Whether a `webhook-signature` header (space-separated signatures) holds a `v1` signature
/// of this message, compared in constant time. Checking the timestamp's age is the receiver's.
#[must_use]
pub fn verify(
    secret: &WebhookSecret,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
    header: &str,
) -> bool {
    let expected = secret.tag(msg_id, timestamp, body);
    header
        .split(' ')
        .filter_map(|signature| signature.strip_prefix("v1,"))
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .any(|given| bool::from(given.as_slice().ct_eq(expected.as_ref())))
}

/// The body of a delivery: `{"type": "alert.opened", "timestamp": "<RFC 3339>", "data": ...}`.
#[must_use]
pub fn event_body(event: EventType, at: OffsetDateTime, data: Value) -> String {
    let timestamp = at.format(&Rfc3339).unwrap_or_default();
    serde_json::json!({"type": event.as_str(), "timestamp": timestamp, "data": data}).to_string()
}
