//! The built-in patterns, the gate each needs before it is worth running (a byte feature of the
//! text, or a literal marker), and the checks a candidate must pass to be a finding.

use crate::keys::is_sensitive_key;
use crate::types::PiiType;
use crate::validate;

use super::Span;
use super::features::Features;

/// What a candidate must pass (beyond its pattern) to be reported.
#[derive(Debug, Clone, Copy)]
pub(super) enum Check {
    None,
    Email,
    Card,
    Ssn,
    Iban,
    Ipv4,
    Ipv6,
    Phone,
    Jwt,
    RampartKey,
    /// The span is capture group 1 (the credential after `Bearer`).
    Group1,
    /// URL query parameters: handled by [`url_params`].
    Url,
}

/// When a pattern is worth running on a text: most texts rule most patterns out by a byte
/// feature found in one pass, so the cost of a text does not grow with the number of patterns.
#[derive(Debug, Clone, Copy)]
pub(super) enum Gate {
    /// An `@`.
    At,
    /// A run of at least this many digits joined by separators.
    Digits(usize),
    /// A run of at least this many digits joined only by single spaces or dashes.
    GroupedDigits(usize),
    /// Groups of 3, 2 and 4 digits joined by single spaces or dashes.
    SsnShape,
    /// A run of digits with three dots (a dotted quad).
    DottedQuad,
    /// A `::`, or seven colons (an IPv6 address).
    Colons,
    /// A `+` before a digit, and a run of at least eight digits.
    PlusDigits,
    /// One of these literals (as written: list each case a text may use).
    Marker(&'static [&'static str]),
    /// `://` and `?`.
    Url,
    /// Two letters that start a token, then two digits.
    LettersThenDigits,
}

impl Gate {
    /// Where in the text a match of an open gate's pattern can begin, at the earliest.
    pub(super) fn from(self, features: &Features) -> usize {
        match self {
            // A phone may begin with `+` or `(` just before its first digit.
            Self::Digits(_) | Self::PlusDigits => {
                features.long_run_from.map_or(0, |at| at.saturating_sub(1))
            }
            Self::GroupedDigits(_) | Self::SsnShape => features.grouped_run_from.unwrap_or(0),
            Self::DottedQuad => features.dotted_quad_from.unwrap_or(0),
            Self::At | Self::Colons | Self::Marker(_) | Self::Url | Self::LettersThenDigits => 0,
        }
    }

    pub(super) fn open(self, features: &Features) -> bool {
        match self {
            Self::At => features.at,
            Self::Digits(n) => features.longest_digit_run >= n,
            Self::GroupedDigits(n) => features.longest_grouped_run >= n,
            Self::SsnShape => features.ssn_shape,
            Self::DottedQuad => features.dotted_quad,
            Self::Colons => features.double_colon || features.colons >= 7,
            Self::PlusDigits => features.plus_digit && features.longest_digit_run >= 8,
            // Markers are checked by the detector's automaton, not by features.
            Self::Marker(_) => false,
            Self::Url => features.url,
            Self::LettersThenDigits => features.letters_then_digits,
        }
    }
}

/// `(type, pattern, check, gate)` of every built-in detector.
pub(super) const PATTERNS: &[(PiiType, &str, Check, Gate)] = &[
    (
        PiiType::Email,
        r"(?i)(?-u:\b)[a-z0-9](?:[a-z0-9._%+-]{0,63})@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}(?-u:\b)",
        Check::Email,
        Gate::At,
    ),
    (
        PiiType::CreditCard,
        r"(?-u:\b)[0-9](?:[ -]?[0-9]){12,18}(?-u:\b)",
        Check::Card,
        Gate::GroupedDigits(13),
    ),
    (
        PiiType::UsSsn,
        r"(?-u:\b)[0-9]{3}[- ][0-9]{2}[- ][0-9]{4}(?-u:\b)",
        Check::Ssn,
        Gate::SsnShape,
    ),
    (
        PiiType::Iban,
        r"(?i)(?-u:\b)[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?-u:\b)",
        Check::Iban,
        Gate::LettersThenDigits,
    ),
    (
        PiiType::IpAddress,
        r"(?-u:\b)(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?-u:\b)",
        Check::Ipv4,
        Gate::DottedQuad,
    ),
    (
        PiiType::IpAddress,
        r"(?i)(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){7}|(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?)(?:%[0-9a-z_.-]{1,15})?",
        Check::Ipv6,
        Gate::Colons,
    ),
    (
        PiiType::Phone,
        r"\+[1-9](?:[ .-]?(?:[0-9]|\(0\))){7,15}(?-u:\b)",
        Check::Phone,
        Gate::PlusDigits,
    ),
    (
        PiiType::Phone,
        r"(?:\+?1[ .-])?(?:\([0-9]{3}\)[\t\n\x0B\x0C\r ]?|(?-u:\b)[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}(?-u:\b)",
        Check::Phone,
        Gate::Digits(10),
    ),
    (
        PiiType::Secret,
        r"(?-u:\b)eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}",
        Check::Jwt,
        Gate::Marker(&["eyJ"]),
    ),
    (
        PiiType::Secret,
        r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----[[\t\n\x0B\x0C\r ]\S]*?-----END (?:[A-Z]+ )*PRIVATE KEY-----",
        Check::None,
        Gate::Marker(&["-----BEGIN"]),
    ),
    (
        PiiType::Secret,
        r"(?-u:\b)(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}(?-u:\b)",
        Check::None,
        Gate::Marker(&[
            "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA",
        ]),
    ),
    (
        PiiType::Secret,
        r"(?-u:\b)(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}(?-u:\b)|(?-u:\b)github_pat_[A-Za-z0-9_]{60,100}(?-u:\b)",
        Check::None,
        Gate::Marker(&["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"]),
    ),
    (
        PiiType::Secret,
        r"(?-u:\b)(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,99}(?-u:\b)",
        Check::None,
        Gate::Marker(&["sk_live_", "sk_test_", "rk_live_", "rk_test_"]),
    ),
    (
        PiiType::Secret,
        r"(?-u:\b)xox[abposr]-[A-Za-z0-9-]{10,72}(?-u:\b)",
        Check::None,
        Gate::Marker(&["xox"]),
    ),
    (
        PiiType::Secret,
        r"(?-u:\b)AIza[0-9A-Za-z_-]{35}",
        Check::None,
        Gate::Marker(&["AIza"]),
    ),
    (
        PiiType::Secret,
        r"(?-u:\b)rk_[0-9A-Za-z]{46}(?-u:\b)",
        Check::RampartKey,
        Gate::Marker(&["rk_"]),
    ),
    (
        PiiType::Secret,
        r"(?i)(?-u:\b)bearer[\t\n\x0B\x0C\r ]+([A-Za-z0-9._~+/-]{20,}=*)",
        Check::Group1,
        Gate::Marker(&["bearer", "Bearer", "BEARER"]),
    ),
    (
        PiiType::SensitiveKey,
        r"(?i)(?-u:\b)https?://[^[\t\n\x0B\x0C\r ]?#]+\?[^[\t\n\x0B\x0C\r ]#]+",
        Check::Url,
        Gate::Url,
    ),
];

/// File extensions that follow `name@2x` in asset names, never a mail domain's TLD.
const ASSET_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "css", "js", "bmp", "tiff",
];

/// The character before byte `start` of `text`, and the one before that.
fn before(text: &str, start: usize) -> (Option<char>, Option<char>) {
    let mut chars = text.get(..start).unwrap_or_default().chars().rev();
    (chars.next(), chars.next())
}

/// The character at byte `end` of `text`, and the one after it.
fn after(text: &str, end: usize) -> (Option<char>, Option<char>) {
    let mut chars = text.get(end..).unwrap_or_default().chars();
    (chars.next(), chars.next())
}

/// Whether the span is one piece of a longer token of hex digits joined by `-`, `_` or `.` (a
/// UUID, a hash, a trace id, a version) or glued to letters and digits: such a piece is never a
/// card, SSN, IBAN or phone number on its own. Words before a dash (`card-4111…`) do not count.
fn inside_longer_token(text: &str, start: usize, end: usize) -> bool {
    let joins = |c: Option<char>| matches!(c, Some('-' | '_' | '.'));
    let glued = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let hex_run = |run: &mut dyn Iterator<Item = char>| {
        let mut any = false;
        for c in run.take_while(char::is_ascii_alphanumeric) {
            if !c.is_ascii_hexdigit() {
                return false;
            }
            any = true;
        }
        any
    };
    let head = text.get(..start).unwrap_or_default();
    let tail = text.get(end..).unwrap_or_default();
    let (left, right) = (head.chars().next_back(), tail.chars().next());
    glued(left)
        || glued(right)
        || (joins(left) && hex_run(&mut head.chars().rev().skip(1)))
        || (joins(right) && hex_run(&mut tail.chars().skip(1)))
}

/// Whether the candidate `text[start..end]` found by a pattern with `check` is a finding.
pub(super) fn passes(check: Check, text: &str, start: usize, end: usize) -> bool {
    let candidate = text.get(start..end).unwrap_or_default();
    match check {
        Check::None | Check::Group1 | Check::Url => true,
        Check::Email => candidate
            .rsplit_once('.')
            .is_none_or(|(_, tld)| !ASSET_EXTENSIONS.contains(&tld.to_ascii_lowercase().as_str())),
        // `+49 166 7198 2406` is a phone number even when its digits pass Luhn.
        Check::Card => {
            before(text, start).0 != Some('+')
                && !inside_longer_token(text, start, end)
                && validate::credit_card(candidate)
        }
        Check::Ssn => !inside_longer_token(text, start, end) && validate::us_ssn(candidate),
        Check::Iban => !inside_longer_token(text, start, end) && validate::iban(candidate),
        Check::Ipv4 => {
            // Version strings (`v1.2.3.4`, `1.2.3.4.5`, `Chrome/120.0.0.0`) are not addresses.
            let (left, _) = before(text, start);
            let (right, right2) = after(text, end);
            let dotted_on = right == Some('.') && right2.is_some_and(|c| c.is_ascii_digit());
            !matches!(left, Some('v' | 'V' | '.' | '/'))
                && !dotted_on
                && validate::ip_address(candidate)
        }
        Check::Ipv6 => {
            // A piece of a longer token (`Foo::Bad`, `arn:aws:iam::123`, a MAC) is no address.
            let (left, _) = before(text, start);
            let (right, right2) = after(text, end);
            let joined = |c: Option<char>| {
                c.is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':'))
            };
            let dotted_on = right == Some('.') && right2.is_some_and(|c| c.is_ascii_alphanumeric());
            let part_of_token = joined(left) || left == Some('.') || joined(right) || dotted_on;
            !part_of_token && validate::ipv6_address(candidate)
        }
        Check::Phone => {
            // A `+` inside a token (base64, `a+b`) does not start a phone number.
            let (left, _) = before(text, start);
            let plus_inside = candidate.starts_with('+')
                && left.is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '+'));
            !plus_inside && !inside_longer_token(text, start, end) && validate::phone(candidate)
        }
        Check::Jwt => validate::jwt(candidate),
        Check::RampartKey => validate::rampart_key(candidate),
    }
}

/// Each query parameter of a URL whose name is sensitive (the value's span, as
/// [`PiiType::SensitiveKey`]), or whose value, percent-decoded, is an email address.
pub(super) fn url_params(url: &str, offset: usize, spans: &mut Vec<Span>) {
    let Some(query_start) = url.find('?') else {
        return;
    };
    let mut position = query_start + 1;
    for param in url.get(query_start + 1..).unwrap_or_default().split('&') {
        if let Some((name, value)) = param.split_once('=')
            && !value.is_empty()
        {
            let start = offset + position + name.len() + 1;
            if is_sensitive_key(name) {
                spans.push((PiiType::SensitiveKey, start, start + value.len()));
            } else if value.contains("%40") && is_email(&percent_decoded(value)) {
                spans.push((PiiType::Email, start, start + value.len()));
            }
        }
        position += param.len() + 1;
    }
}

/// A query value with `%XX` escapes and `+` decoded (invalid escapes are kept as they are).
fn percent_decoded(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let hex = |j: usize| bytes.get(j).and_then(|b| (*b as char).to_digit(16));
        match (byte, hex(i + 1), hex(i + 2)) {
            (b'%', Some(high), Some(low)) => {
                out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A whole value that is one email address (`local@domain.tld`), by the rules of the email
/// pattern: a local part of 1 to 64 characters that starts with a letter or digit, labels of
/// letters, digits and inner dashes, and a top-level domain of 2 to 24 letters.
pub(super) fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let labels: Vec<&str> = domain.split('.').collect();
    local.starts_with(|c: char| c.is_ascii_alphanumeric())
        && local.len() <= 64
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c))
        && labels.len() >= 2
        && labels.iter().all(|l| label_ok(l))
        && labels.last().is_some_and(|tld| {
            (2..=24).contains(&tld.len()) && tld.chars().all(|c| c.is_ascii_alphabetic())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_of_longer_tokens_are_recognised() {
        let uuid = "62886557-0987-4987-a2b1-b64bbea42c13";
        assert!(inside_longer_token(uuid, 0, 18));
        assert!(!inside_longer_token("card 4111111111111111.", 5, 21));
        assert!(!inside_longer_token("pan=4111111111111111", 4, 20));
        assert!(!inside_longer_token("card-4111111111111111", 5, 21));
        assert!(inside_longer_token("ab12-4111111111111111", 5, 21));
        assert!(inside_longer_token("4111111111111111.5", 0, 16));
    }

    #[test]
    fn query_values_are_decoded_before_they_are_judged() {
        assert_eq!(percent_decoded("jane%40example.com"), "jane@example.com");
        assert_eq!(percent_decoded("a+b%zz"), "a b%zz");
        assert!(is_email("jane.doe@example.co.uk"));
        assert!(!is_email("jane@localhost"));
        assert!(!is_email("@example.com"));
        assert!(!is_email(".jane@example.com"));
        assert!(!is_email("jane@example.c0m"));
        let mut spans = Vec::new();
        url_params(
            "https://x.io/reset?email=jane%40example.com&next=/home&token=abc",
            10,
            &mut spans,
        );
        assert_eq!(
            spans,
            vec![(PiiType::Email, 35, 53), (PiiType::SensitiveKey, 71, 74)]
        );
    }
}
