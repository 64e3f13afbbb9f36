use super::*;

fn signer(byte: u8) -> TokenSigner {
    TokenSigner::from_seed(&[byte; 32]).unwrap()
}

fn now() -> OffsetDateTime {
    time::macros::datetime!(2026-12-05 10:00:00.75 UTC)
}

fn claims(parameters: &serde_json::Value) -> ExecutionClaims {
    ExecutionClaims {
        action_id: ActionId::generate(),
        agent_id: Uuid::now_v7(),
        action: "rollback".into(),
        target: Target {
            kind: "deployment".into(),
            id: "checkout".into(),
            team_id: Some("payments".into()),
        },
        parameters_sha256: parameters_sha256(parameters).unwrap(),
        issued_at: now(),
        expires_at: now() + EXECUTION_TOKEN_TTL,
    }
}

#[test]
fn a_token_verifies_and_binds_exactly_its_parameters() {
    let parameters = serde_json::json!({"version": "v41", "replicas": 3});
    let issued = claims(&parameters);
    let token = signer(7).issue(&issued).unwrap();
    assert!(token.starts_with("v4.public."));
    let verified = signer(7).verify(&token, now()).unwrap();
    assert_eq!(verified.action_id, issued.action_id);
    assert_eq!(verified.target, issued.target);
    assert_eq!(
        verified.issued_at,
        time::macros::datetime!(2026-12-05 10:00 UTC)
    );
    // Member order and number spelling do not matter (RFC 8785); values do.
    assert!(verified.binds(&serde_json::json!({"replicas": 3.0, "version": "v41"})));
    assert!(!verified.binds(&serde_json::json!({"version": "v42", "replicas": 3})));
    assert!(!verified.binds(&serde_json::json!({"version": "v41"})));
}

#[test]
fn forged_expired_and_foreign_tokens_are_refused() {
    let token = signer(7).issue(&claims(&serde_json::json!({}))).unwrap();
    assert_eq!(
        signer(8).verify(&token, now()),
        Err(TokenError::BadSignature)
    );
    let late = now() + EXECUTION_TOKEN_TTL;
    assert_eq!(signer(7).verify(&token, late), Err(TokenError::Expired));
    // One character of the body changed.
    let mut forged = token.clone().into_bytes();
    let i = forged.len() - 10;
    forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    assert!(matches!(
        signer(7).verify(&forged, now()),
        Err(TokenError::BadSignature | TokenError::Malformed)
    ));
    for bad in ["", "v4.local.abc", "v4.public.", &format!("{token}.footer")] {
        assert_eq!(
            signer(7).verify(bad, now()),
            Err(TokenError::Malformed),
            "{bad}"
        );
    }
    assert_eq!(
        signer(7).verify(&"v4.public.A".repeat(1000), now()),
        Err(TokenError::Malformed)
    );
}

#[test]
fn a_session_shaped_token_of_the_same_key_is_not_an_execution_token() {
    let payload = serde_json::json!({"iss": "rampart", "aud": "rampart", "sub": Uuid::nil().to_string(),
        "jti": Uuid::nil().to_string(), "iat": "2026-12-05T10:00:00Z", "nbf": "2026-12-05T10:00:00Z",
        "exp": "2026-12-05T11:00:00Z"});
    let token = PublicToken::sign(
        &signer(7).secret,
        payload.to_string().as_bytes(),
        None,
        None,
    )
    .unwrap();
    assert_eq!(
        signer(7).verify(&token, now()),
        Err(TokenError::WrongClaims)
    );
}

#[test]
fn bad_keys_are_refused() {
    assert_eq!(
        TokenSigner::from_seed(&[0; 32]).err(),
        Some(TokenError::InvalidKey)
    );
    assert_eq!(
        TokenSigner::from_seed(&[1; 31]).err(),
        Some(TokenError::InvalidKey)
    );
    assert_eq!(format!("{:?}", signer(7)), "TokenSigner([REDACTED])");
}
