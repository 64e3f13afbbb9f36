//! Signed documents (API.md, "Contract additions"): a subject's export, erasure and disposal
//! certificates, compliance reports, an evidence package's manifest.
//!
//! A signed document is a JSON object with a `signature_b64` member: the standard-base64 Ed25519
//! signature, by the audit log's key, over the RFC 8785 (JCS) form of the object without
//! `signature_b64`. Nothing else is signed or implied (no key name, no context string), so any
//! Ed25519 library with any RFC 8785 canonicalizer verifies one with the key of
//! `GET /v1/audit/public-key`; member order and white space of the file do not matter.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::signature;
use serde_json::Value;

use crate::checkpoint::{LogSigner, LogVerifier, NoteError, PublicKeyText};

/// The member that carries a document's signature.
pub const SIGNATURE_MEMBER: &str = "signature_b64";

/// Why a document cannot be signed or does not verify. Never quotes the document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignedDocumentError {
    /// Only JSON objects are signed.
    #[error("a signed document must be a JSON object")]
    NotAnObject,
    /// There is no `signature_b64` member.
    #[error("the document has no signature_b64")]
    Unsigned,
    /// `signature_b64` is not a string of standard base64 encoding 64 bytes.
    #[error("signature_b64 is not base64 of a 64-byte Ed25519 signature")]
    MalformedSignature,
    /// The signature is not by this key over this content: the document was changed, or
    /// signed by another key.
    #[error("the document's signature does not verify with this public key")]
    BadSignature,
    /// The document has no RFC 8785 form.
    #[error("the document cannot be put in RFC 8785 form")]
    NotCanonicalizable,
    /// The public key given is not usable.
    #[error(transparent)]
    Key(#[from] NoteError),
}

/// The bytes a document's signature covers: the RFC 8785 form of `doc` without
/// `signature_b64`.
pub fn document_signing_input(doc: &Value) -> Result<Vec<u8>, SignedDocumentError> {
    let object = doc.as_object().ok_or(SignedDocumentError::NotAnObject)?;
    let canonical = if object.contains_key(SIGNATURE_MEMBER) {
        let mut unsigned = object.clone();
        unsigned.remove(SIGNATURE_MEMBER);
        serde_json_canonicalizer::to_vec(&unsigned)
    } else {
        serde_json_canonicalizer::to_vec(object)
    };
    canonical.map_err(|_| SignedDocumentError::NotCanonicalizable)
}

/// The verifier for a public key as `GET /v1/audit/public-key` gives it: the C2SP
/// `verifier_key` string or the raw `public_key_b64`, either accepted (as by
/// `rampart audit verify --public-key`). A raw key carries no name: its verifier's `name` is
/// empty, which a document's signature does not involve.
pub fn verifier_from_key_text(text: &str) -> Result<LogVerifier, SignedDocumentError> {
    Ok(match PublicKeyText::parse(text)? {
        PublicKeyText::VerifierKey(verifier) => verifier,
        PublicKeyText::Raw(public_key) => LogVerifier {
            name: String::new(),
            public_key,
        },
    })
}

impl LogSigner {
    /// Signs `doc` in place: sets `signature_b64` (replacing any) to the signature of its
    /// RFC 8785 form without it.
    pub fn sign_document(&self, doc: &mut Value) -> Result<(), SignedDocumentError> {
        let input = document_signing_input(doc)?;
        let signature = STANDARD.encode(self.sign_bytes(&input));
        let object = doc
            .as_object_mut()
            .ok_or(SignedDocumentError::NotAnObject)?;
        object.insert(SIGNATURE_MEMBER.to_owned(), Value::String(signature));
        Ok(())
    }
}

impl LogVerifier {
    /// Checks `doc`'s `signature_b64` against its content and this key.
    pub fn verify_document(&self, doc: &Value) -> Result<(), SignedDocumentError> {
        let object = doc.as_object().ok_or(SignedDocumentError::NotAnObject)?;
        let encoded = match object.get(SIGNATURE_MEMBER) {
            None => return Err(SignedDocumentError::Unsigned),
            Some(Value::String(text)) => text,
            Some(_) => return Err(SignedDocumentError::MalformedSignature),
        };
        let signature = STANDARD
            .decode(encoded)
            .ok()
            .filter(|bytes| bytes.len() == 64)
            .ok_or(SignedDocumentError::MalformedSignature)?;
        let input = document_signing_input(doc)?;
        signature::UnparsedPublicKey::new(&signature::ED25519, &self.public_key)
            .verify(&input, &signature)
            .map_err(|_| SignedDocumentError::BadSignature)
    }
}

#[cfg(test)]
mod tests;
