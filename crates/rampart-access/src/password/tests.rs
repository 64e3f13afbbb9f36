use std::time::{Duration, Instant};

use super::*;

const SMALL: HashParams = HashParams {
    memory_kib: 256,
    iterations: 1,
    parallelism: 1,
};

fn secret(text: &str) -> SecretString {
    SecretString::from(text)
}

fn small() -> PasswordHasher {
    PasswordHasher::new(SMALL).expect("valid params")
}

#[test]
fn round_trip() {
    let hasher = small();
    let password = secret("correct horse battery staple");
    let stored = hasher.hash(&password).expect("hash");
    assert!(
        stored.starts_with("$argon2id$v=19$m=256,t=1,p=1$"),
        "{stored}"
    );
    assert_eq!(
        hasher.verify(&password, &stored).expect("verify"),
        Verified {
            ok: true,
            needs_rehash: false
        }
    );
    // A fresh salt each time.
    assert_ne!(stored, hasher.hash(&password).expect("hash"));
}

#[test]
fn round_trip_owasp() {
    let hasher = PasswordHasher::new(HashParams::default()).expect("valid params");
    assert_eq!(hasher.params(), HashParams::OWASP);
    let password = secret("Tr0ub4dor&3 but longer");
    let stored = hasher.hash(&password).expect("hash");
    assert!(
        stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{stored}"
    );
    let verified = hasher.verify(&password, &stored).expect("verify");
    assert!(verified.ok && !verified.needs_rehash);
}

#[test]
fn wrong_password() {
    let hasher = small();
    let stored = hasher.hash(&secret("right password")).expect("hash");
    let verified = hasher
        .verify(&secret("wrong password"), &stored)
        .expect("verify");
    assert_eq!(
        verified,
        Verified {
            ok: false,
            needs_rehash: false
        }
    );
    let verified = hasher.verify(&secret(""), &stored).expect("verify");
    assert!(!verified.ok);
}

#[test]
fn needs_rehash_when_params_change() {
    let old = small();
    let stored = old.hash(&secret("hunter2hunter2")).expect("hash");
    let new = PasswordHasher::new(HashParams {
        memory_kib: 512,
        ..SMALL
    })
    .expect("valid params");
    assert_eq!(
        new.verify(&secret("hunter2hunter2"), &stored)
            .expect("verify"),
        Verified {
            ok: true,
            needs_rehash: true
        }
    );
    // A wrong password never asks for a rehash.
    assert_eq!(
        new.verify(&secret("hunter3hunter3"), &stored)
            .expect("verify"),
        Verified {
            ok: false,
            needs_rehash: false
        }
    );
    let more_iterations = PasswordHasher::new(HashParams {
        iterations: 2,
        ..SMALL
    })
    .expect("valid params");
    assert!(
        more_iterations
            .verify(&secret("hunter2hunter2"), &stored)
            .expect("verify")
            .needs_rehash
    );
}

#[test]
fn needs_rehash_when_not_argon2id() {
    let params = Params::new(256, 1, 1, Some(OUTPUT_LEN)).expect("params");
    let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, params);
    let stored = argon2i
        .hash_password_with_salt(b"legacy password", b"0123456789abcdef")
        .expect("hash")
        .to_string();
    assert!(stored.starts_with("$argon2i$"), "{stored}");
    let verified = small()
        .verify(&secret("legacy password"), &stored)
        .expect("verify");
    assert_eq!(
        verified,
        Verified {
            ok: true,
            needs_rehash: true
        }
    );
}

#[test]
fn malformed_hashes_are_errors() {
    let hasher = small();
    let good = hasher.hash(&secret("password one")).expect("hash");
    let (without_hash, _) = good.rsplit_once('$').expect("PHC string");
    let empty_hash = format!("{without_hash}$");
    let cases = [
        "",
        "plaintext",
        "$",
        "$argon2id",
        "$argon2id$v=19$m=256,t=1,p=1",
        "$argon2id$v=19$m=256,t=1,p=1$c2FsdHNhbHRzYWx0",
        "$argon2id$v=19$m=256,t=1,p=1$c2FsdA$aGFzaGhhc2hoYXNo",
        "$argon2id$v=99$m=256,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
        "$argon2id$v=19$m=5000000,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
        "$argon2id$v=19$m=256,t=1,p=64$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
        "$argon2id$v=19$m=256,t=0,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
        "$argon2id$v=19$m=x,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
        "$argon2id$v=19$m=256,t=1,p=1,z=3$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
        "$scrypt$ln=16,r=8,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        "$argon2id$v=19$m=256,t=1,p=1$!!!!$aGFzaA",
        without_hash,
        &empty_hash,
    ];
    for case in cases {
        let outcome = hasher.verify(&secret("password one"), case);
        assert!(
            matches!(outcome, Err(PasswordError::MalformedHash)),
            "{case:?}: {outcome:?}"
        );
    }
}

#[test]
fn verify_dummy_costs_about_a_real_verify() {
    let hasher = small();
    let stored = hasher.hash(&secret("the real password")).expect("hash");
    let wrong = secret("a wrong password");
    // Warm up both paths, then interleave samples so that noise hits both alike.
    let _ = hasher.verify(&wrong, &stored).expect("verify");
    hasher.verify_dummy(&wrong);
    let mut real = Vec::new();
    let mut dummy = Vec::new();
    for _ in 0..41 {
        let start = Instant::now();
        for _ in 0..3 {
            let _ = hasher.verify(&wrong, &stored).expect("verify");
        }
        real.push(start.elapsed());
        let start = Instant::now();
        for _ in 0..3 {
            hasher.verify_dummy(&wrong);
        }
        dummy.push(start.elapsed());
    }
    let median = |samples: &mut Vec<Duration>| {
        samples.sort();
        samples[samples.len() / 2]
    };
    let ratio = median(&mut dummy).as_secs_f64() / median(&mut real).as_secs_f64();
    assert!((0.5..=2.0).contains(&ratio), "dummy/real = {ratio}");
}

#[test]
fn params_are_validated() {
    assert!(HashParams::OWASP.validate().is_ok());
    assert!(SMALL.validate().is_ok());
    let bad = [
        HashParams {
            parallelism: 0,
            ..SMALL
        },
        HashParams {
            parallelism: 17,
            memory_kib: 1024,
            ..SMALL
        },
        HashParams {
            iterations: 0,
            ..SMALL
        },
        HashParams {
            memory_kib: 31,
            parallelism: 4,
            ..SMALL
        },
        HashParams {
            memory_kib: 4 * 1024 * 1024 + 1,
            ..SMALL
        },
    ];
    for params in bad {
        assert!(
            matches!(params.validate(), Err(PasswordError::InvalidParams(_))),
            "{params:?}"
        );
        assert!(matches!(
            PasswordHasher::new(params),
            Err(PasswordError::InvalidParams(_))
        ));
    }
    assert!(
        HashParams {
            memory_kib: 32,
            parallelism: 4,
            iterations: 1
        }
        .validate()
        .is_ok()
    );
    assert_eq!(HashParams::default(), HashParams::OWASP);
}

#[test]
fn debug_and_errors_reveal_nothing() {
    let hasher = small();
    let debug = format!("{hasher:?}");
    assert!(debug.contains("memory_kib: 256"), "{debug}");
    assert!(!debug.contains('$'), "{debug}");
    assert!(!debug.contains(&hasher.dummy), "{debug}");
    for error in [
        PasswordError::Hash,
        PasswordError::MalformedHash,
        PasswordError::InvalidParams("x".to_owned()),
    ] {
        assert!(!error.to_string().contains('$'));
    }
    let stored = hasher.hash(&secret("swordfish-swordfish")).expect("hash");
    let (without_hash, _) = stored.rsplit_once('$').expect("PHC string");
    let error = hasher
        .verify(&secret("swordfish-swordfish"), without_hash)
        .expect_err("malformed");
    assert!(!error.to_string().contains("swordfish"));
    assert!(!format!("{error:?}").contains("argon2id"));
}

#[test]
fn required_classes_are_checked_one_by_one() {
    let policy = PasswordPolicy {
        require_upper: true,
        require_lower: true,
        require_digit: true,
        require_symbol: true,
        ..PasswordPolicy::default()
    };
    assert_eq!(policy.check(&secret("Blue-Kettle-Orbit-42"), &[]), Ok(()));
    assert_eq!(
        policy.check(&secret("Blue-Kettle-Orbit-Fox"), &[]),
        Err(vec![PasswordProblem::MissingClass(CharClass::Digit)])
    );
    assert_eq!(
        policy.check(&secret("BlueKettleOrbit42"), &[]),
        Err(vec![PasswordProblem::MissingClass(CharClass::Symbol)])
    );
    assert_eq!(
        policy.check(&secret("blue-kettle-orbit-42"), &[]),
        Err(vec![PasswordProblem::MissingClass(CharClass::Upper)])
    );
    assert_eq!(
        policy.check(&secret("BLUE-KETTLE-ORBIT-42"), &[]),
        Err(vec![PasswordProblem::MissingClass(CharClass::Lower)])
    );
    let problem = PasswordProblem::MissingClass(CharClass::Digit).to_string();
    assert_eq!(problem, "the password must contain a digit");
}

#[test]
fn policy_accepts_a_good_password() {
    let policy = PasswordPolicy::default();
    assert_eq!(policy.min_length, 12);
    assert_eq!(policy.max_length, 1024);
    assert_eq!(policy.min_classes, 0);
    // Length and the common-password list are the default rule (API.md "Contract additions").
    assert_eq!(
        policy.check(&secret("correct horse battery staple"), &[]),
        Ok(())
    );
    assert_eq!(
        policy.check(
            &secret("Blue-Kettle-Orbit-42"),
            &["alice", "alice@example.com"]
        ),
        Ok(())
    );
}

#[test]
fn policy_problems() {
    // The class count is off by default; a policy that sets it checks it.
    let policy = PasswordPolicy {
        min_classes: 3,
        ..PasswordPolicy::default()
    };
    let problems = |text: &str| policy.check(&secret(text), &["bob", "robert@example.com"]);

    assert_eq!(
        problems("Sh0rt-pass"),
        Err(vec![PasswordProblem::TooShort { min: 12 }])
    );
    // Length counts characters, not bytes: 11 characters, 22 bytes.
    assert_eq!(
        problems("Ééééé-ééé9x"),
        Err(vec![PasswordProblem::TooShort { min: 12 }])
    );
    let long = format!("Aa1-{}", "x".repeat(1021));
    assert_eq!(
        problems(&long),
        Err(vec![PasswordProblem::TooLong { max: 1024 }])
    );
    assert_eq!(problems(&long[..1024]), Ok(()));
    assert_eq!(
        problems("onlylowercaseletters"),
        Err(vec![PasswordProblem::TooFewClasses { min: 3 }])
    );
    assert_eq!(problems("Password123!"), Err(vec![PasswordProblem::Common]));
    assert_eq!(
        problems("Qwerty123456!"),
        Err(vec![PasswordProblem::Common])
    );
    assert_eq!(
        problems("xx-Robert-2024-yy"),
        Err(vec![PasswordProblem::ContainsContext])
    );
    assert_eq!(
        problems("My-ROBERT@EXAMPLE.COM-1"),
        Err(vec![PasswordProblem::ContainsContext])
    );
    // "bob" is shorter than 4 characters: not a context match.
    assert_eq!(problems("Bob-Kettle-Orbit-42"), Ok(()));
    // Several problems at once.
    assert_eq!(
        problems("password"),
        Err(vec![
            PasswordProblem::TooShort { min: 12 },
            PasswordProblem::TooFewClasses { min: 3 },
            PasswordProblem::Common,
        ])
    );
}

#[test]
fn problem_messages_never_contain_the_password() {
    let password = "robert";
    let errors = PasswordPolicy::default()
        .check(&secret(password), &["robert"])
        .expect_err("bad password");
    assert!(errors.contains(&PasswordProblem::ContainsContext));
    for problem in errors {
        let message = problem.to_string();
        assert!(!message.is_empty());
        assert!(!message.contains(password), "{message}");
    }
    assert_eq!(
        PasswordProblem::TooShort { min: 12 }.to_string(),
        "the password must be at least 12 characters long"
    );
}

#[test]
fn common_list() {
    let list = super::common_list();
    assert!(list.len() >= 19_000, "{}", list.len());
    for entry in ["password", "123456", "qwerty"] {
        assert!(list.contains(entry));
        assert!(is_common(entry));
    }
    assert!(is_common("PassWord"));
    assert!(is_common("Password123!"));
    assert!(is_common("qwerty!!"));
    // A base shorter than 4 characters does not count.
    assert!(!is_common("abc123!?!"));
    assert!(!is_common("Blue-Kettle-Orbit-42"));
}
