//! Password hashing (argon2id) and the password policy.
//!
//! Hashes are PHC strings (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) produced and checked by the
//! RustCrypto `argon2` crate; nothing here implements a primitive. [`PasswordHasher::verify`]
//! tells the caller when a stored hash was made with other parameters so that it can be
//! replaced at the next successful login, and [`PasswordHasher::verify_dummy`] lets a login for
//! an unknown user cost as much as one with a wrong password.
//!
//! [`PasswordPolicy`] refuses short, long, single-class and common passwords and passwords that
//! contain the user's name or email address. The common list ships with the crate
//! (`data/common-passwords.txt`, see `data/README.md`).

use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;

use argon2::password_hash::Error as PhcError;
use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier as _, Version,
};
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

/// Length of the random salt of every new hash, in bytes.
const SALT_LEN: usize = 16;
/// Length of the argon2 output, in bytes (the argon2 crate's default).
const OUTPUT_LEN: usize = 32;
/// Upper bound on `memory_kib`: 4 GiB.
const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;
/// Upper bound on `parallelism`.
const MAX_PARALLELISM: u32 = 16;
/// The argon2 version every new hash uses (0x13 = 19).
const CURRENT_VERSION: Version = Version::V0x13;

/// The shipped list of common passwords, one lower-case password a line.
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

/// argon2id parameters (OWASP: m=19456 KiB, t=2, p=1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    /// Memory cost in KiB (argon2 `m`).
    pub memory_kib: u32,
    /// Number of passes over the memory (argon2 `t`).
    pub iterations: u32,
    /// Number of lanes (argon2 `p`).
    pub parallelism: u32,
}

impl HashParams {
    /// OWASP's recommendation for argon2id: 19 MiB of memory, 2 iterations, 1 lane.
    pub const OWASP: HashParams = HashParams {
        memory_kib: 19_456,
        iterations: 2,
        parallelism: 1,
    };

    /// Checks the parameters: `parallelism` in 1..=16, `iterations` >= 1, and
    /// `8 * parallelism <= memory_kib <= 4 GiB`.
    pub fn validate(&self) -> Result<(), PasswordError> {
        if !(1..=MAX_PARALLELISM).contains(&self.parallelism) {
            return Err(PasswordError::InvalidParams(format!(
                "parallelism must be between 1 and {MAX_PARALLELISM}, not {}",
                self.parallelism
            )));
        }
        if self.iterations < 1 {
            return Err(PasswordError::InvalidParams(
                "iterations must be at least 1".to_owned(),
            ));
        }
        // parallelism <= 16 here, so this cannot overflow.
        let min_memory = 8 * self.parallelism;
        if self.memory_kib < min_memory {
            return Err(PasswordError::InvalidParams(format!(
                "memory must be at least 8 KiB per lane ({min_memory} KiB), not {} KiB",
                self.memory_kib
            )));
        }
        if self.memory_kib > MAX_MEMORY_KIB {
            return Err(PasswordError::InvalidParams(format!(
                "memory must be at most {MAX_MEMORY_KIB} KiB (4 GiB), not {} KiB",
                self.memory_kib
            )));
        }
        Ok(())
    }

    fn of(params: &Params) -> Self {
        Self {
            memory_kib: params.m_cost(),
            iterations: params.t_cost(),
            parallelism: params.p_cost(),
        }
    }
}

impl Default for HashParams {
    fn default() -> Self {
        Self::OWASP
    }
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The password matches the stored hash.
    pub ok: bool,
    /// The password matched, but the stored hash is not argon2id v19 with the hasher's current
    /// parameters: hash the password again and store the new hash.
    pub needs_rehash: bool,
}

/// Hashes and verifies passwords with argon2id.
#[derive(Clone)]
pub struct PasswordHasher {
    params: HashParams,
    argon2: Argon2<'static>,
    /// The hash of a random, forgotten password with `params`: what `verify_dummy` checks.
    dummy: String,
}

impl PasswordHasher {
    /// Builds a hasher for `params` (validated first). Computes one hash (the dummy hash used by
    /// [`PasswordHasher::verify_dummy`]), so it costs as much as one [`PasswordHasher::hash`].
    pub fn new(params: HashParams) -> Result<Self, PasswordError> {
        params.validate()?;
        let argon2_params = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            Some(OUTPUT_LEN),
        )
        .map_err(|e| PasswordError::InvalidParams(e.to_string()))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, CURRENT_VERSION, argon2_params);
        let mut hasher = Self {
            params,
            argon2,
            dummy: String::new(),
        };
        let mut forgotten = Zeroizing::new([0u8; 32]);
        SystemRandom::new()
            .fill(forgotten.as_mut())
            .map_err(|_| PasswordError::Hash)?;
        hasher.dummy = hasher.hash_bytes(forgotten.as_ref())?;
        Ok(hasher)
    }

    /// The parameters new hashes are made with.
    pub fn params(&self) -> HashParams {
        self.params
    }

    /// Hashes `password` with a fresh random 16-byte salt into a PHC string
    /// (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
    pub fn hash(&self, password: &SecretString) -> Result<String, PasswordError> {
        self.hash_bytes(password.expose_secret().as_bytes())
    }

    fn hash_bytes(&self, password: &[u8]) -> Result<String, PasswordError> {
        let mut salt = [0u8; SALT_LEN];
        SystemRandom::new()
            .fill(&mut salt)
            .map_err(|_| PasswordError::Hash)?;
        let hash = self
            .argon2
            .hash_password_with_salt(password, &salt)
            .map_err(|_| PasswordError::Hash)?;
        Ok(hash.to_string())
    }

    /// Checks `password` against the PHC string `stored`, with the parameters recorded in it.
    ///
    /// Accepts any argon2 variant (argon2id, argon2i, argon2d) whose parameters pass
    /// [`HashParams::validate`]; anything else is [`PasswordError::MalformedHash`] (returned at
    /// once, without the cost of a hash: call [`PasswordHasher::verify_dummy`] if that timing
    /// matters). The hash comparison is constant-time.
    pub fn verify(&self, password: &SecretString, stored: &str) -> Result<Verified, PasswordError> {
        let parsed = PasswordHash::new(stored).map_err(|_| PasswordError::MalformedHash)?;
        let algorithm =
            Algorithm::new(parsed.algorithm.as_str()).map_err(|_| PasswordError::MalformedHash)?;
        if let Some(version) = parsed.version {
            Version::try_from(version).map_err(|_| PasswordError::MalformedHash)?;
        }
        if parsed.salt.is_none() || parsed.hash.is_none() {
            return Err(PasswordError::MalformedHash);
        }
        let stored_params = Params::try_from(&parsed).map_err(|_| PasswordError::MalformedHash)?;
        let stored_hash_params = HashParams::of(&stored_params);
        // Refuse parameters we would never create, e.g. a planted m=4 TiB.
        stored_hash_params
            .validate()
            .map_err(|_| PasswordError::MalformedHash)?;

        let ok = match self
            .argon2
            .verify_password(password.expose_secret().as_bytes(), &parsed)
        {
            Ok(()) => true,
            Err(PhcError::PasswordInvalid) => false,
            Err(
                PhcError::OutOfMemory
                | PhcError::Internal
                | PhcError::Crypto
                | PhcError::RngFailure,
            ) => return Err(PasswordError::Hash),
            Err(_) => return Err(PasswordError::MalformedHash),
        };
        let current = algorithm == Algorithm::Argon2id
            && parsed.version == Some(u32::from(CURRENT_VERSION))
            && stored_hash_params == self.params
            && stored_params.output_len() == Some(OUTPUT_LEN)
            && stored_params.keyid().is_empty()
            && stored_params.data().is_empty();
        Ok(Verified {
            ok,
            needs_rehash: ok && !current,
        })
    }

    /// Runs one verification of `password` against a fixed dummy hash made with this hasher's
    /// parameters, and ignores the result: call it when the user is unknown, so that the
    /// answer takes as long as for a known user with a wrong password.
    pub fn verify_dummy(&self, password: &SecretString) {
        let outcome = self.verify(password, &self.dummy);
        std::hint::black_box(outcome.is_ok());
    }
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

/// Rules a new password must follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Minimum length in Unicode characters (default 12).
    pub min_length: usize,
    /// Maximum length in Unicode characters (default 1024).
    pub max_length: usize,
    /// How many of the classes lower-case, upper-case, digit and other the password must use
    /// (default 0: length and the common-password list are the default rule, as NIST SP
    /// 800-63B advises and API.md's contract additions say; `password_require_*` require
    /// classes one by one).
    pub min_classes: usize,
    /// Whether an upper-case letter is required (`password_require_upper`, default false).
    pub require_upper: bool,
    /// Whether a lower-case letter is required (`password_require_lower`, default false).
    pub require_lower: bool,
    /// Whether a digit is required (`password_require_digit`, default false).
    pub require_digit: bool,
    /// Whether a character other than a letter or digit is required
    /// (`password_require_symbol`, default false).
    pub require_symbol: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 12,
            max_length: 1024,
            min_classes: 0,
            require_upper: false,
            require_lower: false,
            require_digit: false,
            require_symbol: false,
        }
    }
}

impl PasswordPolicy {
    /// Checks `password` against the policy; on failure, every problem found.
    ///
    /// `context` holds what is known of the user (user name, email address): a password that
    /// contains one of them (case-insensitive; only items of at least 4 characters, and for an
    /// email address also its local part) is refused.
    pub fn check(
        &self,
        password: &SecretString,
        context: &[&str],
    ) -> Result<(), Vec<PasswordProblem>> {
        let text = password.expose_secret();
        let mut problems = Vec::new();
        let length = text.chars().count();
        if length < self.min_length {
            problems.push(PasswordProblem::TooShort {
                min: self.min_length,
            });
        }
        if length > self.max_length {
            problems.push(PasswordProblem::TooLong {
                max: self.max_length,
            });
        }
        if character_classes(text) < self.min_classes {
            problems.push(PasswordProblem::TooFewClasses {
                min: self.min_classes,
            });
        }
        for (required, class) in [
            (self.require_upper, CharClass::Upper),
            (self.require_lower, CharClass::Lower),
            (self.require_digit, CharClass::Digit),
            (self.require_symbol, CharClass::Symbol),
        ] {
            if required && !text.chars().any(|c| class.contains(c)) {
                problems.push(PasswordProblem::MissingClass(class));
            }
        }
        if is_common(text) {
            problems.push(PasswordProblem::Common);
        }
        if contains_context(text, context) {
            problems.push(PasswordProblem::ContainsContext);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// What is wrong with a proposed password. Never carries the password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordProblem {
    /// Fewer characters than the policy's minimum.
    TooShort {
        /// The minimum length.
        min: usize,
    },
    /// More characters than the policy's maximum.
    TooLong {
        /// The maximum length.
        max: usize,
    },
    /// Too few of the classes lower-case, upper-case, digit and other.
    TooFewClasses {
        /// How many classes are required.
        min: usize,
    },
    /// A class of characters the policy requires is missing.
    MissingClass(CharClass),
    /// In the list of common passwords (possibly with digits or punctuation appended).
    Common,
    /// Contains the user name or email address.
    ContainsContext,
}

impl fmt::Display for PasswordProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { min } => {
                write!(f, "the password must be at least {min} characters long")
            }
            Self::TooLong { max } => {
                write!(f, "the password must be at most {max} characters long")
            }
            Self::TooFewClasses { min } => write!(
                f,
                "the password must use at least {min} of: lower-case letters, upper-case letters, digits, other characters"
            ),
            Self::MissingClass(class) => {
                write!(f, "the password must contain {}", class.describe())
            }
            Self::Common => f.write_str("the password is too common"),
            Self::ContainsContext => {
                f.write_str("the password must not contain the user name or email address")
            }
        }
    }
}

/// Whether `password` is a common password: its lower-case form is in the shipped list, or is
/// in it once trailing digits and ASCII punctuation are removed (`Password123!` → `password`),
/// provided at least 4 characters remain.
pub fn is_common(password: &str) -> bool {
    let list = common_list();
    let lower = Zeroizing::new(password.to_lowercase());
    if list.contains(lower.as_str()) {
        return true;
    }
    let base = lower.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
    base.len() < lower.len() && base.chars().count() >= 4 && list.contains(base)
}

/// The shipped common-password list, parsed once.
fn common_list() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        COMMON_PASSWORDS
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect()
    })
}

/// How many of lower-case, upper-case, digit and other characters `text` uses.
/// A class of characters a password policy may require.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharClass {
    /// An upper-case letter.
    Upper,
    /// A lower-case letter.
    Lower,
    /// A digit.
    Digit,
    /// Any other character (punctuation, a space, a symbol).
    Symbol,
}

impl CharClass {
    /// Whether `c` belongs to the class (the classes of [`PasswordPolicy::min_classes`]).
    fn contains(self, c: char) -> bool {
        match self {
            Self::Upper => c.is_uppercase(),
            Self::Lower => c.is_lowercase(),
            Self::Digit => !c.is_lowercase() && !c.is_uppercase() && c.is_numeric(),
            Self::Symbol => !c.is_lowercase() && !c.is_uppercase() && !c.is_numeric(),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Upper => "an upper-case letter",
            Self::Lower => "a lower-case letter",
            Self::Digit => "a digit",
            Self::Symbol => "a character other than a letter or a digit",
        }
    }
}

fn character_classes(text: &str) -> usize {
    let (mut lower, mut upper, mut digit, mut other) = (false, false, false, false);
    for c in text.chars() {
        if c.is_lowercase() {
            lower = true;
        } else if c.is_uppercase() {
            upper = true;
        } else if c.is_numeric() {
            digit = true;
        } else {
            other = true;
        }
    }
    [lower, upper, digit, other]
        .into_iter()
        .filter(|used| *used)
        .count()
}

/// Whether `password` contains (case-insensitively) a context item of at least 4 characters,
/// or the local part of an email address given as context.
fn contains_context(password: &str, context: &[&str]) -> bool {
    let lower = Zeroizing::new(password.to_lowercase());
    context.iter().any(|item| {
        let item = item.trim();
        let local_part = item.split_once('@').map(|(local, _)| local);
        std::iter::once(item).chain(local_part).any(|needle| {
            needle.chars().count() >= 4 && lower.contains(needle.to_lowercase().as_str())
        })
    })
}

/// Why hashing or verifying failed. Never carries a password or a hash.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The argon2 parameters are out of range.
    #[error("invalid password hashing parameters: {0}")]
    InvalidParams(String),
    /// Hashing failed (random number generator or memory allocation).
    #[error("password hashing failed")]
    Hash,
    /// The stored hash is not a PHC string this hasher can check.
    #[error("the stored password hash is malformed or unsupported")]
    MalformedHash,
}

#[cfg(test)]
mod tests;
