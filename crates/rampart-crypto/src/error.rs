//! Errors of the key hierarchy. None of them ever carries key material.

/// Why a master key was refused. Messages name the problem, never the value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MasterKeyError {
    /// The text is not base64.
    #[error("is not valid base64 (expected the base64 encoding of 32 random bytes)")]
    NotBase64,
    /// The text decodes to the wrong number of bytes.
    #[error("decodes to {len} bytes, but a master key is exactly 32 bytes")]
    WrongLength {
        /// How many bytes the value decoded to.
        len: usize,
    },
}

/// Failures of cryptographic operations.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// A sealed secret did not open: wrong key, wrong context, or tampered bytes.
    #[error(
        "sealed secret '{name}' (version {version}) could not be opened: wrong master key or tampered data"
    )]
    Unseal {
        /// Name of the sealed secret.
        name: String,
        /// Version of the sealed secret.
        version: u32,
    },
    /// A sealed secret is too short to hold a nonce and a tag.
    #[error("sealed secret '{name}' is truncated")]
    Truncated {
        /// Name of the sealed secret.
        name: String,
    },
    /// HKDF was asked for more output than it can give.
    #[error("key derivation failed: requested output too long")]
    KeyDerivation,
    /// The master key does not open this deployment's sentinel.
    #[error("the master key is not the one that sealed this deployment")]
    WrongMasterKey,
}
