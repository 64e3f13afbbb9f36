//! The request and response schemas of the operations with a key, for the OpenAPI document
//! (requests are taken apart field by field in `key_ops`, so each batch item fails alone).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A request of one item (the body itself) or of a `batch` of 1 to 10,000 items, each of
/// which succeeds or fails on its own: one named pair of schemas per item type (`EncryptRequest`
/// = `EncryptItem` or `EncryptBatch`), so generated clients get one model per shape. Documents
/// the shape: bodies are taken apart field by field (see `key_ops::single_or_batch`), so a bad item
/// fails alone and no error quotes a value.
macro_rules! single_or_batch_body {
    ($request:ident, $batch:ident, $item:ident, $what:literal) => {
        #[doc = concat!("One ", $what, " (the body itself), or a `batch` of them.")]
        #[derive(Debug, Deserialize, ToSchema)]
        #[serde(untagged)]
        #[expect(
            dead_code,
            reason = "the body's shape for the OpenAPI document: bodies are taken apart field by field, so each batch item fails alone and no error quotes a value"
        )]
        pub enum $request {
            /// One item.
            One($item),
            /// Many items.
            Batch($batch),
        }

        #[doc = concat!("A batch of ", $what, "s, each of which succeeds or fails on its own.")]
        #[derive(Debug, Deserialize, ToSchema)]
        #[expect(
            dead_code,
            reason = "the body's shape for the OpenAPI document: bodies are taken apart field by field, so each batch item fails alone and no error quotes a value"
        )]
        pub struct $batch {
            /// The items, 1 to 10,000.
            pub batch: Vec<$item>,
        }
    };
}

single_or_batch_body!(EncryptRequest, EncryptBatch, EncryptItem, "item to encrypt");
single_or_batch_body!(DecryptRequest, DecryptBatch, DecryptItem, "item to decrypt");
single_or_batch_body!(RewrapRequest, RewrapBatch, RewrapItem, "item to rewrap");
single_or_batch_body!(InputRequest, InputBatch, InputItem, "input to HMAC or sign");
single_or_batch_body!(
    VerifyHmacRequest,
    VerifyHmacBatch,
    VerifyHmacItem,
    "HMAC to check"
);
single_or_batch_body!(
    VerifySignatureRequest,
    VerifySignatureBatch,
    VerifySignatureItem,
    "signature to check"
);

/// The answer to a single-or-batch request: the item's result, or a `batch` of results in request order.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Results<T> {
    /// The result of the one item.
    One(T),
    /// The results of a batch.
    Batch {
        /// One result per item, in request order.
        batch: Vec<Outcome<T>>,
    },
}

/// The result of one batch item.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Outcome<T> {
    /// The item succeeded.
    Done(T),
    /// The item failed (the others are unaffected).
    Failed {
        /// What was wrong with it, naming the field (`batch[2].plaintext`), never its value.
        error: String,
    },
}

/// An item to encrypt.
#[derive(Debug, Deserialize, ToSchema)]
#[expect(
    dead_code,
    reason = "the body's shape for the OpenAPI document: bodies are taken apart field by field, so each batch item fails alone and no error quotes a value"
)]
pub struct EncryptItem {
    /// The plaintext, standard base64.
    pub plaintext: String,
    /// Associated data bound to the ciphertext, standard base64 (not for `fernet` keys).
    pub associated_data: Option<String>,
    /// Stamp the Fernet token with this time, Unix seconds (`fernet` keys only; default now).
    pub at_time: Option<u64>,
}

/// An item to decrypt.
#[derive(Debug, Deserialize, ToSchema)]
#[expect(
    dead_code,
    reason = "the body's shape for the OpenAPI document: bodies are taken apart field by field, so each batch item fails alone and no error quotes a value"
)]
pub struct DecryptItem {
    /// `rampart:v<N>:…`, or a Fernet token.
    pub ciphertext: String,
    /// The associated data it was encrypted with, standard base64.
    pub associated_data: Option<String>,
    /// Refuse Fernet tokens older than this many seconds (`fernet` keys only).
    pub ttl_seconds: Option<u64>,
    /// The "now" of the TTL check, Unix seconds (`fernet` keys only; default the clock).
    pub at_time: Option<u64>,
}

/// An item to re-encrypt under the latest version.
#[derive(Debug, Deserialize, ToSchema)]
#[expect(
    dead_code,
    reason = "the body's shape for the OpenAPI document: bodies are taken apart field by field, so each batch item fails alone and no error quotes a value"
)]
pub struct RewrapItem {
    /// `rampart:v<N>:…`, or a Fernet token.
    pub ciphertext: String,
    /// The associated data it was encrypted with, standard base64.
    pub associated_data: Option<String>,
}

/// An input to HMAC or sign.
#[derive(Debug, Deserialize, ToSchema)]
#[expect(
    dead_code,
    reason = "the body's shape for the OpenAPI document: bodies are taken apart field by field, so each batch item fails alone and no error quotes a value"
)]
pub struct InputItem {
    /// The input, standard base64.
    pub input: String,
}

/// An HMAC to check.
#[derive(Debug, Deserialize, ToSchema)]
#[expect(
    dead_code,
    reason = "the body's shape for the OpenAPI document: bodies are taken apart field by field, so each batch item fails alone and no error quotes a value"
)]
pub struct VerifyHmacItem {
    /// The input, standard base64.
    pub input: String,
    /// `rampart:v<N>:<base64>`.
    pub hmac: String,
}

/// A signature to check.
#[derive(Debug, Deserialize, ToSchema)]
#[expect(
    dead_code,
    reason = "the body's shape for the OpenAPI document: bodies are taken apart field by field, so each batch item fails alone and no error quotes a value"
)]
pub struct VerifySignatureItem {
    /// The input, standard base64.
    pub input: String,
    /// `rampart:v<N>:<base64>`.
    pub signature: String,
}

/// A ciphertext and the version that made it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Sealed {
    /// `rampart:v<N>:…`, or a Fernet token.
    pub ciphertext: String,
    /// The key version that encrypted it.
    pub key_version: u32,
}

/// A plaintext and the version that opened it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Opened {
    /// The plaintext, standard base64.
    pub plaintext: String,
    /// The key version that decrypted it.
    pub key_version: u32,
}

/// An HMAC.
#[derive(Debug, Serialize, ToSchema)]
pub struct Mac {
    /// `rampart:v<N>:<base64>`.
    pub hmac: String,
}

/// A signature.
#[derive(Debug, Serialize, ToSchema)]
pub struct Signed {
    /// `rampart:v<N>:<base64>`.
    pub signature: String,
}

/// The outcome of a check.
#[derive(Debug, Serialize, ToSchema)]
pub struct Validity {
    /// Whether the HMAC or signature is valid.
    pub valid: bool,
}
