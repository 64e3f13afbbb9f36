//! The text form of Rampart's ciphertexts, MACs and signatures: `rampart:v<version>:<body>`.
//!
//! Ciphertext bodies are base64url without padding (`nonce || ciphertext || tag`); MAC and
//! signature bodies are standard base64 with padding, as API.md fixes. The parser takes untrusted
//! text and never panics (it has a fuzz target); its errors name the problem, never the value.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};

/// The prefix every envelope starts with.
pub const PREFIX: &str = "rampart:v";

/// How an envelope's body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyEncoding {
    /// base64url; written without padding, read with or without.
    UrlSafe,
    /// Standard base64 with padding.
    Standard,
}

/// Why an envelope was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The text does not start with `rampart:v`.
    #[error("does not start with 'rampart:v' (expected rampart:v<version>:<base64>)")]
    Prefix,
    /// The version is missing, not a decimal number, zero, or too large.
    #[error("has no valid version number after 'rampart:v'")]
    Version,
    /// The body is not valid base64 of the expected alphabet.
    #[error("has a body that is not valid base64")]
    Base64,
}

/// A parsed envelope: the key version it names and the decoded body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The key version that produced the body.
    pub version: u32,
    /// The decoded body bytes.
    pub body: Vec<u8>,
}

impl Envelope {
    /// Formats `body` under `version`.
    pub fn format(version: u32, body: &[u8], encoding: BodyEncoding) -> String {
        let encoded = match encoding {
            BodyEncoding::UrlSafe => URL_SAFE_NO_PAD.encode(body),
            BodyEncoding::Standard => STANDARD.encode(body),
        };
        format!("{PREFIX}{version}:{encoded}")
    }

    /// Parses untrusted text.
    pub fn parse(text: &str, encoding: BodyEncoding) -> Result<Self, EnvelopeError> {
        let rest = text.strip_prefix(PREFIX).ok_or(EnvelopeError::Prefix)?;
        let (version, body) = rest.split_once(':').ok_or(EnvelopeError::Version)?;
        let version = parse_version(version).ok_or(EnvelopeError::Version)?;
        let body = match encoding {
            BodyEncoding::UrlSafe => {
                if body.ends_with('=') {
                    URL_SAFE.decode(body)
                } else {
                    URL_SAFE_NO_PAD.decode(body)
                }
            }
            BodyEncoding::Standard => STANDARD.decode(body),
        }
        .map_err(|_| EnvelopeError::Base64)?;
        Ok(Self { version, body })
    }

    /// The version an envelope names, without decoding its body.
    pub fn peek_version(text: &str) -> Result<u32, EnvelopeError> {
        let rest = text.strip_prefix(PREFIX).ok_or(EnvelopeError::Prefix)?;
        let (version, _) = rest.split_once(':').ok_or(EnvelopeError::Version)?;
        parse_version(version).ok_or(EnvelopeError::Version)
    }
}

/// A decimal version in `1..=u32::MAX` without sign or leading zeros.
fn parse_version(text: &str) -> Option<u32> {
    if text.is_empty() || text.len() > 10 || text.starts_with('0') {
        return None;
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u32>().ok().filter(|v| *v >= 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_both_encodings() {
        for encoding in [BodyEncoding::UrlSafe, BodyEncoding::Standard] {
            let text = Envelope::format(7, &[0xfb, 0xff, 0x00, 1], encoding);
            let parsed = Envelope::parse(&text, encoding).expect("parses");
            assert_eq!(parsed.version, 7);
            assert_eq!(parsed.body, vec![0xfb, 0xff, 0x00, 1]);
            assert_eq!(Envelope::peek_version(&text), Ok(7));
        }
        assert_eq!(
            Envelope::format(1, &[0xfb, 0xff], BodyEncoding::UrlSafe),
            "rampart:v1:-_8"
        );
    }

    #[test]
    fn refuses_each_kind_of_bad_text() {
        let url = BodyEncoding::UrlSafe;
        assert_eq!(
            Envelope::parse("vault:v1:AAAA", url),
            Err(EnvelopeError::Prefix)
        );
        assert_eq!(
            Envelope::parse("rampart:v1", url),
            Err(EnvelopeError::Version)
        );
        assert_eq!(
            Envelope::parse("rampart:v:AAAA", url),
            Err(EnvelopeError::Version)
        );
        assert_eq!(
            Envelope::parse("rampart:v0:AAAA", url),
            Err(EnvelopeError::Version)
        );
        assert_eq!(
            Envelope::parse("rampart:v01:AAAA", url),
            Err(EnvelopeError::Version)
        );
        assert_eq!(
            Envelope::parse("rampart:v+1:AAAA", url),
            Err(EnvelopeError::Version)
        );
        assert_eq!(
            Envelope::parse("rampart:v4294967296:AAAA", url),
            Err(EnvelopeError::Version)
        );
        assert_eq!(
            Envelope::parse("rampart:v1:AA*A", url),
            Err(EnvelopeError::Base64)
        );
        assert_eq!(
            Envelope::parse("rampart:v1:-_8", BodyEncoding::Standard),
            Err(EnvelopeError::Base64)
        );
    }
}
