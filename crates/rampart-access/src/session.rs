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
mod tests {
    use super::*;
    use data_encoding::{BASE64URL_NOPAD, HEXLOWER};
    use time::macros::datetime;

    const SEED: [u8; 32] = [0x42; 32];

    fn signer() -> SessionSigner {
        SessionSigner::from_seed(&SEED).unwrap()
    }

    fn claims(issued_at: OffsetDateTime, lifetime: Duration) -> SessionClaims {
        SessionClaims {
            session_id: Uuid::from_u128(0x0192_3456_789a_7bcd_8ef0_1234_5678_9abc),
            principal_id: Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0001),
            issued_at,
            expires_at: issued_at + lifetime,
        }
    }

    fn t0() -> OffsetDateTime {
        datetime!(2025-06-01 12:00:00 UTC)
    }

    /// PASETO's pre-authentication encoding, written independently of `pasetors`.
    fn pae(pieces: &[&[u8]]) -> Vec<u8> {
        let mut out = (pieces.len() as u64).to_le_bytes().to_vec();
        for piece in pieces {
            out.extend_from_slice(&(piece.len() as u64).to_le_bytes());
            out.extend_from_slice(piece);
        }
        out
    }

    /// Splits a footer-less v4.public token into (payload, signature).
    fn decode_unfooted(token: &str) -> (Vec<u8>, Vec<u8>) {
        let body = token.strip_prefix("v4.public.").unwrap();
        assert!(!body.contains('.'));
        let raw = BASE64URL_NOPAD.decode(body.as_bytes()).unwrap();
        let (m, s) = raw.split_at(raw.len() - 64);
        (m.to_vec(), s.to_vec())
    }

    /// Verifies a footer-less v4.public token with `ring` alone (no `pasetors`).
    fn ring_verify(public_key: &[u8], token: &str) -> Result<Vec<u8>, ring::error::Unspecified> {
        let (m, s) = decode_unfooted(token);
        let m2 = pae(&[b"v4.public.", &m, b"", b""]);
        ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public_key)
            .verify(&m2, &s)?;
        Ok(m)
    }

    /// Signs an arbitrary payload with SEED's key, bypassing `SessionSigner::issue`.
    fn sign_raw(payload: &str) -> String {
        let s = signer();
        let mut sk = SEED.to_vec();
        sk.extend_from_slice(s.public_key());
        let sk = AsymmetricSecretKey::<V4>::from(&sk).unwrap();
        PublicToken::sign(&sk, payload.as_bytes(), None, None).unwrap()
    }

    #[test]
    fn issue_then_verify_round_trips_whole_seconds() {
        let s = signer();
        let c = claims(t0(), Duration::minutes(15));
        let token = s.issue(&c).unwrap();
        assert!(token.starts_with("v4.public."));
        assert!(SessionSigner::looks_like_session_token(&token));
        assert_eq!(s.verify(&token, t0()).unwrap(), c);
        assert_eq!(s.verify(&token, t0() + Duration::minutes(14)).unwrap(), c);
    }

    #[test]
    fn sub_second_times_are_truncated_and_offsets_normalised() {
        let s = signer();
        let issued = datetime!(2025-06-01 14:00:00.999_999 +02:00);
        let expires = datetime!(2025-06-01 12:15:00.5 UTC);
        let c = SessionClaims {
            issued_at: issued,
            expires_at: expires,
            ..claims(t0(), Duration::minutes(15))
        };
        let got = s.verify(&s.issue(&c).unwrap(), t0()).unwrap();
        assert_eq!(got.issued_at, datetime!(2025-06-01 12:00:00 UTC));
        assert_eq!(got.expires_at, datetime!(2025-06-01 12:15:00 UTC));
        assert_eq!(got.issued_at.offset(), UtcOffset::UTC);
        assert_eq!(got.session_id, c.session_id);
        assert_eq!(got.principal_id, c.principal_id);
    }

    #[test]
    fn payload_holds_exactly_the_registered_claims() {
        let s = signer();
        let c = claims(t0(), Duration::minutes(15));
        let token = s.issue(&c).unwrap();
        let (m, _) = decode_unfooted(&token);
        let json: serde_json::Value = serde_json::from_slice(&m).unwrap();
        let expected = serde_json::json!({
            "iss": "rampart",
            "aud": "rampart",
            "sub": c.principal_id.to_string(),
            "jti": c.session_id.to_string(),
            "iat": "2025-06-01T12:00:00Z",
            "nbf": "2025-06-01T12:00:00Z",
            "exp": "2025-06-01T12:15:00Z",
        });
        assert_eq!(json, expected);
        // The payload is also valid for pasetors' own claims parser.
        let parsed = pasetors::claims::Claims::from_bytes(&m).unwrap();
        assert_eq!(
            parsed.get_claim("jti").and_then(|v| v.as_str()),
            Some(c.session_id.to_string().as_str())
        );
    }

    #[test]
    fn issue_refuses_empty_or_negative_lifetimes() {
        let s = signer();
        for lifetime in [
            Duration::ZERO,
            Duration::milliseconds(500),
            Duration::seconds(-5),
        ] {
            assert_eq!(
                s.issue(&claims(t0(), lifetime)),
                Err(SessionError::Issue),
                "{lifetime}"
            );
        }
        // RFC 3339 has no years before 0000.
        let ancient = claims(datetime!(-0001-06-01 00:00:00 UTC), Duration::minutes(1));
        assert_eq!(s.issue(&ancient), Err(SessionError::Issue));
    }

    #[test]
    fn expired_tokens_are_refused() {
        let s = signer();
        let c = claims(t0(), Duration::minutes(15));
        let token = s.issue(&c).unwrap();
        let exp = c.expires_at;
        assert!(s.verify(&token, exp - Duration::seconds(1)).is_ok());
        assert_eq!(s.verify(&token, exp), Err(SessionError::Expired));
        assert_eq!(
            s.verify(&token, exp + Duration::days(1)),
            Err(SessionError::Expired)
        );
    }

    #[test]
    fn tokens_from_the_future_are_refused_beyond_the_skew() {
        let s = signer();
        let c = claims(t0(), Duration::minutes(15));
        let token = s.issue(&c).unwrap();
        assert!(s.verify(&token, t0() - Duration::seconds(60)).is_ok());
        assert_eq!(
            s.verify(&token, t0() - Duration::seconds(61)),
            Err(SessionError::NotYetValid)
        );
        assert_eq!(
            s.verify(&token, t0() - Duration::hours(1)),
            Err(SessionError::NotYetValid)
        );
    }

    #[test]
    fn nbf_later_than_iat_is_enforced() {
        let s = signer();
        let token = sign_raw(
            r#"{"iss":"rampart","aud":"rampart","sub":"01920000-0000-7000-8000-000000000001","jti":"01923456-789a-7bcd-8ef0-123456789abc","iat":"2025-06-01T12:00:00Z","nbf":"2025-06-01T12:10:00Z","exp":"2025-06-01T12:15:00Z"}"#,
        );
        assert_eq!(s.verify(&token, t0()), Err(SessionError::NotYetValid));
        assert!(s.verify(&token, t0() + Duration::minutes(9)).is_ok());
    }

    #[test]
    fn tokens_signed_by_another_key_are_bad_signatures() {
        let other = SessionSigner::from_seed(&[0x17; 32]).unwrap();
        let token = other.issue(&claims(t0(), Duration::minutes(15))).unwrap();
        assert_eq!(
            signer().verify(&token, t0()),
            Err(SessionError::BadSignature)
        );
        assert!(other.verify(&token, t0()).is_ok());
    }

    #[test]
    fn every_single_character_change_is_refused() {
        let s = signer();
        let token = s.issue(&claims(t0(), Duration::minutes(15))).unwrap();
        let bytes = token.as_bytes();
        let mut tried = 0;
        for i in 0..bytes.len() {
            for replacement in [b'A', b'B', b'g', b'_', b'-', b'0', b'.', b' '] {
                if bytes[i] == replacement {
                    continue;
                }
                let mut changed = bytes.to_vec();
                changed[i] = replacement;
                let changed = String::from_utf8(changed).unwrap();
                let result = s.verify(&changed, t0());
                assert!(result.is_err(), "position {i} -> {}", replacement as char);
                tried += 1;
            }
        }
        assert!(tried > bytes.len() * 6);
    }

    #[test]
    fn other_versions_purposes_and_garbage_are_malformed() {
        let s = signer();
        let good = s.issue(&claims(t0(), Duration::minutes(15))).unwrap();
        let body = good.strip_prefix("v4.public.").unwrap();
        let footered = format!("{good}.{}", BASE64URL_NOPAD.encode(br#"{"kid":"x"}"#));
        let long = format!("v4.public.{}", "A".repeat(MAX_TOKEN_LEN));
        let cases = [
            String::new(),
            "v4.public.".to_owned(),
            "v4.public".to_owned(),
            "garbage".to_owned(),
            format!("v4.local.{body}"),
            format!("v3.public.{body}"),
            format!("v2.public.{body}"),
            format!("V4.PUBLIC.{body}"),
            format!(" {good}"),
            format!("{good}\n"),
            format!("{good}."),
            footered,
            long,
            "v4.public.!!!!".to_owned(),
            "v4.public.AAAA".to_owned(),
            // 4-E-1 from the official vectors: a real v4.local token.
            "v4.local.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQAr68PS4AXe7If_ZgesdkUMvSwscFlAl1pk5HC0e8kApeaqMfGo_7OpBnwJOAbY9V7WU6abu74MmcUE8YWAiaArVI8XJ5hOb_4v9RmDkneN0S92dx0OW4pgy7omxgf3S8c3LlQg".to_owned(),
        ];
        for case in cases {
            assert_eq!(
                s.verify(&case, t0()),
                Err(SessionError::Malformed),
                "{case:?}"
            );
        }
    }

    #[test]
    fn jwts_are_malformed_and_not_routed_as_sessions() {
        let s = signer();
        let jwts = [
            // alg=EdDSA
            "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl",
            // alg=none
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxMjM0NTY3ODkwIn0.",
        ];
        for jwt in jwts {
            assert!(!SessionSigner::looks_like_session_token(jwt));
            assert_eq!(s.verify(jwt, t0()), Err(SessionError::Malformed));
        }
    }

    #[test]
    fn looks_like_session_token_only_checks_the_prefix() {
        assert!(SessionSigner::looks_like_session_token(
            "v4.public.anything"
        ));
        assert!(!SessionSigner::looks_like_session_token("v4.local.x"));
        assert!(!SessionSigner::looks_like_session_token("rk_abc"));
        assert!(!SessionSigner::looks_like_session_token(""));
        assert!(!SessionSigner::looks_like_session_token("v4.public"));
    }

    #[test]
    fn correctly_signed_but_foreign_claims_are_wrong_claims() {
        let s = signer();
        let ok_rest = r#""sub":"01920000-0000-7000-8000-000000000001","jti":"01923456-789a-7bcd-8ef0-123456789abc","iat":"2025-06-01T12:00:00Z","nbf":"2025-06-01T12:00:00Z","exp":"2025-06-01T12:15:00Z""#;
        let payloads = [
            format!(r#"{{"iss":"other","aud":"rampart",{ok_rest}}}"#),
            format!(r#"{{"iss":"rampart","aud":"other",{ok_rest}}}"#),
            format!(r#"{{"aud":"rampart",{ok_rest}}}"#),
            format!(r#"{{"iss":"rampart","iss":"rampart","aud":"rampart",{ok_rest}}}"#),
            r#"{"iss":"rampart","aud":"rampart","sub":"not-a-uuid","jti":"01923456-789a-7bcd-8ef0-123456789abc","iat":"2025-06-01T12:00:00Z","nbf":"2025-06-01T12:00:00Z","exp":"2025-06-01T12:15:00Z"}"#.to_owned(),
            r#"{"iss":"rampart","aud":"rampart","sub":"01920000-0000-7000-8000-000000000001","jti":"01923456-789a-7bcd-8ef0-123456789abc","iat":"2025-06-01T12:00:00Z","nbf":"2025-06-01T12:00:00Z","exp":1750000000}"#.to_owned(),
            r#"{"iss":"rampart","aud":"rampart","sub":"01920000-0000-7000-8000-000000000001","jti":"01923456-789a-7bcd-8ef0-123456789abc","iat":"2025-06-01T12:00:00Z","nbf":"2025-06-01T12:00:00Z","exp":"2025-06-01T11:00:00Z"}"#.to_owned(),
            "[]".to_owned(),
            "not json".to_owned(),
        ];
        for payload in payloads {
            let token = sign_raw(&payload);
            assert_eq!(
                s.verify(&token, t0()),
                Err(SessionError::WrongClaims),
                "{payload}"
            );
        }
    }

    #[test]
    fn seeds_must_be_32_non_zero_bytes() {
        assert_eq!(
            SessionSigner::from_seed(&[1; 31]).unwrap_err(),
            SessionError::InvalidKey
        );
        assert_eq!(
            SessionSigner::from_seed(&[1; 33]).unwrap_err(),
            SessionError::InvalidKey
        );
        assert_eq!(
            SessionSigner::from_seed(&[]).unwrap_err(),
            SessionError::InvalidKey
        );
        assert_eq!(
            SessionSigner::from_seed(&[0; 32]).unwrap_err(),
            SessionError::InvalidKey
        );
        assert_eq!(SessionSigner::SECRET_NAME, "session_signing_key");
    }

    #[test]
    fn debug_and_errors_print_nothing_secret() {
        let s = signer();
        let token = s.issue(&claims(t0(), Duration::minutes(15))).unwrap();
        let printed = format!("{s:?}");
        assert_eq!(printed, "SessionSigner([REDACTED])");
        assert!(!printed.contains(&HEXLOWER.encode(&SEED)));
        let body = token.strip_prefix("v4.public.").unwrap();
        for err in [
            SessionError::InvalidKey,
            SessionError::Malformed,
            SessionError::BadSignature,
            SessionError::Expired,
            SessionError::NotYetValid,
            SessionError::WrongClaims,
            SessionError::Issue,
        ] {
            let text = format!("{err} {err:?}");
            assert!(!text.contains(&body[..8]));
        }
    }

    #[test]
    fn issued_tokens_verify_with_ring_and_the_public_key_alone() {
        let s = signer();
        let c = claims(t0(), Duration::minutes(15));
        let token = s.issue(&c).unwrap();
        let expected_pk = ring::signature::Ed25519KeyPair::from_seed_unchecked(&SEED).unwrap();
        assert_eq!(
            s.public_key(),
            ring::signature::KeyPair::public_key(&expected_pk).as_ref()
        );
        let m = ring_verify(s.public_key(), &token).unwrap();
        assert!(
            String::from_utf8(m)
                .unwrap()
                .contains(&c.session_id.to_string())
        );
        let other = SessionSigner::from_seed(&[0x17; 32]).unwrap();
        assert!(ring_verify(other.public_key(), &token).is_err());
    }

    /// Official PASETO vector 4-S-1 (paseto-standard/test-vectors, v4.json).
    #[test]
    fn official_vector_4_s_1() {
        let secret_key = HEXLOWER
            .decode(b"b4cbfb43df4ce210727d953e4a713307fa19bb7d9f85041438d9e11b942a37741eb9dbbbbc047c03fd70604e0071f0987e16b28b757225c11f00415d0e20b1a2")
            .unwrap();
        let public_key = HEXLOWER
            .decode(b"1eb9dbbbbc047c03fd70604e0071f0987e16b28b757225c11f00415d0e20b1a2")
            .unwrap();
        let payload = r#"{"data":"this is a signed message","exp":"2022-01-01T00:00:00+00:00"}"#;
        let expected = "v4.public.eyJkYXRhIjoidGhpcyBpcyBhIHNpZ25lZCBtZXNzYWdlIiwiZXhwIjoiMjAyMi0wMS0wMVQwMDowMDowMCswMDowMCJ9bg_XBBzds8lTZShVlwwKSgeKpLT3yukTw6JUz3W4h_ExsQV-P0V54zemZDcAxFaSeef1QlXEFtkqxT1ciiQEDA";

        // Our seed -> public key derivation (ring) matches the vector's key pair.
        let signer = SessionSigner::from_seed(&secret_key[..32]).unwrap();
        assert_eq!(signer.public_key(), public_key.as_slice());

        // pasetors verifies the exact token (signature only: the vector's exp is in 2022).
        let pk = AsymmetricPublicKey::<V4>::from(&public_key).unwrap();
        let untrusted = UntrustedToken::<Public, V4>::try_from(expected).unwrap();
        let trusted = PublicToken::verify(&pk, &untrusted, None, None).unwrap();
        assert_eq!(trusted.payload(), payload);
        assert!(trusted.footer().is_empty());

        // Ed25519 is deterministic: signing the same payload reproduces the vector bit for bit.
        let sk = AsymmetricSecretKey::<V4>::from(&secret_key).unwrap();
        let signed = PublicToken::sign(&sk, payload.as_bytes(), None, None).unwrap();
        assert_eq!(signed, expected);

        // ring, with our own PAE, agrees.
        assert_eq!(
            ring_verify(&public_key, expected).unwrap(),
            payload.as_bytes()
        );

        // Through SessionSigner: the signature is good, but these are not session claims.
        assert_eq!(
            signer.verify(expected, datetime!(2021-06-01 00:00:00 UTC)),
            Err(SessionError::WrongClaims)
        );
        // A different key refuses the vector.
        let pk_other = AsymmetricPublicKey::<V4>::from(&[0x11; 32]).unwrap();
        assert!(PublicToken::verify(&pk_other, &untrusted, None, None).is_err());
    }

    /// Timing only; run with
    /// `cargo test -p rampart-access --release --lib session::tests::issue_verify_timing -- --ignored --nocapture`.
    #[test]
    #[ignore = "timing report, not a check; slow in debug builds"]
    fn issue_verify_timing() {
        let s = signer();
        let c = claims(t0(), Duration::minutes(15));
        let rounds = 10_000u32;
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            let token = s.issue(&c).unwrap();
            std::hint::black_box(s.verify(&token, t0()).unwrap());
        }
        let total = start.elapsed();
        println!(
            "issue+verify: {rounds} rounds in {total:?}, {:?} per round",
            total / rounds
        );
    }
}
