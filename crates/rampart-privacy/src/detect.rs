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
mod tests;
