//! The detector: one pass of a `RegexSet` over the input says which patterns occur at all
//! (most log strings contain none, and cost one scan); only those patterns then run to find
//! spans, and each candidate must pass its validator. Overlapping findings keep the stronger
//! type.

use regex::{Regex, RegexSet};

use crate::keys::is_sensitive_key;
use crate::types::PiiType;
use crate::validate;

/// A raw span found in a text: `(type, start, end)` in bytes.
pub(crate) type Span = (PiiType, usize, usize);

#[derive(Debug, Clone, Copy)]
enum Check {
    None,
    Email,
    Card,
    Ssn,
    Iban,
    Ip,
    Phone,
    Jwt,
    RampartKey,
    /// The span is capture group 1 (the credential after `Bearer`).
    Group1,
    /// URL query parameters: handled by `url_params`.
    Url,
}

struct Pattern {
    kind: PiiType,
    regex: Regex,
    check: Check,
}

/// Finds personal data and secrets in text.
pub struct Detector {
    set: RegexSet,
    patterns: Vec<Pattern>,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Detector({} patterns)", self.patterns.len())
    }
}

const PATTERNS: &[(PiiType, &str, Check)] = &[
    (
        PiiType::Email,
        r"(?i)(?-u:\b)[a-z0-9](?:[a-z0-9._%+-]{0,63})@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}(?-u:\b)",
        Check::Email,
    ),
    (
        PiiType::CreditCard,
        r"(?-u:\b)[0-9](?:[ -]?[0-9]){11,18}(?-u:\b)",
        Check::Card,
    ),
    (
        PiiType::UsSsn,
        r"(?-u:\b)[0-9]{3}[- ][0-9]{2}[- ][0-9]{4}(?-u:\b)",
        Check::Ssn,
    ),
    (
        PiiType::Iban,
        r"(?-u:\b)[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?-u:\b)",
        Check::Iban,
    ),
    (
        PiiType::IpAddress,
        r"(?-u:\b)(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?-u:\b)",
        Check::Ip,
    ),
    (
        PiiType::IpAddress,
        r"(?i)(?:(?-u:\b)[0-9a-f]{1,4}|::?)(?::{1,2}[0-9a-f]{0,4}){2,7}(?-u:\b)",
        Check::Ip,
    ),
    (
        PiiType::Phone,
        r"\+[1-9](?:[ .-]?[0-9]){7,14}(?-u:\b)",
        Check::Phone,
    ),
    (
        PiiType::Phone,
        r"(?:\+?1[ .-])?(?:\([0-9]{3}\)[\t\n\x0B\x0C\r ]?|(?-u:\b)[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}(?-u:\b)",
        Check::Phone,
    ),
    (
        PiiType::Secret,
        r"(?-u:\b)eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}",
        Check::Jwt,
    ),
    (
        PiiType::Secret,
        r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----[[\t\n\x0B\x0C\r ]\S]*?-----END (?:[A-Z]+ )*PRIVATE KEY-----",
        Check::None,
    ),
    (
        PiiType::Secret,
        r"(?-u:\b)(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}(?-u:\b)",
        Check::None,
    ),
    (
        PiiType::Secret,
        r"(?-u:\b)(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}(?-u:\b)|(?-u:\b)github_pat_[A-Za-z0-9_]{60,100}(?-u:\b)",
        Check::None,
    ),
    (
        PiiType::Secret,
        r"(?-u:\b)(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,99}(?-u:\b)",
        Check::None,
    ),
    (
        PiiType::Secret,
        r"(?-u:\b)xox[abposr]-[A-Za-z0-9-]{10,72}(?-u:\b)",
        Check::None,
    ),
    (
        PiiType::Secret,
        r"(?-u:\b)AIza[0-9A-Za-z_-]{35}",
        Check::None,
    ),
    (
        PiiType::Secret,
        r"(?-u:\b)rk_[0-9A-Za-z]{46}(?-u:\b)",
        Check::RampartKey,
    ),
    (
        PiiType::Secret,
        r"(?i)(?-u:\b)bearer[\t\n\x0B\x0C\r ]+([A-Za-z0-9._~+/-]{20,}=*)",
        Check::Group1,
    ),
    (
        PiiType::SensitiveKey,
        r"(?i)(?-u:\b)https?://[^[\t\n\x0B\x0C\r ]?#]+\?[^[\t\n\x0B\x0C\r ]#]+",
        Check::Url,
    ),
];

impl Default for Detector {
    fn default() -> Self {
        Self::new()
    }
}

impl Detector {
    /// The detector with every built-in pattern.
    pub fn new() -> Self {
        let mut patterns = Vec::new();
        for (kind, source, check) in PATTERNS {
            // The patterns are constants covered by this crate's tests.
            if let Ok(regex) = Regex::new(source) {
                patterns.push(Pattern {
                    kind: *kind,
                    regex,
                    check: *check,
                });
            }
        }
        let set = RegexSet::new(patterns.iter().map(|p| p.regex.as_str()))
            .unwrap_or_else(|_| RegexSet::empty());
        Self { set, patterns }
    }

    /// Findings in `text`, ordered by position, non-overlapping.
    pub(crate) fn spans(&self, text: &str) -> Vec<Span> {
        if !may_hold_anything(text.as_bytes()) {
            return Vec::new();
        }
        let matched = self.set.matches(text);
        if !matched.matched_any() {
            return Vec::new();
        }
        let mut spans: Vec<Span> = Vec::new();
        for index in matched.iter() {
            let Some(pattern) = self.patterns.get(index) else {
                continue;
            };
            match pattern.check {
                Check::Group1 => {
                    for caps in pattern.regex.captures_iter(text) {
                        if let Some(m) = caps.get(1) {
                            // A sentence's full stop is not part of the token.
                            let end = m.start() + m.as_str().trim_end_matches('.').len();
                            spans.push((pattern.kind, m.start(), end));
                        }
                    }
                }
                Check::Url => {
                    for m in pattern.regex.find_iter(text) {
                        url_params(m.as_str(), m.start(), &mut spans);
                    }
                }
                check => {
                    for m in pattern.regex.find_iter(text) {
                        if passes(check, m.as_str(), text, m.start(), m.end()) {
                            spans.push((pattern.kind, m.start(), m.end()));
                        } else if let Check::Iban = check
                            && let Some((head, _)) = m.as_str().rsplit_once(' ')
                            && passes(check, head, text, m.start(), m.start() + head.len())
                        {
                            // The optional last group took a following word (` BIC`, ` EUR`).
                            spans.push((pattern.kind, m.start(), m.start() + head.len()));
                        }
                    }
                }
            }
        }
        resolve_overlaps(spans)
    }

    /// The types found in `text` with their byte ranges.
    pub fn detect(&self, text: &str) -> Vec<(PiiType, std::ops::Range<usize>)> {
        self.spans(text)
            .into_iter()
            .map(|(kind, start, end)| (kind, start..end))
            .collect()
    }
}

/// File extensions that follow `name@2x` in asset names, never a mail domain's TLD.
const ASSET_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "css", "js", "bmp", "tiff",
];

/// Literals that patterns without a digit, `@`, `:` or `_` start with.
const MARKERS: &[&[u8]] = &[
    b"-----", b"eyJ", b"xox", b"AIza", b"AKIA", b"ASIA", b"AGPA", b"AIDA", b"AROA", b"ANPA",
    b"ANVA", b"AIPA",
];

/// A cheap byte scan that rules out texts no pattern can match: every pattern needs a digit,
/// `@`, `:` or `_`, or starts with one of [`MARKERS`], or is a `Bearer` credential. Most log
/// values (words, levels, messages) stop here without running the automaton.
fn may_hold_anything(bytes: &[u8]) -> bool {
    if is_timestamp(bytes) {
        return false;
    }
    if bytes
        .iter()
        .any(|b| b.is_ascii_digit() || matches!(b, b'@' | b':' | b'_'))
    {
        return true;
    }
    MARKERS
        .iter()
        .any(|m| bytes.windows(m.len()).any(|w| w == *m))
        || bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"bearer"))
}

/// A whole string that is an RFC 3339 / ISO 8601 timestamp (`2026-11-22T14:03:07.123Z`,
/// `2026-11-22 14:03:07+01:00`): every log line has one, and it cannot be personal data.
fn is_timestamp(bytes: &[u8]) -> bool {
    let digit = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
    let at = |i: usize, c: u8| bytes.get(i) == Some(&c);
    let date = (0..4).all(digit)
        && at(4, b'-')
        && digit(5)
        && digit(6)
        && at(7, b'-')
        && digit(8)
        && digit(9);
    if !date {
        return false;
    }
    if bytes.len() == 10 {
        return true;
    }
    let time = (at(10, b'T') || at(10, b' '))
        && digit(11)
        && digit(12)
        && at(13, b':')
        && digit(14)
        && digit(15);
    if !time {
        return false;
    }
    let mut i = 16;
    if at(i, b':') && digit(i + 1) && digit(i + 2) {
        i += 3;
        if at(i, b'.') || at(i, b',') {
            i += 1;
            let start = i;
            while digit(i) {
                i += 1;
            }
            if i == start || i - start > 9 {
                return false;
            }
        }
    }
    match bytes.get(i) {
        None => true,
        Some(b'Z') => i + 1 == bytes.len(),
        Some(b'+' | b'-') => {
            let rest = bytes.get(i + 1..).unwrap_or_default();
            matches!(rest.len(), 2 | 4 | 5)
                && rest
                    .iter()
                    .enumerate()
                    .all(|(j, b)| b.is_ascii_digit() || (j == 2 && *b == b':' && rest.len() == 5))
        }
        _ => false,
    }
}

fn passes(check: Check, candidate: &str, text: &str, start: usize, end: usize) -> bool {
    let before = text.get(..start).and_then(|s| s.chars().next_back());
    match check {
        Check::None | Check::Group1 | Check::Url => true,
        Check::Email => candidate
            .rsplit_once('.')
            .is_none_or(|(_, tld)| !ASSET_EXTENSIONS.contains(&tld.to_ascii_lowercase().as_str())),
        // `+49 166 7198 2406` is a phone number even when its digits pass Luhn.
        Check::Card => before != Some('+') && validate::credit_card(candidate),
        Check::Ssn => validate::us_ssn(candidate),
        Check::Iban => validate::iban(candidate),
        Check::Ip => {
            // Version strings (`v1.2.3.4`, `1.2.3.4.5`, `Chrome/120.0.0.0`) are not addresses.
            let after = text
                .get(end..)
                .map(|s| s.chars().take(2).collect::<String>())
                .unwrap_or_default();
            let dotted_on =
                after.starts_with('.') && after.chars().nth(1).is_some_and(|c| c.is_ascii_digit());
            !matches!(before, Some('v' | 'V' | '.' | '/'))
                && !dotted_on
                && validate::ip_address(candidate)
        }
        Check::Phone => validate::phone(candidate),
        Check::Jwt => validate::jwt(candidate),
        Check::RampartKey => validate::rampart_key(candidate),
    }
}

/// Each query parameter of a URL whose name is sensitive: the value's span.
fn url_params(url: &str, offset: usize, spans: &mut Vec<Span>) {
    let Some(query_start) = url.find('?') else {
        return;
    };
    let mut position = query_start + 1;
    for param in url.get(query_start + 1..).unwrap_or_default().split('&') {
        if let Some((name, value)) = param.split_once('=')
            && !value.is_empty()
            && is_sensitive_key(name)
        {
            let start = offset + position + name.len() + 1;
            spans.push((PiiType::SensitiveKey, start, start + value.len()));
        }
        position += param.len() + 1;
    }
}

/// Sorts spans and drops those that overlap a stronger (or, at equal rank, longer) one.
fn resolve_overlaps(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_by(|a, b| {
        a.1.cmp(&b.1)
            .then(b.0.rank().cmp(&a.0.rank()))
            .then(b.2.cmp(&a.2))
    });
    let mut kept: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans {
        match kept.last_mut() {
            Some(last) if span.1 < last.2 => {
                let stronger = span.0.rank() > last.0.rank()
                    || (span.0.rank() == last.0.rank() && span.2 - span.1 > last.2 - last.1);
                if stronger {
                    *last = span;
                }
            }
            _ => kept.push(span),
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(PiiType, &str)> {
        Detector::new()
            .detect(text)
            .into_iter()
            .map(|(k, r)| (k, text.get(r).unwrap_or_default()))
            .collect()
    }

    #[test]
    fn the_prefilter_never_hides_a_finding() {
        // Every example the other tests find passes the prefilter; texts without any marker
        // are skipped.
        for text in [
            "a@b.io",
            "AKIAIOSFODNN7EXAMPLE",
            "Bearer abcdefghijklmnopqrstuvwxyz",
            "-----BEGIN PRIVATE KEY-----",
            "eyJhbGciOi",
            "xoxb-abc",
            "AIzaSy",
            "x 1",
        ] {
            assert!(may_hold_anything(text.as_bytes()), "{text}");
        }
        assert!(!may_hold_anything(b"login ok for user"));
        for timestamp in [
            "2026-11-22T14:03:07.123456Z",
            "2026-11-22 14:03:07+01:00",
            "2026-11-22T14:03Z",
            "2026-11-22",
            "2026-11-22T14:03:07-0500",
        ] {
            assert!(is_timestamp(timestamp.as_bytes()), "{timestamp}");
        }
        for not_only_a_timestamp in [
            "2026-11-22T14:03:07Z 123-45-6789",
            "2026-11-22T14:03:07Z+4111111111111111",
            "2026-11-22x",
            "12:30:45",
            "2026-11-22T14:03:07.Z",
        ] {
            assert!(
                !is_timestamp(not_only_a_timestamp.as_bytes()),
                "{not_only_a_timestamp}"
            );
        }
    }

    #[test]
    fn every_pattern_compiles() {
        assert_eq!(Detector::new().patterns.len(), PATTERNS.len());
    }

    #[test]
    fn finds_each_type_in_text() {
        assert_eq!(
            kinds("mail jane.doe+x@example.co.uk now"),
            vec![(PiiType::Email, "jane.doe+x@example.co.uk")]
        );
        assert_eq!(
            kinds("card 4111 1111 1111 1111."),
            vec![(PiiType::CreditCard, "4111 1111 1111 1111")]
        );
        assert_eq!(
            kinds("ssn 123-45-6789"),
            vec![(PiiType::UsSsn, "123-45-6789")]
        );
        assert_eq!(
            kinds("from 203.0.113.7 and 2001:db8::1"),
            vec![
                (PiiType::IpAddress, "203.0.113.7"),
                (PiiType::IpAddress, "2001:db8::1")
            ]
        );
        assert_eq!(
            kinds("iban DE89 3704 0044 0532 0130 00"),
            vec![(PiiType::Iban, "DE89 3704 0044 0532 0130 00")]
        );
        assert_eq!(
            kinds("call +44 20 7946 0958 or (415) 555-2671"),
            vec![
                (PiiType::Phone, "+44 20 7946 0958"),
                (PiiType::Phone, "(415) 555-2671")
            ]
        );
        assert_eq!(
            kinds("Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345"),
            vec![(PiiType::Secret, "abcdefghijklmnopqrstuvwxyz012345")]
        );
        assert_eq!(
            kinds("key AKIAIOSFODNN7EXAMPLE"),
            vec![(PiiType::Secret, "AKIAIOSFODNN7EXAMPLE")]
        );
        assert_eq!(
            kinds("GET https://x.io/cb?code=abc&token=s3cr3t&x=1"),
            vec![(PiiType::SensitiveKey, "s3cr3t")]
        );
    }

    #[test]
    fn hard_negatives_stay_quiet() {
        for text in [
            "order 4111111111111112 shipped",
            "version v1.2.3.4 and 1.2.3.4.5",
            "id 550e8400-e29b-41d4-a716-446655440000",
            "at 2026-11-22T14:03:07.123456Z",
            "ssn 000-12-3456 or 666-12-3456 or 912-12-3456",
            "ticket 4155552671 and 999.999.999.999",
            "time 12:30:45",
            "passenger count 3",
        ] {
            assert_eq!(kinds(text), vec![], "{text}");
        }
    }
}
