//! Execution tokens: PASETO v4.public (Ed25519), no footer, signed with a key of their own
//! (never the session key: a session token is never an execution token, nor the reverse).
//!
//! Payload (JSON): `iss` `"rampart"`, `aud` `"rampart-agent-action"`, `jti` the action id, `sub`
//! the agent id, `action`, `target`, `parameters_sha256` (SHA-256 of the parameters' RFC 8785
//! form, lower-case hex), `iat` and `exp` (RFC 3339, whole seconds; `exp` five minutes after
//! `iat`). A token proves what was allowed; that it is used once only is the database's check
//! (`POST /v1/actions/verify-token`).

use std::fmt;

use pasetors::Public;
use pasetors::errors::Error as PasetoError;
use pasetors::keys::{AsymmetricPublicKey, AsymmetricSecretKey};
use pasetors::token::UntrustedToken;
use pasetors::version4::{PublicToken, V4};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::action::{ActionId, Target};

/// How long an execution token is accepted.
pub const EXECUTION_TOKEN_TTL: Duration = Duration::minutes(5);
const ISSUER: &str = "rampart";
const AUDIENCE: &str = "rampart-agent-action";
/// Longest token looked at; issued ones are well under 1 KiB (targets are bounded).
const MAX_TOKEN_LEN: usize = 4096;
/// How far in the future `iat` may be (clock differences between nodes).
const CLOCK_SKEW: Duration = Duration::seconds(60);

/// SHA-256 of the RFC 8785 (JSON Canonicalization Scheme) form of `parameters`, lower-case hex:
/// the same arguments give the same hash however their members are ordered or numbers spelled.
pub fn parameters_sha256(parameters: &serde_json::Value) -> Result<String, TokenError> {
    let canonical =
        serde_json_canonicalizer::to_vec(parameters).map_err(|_| TokenError::Parameters)?;
    let digest = ring::digest::digest(&ring::digest::SHA256, &canonical);
    Ok(data_encoding::HEXLOWER.encode(digest.as_ref()))
}

/// What an execution token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionClaims {
    /// The action it allows.
    pub action_id: ActionId,
    /// The agent whose action it is.
    pub agent_id: Uuid,
    /// The action's name.
    pub action: String,
    /// What it acts on.
    pub target: Target,
    /// SHA-256 of the parameters' RFC 8785 form, hex.
    pub parameters_sha256: String,
    /// When it was issued (whole seconds once issued).
    pub issued_at: OffsetDateTime,
    /// When it stops being accepted (whole seconds once issued).
    pub expires_at: OffsetDateTime,
}

impl ExecutionClaims {
    /// Whether `parameters` are the ones the token was issued for (constant time over the
    /// hashes).
    pub fn binds(&self, parameters: &serde_json::Value) -> bool {
        parameters_sha256(parameters)
            .is_ok_and(|hash| bool::from(hash.as_bytes().ct_eq(self.parameters_sha256.as_bytes())))
    }
}

/// Why a token could not be issued or was refused. Never carries token contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The signing key seed is not 32 non-zero bytes.
    #[error("the execution token key must be a 32-byte, non-zero Ed25519 seed")]
    InvalidKey,
    /// Not a footer-less PASETO v4.public token of acceptable length.
    #[error("not an execution token")]
    Malformed,
    /// Not signed by this deployment.
    #[error("the token's signature is not valid")]
    BadSignature,
    /// Past its `exp`.
    #[error("the token has expired")]
    Expired,
    /// Issued in the future (beyond the allowed clock skew).
    #[error("the token is not yet valid")]
    NotYetValid,
    /// Signed, but not an execution token's claims.
    #[error("the token's claims are not an execution token's")]
    WrongClaims,
    /// The parameters cannot be put in RFC 8785 form (a number out of range).
    #[error("the parameters cannot be canonicalized")]
    Parameters,
    /// The claims could not be encoded or signed.
    #[error("could not issue the execution token")]
    Issue,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    iss: String,
    aud: String,
    jti: String,
    sub: String,
    action: String,
    target: Target,
    parameters_sha256: String,
    iat: String,
    exp: String,
}

/// Issues and verifies execution tokens with the deployment's Ed25519 key.
pub struct TokenSigner {
    secret: AsymmetricSecretKey<V4>,
    public: AsymmetricPublicKey<V4>,
}

impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSigner([REDACTED])")
    }
}

impl TokenSigner {
    /// The name under which the sealed 32-byte seed is stored.
    pub const SECRET_NAME: &'static str = "agent_token_signing_key";

    /// Builds the signer from a 32-byte Ed25519 seed.
    pub fn from_seed(seed: &[u8]) -> Result<Self, TokenError> {
        if seed.len() != 32 || seed.iter().all(|b| *b == 0) {
            return Err(TokenError::InvalidKey);
        }
        let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(seed)
            .map_err(|_| TokenError::InvalidKey)?;
        let public_bytes = ring::signature::KeyPair::public_key(&pair).as_ref();
        let mut both = Zeroizing::new([0u8; 64]);
        let (seed_half, public_half) = both.split_at_mut(32);
        seed_half.copy_from_slice(seed);
        if public_bytes.len() != 32 {
            return Err(TokenError::InvalidKey);
        }
        public_half.copy_from_slice(public_bytes);
        let secret =
            AsymmetricSecretKey::<V4>::from(both.as_slice()).map_err(|_| TokenError::InvalidKey)?;
        let public =
            AsymmetricPublicKey::<V4>::from(public_bytes).map_err(|_| TokenError::InvalidKey)?;
        Ok(Self { secret, public })
    }

    /// The 32-byte Ed25519 public key (`GET /v1/agents/token-key`).
    pub fn public_key(&self) -> &[u8] {
        self.public.as_bytes()
    }

    /// Signs `claims` (times truncated to whole seconds, UTC).
    pub fn issue(&self, claims: &ExecutionClaims) -> Result<String, TokenError> {
        let iat = whole_seconds(claims.issued_at)?;
        let exp = whole_seconds(claims.expires_at)?;
        if exp <= iat {
            return Err(TokenError::Issue);
        }
        let payload = Payload {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            jti: claims.action_id.as_str().to_owned(),
            sub: claims.agent_id.hyphenated().to_string(),
            action: claims.action.clone(),
            target: claims.target.clone(),
            parameters_sha256: claims.parameters_sha256.clone(),
            iat: iat.format(&Rfc3339).map_err(|_| TokenError::Issue)?,
            exp: exp.format(&Rfc3339).map_err(|_| TokenError::Issue)?,
        };
        let json = serde_json::to_vec(&payload).map_err(|_| TokenError::Issue)?;
        PublicToken::sign(&self.secret, &json, None, None).map_err(|_| TokenError::Issue)
    }

    /// Verifies `token` at `now`: form, signature, claims, expiry, in that order. Whether the
    /// parameters match ([`ExecutionClaims::binds`]) and whether the token was used are the
    /// caller's checks.
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<ExecutionClaims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed);
        }
        let body = token
            .strip_prefix(PublicToken::HEADER)
            .ok_or(TokenError::Malformed)?;
        if body.contains('.') {
            return Err(TokenError::Malformed);
        }
        let untrusted =
            UntrustedToken::<Public, V4>::try_from(token).map_err(|_| TokenError::Malformed)?;
        let trusted =
            PublicToken::verify(&self.public, &untrusted, None, None).map_err(|e| match e {
                PasetoError::TokenValidation => TokenError::BadSignature,
                PasetoError::PayloadInvalidUtf8 => TokenError::WrongClaims,
                _ => TokenError::Malformed,
            })?;
        let payload: Payload =
            serde_json::from_str(trusted.payload()).map_err(|_| TokenError::WrongClaims)?;
        if payload.iss != ISSUER || payload.aud != AUDIENCE {
            return Err(TokenError::WrongClaims);
        }
        let action_id = ActionId::parse(&payload.jti).ok_or(TokenError::WrongClaims)?;
        let agent_id = Uuid::parse_str(&payload.sub).map_err(|_| TokenError::WrongClaims)?;
        let issued_at = parse_time(&payload.iat)?;
        let expires_at = parse_time(&payload.exp)?;
        if expires_at <= issued_at {
            return Err(TokenError::WrongClaims);
        }
        if now >= expires_at {
            return Err(TokenError::Expired);
        }
        if issued_at > now.saturating_add(CLOCK_SKEW) {
            return Err(TokenError::NotYetValid);
        }
        Ok(ExecutionClaims {
            action_id,
            agent_id,
            action: payload.action,
            target: payload.target,
            parameters_sha256: payload.parameters_sha256,
            issued_at,
            expires_at,
        })
    }
}

fn whole_seconds(at: OffsetDateTime) -> Result<OffsetDateTime, TokenError> {
    at.to_offset(UtcOffset::UTC)
        .replace_nanosecond(0)
        .map_err(|_| TokenError::Issue)
}

fn parse_time(text: &str) -> Result<OffsetDateTime, TokenError> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map(|t| t.to_offset(UtcOffset::UTC))
        .map_err(|_| TokenError::WrongClaims)
}

#[cfg(test)]
mod tests;
