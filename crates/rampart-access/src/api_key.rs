//! API keys: a recognizable, self-checking format, and the keyed hash that is all we store.
//!
//! A key reads `rk_` + 40 base62 characters of randomness (238 bits) + 6 base62 characters of
//! CRC32 over everything before them. The prefix lets secret scanners find leaked keys; the
//! checksum rejects typos and random strings without a database lookup (as GitHub's tokens do).
//! Only `HMAC-SHA256(pepper, key)` is stored: a stolen database does not yield usable keys, and
//! without the pepper (sealed by the KEK) the hashes cannot be brute-forced offline.

use std::fmt;

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use time::OffsetDateTime;
use uuid::Uuid;

/// The prefix every Rampart API key starts with.
pub const PREFIX: &str = "rk_";
const RANDOM_LEN: usize = 40;
const CHECKSUM_LEN: usize = 6;
const KEY_LEN: usize = PREFIX.len() + RANDOM_LEN + CHECKSUM_LEN;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Why a presented string is not a well-formed Rampart API key. Never carries the string.
#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
pub enum ApiKeyFormatError {
    /// It does not start with `rk_`.
    #[error("an API key starts with 'rk_'")]
    Prefix,
    /// It has the wrong length.
    #[error("an API key is {KEY_LEN} characters long")]
    Length,
    /// It contains characters outside base62.
    #[error("an API key contains only letters and digits after 'rk_'")]
    Alphabet,
    /// The checksum does not match: a typo or a made-up key.
    #[error("the API key's checksum does not match (mistyped or truncated key)")]
    Checksum,
    /// The operating system's random number generator failed while generating a key.
    #[error("the system random number generator failed")]
    Random,
}

/// A plaintext API key. Shown once at creation, then only its hash exists.
pub struct ApiKey(SecretString);

impl ApiKey {
    /// Generates a fresh key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, ApiKeyFormatError> {
        let rng = SystemRandom::new();
        let mut text = String::with_capacity(KEY_LEN);
        text.push_str(PREFIX);
        let mut pool = zeroize::Zeroizing::new([0u8; 64]);
        while text.len() < PREFIX.len() + RANDOM_LEN {
            rng.fill(pool.as_mut())
                .map_err(|_| ApiKeyFormatError::Random)?;
            // Rejection sampling keeps every character uniformly likely (248 = 4 * 62).
            for byte in pool.iter().filter(|b| **b < 248) {
                if text.len() == PREFIX.len() + RANDOM_LEN {
                    break;
                }
                if let Some(c) = BASE62.get(usize::from(*byte % 62)) {
                    text.push(char::from(*c));
                }
            }
        }
        let checksum = checksum(&text);
        text.push_str(&checksum);
        Ok(Self(SecretString::from(text)))
    }

    /// Checks the format and checksum of a presented key, without any lookup.
    pub fn parse(presented: &str) -> Result<Self, ApiKeyFormatError> {
        let body = presented
            .strip_prefix(PREFIX)
            .ok_or(ApiKeyFormatError::Prefix)?;
        if presented.len() != KEY_LEN {
            return Err(ApiKeyFormatError::Length);
        }
        if !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ApiKeyFormatError::Alphabet);
        }
        let (covered, check) = presented.split_at(KEY_LEN - CHECKSUM_LEN);
        if checksum(covered) != check {
            return Err(ApiKeyFormatError::Checksum);
        }
        Ok(Self(SecretString::from(presented.to_owned())))
    }

    /// The key's text, for the single moment it is shown to its owner.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([REDACTED])")
    }
}

/// CRC32 of `covered` as 6 base62 digits (62^6 > 2^32).
fn checksum(covered: &str) -> String {
    let mut value = u64::from(crc32fast::hash(covered.as_bytes()));
    let mut digits = [b'0'; CHECKSUM_LEN];
    for digit in digits.iter_mut().rev() {
        let index = usize::try_from(value % 62).unwrap_or(0);
        *digit = BASE62.get(index).copied().unwrap_or(b'0');
        value /= 62;
    }
    String::from_utf8_lossy(&digits).into_owned()
}

/// The 32-byte secret that keys API-key hashes; stored sealed by the KEK.
pub struct ApiKeyPepper(SecretBox<[u8; 32]>);

impl ApiKeyPepper {
    /// Name under which the sealed pepper is stored.
    pub const SECRET_NAME: &'static str = "api_key_pepper";

    /// Wraps pepper bytes (fresh from a CSPRNG, or unsealed from storage).
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(SecretBox::new(Box::new(bytes)))
    }

    /// Builds the pepper from unsealed bytes; `None` when they are not 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let array: [u8; 32] = bytes.try_into().ok()?;
        Some(Self::new(array))
    }

    /// The pepper bytes, for sealing.
    pub fn expose(&self) -> &[u8; 32] {
        self.0.expose_secret()
    }

    /// The stored form of `key`: lowercase hex of HMAC-SHA256(pepper, key).
    pub fn hash(&self, key: &ApiKey) -> ApiKeyHash {
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, self.0.expose_secret()),
            key.expose().as_bytes(),
        );
        let mut hex = String::with_capacity(64);
        for byte in tag.as_ref() {
            hex.push_str(&format!("{byte:02x}"));
        }
        ApiKeyHash(hex)
    }
}

impl fmt::Debug for ApiKeyPepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKeyPepper([REDACTED])")
    }
}

impl ApiKeyPepper {
    /// Issues a fresh key for `principal_id`: the key to show once, and the record to store.
    pub fn issue(
        &self,
        principal_id: Uuid,
        name: &str,
        scopes: Option<Vec<String>>,
        expires_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<(ApiKey, ApiKeyRecord), ApiKeyFormatError> {
        let key = ApiKey::generate()?;
        let record = ApiKeyRecord {
            id: Uuid::now_v7(),
            principal_id,
            name: name.to_owned(),
            hash: self.hash(&key),
            scopes,
            created_at: now,
            expires_at,
            revoked_at: None,
            allowed_ips: None,
            last_used_at: None,
            usage_count: 0,
            rotated_from: None,
        };
        Ok((key, record))
    }
}

/// The keyed hash of an API key: what storage holds and is looked up by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApiKeyHash(pub String);

/// What storage knows of an API key: everything but the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// Stable id (UUIDv7); the `credential_id` in audit entries.
    pub id: Uuid,
    /// The principal the key speaks for.
    pub principal_id: Uuid,
    /// A name the owner chose (e.g. `ci`).
    pub name: String,
    /// The keyed hash of the key.
    pub hash: ApiKeyHash,
    /// Scopes the key is limited to; `None` means all of the principal's permissions.
    pub scopes: Option<Vec<String>>,
    /// When the key was created.
    pub created_at: OffsetDateTime,
    /// When the key stops working, if ever.
    pub expires_at: Option<OffsetDateTime>,
    /// When the key was revoked, if it was.
    pub revoked_at: Option<OffsetDateTime>,
    /// Networks the key may be used from; `None` means any.
    pub allowed_ips: Option<Vec<ipnet::IpNet>>,
    /// When the key was last used (as stored: updated every few seconds, not per request).
    pub last_used_at: Option<OffsetDateTime>,
    /// How many times the key was used (as stored).
    pub usage_count: u64,
    /// The key this one replaced by rotation, if any.
    pub rotated_from: Option<Uuid>,
}

impl ApiKeyRecord {
    /// Whether a request from `ip` may use the key (`None`: the address is unknown, which
    /// passes only keys without an allowlist).
    pub fn allows_ip(&self, ip: Option<std::net::IpAddr>) -> bool {
        match (&self.allowed_ips, ip) {
            (None, _) => true,
            (Some(nets), Some(ip)) => {
                let ip = match ip {
                    std::net::IpAddr::V6(v6) => v6
                        .to_ipv4_mapped()
                        .map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4),
                    v4 => v4,
                };
                nets.iter().any(|net| net.contains(&ip))
            }
            (Some(_), None) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_differ() {
        let a = ApiKey::generate().expect("rng");
        let b = ApiKey::generate().expect("rng");
        assert_eq!(a.expose().len(), KEY_LEN);
        assert!(a.expose().starts_with("rk_"));
        assert_ne!(a.expose(), b.expose());
        assert_eq!(
            ApiKey::parse(a.expose()).expect("parses").expose(),
            a.expose()
        );
    }

    #[test]
    fn malformed_keys_are_refused_without_lookup() {
        let key = ApiKey::generate().expect("rng");
        let text = key.expose();
        assert_eq!(
            ApiKey::parse(&text.replacen("rk_", "sk_", 1)).err(),
            Some(ApiKeyFormatError::Prefix)
        );
        assert_eq!(
            ApiKey::parse(&text[..text.len() - 1]).err(),
            Some(ApiKeyFormatError::Length)
        );
        let mut bad = text.to_owned();
        bad.replace_range(5..6, "-");
        assert_eq!(ApiKey::parse(&bad).err(), Some(ApiKeyFormatError::Alphabet));
        // Change one character of the random part: the checksum catches the typo.
        let mut typo: Vec<char> = text.chars().collect();
        typo[10] = if typo[10] == 'a' { 'b' } else { 'a' };
        let typo: String = typo.into_iter().collect();
        assert_eq!(
            ApiKey::parse(&typo).err(),
            Some(ApiKeyFormatError::Checksum)
        );
    }

    #[test]
    fn hash_is_keyed_and_stable() {
        let key = ApiKey::generate().expect("rng");
        let pepper = ApiKeyPepper::new([1; 32]);
        assert_eq!(pepper.hash(&key), pepper.hash(&key));
        assert_eq!(pepper.hash(&key).0.len(), 64);
        assert_ne!(pepper.hash(&key), ApiKeyPepper::new([2; 32]).hash(&key));
        assert!(!pepper.hash(&key).0.contains(&key.expose()[3..]));
    }

    #[test]
    fn debug_hides_keys_and_peppers() {
        let key = ApiKey::generate().expect("rng");
        let printed = format!("{key:?} {:?}", ApiKeyPepper::new([0x5a; 32]));
        assert!(!printed.contains(&key.expose()[3..]));
        assert!(printed.contains("[REDACTED]"));
    }
}
