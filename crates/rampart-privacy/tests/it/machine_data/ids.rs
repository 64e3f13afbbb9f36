//! Generators of machine identifiers: UUIDs of every version, ULIDs, trace and span ids, git
//! SHAs, hex digests, base64 blobs, JWT-shaped strings that are not JWTs, container ids,
//! Kubernetes pod names and AWS resource names. Each writes the formats that log lines carry.

use base64::Engine as _;

use crate::corpus::{ALNUM, B64, B64URL, DIGITS, LOWER_HEX, Rng, luhn_check_digit};

/// `len` lower-case hex digits with at least one letter: an all-digit id is a number, and a
/// long one could be a card number.
pub(super) fn hex(rng: &mut Rng, len: usize) -> String {
    loop {
        let value = rng.string(LOWER_HEX, len);
        if value.bytes().any(|b| b.is_ascii_alphabetic()) {
            return value;
        }
    }
}

fn upper_sometimes(rng: &mut Rng, value: String, percent: usize) -> String {
    if rng.chance(percent) {
        value.to_ascii_uppercase()
    } else {
        value
    }
}

/// A UUID whose first three groups are all digits that pass Luhn under a card brand's prefix
/// (`62886557-0987-4987-a2b1-b64bbea42c13`, issue 14's request id). `version` is the first
/// digit of the third group.
pub(super) fn luhn_uuid(rng: &mut Rng, version: u32) -> String {
    let prefix = *rng.pick(&["4", "51", "55", "6011", "65", "62", "3530", "2221"]);
    let mut payload = format!("{prefix}{}", rng.digits(15 - prefix.len()));
    payload.replace_range(12..13, &version.to_string());
    let digits = format!("{payload}{}", luhn_check_digit(&payload));
    format!(
        "{}-{}-{}-{}{}-{}",
        &digits[..8],
        &digits[8..12],
        &digits[12..16],
        rng.pick(&["8", "9", "a", "b"]),
        hex(rng, 3),
        hex(rng, 12)
    )
}

/// A UUID of any version (v1, v3-v8, nil, max), in the notations logs use.
pub(super) fn uuid(rng: &mut Rng) -> String {
    let variant = *rng.pick(&["8", "9", "a", "b"]);
    let body = match rng.below(24) {
        0 => "00000000-0000-0000-0000-000000000000".to_owned(),
        1 => "ffffffff-ffff-ffff-ffff-ffffffffffff".to_owned(),
        2 | 3 => {
            let version = *rng.pick(&[4, 4, 1, 7]);
            luhn_uuid(rng, version)
        }
        4..=6 => {
            // v7: 48 bits of Unix milliseconds first.
            let millis = 1_500_000_000_000u64 + rng.next() % 400_000_000_000;
            let time = format!("{millis:012x}");
            format!(
                "{}-{}-7{}-{variant}{}-{}",
                &time[..8],
                &time[8..],
                hex(rng, 3),
                hex(rng, 3),
                hex(rng, 12)
            )
        }
        7 | 8 => {
            // v1: time-low, time-mid, version and time-high, clock sequence, node.
            format!(
                "{}-{}-1{}-{variant}{}-{}",
                hex(rng, 8),
                hex(rng, 4),
                *rng.pick(&["1ee", "1ef", "1ed", "11e"]),
                hex(rng, 3),
                hex(rng, 12)
            )
        }
        9 => format!(
            "1ef{}-{}-6{}-{variant}{}-{}",
            hex(rng, 5),
            hex(rng, 4),
            hex(rng, 3),
            hex(rng, 3),
            hex(rng, 12)
        ),
        _ => {
            let version = *rng.pick(&['3', '4', '4', '4', '4', '5', '8']);
            format!(
                "{}-{}-{version}{}-{variant}{}-{}",
                hex(rng, 8),
                hex(rng, 4),
                hex(rng, 3),
                hex(rng, 3),
                hex(rng, 12)
            )
        }
    };
    let body = upper_sometimes(rng, body, 20);
    match rng.below(10) {
        0 | 1 => format!("{{{body}}}"),
        2 => format!("urn:uuid:{body}"),
        _ => body,
    }
}

/// Crockford's base32, the ULID alphabet.
const CROCKFORD: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A ULID: ten characters of milliseconds, sixteen of randomness.
pub(super) fn ulid(rng: &mut Rng) -> String {
    let mut millis = 1_500_000_000_000u64 + rng.next() % 400_000_000_000;
    let mut time = [b'0'; 10];
    for slot in time.iter_mut().rev() {
        *slot = CROCKFORD[usize::try_from(millis % 32).unwrap_or(0)];
        millis /= 32;
    }
    let value = format!(
        "{}{}",
        String::from_utf8_lossy(&time),
        rng.string(CROCKFORD, 16)
    );
    match rng.below(10) {
        0 => value.to_ascii_lowercase(),
        1 => format!("req_{value}"),
        _ => value,
    }
}

/// W3C traceparent, B3 (single header and `X-B3-*` values), X-Ray and bare 16/32-hex ids.
pub(super) fn trace_id(rng: &mut Rng) -> String {
    match rng.below(10) {
        0 | 1 => format!(
            "00-{}-{}-0{}",
            hex(rng, 32),
            hex(rng, 16),
            rng.pick(&["1", "1", "0"])
        ),
        2 => {
            let trace_len = *rng.pick(&[16, 32]);
            format!(
                "{}-{}-{}",
                hex(rng, trace_len),
                hex(rng, 16),
                rng.pick(&["1", "0", "d"])
            )
        }
        3 => format!("{}-{}-1-{}", hex(rng, 32), hex(rng, 16), hex(rng, 16)),
        4 | 5 => hex(rng, 32),
        6 | 7 => hex(rng, 16),
        8 => format!(
            "Root=1-{}-{};Parent={};Sampled={}",
            hex(rng, 8),
            hex(rng, 24),
            hex(rng, 16),
            rng.below(2)
        ),
        _ => hex(rng, 32).to_ascii_uppercase(),
    }
}

/// Git SHAs: short (7-12) and full (40), bare or as `git describe` writes them.
pub(super) fn git_sha(rng: &mut Rng) -> String {
    let short = 7 + rng.below(6);
    match rng.below(8) {
        0..=2 => hex(rng, 40),
        3..=5 => hex(rng, short),
        6 => format!(
            "v{}.{}.{}-{}-g{}",
            rng.range(0, 9),
            rng.range(0, 30),
            rng.range(0, 20),
            rng.range(1, 300),
            hex(rng, short)
        ),
        _ => format!("{}..{}", hex(rng, short), hex(rng, short)),
    }
}

/// MD5, SHA-1 and SHA-256 digests in hex (either case), with and without a label, and
/// subresource-integrity strings.
pub(super) fn digest(rng: &mut Rng) -> String {
    let len = *rng.pick(&[32, 40, 64]);
    let value = hex(rng, len);
    let value = upper_sometimes(rng, value, 30);
    match rng.below(10) {
        0 => format!("sha256:{}", hex(rng, 64)),
        1 => format!("md5={}", hex(rng, 32)),
        2 => {
            let len = *rng.pick(&[32, 48]);
            let bytes = rng.bytes(len);
            let algorithm = if bytes.len() == 32 {
                "sha256"
            } else {
                "sha384"
            };
            format!(
                "{algorithm}-{}",
                base64::engine::general_purpose::STANDARD.encode(bytes)
            )
        }
        _ => value,
    }
}

/// A standard base64 blob holding `+` and digits after a letter (`ab+41555526711/cd`): not a
/// phone number.
pub(super) fn base64_with_plus_digits(rng: &mut Rng) -> String {
    let (head_len, digits_len, tail_len) = (2 + rng.below(20), 7 + rng.below(7), 2 + rng.below(20));
    let mut value = format!(
        "{}{}+{}{}/{}",
        rng.string(B64, head_len),
        char::from(*rng.pick(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")),
        rng.range(1, 9),
        rng.digits(digits_len),
        rng.string(ALNUM, tail_len)
    );
    if value.len() % 4 == 1 {
        value.push('Q');
    }
    while value.len() % 4 != 0 {
        value.push('=');
    }
    value
}

/// Base64 and base64url blobs of random bytes, with and without padding.
pub(super) fn base64(rng: &mut Rng) -> String {
    let len = *rng.pick(&[3, 4, 5, 8, 12, 16, 20, 24, 32, 33, 48, 64, 100, 128, 200]);
    let bytes = rng.bytes(len);
    match rng.below(10) {
        0 => base64_with_plus_digits(rng),
        1..=4 => base64::engine::general_purpose::STANDARD.encode(bytes),
        5 => base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes),
        6 | 7 => base64::engine::general_purpose::URL_SAFE.encode(bytes),
        _ => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
    }
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Three base64url parts starting `eyJ` whose header is not JSON or names no `alg`.
pub(super) fn invalid_jwt(rng: &mut Rng) -> String {
    let header = match rng.below(7) {
        0 => b64url(br#"{"typ":"JWT"}"#),
        1 => b64url(format!(r#"{{"kid":"{}","typ":"JWT"}}"#, hex(rng, 8)).as_bytes()),
        2 => b64url(br#"{"typ":"JWT","alg""#),
        3 => b64url(br#"{"algorithm":"HS256"}"#),
        4 => b64url(br#"{"x":1"#),
        5 => b64url(format!(r#"{{"v":{},"enc":"none"}}"#, rng.range(1, 9)).as_bytes()),
        _ => {
            let len = 10 + rng.below(30);
            format!("eyJ{}", rng.string(B64URL, len))
        }
    };
    let payload = match rng.below(3) {
        0 => b64url(format!(r#"{{"n":{},"scope":"read"}}"#, rng.range(1, 999)).as_bytes()),
        _ => {
            let len = 8 + rng.below(60);
            b64url(&rng.bytes(len))
        }
    };
    let signature_len = *rng.pick(&[16, 32, 64]);
    format!("{header}.{payload}.{}", b64url(&rng.bytes(signature_len)))
}

/// The alphabet Kubernetes uses for generated name suffixes (no vowels, no 0/1/3).
const KUBE_SAFE: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

const APPS: &[&str] = &[
    "web",
    "api",
    "checkout-service",
    "payments-worker",
    "redis",
    "fluentd",
    "ingress-nginx-controller",
    "coredns",
    "kafka",
    "auth-gateway",
];

/// Kubernetes pod names: Deployment (`web-7d4b9c8f6d-x2x7z`), StatefulSet, DaemonSet and
/// CronJob pods.
pub(super) fn pod_name(rng: &mut Rng) -> String {
    let app = *rng.pick(APPS);
    match rng.below(6) {
        0..=2 => {
            let hash_len = 8 + rng.below(3);
            format!(
                "{app}-{}-{}",
                rng.string(KUBE_SAFE, hash_len),
                rng.string(KUBE_SAFE, 5)
            )
        }
        3 => format!("{app}-{}", rng.range(0, 12)),
        4 => format!("{app}-{}", rng.string(KUBE_SAFE, 5)),
        _ => format!(
            "{app}-{}-{}",
            rng.range(28_000_000, 29_999_999),
            rng.string(KUBE_SAFE, 5)
        ),
    }
}

/// Container ids: 64 hex, with the runtime's scheme, or docker's short 12.
pub(super) fn container_id(rng: &mut Rng) -> String {
    let id = hex(rng, 64);
    match rng.below(6) {
        0 => format!("containerd://{id}"),
        1 => format!("docker://{id}"),
        2 => format!("cri-o://{id}"),
        3 => hex(rng, 12),
        _ => id,
    }
}

const REGIONS: &[&str] = &[
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-2",
    "sa-east-1",
];

/// An AWS account id: 12 digits.
fn account(rng: &mut Rng) -> String {
    format!("{}{}", rng.range(1, 9), rng.string(DIGITS, 11))
}

/// AWS ARNs and resource ids (none of them credentials).
pub(super) fn aws(rng: &mut Rng) -> String {
    let region = *rng.pick(REGIONS);
    let account = account(rng);
    match rng.below(16) {
        0 => format!(
            "arn:aws:iam::{account}:{}",
            rng.pick(&[
                "role/deploy",
                "user/ci-bot",
                "policy/ReadOnlyAccess",
                "root"
            ])
        ),
        1 => format!(
            "arn:aws:s3:::{}",
            rng.pick(&[
                "my-bucket",
                "logs-prod-2026",
                "assets.example.com/img/logo.png"
            ])
        ),
        2 => format!("arn:aws:lambda:{region}:{account}:function:resize-images"),
        3 => format!(
            "arn:aws:ec2:{region}:{account}:instance/i-0{}",
            hex(rng, 16)
        ),
        4 => format!(
            "arn:aws:sqs:{region}:{account}:{}",
            rng.pick(&["jobs", "jobs-dlq"])
        ),
        5 => format!(
            "arn:aws:kms:{region}:{account}:key/{}-{}-4{}-a{}-{}",
            hex(rng, 8),
            hex(rng, 4),
            hex(rng, 3),
            hex(rng, 3),
            hex(rng, 12)
        ),
        6 => format!("arn:aws:ecs:{region}:{account}:task/prod/{}", hex(rng, 32)),
        7 => format!("arn:aws:dynamodb:{region}:{account}:table/Orders"),
        8 => account,
        _ => {
            let prefix = *rng.pick(&[
                "i", "vpc", "sg", "subnet", "ami", "vol", "eni", "snap", "rtb",
            ]);
            let len = *rng.pick(&[17, 17, 8]);
            format!("{prefix}-0{}", hex(rng, len - 1))
        }
    }
}
