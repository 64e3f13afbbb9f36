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
