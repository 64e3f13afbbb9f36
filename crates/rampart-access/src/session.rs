//! Session tokens: PASETO v4.public (Ed25519), rather than JWTs signed with EdDSA.
//!
//! A PASETO token has no algorithm field to confuse: there is no `alg=none`, and no
//! HS256-keyed-with-the-public-key attack, because each version fixes one suite (v4.public is
//! Ed25519 over a pre-authentication encoding of header, payload, footer and implicit assertion),
//! and the footer is authenticated too. Ed25519 signatures let other services verify a token
//! with the public key alone.
//!
//! Token layout, as issued here: `v4.public.<base64url(payload || signature)>`, **no footer**
//! and no implicit assertion, so any conformant PASETO v4 library can check it with the public
//! key. The payload is JSON holding only registered claims: `iss` and `aud` are `"rampart"`,
//! `jti` is the session id, `sub` the principal id (both hyphenated UUIDs), and `iat`, `nbf`
//! (equal to `iat`) and `exp` are RFC 3339 UTC timestamps at **whole-second precision**:
//! [`SessionSigner::issue`] drops sub-second parts (rounding down, as the PASETO spec recommends
//! omitting fractional seconds), so a verified token returns the issued claims truncated to the
//! second.
//!
//! Verification takes the current time as a parameter. It therefore uses `pasetors`'s
//! signature-only `version4::PublicToken::verify` and checks the claims here, rather than
//! `ClaimsValidationRules`, which reads the system clock and allows no clock skew.

use std::fmt;

use pasetors::Public;
use pasetors::errors::Error as PasetoError;
use pasetors::keys::{AsymmetricPublicKey, AsymmetricSecretKey};
use pasetors::token::UntrustedToken;
use pasetors::version4::{PublicToken, V4};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};
use uuid::Uuid;
use zeroize::Zeroizing;

/// The `iss` and `aud` claims of every session token.
const ISSUER: &str = "rampart";
const AUDIENCE: &str = "rampart";
/// How far in the future `iat` and `nbf` may be, to absorb clock differences between hosts.
const CLOCK_SKEW: Duration = Duration::seconds(60);
/// Longest token accepted for verification. Issued tokens are about 420 characters; anything
/// much longer is refused before base64 decoding or signature work.
const MAX_TOKEN_LEN: usize = 2048;
const SEED_LEN: usize = 32;

/// What a session token says. `session_id` is the server-side record (revocation, idle timeout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionClaims {
    /// The server-side session record (`jti`).
    pub session_id: Uuid,
    /// The authenticated principal (`sub`).
    pub principal_id: Uuid,
    /// When the token was issued (`iat`, also `nbf`); whole seconds once issued.
    pub issued_at: OffsetDateTime,
    /// When the token stops being accepted (`exp`, exclusive); whole seconds once issued.
    pub expires_at: OffsetDateTime,
}

/// Why a session token could not be issued or was refused. Never carries token contents.
#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
pub enum SessionError {
    /// The signing key seed is not 32 bytes, or is all zeros.
    #[error("the session signing key must be a 32-byte, non-zero Ed25519 seed")]
    InvalidKey,
    /// Not a well-formed PASETO v4.public token without footer (wrong version or purpose,
    /// bad encoding, footer present, too long).
    #[error("malformed session token")]
    Malformed,
    /// The signature does not verify with this deployment's key.
    #[error("session token signature is not valid")]
    BadSignature,
    /// The token's `exp` has passed.
    #[error("session token has expired")]
    Expired,
    /// The token's `iat` or `nbf` lies more than the allowed clock skew in the future.
    #[error("session token is not yet valid")]
    NotYetValid,
    /// Correctly signed, but the claims are missing, of the wrong form, or not Rampart's.
    #[error("session token claims are not valid")]
    WrongClaims,
    /// The claims could not be encoded or signed (times out of range, `expires_at` not after
    /// `issued_at` at whole-second precision).
    #[error("could not issue session token")]
    Issue,
}

/// The JSON payload of a session token: PASETO registered claims only.
#[derive(Serialize, Deserialize)]
struct Payload {
    iss: String,
    aud: String,
    sub: String,
    jti: String,
    iat: String,
    nbf: String,
    exp: String,
}

/// Issues and verifies tokens with one Ed25519 key (the deployment's, sealed in storage by the
/// caller).
///
/// Token format and validation rules are described in the [module documentation](self).
pub struct SessionSigner {
    /// Seed || public key; `pasetors` zeroizes it on drop.
    secret: AsymmetricSecretKey<V4>,
    public: AsymmetricPublicKey<V4>,
}

impl fmt::Debug for SessionSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionSigner([REDACTED])")
    }
}

impl SessionSigner {
    /// The name under which the caller stores the sealed 32-byte seed.
    pub const SECRET_NAME: &'static str = "session_signing_key";

    /// Builds the signer from a 32-byte Ed25519 seed (RFC 8032 private key).
    ///
    /// Fails with [`SessionError::InvalidKey`] for any other length or an all-zero seed.
    pub fn from_seed(seed: &[u8]) -> Result<Self, SessionError> {
        if seed.len() != SEED_LEN || seed.iter().all(|b| *b == 0) {
            return Err(SessionError::InvalidKey);
        }
        let key_pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|_| SessionError::InvalidKey)?;
        let public_bytes = ring::signature::KeyPair::public_key(&key_pair).as_ref();

        let mut secret_bytes = Zeroizing::new([0u8; SEED_LEN * 2]);
        let (seed_half, public_half) = secret_bytes.split_at_mut(SEED_LEN);
        seed_half.copy_from_slice(seed);
        if public_bytes.len() != public_half.len() {
            return Err(SessionError::InvalidKey);
        }
        public_half.copy_from_slice(public_bytes);

        // `from` re-derives the public key from the seed and checks it matches.
        let secret = AsymmetricSecretKey::<V4>::from(secret_bytes.as_slice())
            .map_err(|_| SessionError::InvalidKey)?;
        let public =
            AsymmetricPublicKey::<V4>::from(public_bytes).map_err(|_| SessionError::InvalidKey)?;
        Ok(Self { secret, public })
    }

    /// The 32-byte Ed25519 public key, for services that verify tokens independently.
    pub fn public_key(&self) -> &[u8] {
        self.public.as_bytes()
    }

    /// Signs `claims` into a `v4.public.…` token (no footer).
    ///
    /// Times are converted to UTC and truncated to whole seconds; `expires_at` must still be
    /// after `issued_at`, and both within years 0000–9999, or this fails with
    /// [`SessionError::Issue`].
    pub fn issue(&self, claims: &SessionClaims) -> Result<String, SessionError> {
        let issued_at = whole_seconds_utc(claims.issued_at)?;
        let expires_at = whole_seconds_utc(claims.expires_at)?;
        if expires_at <= issued_at {
            return Err(SessionError::Issue);
        }
        let iat = format_time(issued_at)?;
        let payload = Payload {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: claims.principal_id.hyphenated().to_string(),
            jti: claims.session_id.hyphenated().to_string(),
            nbf: iat.clone(),
            iat,
            exp: format_time(expires_at)?,
        };
        let json = serde_json::to_vec(&payload).map_err(|_| SessionError::Issue)?;
        PublicToken::sign(&self.secret, &json, None, None).map_err(|_| SessionError::Issue)
    }

    /// Verifies `token` at time `now` and returns its claims.
    ///
    /// Checks, in order: the form (`v4.public.`, no footer, at most 2048 characters; else
    /// [`SessionError::Malformed`]), the signature ([`SessionError::BadSignature`]), the claims'
    /// presence and form and `iss`/`aud` = `"rampart"` ([`SessionError::WrongClaims`]), `now <
    /// exp` ([`SessionError::Expired`]), and `iat`, `nbf` ≤ `now` + 60 s
    /// ([`SessionError::NotYetValid`]). Revocation and idle timeout are the caller's check of
    /// the session record named by `session_id`.
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<SessionClaims, SessionError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(SessionError::Malformed);
        }
        let body = token
            .strip_prefix(PublicToken::HEADER)
            .ok_or(SessionError::Malformed)?;
        // We never issue a footer; refusing one (even an empty `v4.public.x.`) keeps exactly one
        // accepted spelling per token.
        if body.contains('.') {
            return Err(SessionError::Malformed);
        }
        let untrusted =
            UntrustedToken::<Public, V4>::try_from(token).map_err(|_| SessionError::Malformed)?;
        let trusted = PublicToken::verify(&self.public, &untrusted, None, None).map_err(|e| {
            match e {
                PasetoError::TokenValidation => SessionError::BadSignature,
                // Only reachable after the signature verified.
                PasetoError::PayloadInvalidUtf8 => SessionError::WrongClaims,
                _ => SessionError::Malformed,
            }
        })?;

        let payload: Payload =
            serde_json::from_str(trusted.payload()).map_err(|_| SessionError::WrongClaims)?;
        if payload.iss != ISSUER || payload.aud != AUDIENCE {
            return Err(SessionError::WrongClaims);
        }
        let session_id = Uuid::parse_str(&payload.jti).map_err(|_| SessionError::WrongClaims)?;
        let principal_id = Uuid::parse_str(&payload.sub).map_err(|_| SessionError::WrongClaims)?;
        let issued_at = parse_time(&payload.iat)?;
        let not_before = parse_time(&payload.nbf)?;
        let expires_at = parse_time(&payload.exp)?;
        if expires_at <= issued_at {
            return Err(SessionError::WrongClaims);
        }

        if now >= expires_at {
            return Err(SessionError::Expired);
        }
        let latest_start = now.saturating_add(CLOCK_SKEW);
        if issued_at > latest_start || not_before > latest_start {
            return Err(SessionError::NotYetValid);
        }

        Ok(SessionClaims {
            session_id,
            principal_id,
            issued_at,
            expires_at,
        })
    }

    /// Whether `text` is shaped like a session token (starts with `v4.public.`), to route a
    /// presented credential before any verification. Says nothing about validity.
    pub fn looks_like_session_token(text: &str) -> bool {
        text.starts_with(PublicToken::HEADER)
    }
}

fn whole_seconds_utc(at: OffsetDateTime) -> Result<OffsetDateTime, SessionError> {
    at.to_offset(UtcOffset::UTC)
        .replace_nanosecond(0)
        .map_err(|_| SessionError::Issue)
}

fn format_time(at: OffsetDateTime) -> Result<String, SessionError> {
    at.format(&Rfc3339).map_err(|_| SessionError::Issue)
}

fn parse_time(text: &str) -> Result<OffsetDateTime, SessionError> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map(|t| t.to_offset(UtcOffset::UTC))
        .map_err(|_| SessionError::WrongClaims)
}

#[cfg(test)]
mod tests;
