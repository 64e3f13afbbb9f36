//! The detector: one pass over the bytes and one literal search say which patterns could occur
//! at all (most log strings rule out all of them); only those patterns then run to find spans,
//! and each candidate must pass its validator. Overlapping findings keep the stronger type.

use aho_corasick::AhoCorasick;
use regex::Regex;

use crate::types::PiiType;

mod features;
mod patterns;

use features::Features;
use patterns::{Check, Gate, PATTERNS, is_email, passes, url_params};

/// A raw span found in a text: `(type, start, end)` in bytes.
pub(crate) type Span = (PiiType, usize, usize);

struct Pattern {
    kind: PiiType,
    regex: Regex,
    check: Check,
    gate: Gate,
}

/// Finds personal data and secrets in text.
///
/// One pass over the bytes (and one literal search for the secrets' markers) says which
/// patterns could match; only those run, and each candidate must pass its validator. A text's
/// cost depends on its length and on what it holds, not on how many patterns there are.
/// Overlapping findings keep the stronger type.
pub struct Detector {
    patterns: Vec<Pattern>,
    /// The secrets' literal markers, and for each the patterns it opens (a bit per pattern).
    markers: Option<AhoCorasick>,
    marker_patterns: Vec<u64>,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Detector({} patterns)", self.patterns.len())
    }
}

impl Default for Detector {
    fn default() -> Self {
        Self::new()
    }
}

impl Detector {
    /// The detector with every built-in pattern.
    pub fn new() -> Self {
        let mut patterns = Vec::new();
        let mut markers: Vec<&str> = Vec::new();
        let mut marker_patterns: Vec<u64> = Vec::new();
        for (kind, source, check, gate) in PATTERNS {
            // The patterns are constants covered by this crate's tests.
            if let Ok(regex) = Regex::new(source) {
                if let Gate::Marker(literals) = gate {
                    for literal in *literals {
                        markers.push(literal);
                        marker_patterns.push(1u64 << patterns.len());
                    }
                }
                patterns.push(Pattern {
                    kind: *kind,
                    regex,
                    check: *check,
                    gate: *gate,
                });
            }
        }
        // Where one marker starts with another (`rk_` and `rk_live_`), the search reports only
        // one of them at that place: each opens the patterns of both.
        let marker_patterns: Vec<u64> = markers
            .iter()
            .map(|m| {
                markers
                    .iter()
                    .zip(&marker_patterns)
                    .filter(|(other, _)| other.starts_with(*m) || m.starts_with(**other))
                    .fold(0, |bits, (_, b)| bits | b)
            })
            .collect();
        // The markers are constants; an automaton that cannot be built finds nothing.
        // Leftmost-first matching lets the automaton use its vectorized literal search.
        let markers = AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .build(&markers)
            .ok();
        Self {
            patterns,
            markers,
            marker_patterns,
        }
    }

    /// Which patterns may match `bytes` (whose features are `features`), a bit per pattern.
    fn open_patterns(&self, bytes: &[u8], features: &Features) -> u64 {
        let mut open = 0u64;
        if features.may_open_a_gate() {
            for (i, pattern) in self.patterns.iter().enumerate() {
                if pattern.gate.open(features) {
                    open |= 1 << i;
                }
            }
        }
        // The shortest secret a marker leads to (`xoxb-` and ten more) has 14 bytes.
        if let Some(markers) = self.markers.as_ref().filter(|_| bytes.len() >= 14) {
            // Each occurrence, one search at a time (the automaton's fast literal search; an
            // overlapping search cannot use it): the next starts one byte after the last began.
            let mut from = 0;
            while let Some(found) = markers.find(aho_corasick::Input::new(bytes).range(from..)) {
                if let Some(patterns) = self.marker_patterns.get(found.pattern().as_usize()) {
                    open |= patterns;
                }
                from = found.start() + 1;
            }
        }
        open
    }

    /// Findings in `text`, ordered by position, non-overlapping.
    pub(crate) fn spans(&self, text: &str) -> Vec<Span> {
        let bytes = text.as_bytes();
        if is_timestamp(bytes) || is_machine_id(bytes) {
            return Vec::new();
        }
        if let Some(span) = whole_value(text) {
            return vec![span];
        }
        let features = Features::of(bytes);
        let open = self.open_patterns(bytes, &features);
        if open == 0 {
            return Vec::new();
        }
        self.run_patterns(text, open, |gate| gate.from(&features))
    }

    /// Runs the patterns whose bit is set in `open`, each from where `from` says its matches
    /// can begin.
    fn run_patterns(&self, text: &str, open: u64, from: impl Fn(Gate) -> usize) -> Vec<Span> {
        let mut spans: Vec<Span> = Vec::new();
        for (index, pattern) in self.patterns.iter().enumerate() {
            if open & (1 << index) == 0 {
                continue;
            }
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
                Check::Url => match whole_url(text) {
                    // A value that is one URL: what the pattern would match, without it.
                    Some(url) => url_params(url, 0, &mut spans),
                    None => {
                        for m in pattern.regex.find_iter(text) {
                            url_params(m.as_str(), m.start(), &mut spans);
                        }
                    }
                },
                check => {
                    let mut from = from(pattern.gate).min(text.len());
                    while !text.is_char_boundary(from) {
                        from -= 1;
                    }
                    for m in matches_from(&pattern.regex, text, from) {
                        if passes(check, text, m.start(), m.end()) {
                            spans.push((pattern.kind, m.start(), m.end()));
                        } else if let Check::Iban = check
                            && let Some((head, _)) = m.as_str().rsplit_once(' ')
                            && passes(check, text, m.start(), m.start() + head.len())
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

/// The matches of `regex` in `text` that begin at `from` or later (`from` on a char boundary);
/// what comes before `from` still counts for `\b`.
fn matches_from<'t>(
    regex: &'t Regex,
    text: &'t str,
    from: usize,
) -> impl Iterator<Item = regex::Match<'t>> + 't {
    let mut at = Some(from);
    std::iter::from_fn(move || {
        let found = regex.find_at(text, at?)?;
        // An empty match moves on by one character (none of the patterns matches empty).
        at = if found.end() > found.start() {
            Some(found.end())
        } else {
            text.get(found.end()..)
                .and_then(|rest| rest.chars().next())
                .map(|c| found.end() + c.len_utf8())
        };
        Some(found)
    })
}

/// The part of `text` the URL pattern would match when the whole text is one `http(s)` URL
/// with a query (no whitespace): up to its fragment.
fn whole_url(text: &str) -> Option<&str> {
    let scheme = text
        .get(..8)
        .filter(|s| s.eq_ignore_ascii_case("https://"))
        .map(|_| 8)
        .or_else(|| {
            text.get(..7)
                .filter(|s| s.eq_ignore_ascii_case("http://"))
                .map(|_| 7)
        })?;
    if text.bytes().any(|b| b.is_ascii_whitespace() || b == 0x0b) {
        return None;
    }
    let url = text.split('#').next()?;
    let query = url.find('?')?;
    // The pattern needs something between the scheme and the `?`, and after it.
    (query > scheme && query + 1 < url.len()).then_some(url)
}

/// A whole string that is one address or one email, found without running a pattern: log
/// fields often hold exactly one value, and this is what the patterns would report for it.
fn whole_value(text: &str) -> Option<Span> {
    let bytes = text.as_bytes();
    if bytes.len() <= 15
        && bytes.iter().all(|b| b.is_ascii_digit() || *b == b'.')
        && text.parse::<std::net::Ipv4Addr>().is_ok()
    {
        return Some((PiiType::IpAddress, 0, text.len()));
    }
    (memchr::memchr(b'@', bytes).is_some()
        && is_email(text)
        && passes(Check::Email, text, 0, text.len()))
    .then_some((PiiType::Email, 0, text.len()))
}

/// A whole string that is a UUID (`8-4-4-4-12` hex digits), or a hex id of 16 or more digits
/// with a letter after its first four (a digest, a trace or span id, a git SHA, a container
/// id): request ids are on every log line, and neither can be personal data. A run of digits
/// (a card) has no letter; a lower-case IBAN has letters only in its first two places.
fn is_machine_id(bytes: &[u8]) -> bool {
    let uuid = bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
    uuid || (bytes.len() >= 16
        && bytes.iter().all(u8::is_ascii_hexdigit)
        && bytes
            .get(4..)
            .is_some_and(|rest| rest.iter().any(u8::is_ascii_alphabetic)))
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
    use proptest::prelude::*;

    static DETECTOR: std::sync::LazyLock<Detector> = std::sync::LazyLock::new(Detector::new);

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]

        /// The gates and search windows only save work: on any text the detector finds what
        /// every pattern searched over the whole text finds.
        #[test]
        fn gates_never_change_what_is_found(
            parts in proptest::collection::vec(
                prop_oneof![
                    3 => "[0-9]{1,5}",
                    3 => "[ .()+:@/_-]",
                    2 => "[a-fA-F]{1,3}",
                    2 => "[g-zG-Z]{1,4}",
                    1 => Just("é".to_owned()),
                    // Values of every type, which the noise around them may or may not spoil.
                    2 => prop::sample::select(vec![
                        "(415) 555-2671", "+1 415 555 2671", "+44 (0)20 7946 0958",
                        "203.0.113.7", "4111 1111 1111 1111", "378282246310005",
                        "123-45-6789", "jane@example.com", "DE89 3704 0044 0532 0130 00",
                        "de89370400440532013000", "fe80::1%eth0", "2001:db8::1", "::1",
                        "AKIAIOSFODNN7EXAMPLE", "Bearer abcdefghijklmnopqrstuvwxyz012345",
                        "https://x.io/a?email=jane%40example.com&token=s3cr3t",
                        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2ln",
                    ]).prop_map(str::to_owned),
                ],
                0..16,
            )
        ) {
            let text: String = parts.concat();
            let detector = &*DETECTOR;
            let bytes = text.as_bytes();
            prop_assume!(!is_timestamp(bytes) && !is_machine_id(bytes) && whole_value(&text).is_none());
            let ungated = detector.run_patterns(&text, u64::MAX, |_| 0);
            prop_assert_eq!(detector.spans(&text), ungated, "{}", text);
        }
    }

    fn kinds(text: &str) -> Vec<(PiiType, &str)> {
        Detector::new()
            .detect(text)
            .into_iter()
            .map(|(k, r)| (k, text.get(r).unwrap_or_default()))
            .collect()
    }

    #[test]
    fn the_gates_never_hide_a_finding() {
        // Every example the other tests find opens a pattern; texts without any feature or
        // marker run none.
        for text in [
            "a@b.io",
            "AKIAIOSFODNN7EXAMPLE",
            "Bearer abcdefghijklmnopqrstuvwxyz",
            "-----BEGIN PRIVATE KEY-----",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
            "xoxb-abcdefghij",
            "AIzaSyA1234567890abcdefghijklmnopqrstu",
        ] {
            let bytes = text.as_bytes();
            let open = Detector::new().open_patterns(bytes, &Features::of(bytes));
            assert_ne!(open, 0, "{text}");
        }
        let quiet = b"login ok for user";
        assert_eq!(
            Detector::new().open_patterns(quiet, &Features::of(quiet)),
            0
        );
        for id in [
            "62886557-0987-4987-a2b1-b64bbea42c13",
            "4bf92f3577b34da6a3ce929d0e0e4736",
            "00f067aa0ba902b7",
        ] {
            assert!(is_machine_id(id.as_bytes()), "{id}");
        }
        for not_an_id in [
            "4111111111111111",
            "de89370400440532013000",
            "62886557-0987-4987-a2b1-b64bbea42c1",
        ] {
            assert!(!is_machine_id(not_an_id.as_bytes()), "{not_an_id}");
        }
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
    fn a_whole_url_is_cut_where_the_pattern_would_cut_it() {
        let detector = Detector::new();
        let url_pattern = detector
            .patterns
            .iter()
            .find(|p| matches!(p.check, Check::Url))
            .map(|p| &p.regex)
            .expect("the URL pattern");
        for text in [
            "https://x.io/a?email=jane%40example.com&token=s3cr3t",
            "HTTP://x.io/?a=1#frag&token=x",
            "https://x.io/a?b=c?d=e",
            "https://x.io/a?",
            "https://?a=b",
            "http://x.io/a?b=1 and more",
            "ftp://x.io/a?b=1",
            "https://x.io/#?a=b",
        ] {
            let by_pattern = url_pattern
                .find(text)
                .filter(|m| {
                    m.start() == 0
                        && !text[m.end()..]
                            .starts_with(|c: char| !c.is_ascii_whitespace() && c != '#')
                })
                .map(|m| m.as_str());
            let whole = whole_url(text);
            if let Some(url) = whole {
                assert_eq!(Some(url), by_pattern, "{text}");
            }
            if by_pattern.is_some_and(|m| m.len() == text.split('#').next().unwrap_or("").len()) {
                assert_eq!(whole, by_pattern, "{text}");
            }
        }
    }

    #[test]
    fn every_pattern_compiles() {
        assert_eq!(Detector::new().patterns.len(), PATTERNS.len());
        // One bit per pattern in `open_patterns`.
        assert!(PATTERNS.len() <= 64);
        // `Gate::from` knows where runs of 8 (any separators) and 9 (grouped) digits begin.
        for (_, _, _, gate) in PATTERNS {
            match gate {
                Gate::Digits(n) => assert!(*n >= 8),
                Gate::GroupedDigits(n) => assert!(*n >= 9),
                _ => {}
            }
        }
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
            kinds("loopback ::1, link fe80::1%eth0 and 2001:db8::8a2e:370:7334."),
            vec![
                (PiiType::IpAddress, "::1"),
                (PiiType::IpAddress, "fe80::1%eth0"),
                (PiiType::IpAddress, "2001:db8::8a2e:370:7334")
            ]
        );
        assert_eq!(
            kinds("london +44 (0)20 7946 0958 today"),
            vec![(PiiType::Phone, "+44 (0)20 7946 0958")]
        );
        assert_eq!(
            kinds("iban de89 3704 0044 0532 0130 00 and de89370400440532013000"),
            vec![
                (PiiType::Iban, "de89 3704 0044 0532 0130 00"),
                (PiiType::Iban, "de89370400440532013000")
            ]
        );
        assert_eq!(
            kinds("amex 3782-822463-10005, diners 3622 720627 1667"),
            vec![
                (PiiType::CreditCard, "3782-822463-10005"),
                (PiiType::CreditCard, "3622 720627 1667")
            ]
        );
        assert_eq!(
            kinds("GET https://x.io/reset?email=jane%40example.com&next=/"),
            vec![(PiiType::Email, "jane%40example.com")]
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
            // The request id: its digits 6288655709874987 pass Luhn.
            "request 62886557-0987-4987-a2b1-b64bbea42c13 failed",
            "card 6288-6557-0987-498 in a grouping no card has",
            "blob ab+41555526711/cd",
            "std::Bad and Foo::Cafe and arn:aws:iam::123456789012:role/x",
            "mac 00:1A:2B:3C:4D:5E at 12:30:45",
            "span be63000000000000 and sha 8f3c0e4d1a2b",
        ] {
            assert_eq!(kinds(text), vec![], "{text}");
        }
    }
}
