//! TOTP second factor (RFC 6238).
//!
//! A [`TotpSecret`] is shared once with the user's authenticator app (as base32, usually in the
//! [`otpauth_uri`] shown as a QR code); afterwards both sides derive the same short code from it
//! and the current 30-second step. HMAC comes from `ring`; codes are compared in constant time;
//! [`Totp::verify`] returns the matched step so that the caller can store it and refuse replays.

use std::fmt::{self, Write as _};

use data_encoding::BASE32_NOPAD;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Length of a generated secret, in bytes (160 bits, as RFC 4226 recommends).
const GENERATED_SECRET_LEN: usize = 20;
/// Longest code that can be derived: the truncated HMAC is a 31-bit number (< 10^10).
const MAX_DIGITS: u32 = 10;
/// Largest accepted skew, in steps either side (5 minutes at 30-second steps).
const MAX_SKEW: u64 = 10;

/// The HMAC behind the codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpAlgorithm {
    /// HMAC-SHA1: what authenticator apps support everywhere (the default).
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

impl TotpAlgorithm {
    fn hmac(self) -> hmac::Algorithm {
        match self {
            Self::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha256 => hmac::HMAC_SHA256,
            Self::Sha512 => hmac::HMAC_SHA512,
        }
    }

    fn uri_name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA1",
            Self::Sha256 => "SHA256",
            Self::Sha512 => "SHA512",
        }
    }
}

/// The shared TOTP secret. Zeroized on drop; its `Debug` prints `[REDACTED]`.
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl TotpSecret {
    /// A fresh 20-byte secret from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, TotpError> {
        let mut bytes = Zeroizing::new(vec![0u8; GENERATED_SECRET_LEN]);
        SystemRandom::new()
            .fill(bytes.as_mut_slice())
            .map_err(|_| TotpError::Random)?;
        Ok(Self(bytes))
    }

    /// Wraps secret bytes (e.g. unsealed from storage).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(Zeroizing::new(bytes.to_vec()))
    }

    /// The secret bytes, for sealing.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// RFC 4648 base32 without padding, as authenticator apps expect.
    pub fn to_base32(&self) -> String {
        BASE32_NOPAD.encode(&self.0)
    }

    /// Parses base32 as users type or paste it: lower case, white space and trailing `=`
    /// padding are accepted. An empty secret is refused.
    pub fn from_base32(text: &str) -> Result<Self, TotpError> {
        let mut cleaned = Zeroizing::new(String::with_capacity(text.len()));
        for c in text.chars().filter(|c| !c.is_whitespace()) {
            cleaned.push(c.to_ascii_uppercase());
        }
        let unpadded = cleaned.trim_end_matches('=');
        if unpadded.is_empty() {
            return Err(TotpError::InvalidBase32);
        }
        let bytes = BASE32_NOPAD
            .decode(unpadded.as_bytes())
            .map_err(|_| TotpError::InvalidBase32)?;
        Ok(Self(Zeroizing::new(bytes)))
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret([REDACTED])")
    }
}

/// TOTP parameters: algorithm, code length and step (T0 is always 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totp {
    /// The HMAC algorithm.
    pub algorithm: TotpAlgorithm,
    /// Code length in decimal digits (6 to 8 in practice; at most 10 can verify).
    pub digits: u32,
    /// Step length in seconds (0 is treated as 1).
    pub step: u64,
}

impl Totp {
    /// SHA-1, 6 digits, 30-second steps: what every authenticator app supports, and what
    /// [`otpauth_uri`] announces.
    pub const DEFAULT: Totp = Totp {
        algorithm: TotpAlgorithm::Sha1,
        digits: 6,
        step: 30,
    };

    /// The code for `unix_time`, zero-padded to `digits` (at most 10) digits.
    pub fn code_at(&self, secret: &TotpSecret, unix_time: u64) -> String {
        let key = hmac::Key::new(self.algorithm.hmac(), secret.as_bytes());
        self.code_for_step(&key, self.step_of(unix_time))
    }

    /// The step (RFC 6238 `T`) that `unix_time` falls in.
    pub fn step_of(&self, unix_time: u64) -> u64 {
        unix_time / self.step.max(1)
    }

    /// Checks `code` at `unix_time` allowing `skew` steps either side (at most 10); refuses steps
    /// <= `last_used_step` (replay); returns the matched step, the one nearest to `unix_time`
    /// if several match. Constant-time compare of codes.
    ///
    /// A code that is not exactly `digits` ASCII digits never verifies.
    pub fn verify(
        &self,
        secret: &TotpSecret,
        code: &str,
        unix_time: u64,
        skew: u64,
        last_used_step: Option<u64>,
    ) -> Option<u64> {
        if self.digits == 0 || self.digits > MAX_DIGITS {
            return None;
        }
        let well_formed = usize::try_from(self.digits).is_ok_and(|len| code.len() == len)
            && code.bytes().all(|b| b.is_ascii_digit());
        if !well_formed {
            return None;
        }
        let key = hmac::Key::new(self.algorithm.hmac(), secret.as_bytes());
        let current = self.step_of(unix_time);
        let mut matched = None;
        // Nearest steps first; every candidate is computed and compared (no early exit).
        for distance in 0..=skew.min(MAX_SKEW) {
            let before = current.checked_sub(distance);
            let after = (distance > 0)
                .then(|| current.checked_add(distance))
                .flatten();
            for step in before.into_iter().chain(after) {
                if last_used_step.is_some_and(|used| step <= used) {
                    continue;
                }
                let expected = Zeroizing::new(self.code_for_step(&key, step));
                let equal = bool::from(expected.as_bytes().ct_eq(code.as_bytes()));
                if equal && matched.is_none() {
                    matched = Some(step);
                }
            }
        }
        matched
    }

    /// RFC 4226 HOTP of `counter`: HMAC, dynamic truncation, modulo 10^digits.
    fn code_for_step(&self, key: &hmac::Key, counter: u64) -> String {
        let tag = hmac::sign(key, &counter.to_be_bytes());
        let mac = tag.as_ref();
        let offset = usize::from(mac.last().copied().unwrap_or(0) & 0x0f);
        // The MAC is at least 20 bytes and offset <= 15, so this always takes 4 bytes.
        let truncated = mac
            .iter()
            .skip(offset)
            .take(4)
            .fold(0u32, |acc, byte| (acc << 8) | u32::from(*byte))
            & 0x7fff_ffff;
        let digits = self.digits.min(MAX_DIGITS);
        let value = u64::from(truncated) % 10u64.pow(digits);
        let width = usize::try_from(digits).unwrap_or(0);
        format!("{value:0width$}")
    }
}

impl Default for Totp {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The `otpauth://` URI authenticator apps read (usually from a QR code), for [`Totp::DEFAULT`]:
/// `otpauth://totp/Issuer:account?secret=BASE32&issuer=Issuer&algorithm=SHA1&digits=6&period=30`.
/// `issuer` and `account` are percent-encoded (everything but RFC 3986 unreserved characters).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &TotpSecret) -> String {
    let totp = Totp::DEFAULT;
    let issuer = percent_encode(issuer);
    let secret = Zeroizing::new(secret.to_base32());
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm={algorithm}&digits={digits}&period={period}",
        account = percent_encode(account),
        secret = secret.as_str(),
        algorithm = totp.algorithm.uri_name(),
        digits = totp.digits,
        period = totp.step,
    )
}

/// Percent-encodes every byte of `text` that is not an RFC 3986 unreserved character.
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

/// Why a TOTP secret could not be made. Never carries the secret.
#[derive(Debug, thiserror::Error)]
pub enum TotpError {
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// The text is not a base32-encoded secret.
    #[error("the TOTP secret is not valid base32")]
    InvalidBase32,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const VECTORS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/vectors/rfc6238/vectors.json"
    );

    #[derive(serde::Deserialize)]
    struct VectorFile {
        vectors: Vec<Vector>,
    }

    #[derive(serde::Deserialize)]
    struct Vector {
        time: u64,
        algorithm: String,
        secret_ascii: String,
        step: u64,
        digits: u32,
        totp: String,
    }

    #[test]
    fn rfc6238_vectors() {
        let text = match std::fs::read_to_string(VECTORS) {
            Ok(text) => text,
            Err(error) => {
                if std::env::var("RAMPART_REQUIRE_VECTORS").as_deref() == Ok("1") {
                    panic!("RFC 6238 vectors required but unreadable at {VECTORS}: {error}");
                }
                println!("skipped: no vectors ({VECTORS}: {error})");
                return;
            }
        };
        let file: VectorFile = serde_json::from_str(&text).expect("vectors.json parses");
        assert!(file.vectors.len() >= 18, "{} vectors", file.vectors.len());
        for vector in &file.vectors {
            let algorithm = match vector.algorithm.as_str() {
                "SHA1" => TotpAlgorithm::Sha1,
                "SHA256" => TotpAlgorithm::Sha256,
                "SHA512" => TotpAlgorithm::Sha512,
                other => panic!("unknown algorithm {other}"),
            };
            let totp = Totp {
                algorithm,
                digits: vector.digits,
                step: vector.step,
            };
            let secret = TotpSecret::from_bytes(vector.secret_ascii.as_bytes());
            assert_eq!(
                totp.code_at(&secret, vector.time),
                vector.totp,
                "{} at {}",
                vector.algorithm,
                vector.time
            );
            assert_eq!(
                totp.verify(&secret, &vector.totp, vector.time, 0, None),
                Some(vector.time / vector.step)
            );
        }
    }

    #[test]
    fn default_is_sha1_6_digits_30_seconds() {
        assert_eq!(
            Totp::DEFAULT,
            Totp {
                algorithm: TotpAlgorithm::Sha1,
                digits: 6,
                step: 30
            }
        );
        assert_eq!(Totp::default(), Totp::DEFAULT);
        // RFC 6238's SHA-1 vector at T=59, truncated to 6 digits (94287082 mod 10^6).
        let secret = TotpSecret::from_bytes(b"12345678901234567890");
        assert_eq!(Totp::DEFAULT.code_at(&secret, 59), "287082");
        assert_eq!(Totp::DEFAULT.step_of(59), 1);
        assert_eq!(Totp::DEFAULT.step_of(60), 2);
    }

    #[test]
    fn codes_are_zero_padded() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890");
        let totp = Totp {
            digits: 8,
            ..Totp::DEFAULT
        };
        // RFC 6238: 07081804 at T=1111111109.
        assert_eq!(totp.code_at(&secret, 1_111_111_109), "07081804");
        let padded = (0..2_000u64)
            .map(|t| Totp::DEFAULT.code_at(&secret, t * 30))
            .find(|code| code.starts_with('0'))
            .expect("some code starts with 0");
        assert_eq!(padded.len(), 6);
    }

    #[test]
    fn replay_is_refused() {
        let secret = TotpSecret::generate().expect("rng");
        let totp = Totp::DEFAULT;
        let now = 1_700_000_000;
        let code = totp.code_at(&secret, now);
        let step = totp.verify(&secret, &code, now, 1, None).expect("valid");
        assert_eq!(step, totp.step_of(now));
        assert_eq!(totp.verify(&secret, &code, now, 1, Some(step)), None);
        assert_eq!(totp.verify(&secret, &code, now + 5, 1, Some(step)), None);
        // The next step's code is still accepted.
        let next = totp.code_at(&secret, now + 30);
        assert_eq!(
            totp.verify(&secret, &next, now + 30, 1, Some(step)),
            Some(step + 1)
        );
    }

    #[test]
    fn skew_window() {
        let secret = TotpSecret::generate().expect("rng");
        let totp = Totp::DEFAULT;
        let now = 1_700_000_000;
        let step = totp.step_of(now);
        let previous = totp.code_at(&secret, now - 30);
        let next = totp.code_at(&secret, now + 30);
        let too_old = totp.code_at(&secret, now - 60);
        assert_eq!(
            totp.verify(&secret, &previous, now, 1, None),
            Some(step - 1)
        );
        assert_eq!(totp.verify(&secret, &next, now, 1, None), Some(step + 1));
        assert_eq!(totp.verify(&secret, &previous, now, 0, None), None);
        assert_eq!(totp.verify(&secret, &too_old, now, 1, None), None);
        assert_eq!(totp.verify(&secret, &too_old, now, 2, None), Some(step - 2));
        // Inside the window but already used.
        assert_eq!(
            totp.verify(&secret, &previous, now, 1, Some(step - 1)),
            None
        );
        // Near time zero the window does not underflow.
        let first = totp.code_at(&secret, 0);
        assert_eq!(totp.verify(&secret, &first, 10, 5, None), Some(0));
        // A huge skew is capped, not looped over.
        let far = totp.code_at(&secret, now - 30 * 11);
        assert_eq!(totp.verify(&secret, &far, now, u64::MAX, None), None);
        let near = totp.code_at(&secret, now - 30 * 10);
        assert_eq!(
            totp.verify(&secret, &near, now, u64::MAX, None),
            Some(step - 10)
        );
    }

    #[test]
    fn malformed_codes_are_refused() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890");
        let totp = Totp::DEFAULT;
        let now = 59;
        let good = totp.code_at(&secret, now);
        assert_eq!(totp.verify(&secret, &good, now, 0, None), Some(1));
        let cases = [
            String::new(),
            good[..5].to_owned(),
            format!("{good}0"),
            format!("0{good}"),
            format!(" {good}"),
            format!("{good}\n"),
            format!("{}a", &good[..5]),
            format!("+{}", &good[1..]),
            format!("-{}", &good[1..]),
            "１２３４５６".to_owned(),
            "abcdef".to_owned(),
        ];
        for code in cases {
            assert_eq!(totp.verify(&secret, &code, now, 1, None), None, "{code:?}");
        }
        // Misconfigured lengths never verify.
        for digits in [0, 11, 20] {
            let odd = Totp { digits, ..totp };
            let code = odd.code_at(&secret, now);
            assert_eq!(odd.verify(&secret, &code, now, 1, None), None, "{digits}");
        }
    }

    #[test]
    fn base32_round_trip() {
        let secret = TotpSecret::generate().expect("rng");
        assert_eq!(secret.as_bytes().len(), 20);
        let text = secret.to_base32();
        assert_eq!(text.len(), 32);
        assert!(!text.contains('='));
        let back = TotpSecret::from_base32(&text).expect("valid");
        assert_eq!(back.as_bytes(), secret.as_bytes());

        let known = TotpSecret::from_bytes(b"12345678901234567890");
        assert_eq!(known.to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let typed =
            TotpSecret::from_base32("gezd gnbv gy3t qojq\tgezd gnbv gy3t qojq ").expect("tolerant");
        assert_eq!(typed.as_bytes(), b"12345678901234567890");
        assert_eq!(
            TotpSecret::from_base32("me======")
                .expect("padded")
                .as_bytes(),
            b"a"
        );
        assert_eq!(TotpSecret::from_bytes(b"a").to_base32(), "ME");

        for bad in ["", "   ", "====", "GEZD1", "GEZ!", "ME==ME", "M", "é"] {
            let error = TotpSecret::from_base32(bad).expect_err(bad);
            assert!(matches!(error, TotpError::InvalidBase32), "{bad:?}");
        }
    }

    #[test]
    fn otpauth_uri_exact() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890");
        assert_eq!(
            otpauth_uri("Rampart", "alice", &secret),
            "otpauth://totp/Rampart:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Rampart&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(
            otpauth_uri("ACME Co", "alice@example.com", &secret),
            "otpauth://totp/ACME%20Co:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(percent_encode("a-z_0.9~"), "a-z_0.9~");
        assert_eq!(percent_encode("Zoë:&?=/"), "Zo%C3%AB%3A%26%3F%3D%2F");
    }

    #[test]
    fn debug_and_errors_reveal_nothing() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890");
        let debug = format!("{secret:?}");
        assert_eq!(debug, "TotpSecret([REDACTED])");
        assert!(!debug.contains("GEZD"));
        assert!(!debug.contains("49"));
        let error = TotpSecret::from_base32("GEZDGNBVGY3TQOJ!").expect_err("invalid");
        assert!(!error.to_string().contains("GEZD"));
        assert!(!format!("{error:?}").contains("GEZD"));
    }

    proptest! {
        #[test]
        fn own_code_verifies(
            t in 0u64..(1u64 << 40),
            bytes in proptest::collection::vec(any::<u8>(), 1..64),
            algorithm in prop_oneof![
                Just(TotpAlgorithm::Sha1),
                Just(TotpAlgorithm::Sha256),
                Just(TotpAlgorithm::Sha512),
            ],
        ) {
            let secret = TotpSecret::from_bytes(&bytes);
            let totp = Totp { algorithm, ..Totp::DEFAULT };
            let code = totp.code_at(&secret, t);
            prop_assert_eq!(totp.verify(&secret, &code, t, 1, None), Some(totp.step_of(t)));
        }
    }
}
