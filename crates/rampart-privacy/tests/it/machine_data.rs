//! The machine-data negative corpus (issue 14): identifiers and formatted values that log
//! pipelines carry and that hold no personal data. UUIDs of every version, ULIDs, trace ids,
//! git SHAs, digests, base64 blobs, JWT-shaped strings that are not JWTs, versions, timestamps,
//! durations, byte sizes, pod and container ids, AWS ids, ISBNs, order numbers, phone-like
//! numeric ids, currency amounts, OIDs and MAC addresses, generated from a fixed seed.
//!
//! Every value, alone through the detector and embedded in a JSON log line and in a text line
//! through the redactor, must give no finding at all. [`personal`] keeps out of the corpus what
//! really is personal data by the detector's definitions (a bare dotted quad is an address,
//! `123-45-6789` an SSN, a Luhn-valid number in a card's grouping a card), so a finding is
//! always a false positive. With `RAMPART_MACHINE_DATA_OUT=FILE` the test also writes the
//! corpus as JSONL (`{"kind", "value"}` per line).

mod formats;
mod ids;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::LazyLock;

use base64::Engine as _;
use rampart_privacy::{Detector, HashKey, Policy, Redactor, Stats};
use regex::Regex;

use crate::corpus::{Rng, luhn_valid, mod97};

/// The seed of the corpus the test checks.
pub const SEED: u64 = 0x6d61_6368_696e_6514;

type Generator = fn(&mut Rng) -> String;

/// Each kind, how many values of it, and its generator.
const KINDS: &[(&str, usize, Generator)] = &[
    ("uuid", 1200, ids::uuid),
    ("ulid", 400, ids::ulid),
    ("trace_id", 900, ids::trace_id),
    ("git_sha", 500, ids::git_sha),
    ("digest", 900, ids::digest),
    ("base64", 900, ids::base64),
    ("jwt_invalid", 400, ids::invalid_jwt),
    ("version", 600, formats::version),
    ("timestamp", 1200, formats::timestamp),
    ("duration", 500, formats::duration),
    ("byte_size", 400, formats::byte_size),
    ("k8s_pod", 400, ids::pod_name),
    ("container_id", 400, ids::container_id),
    ("aws", 700, ids::aws),
    ("isbn", 400, formats::isbn),
    ("order_number", 400, formats::order_number),
    ("numeric_id", 500, formats::numeric_id),
    ("currency", 600, formats::currency),
    ("oid", 400, formats::oid),
    ("mac", 400, formats::mac),
];

/// The generated corpus.
pub struct Corpus {
    /// `(kind, value)`, kind by kind.
    pub values: Vec<(&'static str, String)>,
    /// Per kind, the candidates [`personal`] kept out.
    pub rejected: BTreeMap<&'static str, usize>,
}

/// The corpus for `seed`: every kind's values, each drawn again while [`personal`] refuses it.
pub fn generate(seed: u64) -> Corpus {
    let mut rng = Rng::new(seed);
    let mut values = Vec::new();
    let mut rejected = BTreeMap::new();
    for &(kind, count, generator) in KINDS {
        for _ in 0..count {
            let value = loop {
                let value = generator(&mut rng);
                if personal(&value).is_none() {
                    break value;
                }
                *rejected.entry(kind).or_default() += 1;
            };
            values.push((kind, value));
        }
    }
    Corpus { values, rejected }
}

struct Shapes {
    digit_groups: Regex,
    ssn: Regex,
    e164: Regex,
    national_phone: Regex,
    ipv4: Regex,
    ipv6_run: Regex,
    alnum: Regex,
    grouped_iban: Regex,
    jwt: Regex,
    secret: Regex,
}

static SHAPES: LazyLock<Shapes> = LazyLock::new(|| {
    let regex = |source: &str| Regex::new(source).expect("a valid pattern");
    Shapes {
        digit_groups: regex(r"(?-u:\b)[0-9]+(?:[ -][0-9]+)*(?-u:\b)"),
        ssn: regex(r"(?-u:\b)[0-9]{3}[- ][0-9]{2}[- ][0-9]{4}(?-u:\b)"),
        e164: regex(r"(^|[^A-Za-z])\+[1-9](?:[ .-]?[0-9]){7,14}(?-u:\b)"),
        national_phone: regex(
            r"(?:\+?1[ .-])?(?:\([0-9]{3}\) ?|(?-u:\b)[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}(?-u:\b)",
        ),
        ipv4: regex(r"(^|.)((?-u:\b)[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?-u:\b))(\.[0-9])?"),
        ipv6_run: regex(r"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*"),
        alnum: regex(r"[A-Za-z0-9]+"),
        grouped_iban: regex(
            r"(?i)(?-u:\b)[a-z]{2}[0-9]{2}(?: [a-z0-9]{4}){2,7}(?: [a-z0-9]{1,4})?",
        ),
        jwt: regex(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}"),
        secret: regex(concat!(
            r"(?-u:\b)(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}(?-u:\b)",
            r"|(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_|(?:sk|rk)_(?:live|test)_",
            r"|xox[abposr]-|(?-u:\b)AIza[0-9A-Za-z_-]{35}|(?i:bearer)\s|-----BEGIN",
        )),
    }
});

/// A card number's digits in a card's grouping: contiguous 13-19, or 4-4-4-4, 4-4-4-4-3,
/// 4-6-5, 4-6-4. Generous on brands (any number starting 2-6), strict on Luhn.
fn card_in_grouping(groups: &[&str]) -> bool {
    let sizes: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    let grouping = matches!(
        sizes.as_slice(),
        [13..=19] | [4, 4, 4, 4] | [4, 4, 4, 4, 3] | [4, 6, 5] | [4, 6, 4]
    );
    let digits = groups.concat();
    grouping && matches!(digits.as_bytes().first(), Some(b'2'..=b'6')) && luhn_valid(&digits)
}

/// Why `value` is personal data by the detector's definitions, or `None`. Generous: it may
/// refuse a value the detector would rightly pass, never the reverse.
pub fn personal(value: &str) -> Option<&'static str> {
    let shapes = &*SHAPES;
    if value.contains('@') {
        return Some("email");
    }
    for m in shapes.digit_groups.find_iter(value) {
        // Groups of one separator kind; every run of consecutive groups is a candidate.
        let text = m.as_str();
        let mut groups: Vec<(&str, Option<char>)> = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let end = rest.find([' ', '-']).unwrap_or(rest.len());
            let separator = rest[end..].chars().next();
            groups.push((&rest[..end], separator));
            rest = rest.get(end + 1..).unwrap_or("");
        }
        for start in 0..groups.len() {
            for end in start + 1..=groups.len() {
                let run = &groups[start..end];
                let one_separator = run[..run.len() - 1].windows(2).all(|w| w[0].1 == w[1].1);
                let digits: Vec<&str> = run.iter().map(|g| g.0).collect();
                if one_separator && card_in_grouping(&digits) {
                    return Some("credit_card");
                }
            }
        }
    }
    if shapes.ssn.is_match(value) {
        return Some("us_ssn");
    }
    if shapes.e164.is_match(value) || shapes.national_phone.is_match(value) {
        return Some("phone");
    }
    for caps in shapes.ipv4.captures_iter(value) {
        let before = caps.get(1).map_or("", |m| m.as_str());
        let address = caps.get(2).map_or("", |m| m.as_str());
        let dotted_on = caps.get(3).is_some();
        if !matches!(before, "v" | "V" | "." | "/")
            && !dotted_on
            && address.parse::<std::net::Ipv4Addr>().is_ok()
        {
            return Some("ip_address");
        }
    }
    for m in shapes.ipv6_run.find_iter(value) {
        let run = m.as_str().trim_end_matches('.');
        let parses = |s: &str| s.parse::<std::net::Ipv6Addr>().is_ok();
        if parses(run) || parses(run.trim_matches(':')) {
            return Some("ip_address");
        }
    }
    let iban = |compact: &str| {
        let b = compact.as_bytes();
        (15..=34).contains(&b.len())
            && b[..2].iter().all(u8::is_ascii_alphabetic)
            && b[2..4].iter().all(u8::is_ascii_digit)
            && {
                let upper = compact.to_ascii_uppercase();
                mod97(&format!("{}{}", &upper[4..], &upper[..4])) == 1
            }
    };
    if shapes.alnum.find_iter(value).any(|m| iban(m.as_str()))
        || shapes
            .grouped_iban
            .find_iter(value)
            .any(|m| iban(&m.as_str().replace(' ', "")))
    {
        return Some("iban");
    }
    for m in shapes.jwt.find_iter(value) {
        let header = m.as_str().split('.').next().unwrap_or("");
        let names_alg = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .is_some_and(|v| v.get("alg").is_some());
        if names_alg {
            return Some("secret");
        }
    }
    if shapes.secret.is_match(value) {
        return Some("secret");
    }
    None
}

/// One value that gave findings: what each channel found (empty where nothing).
struct Offence {
    kind: &'static str,
    value: String,
    channels: Vec<String>,
}

/// Up to `limit` offences taken in turn from each kind, so that every failing kind shows.
fn spread(offences: &[Offence], limit: usize) -> Vec<&Offence> {
    let mut by_kind: BTreeMap<&str, std::collections::VecDeque<&Offence>> = BTreeMap::new();
    for offence in offences {
        by_kind.entry(offence.kind).or_default().push_back(offence);
    }
    let mut out = Vec::new();
    while out.len() < limit && by_kind.values().any(|q| !q.is_empty()) {
        for queue in by_kind.values_mut() {
            if let Some(offence) = queue.pop_front()
                && out.len() < limit
            {
                out.push(offence);
            }
        }
    }
    out
}

/// The JSON log line a value is embedded in.
fn log_line(kind: &str, value: &str) -> String {
    format!(
        r#"{{"ts":"2026-12-04T23:11:48Z","msg":"{kind} seen","value":{}}}"#,
        serde_json::Value::String(value.to_owned())
    )
}

#[test]
fn machine_data_gives_no_findings() {
    let corpus = generate(SEED);
    if let Some(out) = std::env::var_os("RAMPART_MACHINE_DATA_OUT") {
        let lines: String = corpus
            .values
            .iter()
            .map(|(kind, value)| format!("{}\n", serde_json::json!({"kind": kind, "value": value})))
            .collect();
        std::fs::write(&out, lines).expect("write the machine-data corpus");
    }
    let detector = Detector::new();
    let redactor = Redactor::new(Policy::default_policy(), HashKey::new([5; 32])).unwrap();
    let mut per_kind: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
    let mut offences = Vec::new();
    for (kind, value) in &corpus.values {
        let counts = per_kind.entry(kind).or_default();
        counts[0] += 1;
        let mut channels = Vec::new();
        let alone = detector.detect(value);
        if !alone.is_empty() {
            counts[1] += 1;
            let found: Vec<String> = alone
                .iter()
                .map(|(t, r)| format!("{t} {:?}", value.get(r.clone()).unwrap_or("")))
                .collect();
            channels.push(format!("alone: {}", found.join(", ")));
        }
        let line = log_line(kind, value);
        let mut stats = Stats::default();
        let mut output = Vec::new();
        redactor
            .redact_stream(line.as_bytes(), &mut output, &mut stats)
            .unwrap();
        if !stats.findings.is_empty() {
            counts[2] += 1;
            channels.push(format!(
                "json line: {:?} -> {}",
                stats.findings,
                String::from_utf8_lossy(&output).trim_end()
            ));
        }
        let text = format!("processing {value} done");
        let redacted = redactor.redact_text(&text);
        if !redacted.findings.is_empty() {
            counts[3] += 1;
            let found: Vec<String> = redacted
                .findings
                .iter()
                .map(|f| format!("{} {:?}", f.kind, text.get(f.start..f.end).unwrap_or("")))
                .collect();
            channels.push(format!("text: {}", found.join(", ")));
        }
        if !channels.is_empty() {
            offences.push(Offence {
                kind,
                value: value.clone(),
                channels,
            });
        }
    }
    let mut table = format!(
        "machine data (seed {SEED:#x}): {} values\n{:<14} {:>7} {:>9} {:>7} {:>10} {:>6}\n",
        corpus.values.len(),
        "kind",
        "values",
        "rejected",
        "alone",
        "json line",
        "text"
    );
    for (kind, [values, alone, json, text]) in &per_kind {
        let rejected = corpus.rejected.get(kind).copied().unwrap_or(0);
        let _ = writeln!(
            table,
            "{kind:<14} {values:>7} {rejected:>9} {alone:>7} {json:>10} {text:>6}"
        );
    }
    eprintln!("{table}");
    if offences.is_empty() {
        return;
    }
    let shown = spread(&offences, 60);
    let mut report = format!(
        "{} values with findings (per kind and channel in the table above); {} of them, \
         taken in turn from each kind:\n",
        offences.len(),
        shown.len()
    );
    for offence in shown {
        let _ = writeln!(report, "  [{}] {:?}", offence.kind, offence.value);
        for channel in &offence.channels {
            let _ = writeln!(report, "      {channel}");
        }
    }
    eprintln!("{report}");
    panic!("{report}");
}

#[test]
fn machine_data_is_deterministic_large_and_free_of_personal_data() {
    let corpus = generate(SEED);
    let again = generate(SEED);
    assert_eq!(corpus.values, again.values);
    assert!(
        corpus.values.len() >= 10_000,
        "{} values",
        corpus.values.len()
    );
    for &(kind, count, _) in KINDS {
        let found = corpus.values.iter().filter(|(k, _)| *k == kind).count();
        assert_eq!(found, count, "{kind}");
    }
    let distinct: std::collections::BTreeSet<&String> =
        corpus.values.iter().map(|(_, v)| v).collect();
    assert!(
        distinct.len() * 10 >= corpus.values.len() * 9,
        "{} distinct of {}",
        distinct.len(),
        corpus.values.len()
    );
    assert!(corpus.values.iter().all(|(_, v)| personal(v).is_none()));
    // The guard refuses what the detector's definitions call personal data, and only that.
    for (value, kind) in [
        ("1.2.3.4", "ip_address"),
        ("2001:db8:0:0:0:0:0:1", "ip_address"),
        ("fe80::1", "ip_address"),
        ("123-45-6789", "us_ssn"),
        ("4111111111111111", "credit_card"),
        ("4111 1111 1111 1111", "credit_card"),
        ("3782-822463-10005", "credit_card"),
        ("+41555526711", "phone"),
        ("(415) 555-2671", "phone"),
        ("de89370400440532013000", "iban"),
        ("DE89 3704 0044 0532 0130 00", "iban"),
        (
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl",
            "secret",
        ),
    ] {
        assert_eq!(personal(value), Some(kind), "{value}");
    }
    for value in [
        "62886557-0987-4987-a2b1-b64bbea42c13",
        "v1.2.3.4",
        "Chrome/120.0.6099.109",
        "1.3.6.1.4.1.311.21.20",
        "ab+41555526711/cd==",
        "4111-1111 1111-1111",
        "00:1A:2B:3C:4D:5E",
        "arn:aws:iam::123456789012:role/deploy",
        "4155552671",
        "1733353908123456789",
    ] {
        assert_eq!(personal(value), None, "{value}");
    }
    assert_eq!(
        log_line("uuid", "a\"b"),
        r#"{"ts":"2026-12-04T23:11:48Z","msg":"uuid seen","value":"a\"b"}"#
    );
}
