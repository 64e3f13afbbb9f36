//! The labeled corpus and a precision/recall tool over it.
//!
//! Positives of every type in many formats (cards of every brand with a computed Luhn digit,
//! contiguous or in the groupings cards are printed in; SSNs by the area/group/serial rules;
//! E.164 and NANP phones, and international ones with a trunk prefix, `+44 (0)20 7946 0958`;
//! IPv4 and IPv6, full, compressed (`::1`, `2001:db8::8a2e:370:7334`) and with a zone
//! (`fe80::1%eth0`); IBANs of many countries with computed mod-97 check digits, compact or
//! grouped, upper or lower case; emails; secrets of many providers) are embedded in short
//! sentences, some also in JSON documents. Hard negatives are order numbers that fail Luhn,
//! version strings, UUIDs, timestamps, invalid SSNs, bare numeric ids, IBANs with wrong check
//! digits, hashes, words such as `passenger`, Luhn-valid numbers where no card is (a UUID's
//! first groups, other groupings, mixed separators, inside hex tokens) and `+digits` inside
//! base64. Everything comes from a fixed-seed xorshift generator, so every run scores the
//! same corpus.
//!
//! The test scores the detector per type with exact spans (a finding counts only with the
//! right type and the right byte range) and holds precision and recall to floors. With
//! `RAMPART_PII_CORPUS_OUT=FILE` it also writes the corpus as JSONL (`{"text", "spans"}` per
//! line, positives then negatives), the detector's findings beside it (`*.rampart.jsonl`, one
//! line per text) and, with `RAMPART_PII_BENCH=1`, its throughput (`*.rampart.json`):
//! `bench/pii_vs_presidio.sh` scores Presidio on the same texts.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use rampart_privacy::{Detector, HashKey, PiiType, Policy, Redactor};
use serde_json::{Value, json};

/// The seed of the corpus the test scores.
pub const SEED: u64 = 0x5eed_c0de_2026_1122;

/// Positives generated per type (each in one sentence), before the mixed sentences.
const PER_TYPE: usize = 250;

/// Sentences that carry two or three values of different types.
const MIXED: usize = 200;

/// The types the corpus labels (`sensitive_key` is a JSON-key rule, not a text pattern).
pub const TYPES: [PiiType; 7] = [
    PiiType::Email,
    PiiType::CreditCard,
    PiiType::UsSsn,
    PiiType::Phone,
    PiiType::IpAddress,
    PiiType::Iban,
    PiiType::Secret,
];

/// Precision and recall floors: 0.99 for every type (issue 14).
const FLOORS: [(PiiType, f64); 7] = [
    (PiiType::CreditCard, 0.99),
    (PiiType::Iban, 0.99),
    (PiiType::UsSsn, 0.99),
    (PiiType::IpAddress, 0.99),
    (PiiType::Email, 0.99),
    (PiiType::Phone, 0.99),
    (PiiType::Secret, 0.99),
];

/// A labeled span: the type and its byte range in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span {
    /// The type.
    pub kind: PiiType,
    /// Byte offset of the start.
    pub start: usize,
    /// Byte offset one past the end.
    pub end: usize,
}

/// A text and the spans a perfect detector would report.
#[derive(Debug, Clone)]
pub struct LabeledText {
    /// The text (ASCII, so byte and character offsets agree).
    pub text: String,
    /// The expected spans, in order.
    pub spans: Vec<Span>,
}

/// A JSON document and the findings (path, span) a perfect redactor would report.
#[derive(Debug, Clone)]
pub struct LabeledDocument {
    /// The document.
    pub document: Value,
    /// The expected findings of the labeled types.
    pub findings: Vec<(String, Span)>,
    /// The path of the one value that may hold something, and that value as text.
    pub path: String,
    /// The value's text (a number's digits for a number).
    pub text: String,
}

/// xorshift64*: small, deterministic, good enough to vary formats (the machine-data corpus
/// uses it too).
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        // splitmix64 of the seed, so that nearby seeds give unrelated streams; never zero.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Self((z ^ (z >> 31)) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        usize::try_from((self.next() >> 11) % (n.max(1) as u64)).unwrap_or(0)
    }

    /// A number in `low..=high`.
    pub(crate) fn range(&mut self, low: u32, high: u32) -> u32 {
        let span = usize::try_from(high - low + 1).unwrap_or(1);
        low + u32::try_from(self.below(span)).unwrap_or(0)
    }

    pub(crate) fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub(crate) fn string(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len).map(|_| char::from(*self.pick(alphabet))).collect()
    }

    pub(crate) fn digits(&mut self, len: usize) -> String {
        self.string(DIGITS, len)
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next().to_le_bytes()[0]).collect()
    }
}

pub(crate) const DIGITS: &[u8] = b"0123456789";
const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
pub(crate) const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
pub(crate) const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
pub(crate) const LOWER_HEX: &[u8] = b"0123456789abcdef";
pub(crate) const B64URL: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
pub(crate) const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const TOKEN: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~+/-";

// ---------------------------------------------------------------------------------------
// Checksums
// ---------------------------------------------------------------------------------------

/// The Luhn check digit for `payload` (the number without its last digit).
pub(crate) fn luhn_check_digit(payload: &str) -> u32 {
    let mut sum = 0;
    for (i, c) in payload.bytes().rev().enumerate() {
        let mut d = u32::from(c - b'0');
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    (10 - sum % 10) % 10
}

pub(crate) fn luhn_valid(digits: &str) -> bool {
    let (payload, check) = digits.split_at(digits.len() - 1);
    luhn_check_digit(payload) == check.parse::<u32>().unwrap_or(99)
}

/// ISO 7064 mod 97 of an alphanumeric string (letters count as 10..35).
pub(crate) fn mod97(text: &str) -> u32 {
    let mut remainder = 0;
    for c in text.chars() {
        let value = c.to_digit(36).unwrap_or(0);
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    remainder
}

/// The two IBAN check digits for a country and BBAN: 98 - mod97(BBAN + country + "00").
fn iban_check_digits(country: &str, bban: &str) -> u32 {
    98 - mod97(&format!("{bban}{country}00"))
}

fn iban_valid(compact: &str) -> bool {
    let (head, tail) = compact.split_at(4);
    mod97(&format!("{tail}{head}")) == 1
}

// ---------------------------------------------------------------------------------------
// Positives
// ---------------------------------------------------------------------------------------

/// One generated value and the sentences it may appear in (`{}` marks the value).
struct Sample {
    value: String,
    templates: &'static [&'static str],
    /// Whether the value alone (a JSON string value) is still the type; a bearer token
    /// without `Bearer` is not.
    standalone: bool,
}

const EMAIL_TEMPLATES: &[&str] = &[
    "contact: {} today",
    "send the invoice to {} before friday",
    "From: Jane Doe <{}>",
    "reply-to {}; thanks",
    "login failed for {} (3 attempts)",
    "mailto:{}",
    "{} unsubscribed from the newsletter",
    "cc {}, bcc nobody",
    "\"{}\"",
];

const CARD_TEMPLATES: &[&str] = &[
    "paid with card {} yesterday",
    "card number: {} exp 12/27",
    "pan={} brand unknown",
    "charge {} for 25 EUR",
    "customer card {}, cvv withheld",
    "{} declined by issuer",
    "contact: {} today",
];

const SSN_TEMPLATES: &[&str] = &[
    "ssn {} on file",
    "SSN: {}",
    "social security number {} verified",
    "applicant ssn={}, status ok",
    "taxpayer id {} (US)",
    "contact: {} today",
];

const PHONE_TEMPLATES: &[&str] = &[
    "call {} now",
    "phone: {}",
    "mobile {}, home unknown",
    "sms sent to {}",
    "contact number {} (work)",
    "tel {} ext twelve",
    "contact: {} today",
];

const IP_TEMPLATES: &[&str] = &[
    "request from {} blocked",
    "client_ip={} method=GET",
    "ssh login from {} accepted",
    "X-Forwarded-For: {}",
    "resolved to {} in 3ms",
    "peer {} disconnected",
    "contact: {} today",
];

const IBAN_TEMPLATES: &[&str] = &[
    "iban {} for payout",
    "IBAN: {}",
    "transfer to {} tomorrow",
    "account {} (SEPA)",
    "beneficiary iban={}",
    "IBAN {} BIC COBADEFFXXX",
    "contact: {} today",
];

const SECRET_TEMPLATES: &[&str] = &[
    "export API_KEY={}",
    "found {} in the repo",
    "config: key = {}",
    "leaked credential {} rotated",
    "token: {}",
    "contact: {} today",
];

const JWT_TEMPLATES: &[&str] = &[
    "id_token={}",
    "session {} expired",
    "Authorization: Bearer {}",
    "jwt: {}",
];

const BEARER_TEMPLATES: &[&str] = &[
    "Authorization: Bearer {}",
    "curl -H 'Authorization: Bearer {}' https://api.example.com/v1/me",
    "authorization: bearer {}",
    "upstream rejected Bearer {} with 401",
];

const PEM_TEMPLATES: &[&str] = &[
    "key file:\n{}\nend of file",
    "{}",
    "stored private key {} in the vault",
];

fn card_digits(rng: &mut Rng) -> String {
    let (prefix, len): (String, usize) = match rng.below(9) {
        0 | 1 => ("4".into(), *rng.pick(&[13, 16, 16, 19])),
        2 => (rng.range(51, 55).to_string(), 16),
        3 => (rng.range(2221, 2720).to_string(), 16),
        4 => ((*rng.pick(&["34", "37"])).into(), 15),
        5 => {
            let prefix = match rng.below(4) {
                0 => "6011".to_owned(),
                1 => "65".to_owned(),
                2 => rng.range(644, 649).to_string(),
                _ => rng.range(622_126, 622_925).to_string(),
            };
            (prefix, 16 + rng.below(4))
        }
        6 => (rng.range(3528, 3589).to_string(), 16 + rng.below(4)),
        7 => {
            let prefix = match rng.below(4) {
                0 => rng.range(300, 305).to_string(),
                1 => "36".to_owned(),
                2 => "38".to_owned(),
                _ => "39".to_owned(),
            };
            (prefix, 14 + rng.below(6))
        }
        _ => ("62".into(), 16 + rng.below(4)),
    };
    let payload = format!("{prefix}{}", rng.digits(len - 1 - prefix.len()));
    let check = luhn_check_digit(&payload);
    format!("{payload}{check}")
}

/// Groups a card number as cards print it: 4-4-4-4, 19 digits 4-4-4-4-3, amex 4-6-5, 14-digit
/// diners 4-6-4; other lengths (13, 17, 18) are printed without groups (`None`).
fn group_card(digits: &str, separator: &str) -> Option<String> {
    let sizes: &[usize] = match digits.len() {
        16 => &[4, 4, 4, 4],
        19 => &[4, 4, 4, 4, 3],
        15 => &[4, 6, 5],
        14 => &[4, 6, 4],
        _ => return None,
    };
    let mut parts = Vec::new();
    let mut at = 0;
    for size in sizes {
        parts.push(&digits[at..at + size]);
        at += size;
    }
    Some(parts.join(separator))
}

/// A card as printed: contiguous, or grouped with one separator kind when its length has a
/// grouping (4-4-4-4, 4-4-4-4-3, 4-6-5, 4-6-4); 13, 17 and 18 digits are written contiguous.
fn format_card(rng: &mut Rng, digits: &str) -> String {
    let groupable = matches!(digits.len(), 14 | 15 | 16 | 19);
    match rng.below(3) {
        _ if !groupable => digits.to_owned(),
        0 => digits.to_owned(),
        1 => group_card(digits, " ").unwrap_or_else(|| digits.to_owned()),
        _ => group_card(digits, "-").unwrap_or_else(|| digits.to_owned()),
    }
}

fn ssn(rng: &mut Rng) -> String {
    loop {
        let area = rng.range(1, 899);
        let group = rng.range(1, 99);
        let serial = rng.range(1, 9999);
        let compact = format!("{area:03}{group:02}{serial:04}");
        if area == 666 || compact == "078051120" || compact == "219099999" {
            continue;
        }
        let separator = if rng.chance(70) { '-' } else { ' ' };
        return format!("{area:03}{separator}{group:02}{separator}{serial:04}");
    }
}

fn nanp_parts(rng: &mut Rng) -> (String, String, String) {
    (
        format!("{}{}", rng.range(2, 9), rng.digits(2)),
        format!("{}{}", rng.range(2, 9), rng.digits(2)),
        rng.digits(4),
    )
}

fn phone(rng: &mut Rng) -> String {
    let (npa, nxx, line) = nanp_parts(rng);
    match rng.below(24) {
        // International with the national trunk prefix in parentheses: the span is the whole
        // number from `+`.
        20 => format!("+44 (0)20 {} {}", rng.digits(4), rng.digits(4)),
        21 => {
            let len = 5 + rng.below(4);
            format!("+49 (0)30 {}", rng.digits(len))
        }
        22 => format!(
            "+33 (0){} {} {} {} {}",
            rng.range(1, 9),
            rng.digits(2),
            rng.digits(2),
            rng.digits(2),
            rng.digits(2)
        ),
        23 => format!(
            "+41 (0){} {} {} {}",
            rng.range(21, 91),
            rng.digits(3),
            rng.digits(2),
            rng.digits(2)
        ),
        // NANP national formats.
        0 | 1 => format!("({npa}) {nxx}-{line}"),
        2 => format!("({npa}){nxx}-{line}"),
        3 | 4 => format!("{npa}-{nxx}-{line}"),
        5 => format!("{npa}.{nxx}.{line}"),
        6 => format!("{npa} {nxx} {line}"),
        7 => format!("1-{npa}-{nxx}-{line}"),
        8 => format!("1 {npa} {nxx} {line}"),
        // E.164.
        9 => format!("+1{npa}{nxx}{line}"),
        10 => format!("+1 {npa} {nxx} {line}"),
        11 => format!("+1-{npa}-{nxx}-{line}"),
        12 => format!("+44 20 {} {}", rng.digits(4), rng.digits(4)),
        13 => format!("+44 7{} {}", rng.digits(3), rng.digits(6)),
        14 => {
            let len = 6 + rng.below(3);
            format!("+49 30 {}", rng.digits(len))
        }
        15 => format!(
            "+49 1{}{} {} {}",
            rng.range(5, 7),
            rng.digits(1),
            rng.digits(4),
            rng.digits(4)
        ),
        16 => format!(
            "+33 {} {} {} {} {}",
            rng.range(1, 9),
            rng.digits(2),
            rng.digits(2),
            rng.digits(2),
            rng.digits(2)
        ),
        17 => format!("+61 2 {} {}", rng.digits(4), rng.digits(4)),
        18 => format!("+91 9{} {}", rng.digits(4), rng.digits(5)),
        _ => format!("+81 3-{}-{}", rng.digits(4), rng.digits(4)),
    }
}

fn ipv4(rng: &mut Rng) -> String {
    format!(
        "{}.{}.{}.{}",
        rng.range(1, 223),
        rng.range(0, 255),
        rng.range(0, 255),
        rng.range(1, 254)
    )
}

fn hex_group(rng: &mut Rng, leading_zeros: bool) -> String {
    let value = rng.range(0, 0xffff);
    if leading_zeros {
        format!("{value:04x}")
    } else {
        format!("{value:x}")
    }
}

/// IPv6: full (with or without leading zeros), compressed with groups on each side
/// (`2001:db8::8a2e:370:7334`, `2001:db8:85a3::8a2e:370:7334`), compressed at the start
/// (`::1`, `::ffff:c000:280`, `::8a2e:370:7334`), and link-local with a zone (`fe80::1%eth0`:
/// the zone is part of the span). Upper case sometimes. `2001:db8::` (nothing after `::`) and
/// `::ffff:192.0.2.1` are left out.
fn ipv6(rng: &mut Rng) -> String {
    let mut zone = String::new();
    let address = match rng.below(6) {
        3 => match rng.below(3) {
            0 => "::1".to_owned(),
            1 => format!("::ffff:{}:{}", hex_group(rng, false), hex_group(rng, false)),
            _ => {
                let len = 1 + rng.below(3);
                let groups: Vec<String> = (0..len).map(|_| hex_group(rng, false)).collect();
                format!("::{}", groups.join(":"))
            }
        },
        4 => {
            let len = 1 + rng.below(4);
            let groups: Vec<String> = (0..len).map(|_| hex_group(rng, false)).collect();
            zone = format!(
                "%{}",
                rng.pick(&["eth0", "en0", "wlan0", "ens3", "lo", "bond0", "2"])
            );
            format!("fe80::{}", groups.join(":"))
        }
        5 => {
            let left = *rng.pick(&["2001:db8", "2001:db8:85a3", "2001:0db8:85a3", "2a02:1205"]);
            let len = 1 + rng.below(4);
            let groups: Vec<String> = (0..len).map(|_| hex_group(rng, false)).collect();
            format!("{left}::{}", groups.join(":"))
        }
        0 => (0..8)
            .map(|_| hex_group(rng, true))
            .collect::<Vec<_>>()
            .join(":"),
        1 => (0..8)
            .map(|_| hex_group(rng, false))
            .collect::<Vec<_>>()
            .join(":"),
        _ => {
            const PREFIXES: &[&[&str]] = &[
                &["2001", "db8"],
                &["fe80"],
                &["2a00", "1450"],
                &["2606", "4700"],
                &["fd12", "3456"],
            ];
            let prefix = *rng.pick(PREFIXES);
            let left_len = prefix.len() + rng.below(3);
            let mut left: Vec<String> = prefix.iter().map(|s| (*s).to_owned()).collect();
            while left.len() < left_len {
                left.push(hex_group(rng, false));
            }
            // At least one group after `::`, at most six written in all.
            let right_len = 1 + rng.below(6 - left.len());
            let right: Vec<String> = (0..right_len).map(|_| hex_group(rng, false)).collect();
            format!("{}::{}", left.join(":"), right.join(":"))
        }
    };
    let address = if rng.chance(15) {
        address.to_ascii_uppercase()
    } else {
        address
    };
    format!("{address}{zone}")
}

/// Country, BBAN layout (`n` digit, `a` letter, `c` letter or digit); lengths as ISO 13616.
const IBAN_COUNTRIES: &[(&str, &str)] = &[
    ("DE", "nnnnnnnnnnnnnnnnnn"),
    ("GB", "aaaannnnnnnnnnnnnn"),
    ("FR", "nnnnnnnnnncccccccccccnn"),
    ("ES", "nnnnnnnnnnnnnnnnnnnn"),
    ("IT", "annnnnnnnnncccccccccccc"),
    ("NL", "aaaannnnnnnnnn"),
    ("BE", "nnnnnnnnnnnn"),
    ("CH", "nnnnncccccccccccc"),
    ("AT", "nnnnnnnnnnnnnnnn"),
    ("PL", "nnnnnnnnnnnnnnnnnnnnnnnn"),
    ("PT", "nnnnnnnnnnnnnnnnnnnnn"),
    ("SE", "nnnnnnnnnnnnnnnnnnnn"),
    ("NO", "nnnnnnnnnnn"),
    ("DK", "nnnnnnnnnnnnnn"),
    ("FI", "nnnnnnnnnnnnnn"),
    ("IE", "aaaannnnnnnnnnnnnn"),
    ("LU", "nnnccccccccccccc"),
    ("MT", "aaaannnnncccccccccccccccccc"),
    ("SA", "nncccccccccccccccccc"),
    ("TR", "nnnnnncccccccccccccccc"),
    ("BR", "nnnnnnnnnnnnnnnnnnnnnnnac"),
];

fn bban(rng: &mut Rng, layout: &str) -> String {
    layout
        .chars()
        .map(|c| match c {
            'n' => char::from(*rng.pick(DIGITS)),
            'a' => char::from(*rng.pick(UPPER)),
            // Mostly digits, as account numbers are.
            _ => char::from(if rng.chance(75) {
                *rng.pick(DIGITS)
            } else {
                *rng.pick(UPPER_DIGITS)
            }),
        })
        .collect()
}

/// A valid IBAN, compact.
fn iban_compact(rng: &mut Rng) -> String {
    let (country, layout) = *rng.pick(IBAN_COUNTRIES);
    let bban = bban(rng, layout);
    let check = iban_check_digits(country, &bban);
    let iban = format!("{country}{check:02}{bban}");
    debug_assert!(iban_valid(&iban));
    iban
}

fn group_by_four(compact: &str) -> String {
    compact
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A valid IBAN: compact or grouped by four, upper case or (a third of them) lower case.
fn iban(rng: &mut Rng) -> String {
    let compact = iban_compact(rng);
    let iban = if rng.chance(50) {
        group_by_four(&compact)
    } else {
        compact
    };
    if rng.chance(33) {
        iban.to_ascii_lowercase()
    } else {
        iban
    }
}

const FIRST: &[&str] = &[
    "jane", "john", "maria", "li", "ahmed", "olga", "pierre", "sofia", "kenji", "amara", "noah",
    "eva",
];
const LAST: &[&str] = &[
    "doe", "smith", "garcia", "wang", "khan", "ivanova", "martin", "rossi", "tanaka", "okafor",
    "berg",
];
const DOMAINS: &[&str] = &[
    "example.com",
    "example.org",
    "mail.example.co.uk",
    "corp-mail.io",
    "uni.edu",
    "sub.domain.example.net",
    "shop.example.de",
    "x.dev",
];

fn email(rng: &mut Rng) -> String {
    let first = *rng.pick(FIRST);
    let last = *rng.pick(LAST);
    let local = match rng.below(6) {
        0 => format!("{first}.{last}"),
        1 => format!("{first}_{last}"),
        2 => format!("{}{last}{}", &first[..1], rng.range(1, 99)),
        3 => format!("{first}+{}", rng.pick(&["news", "billing", "test"])),
        4 => format!("{first}.{last}-{}", rng.pick(&["ops", "hr"])),
        _ => format!("{first}{}", rng.range(1970, 2010)),
    };
    let address = format!("{local}@{}", rng.pick(DOMAINS));
    if rng.chance(10) {
        address.to_ascii_uppercase()
    } else {
        address
    }
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn jwt(rng: &mut Rng) -> String {
    let header = *rng.pick(&[
        r#"{"alg":"HS256"}"#,
        r#"{"alg":"HS256","typ":"JWT"}"#,
        r#"{"alg":"RS256","typ":"JWT","kid":"k1"}"#,
        r#"{"typ":"JWT","alg":"ES256"}"#,
    ]);
    let payload = format!(
        r#"{{"sub":"{}","name":"{} {}","iat":{}}}"#,
        rng.digits(8),
        rng.pick(FIRST),
        rng.pick(LAST),
        1_700_000_000 + rng.range(0, 99_999_999)
    );
    let signature_len = if header.contains("RS256") { 256 } else { 32 };
    format!(
        "{}.{}.{}",
        b64url(header.as_bytes()),
        b64url(payload.as_bytes()),
        b64url(&rng.bytes(signature_len))
    )
}

fn pem(rng: &mut Rng) -> String {
    let label = *rng.pick(&[
        "RSA PRIVATE KEY",
        "PRIVATE KEY",
        "EC PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
    ]);
    let lines = 3 + rng.below(8);
    let mut body: Vec<String> = (0..lines).map(|_| rng.string(B64, 64)).collect();
    body.push(format!("{}==", rng.string(B64, 22)));
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----",
        body.join("\n")
    )
}

fn secret(rng: &mut Rng) -> Sample {
    let plain = |value: String| Sample {
        value,
        templates: SECRET_TEMPLATES,
        standalone: true,
    };
    match rng.below(12) {
        0 => plain(format!(
            "{}{}",
            rng.pick(&["AKIA", "AKIA", "ASIA"]),
            rng.string(UPPER_DIGITS, 16)
        )),
        1 => plain(format!(
            "{}_{}",
            rng.pick(&["ghp", "gho", "ghs"]),
            rng.string(ALNUM, 36)
        )),
        2 => plain(format!(
            "github_pat_{}_{}",
            rng.string(ALNUM, 22),
            rng.string(ALNUM, 59)
        )),
        3 => {
            let len = *rng.pick(&[24, 24, 99]);
            let prefix = *rng.pick(&["sk_live", "sk_test", "rk_live"]);
            plain(format!("{prefix}_{}", rng.string(ALNUM, len)))
        }
        4 => {
            let len = 10 + rng.below(4);
            let prefix = *rng.pick(&["xoxb", "xoxp"]);
            plain(format!(
                "{prefix}-{}-{}-{}",
                rng.digits(len),
                rng.digits(13),
                rng.string(ALNUM, 24)
            ))
        }
        5 => plain(format!("AIza{}", rng.string(B64URL, 35))),
        6 | 7 => Sample {
            value: jwt(rng),
            templates: JWT_TEMPLATES,
            standalone: true,
        },
        8 => Sample {
            value: pem(rng),
            templates: PEM_TEMPLATES,
            standalone: true,
        },
        _ => {
            let len = 20 + rng.below(45);
            let padding = *rng.pick(&["", "", "=", "=="]);
            let mut token = rng.string(TOKEN, len);
            // A full stop after the token ends the sentence (the detector leaves it out).
            if token.ends_with('.') {
                token.pop();
                token.push('x');
            }
            Sample {
                value: format!("{token}{padding}"),
                templates: BEARER_TEMPLATES,
                standalone: false,
            }
        }
    }
}

fn sample(rng: &mut Rng, kind: PiiType) -> Sample {
    let value = |value: String, templates: &'static [&'static str]| Sample {
        value,
        templates,
        standalone: true,
    };
    match kind {
        PiiType::Email => value(email(rng), EMAIL_TEMPLATES),
        PiiType::CreditCard => {
            let digits = card_digits(rng);
            value(format_card(rng, &digits), CARD_TEMPLATES)
        }
        PiiType::UsSsn => value(ssn(rng), SSN_TEMPLATES),
        PiiType::Phone => value(phone(rng), PHONE_TEMPLATES),
        PiiType::IpAddress => {
            let address = if rng.chance(50) { ipv4(rng) } else { ipv6(rng) };
            value(address, IP_TEMPLATES)
        }
        PiiType::Iban => value(iban(rng), IBAN_TEMPLATES),
        PiiType::Secret | PiiType::SensitiveKey => secret(rng),
    }
}

/// `template` with `value` at `{}`, appended to `text`; returns the value's span.
fn embed(text: &mut String, template: &str, value: &str, kind: PiiType) -> Span {
    let (before, after) = template.split_once("{}").unwrap_or((template, ""));
    text.push_str(before);
    let start = text.len();
    text.push_str(value);
    let end = text.len();
    text.push_str(after);
    Span { kind, start, end }
}

/// A valid card number of `len` digits under a brand that issues that length.
fn card_of_length(rng: &mut Rng, len: usize) -> String {
    let prefix = match len {
        13 => "4".to_owned(),
        14 => (*rng.pick(&["36", "38", "300", "305"])).to_owned(),
        15 => (*rng.pick(&["34", "37"])).to_owned(),
        16 => (*rng.pick(&["4", "51", "55", "2221", "6011", "65", "3530", "62"])).to_owned(),
        17 | 18 => (*rng.pick(&["6011", "3528", "62", "36"])).to_owned(),
        _ => (*rng.pick(&["4", "62", "6011"])).to_owned(),
    };
    let payload = format!("{prefix}{}", rng.digits(len - 1 - prefix.len()));
    let check = luhn_check_digit(&payload);
    format!("{payload}{check}")
}

/// Cards in every form they are printed in, so that each is scored: 4-4-4-4, 4-4-4-4-3 (19
/// digits), 4-6-5 (Amex), 4-6-4 (Diners), each with spaces and with dashes, and contiguous
/// numbers of every length from 13 to 19.
fn card_forms(rng: &mut Rng) -> Vec<LabeledText> {
    let mut out = Vec::new();
    let mut push = |rng: &mut Rng, value: &str| {
        let template = *rng.pick(CARD_TEMPLATES);
        let mut text = String::new();
        let span = embed(&mut text, template, value, PiiType::CreditCard);
        out.push(LabeledText {
            text,
            spans: vec![span],
        });
    };
    for len in [16, 19, 15, 14] {
        for separator in [" ", "-"] {
            for _ in 0..6 {
                let digits = card_of_length(rng, len);
                push(
                    rng,
                    &group_card(&digits, separator).unwrap_or_else(|| digits.clone()),
                );
            }
        }
    }
    for len in 13..=19 {
        for _ in 0..4 {
            let digits = card_of_length(rng, len);
            push(rng, &digits);
        }
    }
    out
}

/// The corpus: labeled positives (one value per sentence for every type, cards in each of
/// their printed forms, then sentences with two or three values) and hard negatives (texts
/// with no value of any labeled type).
pub fn generate(seed: u64) -> (Vec<LabeledText>, Vec<String>) {
    let mut rng = Rng::new(seed);
    let mut positives = Vec::new();
    for kind in TYPES {
        for _ in 0..PER_TYPE {
            let sample = sample(&mut rng, kind);
            let template = *rng.pick(sample.templates);
            let mut text = String::new();
            let span = embed(&mut text, template, &sample.value, kind);
            positives.push(LabeledText {
                text,
                spans: vec![span],
            });
        }
    }
    positives.extend(card_forms(&mut rng));
    for _ in 0..MIXED {
        let mut text = String::new();
        let mut spans = Vec::new();
        let count = 2 + rng.below(2);
        for i in 0..count {
            if i > 0 {
                let joiner = *rng.pick(&["; ", " | ", ", then "]);
                text.push_str(joiner);
            }
            let kind = *rng.pick(&TYPES);
            let sample = sample(&mut rng, kind);
            let template = *rng.pick(sample.templates);
            spans.push(embed(&mut text, template, &sample.value, kind));
        }
        positives.push(LabeledText { text, spans });
    }
    (positives, negatives(&mut rng))
}

// ---------------------------------------------------------------------------------------
// Hard negatives
// ---------------------------------------------------------------------------------------

/// A 13-19 digit number with a card brand's prefix that fails Luhn.
fn luhn_failing(rng: &mut Rng) -> String {
    let valid = card_digits(rng);
    let (payload, check) = valid.split_at(valid.len() - 1);
    let check: u32 = check.parse().unwrap_or(0);
    let wrong = (check + 1 + u32::try_from(rng.below(9)).unwrap_or(0)) % 10;
    let number = format!("{payload}{wrong}");
    debug_assert!(!luhn_valid(&number));
    number
}

fn uuid(rng: &mut Rng) -> String {
    let hex = rng.string(LOWER_HEX, 32);
    format!(
        "{}-{}-4{}-{}{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[13..16],
        rng.pick(&["8", "9", "a", "b"]),
        &hex[17..20],
        &hex[20..]
    )
}

fn negatives(rng: &mut Rng) -> Vec<String> {
    let mut out = Vec::new();
    // Order numbers, invoice ids and tracking numbers of card length that fail Luhn.
    for _ in 0..300 {
        let number = luhn_failing(rng);
        let number = match rng.below(6) {
            0 => group_card(&number, " ").unwrap_or(number),
            1 => group_card(&number, "-").unwrap_or(number),
            _ => number,
        };
        let template = *rng.pick(&[
            "order {} shipped",
            "invoice #{} paid",
            "ref {} pending",
            "tracking {} delivered",
            "orderId={}&page=2",
            "{} items in cart",
        ]);
        let mut text = String::new();
        embed(&mut text, template, &number, PiiType::CreditCard);
        out.push(text);
    }
    // Version strings.
    for _ in 0..120 {
        let (a, b, c, d) = (
            rng.range(0, 30),
            rng.range(0, 99),
            rng.range(0, 255),
            rng.range(0, 255),
        );
        out.push(match rng.below(6) {
            0 => format!("upgraded to v{a}.{b}.{c}.{d}"),
            1 => format!("release {a}.{b}.{c}.{d}.{}", rng.range(0, 99)),
            2 => format!(
                "Windows 10.0.{}.{}",
                rng.range(10_000, 22_999),
                rng.range(1, 3000)
            ),
            3 => format!("agent version V{a}.{b}.{c}.{d} started"),
            4 => format!("build {a}.{b}.{c} (commit {})", rng.string(LOWER_HEX, 7)),
            _ => format!("pkg-{a}.{b}.{c}.{d}.{}.tar.gz", rng.range(0, 9)),
        });
    }
    // UUIDs.
    for _ in 0..100 {
        let template = *rng.pick(&[
            "request_id={} done",
            "trace {}",
            "user {} logged in",
            "\"id\": \"{}\"",
        ]);
        out.push(template.replace("{}", &uuid(rng)));
    }
    // Timestamps.
    for _ in 0..100 {
        let (y, mo, d, h, mi, s) = (
            rng.range(2000, 2030),
            rng.range(1, 12),
            rng.range(1, 28),
            rng.range(0, 23),
            rng.range(0, 59),
            rng.range(0, 59),
        );
        out.push(match rng.below(5) {
            0 => format!(
                "at {y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{}Z",
                rng.digits(6)
            ),
            1 => format!("ts={y}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"),
            2 => format!("created {y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}+01:00"),
            3 => format!("[{d:02}/Nov/{y}:{h:02}:{mi:02}:{s:02} +0000] GET /"),
            _ => format!("took {h:02}:{mi:02}:{s:02}.{} wall time", rng.digits(3)),
        });
    }
    // Invalid SSNs: area 000, 666 or 9xx; group 00; serial 0000.
    for i in 0..150 {
        let (mut area, mut group, mut serial) =
            (rng.range(1, 899), rng.range(1, 99), rng.range(1, 9999));
        match i % 5 {
            0 => area = 0,
            1 => area = 666,
            2 => area = rng.range(900, 999),
            3 => group = 0,
            _ => serial = 0,
        }
        let separator = if rng.chance(70) { '-' } else { ' ' };
        let template = *rng.pick(&["ssn {} rejected", "SSN: {}", "case {} closed"]);
        out.push(template.replace(
            "{}",
            &format!("{area:03}{separator}{group:02}{separator}{serial:04}"),
        ));
    }
    // Phone-like numeric ids without separators, and numbers too short for E.164.
    for _ in 0..100 {
        let (npa, nxx, line) = nanp_parts(rng);
        out.push(match rng.below(5) {
            0 => format!("id={npa}{nxx}{line}"),
            1 => format!("id=1{npa}{nxx}{line}"),
            2 => format!("ticket {npa}{nxx}{line} closed"),
            3 => format!("user_id: 1{npa}{nxx}{line}"),
            _ => format!("score +{}.{} today", rng.digits(3), rng.digits(2)),
        });
    }
    // IBAN-like strings with wrong check digits.
    for _ in 0..100 {
        let valid = iban_compact(rng);
        let check: u32 = valid[2..4].parse().unwrap_or(0);
        let wrong = (check - 2 + 1 + u32::try_from(rng.below(96)).unwrap_or(0)) % 97 + 2;
        let wrong = if wrong == check {
            (check - 2 + 1) % 97 + 2
        } else {
            wrong
        };
        let bad = format!("{}{wrong:02}{}", &valid[..2], &valid[4..]);
        debug_assert!(!iban_valid(&bad));
        let bad = if rng.chance(50) {
            group_by_four(&bad)
        } else {
            bad
        };
        out.push(
            rng.pick(&["iban {} for payout", "IBAN: {}", "transfer to {} tomorrow"])
                .replace("{}", &bad),
        );
    }
    // Git SHAs and hex hashes.
    for _ in 0..100 {
        out.push(match rng.below(5) {
            0 => format!("commit {}", rng.string(LOWER_HEX, 40)),
            1 => {
                let len = 7 + rng.below(6);
                format!("merged {} into main", rng.string(LOWER_HEX, len))
            }
            2 => format!("sha256:{}", rng.string(LOWER_HEX, 64)),
            3 => format!("etag \"{}\"", rng.string(LOWER_HEX, 32)),
            _ => format!("md5 {} ok", rng.string(LOWER_HEX, 32).to_ascii_uppercase()),
        });
    }
    // Words that contain sensitive-looking parts, and near-misses of secrets and emails.
    let words = [
        "the passenger bypassed the queue",
        "bypass mode enabled for passenger 12",
        "tokenizer warmup done",
        "keyboard layout set to de",
        "the secretary signed the compass report",
        "spinner shown for 300 ms",
        "Bearer token missing",
        "Authorization: Bearer short",
        "AKIA is the prefix of AWS access keys",
        "ghp_ tokens start with ghp",
        "sk_live_ keys are for production",
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUY\n-----END CERTIFICATE-----",
        "write to jane at example dot com",
        "mention @jane.doe in the channel",
        "user@localhost rejected",
        "rating 4.5 out of 5",
        "price 1,234,567.89 EUR",
        "ISBN 978-3-16-148410-0",
        "room 4-12, floor 3",
        "MAC 00:1a:2b:3c:4d:5e up",
        "time 12:30:45",
        "ratio 999.999.999.999",
        "port 8080 on localhost:8080",
        "lat 48.858370 lon 2.294481",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
        "served logo@2x.png from cache",
        "eyJub3BlIjoxfQ.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl",
    ];
    for word in words {
        out.push(word.to_owned());
    }
    for _ in 0..100 {
        let len = 10 + rng.below(5);
        out.push(match rng.below(6) {
            0 => format!("AKIA{} truncated", rng.string(UPPER_DIGITS, len)),
            1 => format!("ghp_{} truncated", rng.string(ALNUM, len + 10)),
            2 => format!("sk_live_{} truncated", rng.string(ALNUM, len - 5)),
            3 => format!("request {} of {}", rng.range(1, 999), rng.range(1000, 9999)),
            4 => format!(
                "build #{} passed in {}s",
                rng.range(1000, 99_999),
                rng.range(1, 999)
            ),
            _ => format!("amount {}.{} USD", rng.range(1, 99_999), rng.digits(2)),
        });
    }
    out.extend(card_shaped_ids(rng));
    out.extend(phones_in_base64(rng));
    out
}

/// `len` lower-case hex digits that start and end with a letter.
fn hex_letters_outside(rng: &mut Rng, len: usize) -> String {
    let inner = rng.string(LOWER_HEX, len.saturating_sub(2));
    format!(
        "{}{inner}{}",
        rng.pick(&['a', 'c', 'e']),
        rng.pick(&['b', 'd', 'f'])
    )
}

/// Luhn-valid numbers under a card brand's prefix where no card is: in a UUID's first three
/// groups (8-4-4, issue 14's request id `62886557-0987-4987-a2b1-b64bbea42c13`), in groupings
/// cards are not printed in, with mixed separators, inside a longer hex token, or joined by
/// `-` to hex groups. (3-3-3-3-4 is left out: its last ten digits are a national phone
/// number's 3-3-4.)
fn card_shaped_ids(rng: &mut Rng) -> Vec<String> {
    let mut out = vec!["request_id=62886557-0987-4987-a2b1-b64bbea42c13 status=200".to_owned()];
    let templates = [
        "request_id={} status=200",
        "trace {}",
        "\"id\": \"{}\"",
        "user {} logged in",
    ];
    for _ in 0..60 {
        // The version digit is the first of the third group.
        let mut payload = card_of_length(rng, 16)[..15].to_owned();
        let version = *rng.pick(&["4", "1", "7"]);
        payload.replace_range(12..13, version);
        let digits = format!("{payload}{}", luhn_check_digit(&payload));
        let uuid = format!(
            "{}-{}-{}-{}{}-{}",
            &digits[..8],
            &digits[8..12],
            &digits[12..],
            rng.pick(&["8", "9", "a", "b"]),
            rng.string(LOWER_HEX, 3),
            hex_letters_outside(rng, 12)
        );
        out.push(rng.pick(&templates).replace("{}", &uuid));
    }
    // Groupings no card is printed in: 4-3-3-3-3, 8-8, 4-4-8, 2-2-4-4-4, 5-5-6, 6-10.
    const GROUPINGS: &[&[usize]] = &[
        &[4, 3, 3, 3, 3],
        &[8, 8],
        &[4, 4, 8],
        &[2, 2, 4, 4, 4],
        &[5, 5, 6],
        &[6, 10],
    ];
    for i in 0..60 {
        let digits = card_of_length(rng, 16);
        let separator = if rng.chance(50) { " " } else { "-" };
        let mut parts = Vec::new();
        let mut at = 0;
        for size in GROUPINGS[i % GROUPINGS.len()] {
            parts.push(&digits[at..at + size]);
            at += size;
        }
        let template = *rng.pick(&["ref {} pending", "batch {} done", "code: {}"]);
        out.push(template.replace("{}", &parts.join(separator)));
    }
    // 4-4-4-4 with two kinds of separator (`4111-1111 1111-1111`).
    for _ in 0..30 {
        let digits = card_of_length(rng, 16);
        let separators = *rng.pick(&[["-", " ", "-"], [" ", "-", " "], ["-", "-", " "]]);
        let value = format!(
            "{}{}{}{}{}{}{}",
            &digits[..4],
            separators[0],
            &digits[4..8],
            separators[1],
            &digits[8..12],
            separators[2],
            &digits[12..]
        );
        out.push(format!("ref {value} pending"));
    }
    // Inside a longer hex token, or joined by `-` to hex groups.
    for i in 0..60 {
        let digits = card_of_length(rng, 16);
        let value = match i % 4 {
            0 => format!(
                "{}{digits}{}",
                hex_letters_outside(rng, 8),
                hex_letters_outside(rng, 8)
            ),
            1 => format!("{}{digits}", hex_letters_outside(rng, 24)),
            2 => format!(
                "{digits}-{}-{}",
                hex_letters_outside(rng, 4),
                hex_letters_outside(rng, 12)
            ),
            _ => format!(
                "{}-{digits}-{}",
                hex_letters_outside(rng, 8),
                hex_letters_outside(rng, 4)
            ),
        };
        let template = *rng.pick(&["sha {} verified", "object {} stored", "etag {}"]);
        out.push(template.replace("{}", &value));
    }
    out
}

/// Standard base64 holding `+` and 8-14 digits after a letter (`ab+41555526711/cd`): a `+`
/// inside a token is not where a phone number starts.
fn phones_in_base64(rng: &mut Rng) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..60 {
        let (head_len, digits_len, tail_len) =
            (1 + rng.below(16), 7 + rng.below(7), 2 + rng.below(16));
        let mut blob = format!(
            "{}{}+{}{}/{}",
            rng.string(B64, head_len),
            char::from(*rng.pick(UPPER)).to_ascii_lowercase(),
            rng.range(1, 9),
            rng.digits(digits_len),
            rng.string(ALNUM, tail_len)
        );
        if blob.len() % 4 == 1 {
            blob.push('Q');
        }
        while blob.len() % 4 != 0 {
            blob.push('=');
        }
        let template = *rng.pick(&["blob={} ok", "data: {}", "\"payload\":\"{}\"", "{}"]);
        out.push(template.replace("{}", &blob));
    }
    out
}

// ---------------------------------------------------------------------------------------
// JSON documents
// ---------------------------------------------------------------------------------------

/// Wraps a string value in one of a few document shapes; returns the document and its path.
fn wrap(rng: &mut Rng, value: Value) -> (Value, String) {
    match rng.below(5) {
        0 => (
            json!({"level": "info", "ts": "2026-11-22T14:03:07Z", "msg": value}),
            "msg".into(),
        ),
        1 => (
            json!({"user": {"id": 7, "profile": {"note": value}}}),
            "user.profile.note".into(),
        ),
        2 => (
            json!({"events": [{"id": 1}, {"detail": value}]}),
            "events[1].detail".into(),
        ),
        3 => (
            json!({"meta": {"free-text": value}}),
            r#"meta["free-text"]"#.into(),
        ),
        _ => (
            json!({"batch": [[value]], "count": 1}),
            "batch[0][0]".into(),
        ),
    }
}

/// JSON documents: a quarter of the positive and negative sentences as string values, values
/// alone as string values, and compact card numbers as JSON numbers.
pub fn documents(seed: u64) -> Vec<LabeledDocument> {
    let (positives, negatives) = generate(seed);
    let mut rng = Rng::new(seed ^ 0x6a73_6f6e);
    let mut out = Vec::new();
    for item in positives.iter().step_by(4) {
        let (document, path) = wrap(&mut rng, Value::String(item.text.clone()));
        out.push(LabeledDocument {
            document,
            findings: item.spans.iter().map(|s| (path.clone(), *s)).collect(),
            path,
            text: item.text.clone(),
        });
    }
    for text in negatives.iter().step_by(4) {
        let (document, path) = wrap(&mut rng, Value::String(text.clone()));
        out.push(LabeledDocument {
            document,
            findings: Vec::new(),
            path,
            text: text.clone(),
        });
    }
    for kind in TYPES {
        for _ in 0..30 {
            let sample = sample(&mut rng, kind);
            if !sample.standalone {
                continue;
            }
            let span = Span {
                kind,
                start: 0,
                end: sample.value.len(),
            };
            let (document, path) = wrap(&mut rng, Value::String(sample.value.clone()));
            out.push(LabeledDocument {
                document,
                findings: vec![(path.clone(), span)],
                path,
                text: sample.value,
            });
        }
    }
    for _ in 0..40 {
        let digits = card_digits(&mut rng);
        let number: u64 = digits.parse().unwrap_or(0);
        let span = Span {
            kind: PiiType::CreditCard,
            start: 0,
            end: digits.len(),
        };
        out.push(LabeledDocument {
            document: json!({"payment": {"card_no": number, "amount": 1250}}),
            findings: vec![("payment.card_no".into(), span)],
            path: "payment.card_no".into(),
            text: digits,
        });
    }
    out
}

// ---------------------------------------------------------------------------------------
// Scoring
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Counts {
    fn precision(self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        }
    }

    fn recall(self) -> f64 {
        if self.tp + self.fn_ == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fn_) as f64
        }
    }
}

/// Per-type counts and the failing examples (a few per type and kind of error).
#[derive(Default)]
struct Score {
    counts: BTreeMap<PiiType, Counts>,
    examples: BTreeMap<(PiiType, &'static str), Vec<String>>,
}

impl Score {
    /// Scores one text (or one JSON string, `path`): `found` are the detector's findings of the
    /// labeled types, `expected` the labels. A finding counts only with the exact type and span.
    fn add<P: PartialEq + Clone + std::fmt::Debug>(
        &mut self,
        context: &str,
        expected: &[(P, Span)],
        found: &[(P, Span)],
    ) {
        for item in expected {
            let counts = self.counts.entry(item.1.kind).or_default();
            if found.contains(item) {
                counts.tp += 1;
            } else {
                counts.fn_ += 1;
                self.example(item.1.kind, "missed", context, item, found);
            }
        }
        for item in found {
            if !expected.contains(item) {
                self.counts.entry(item.1.kind).or_default().fp += 1;
                self.example(item.1.kind, "false positive", context, item, found);
            }
        }
    }

    fn example<P: std::fmt::Debug>(
        &mut self,
        kind: PiiType,
        error: &'static str,
        context: &str,
        item: &(P, Span),
        found: &[(P, Span)],
    ) {
        let list = self.examples.entry((kind, error)).or_default();
        if list.len() < 12 {
            list.push(format!(
                "{context:?} span {:?} {}..{}; found {found:?}",
                item.0, item.1.start, item.1.end
            ));
        }
    }

    fn table(&self, title: &str) -> String {
        let mut out = format!(
            "{title}\n{:<12} {:>6} {:>6} {:>6} {:>10} {:>8}\n",
            "type", "tp", "fp", "fn", "precision", "recall"
        );
        for kind in TYPES {
            let c = self.counts.get(&kind).copied().unwrap_or_default();
            let _ = writeln!(
                out,
                "{:<12} {:>6} {:>6} {:>6} {:>10.4} {:>8.4}",
                kind.as_str(),
                c.tp,
                c.fp,
                c.fn_,
                c.precision(),
                c.recall()
            );
        }
        out
    }

    fn failures(&self) -> String {
        let mut out = String::new();
        for ((kind, error), list) in &self.examples {
            let _ = writeln!(out, "{kind} {error} (first {}):", list.len());
            for line in list {
                let _ = writeln!(out, "  {line}");
            }
        }
        out
    }

    /// The types below their floor, with the numbers.
    fn below_floors(&self) -> Vec<(PiiType, String)> {
        FLOORS
            .iter()
            .filter_map(|&(kind, floor)| {
                let c = self.counts.get(&kind).copied().unwrap_or_default();
                (c.precision() < floor || c.recall() < floor).then(|| {
                    (
                        kind,
                        format!(
                            "{kind}: precision {:.4}, recall {:.4}, floor {floor}",
                            c.precision(),
                            c.recall()
                        ),
                    )
                })
            })
            .collect()
    }
}

fn labeled(found: Vec<(PiiType, std::ops::Range<usize>)>) -> Vec<((), Span)> {
    found
        .into_iter()
        .filter(|(kind, _)| TYPES.contains(kind))
        .map(|(kind, range)| {
            (
                (),
                Span {
                    kind,
                    start: range.start,
                    end: range.end,
                },
            )
        })
        .collect()
}

/// Types known to be below a floor because of a detector limitation, with the reason. The
/// floor is not lowered: the test prints the numbers and examples for these, and fails if one
/// of them is back above its floor so that its entry gets removed.
/// Types allowed below their floor, each with the detector bug that keeps it there. Empty: the
/// IBAN bug this once held (a following " BIC" swallowed by the optional last group) is fixed.
const KNOWN_BELOW_FLOOR: &[(PiiType, &str)] = &[];

fn write_outputs(out: &Path, positives: &[LabeledText], negatives: &[String], detector: &Detector) {
    let mut corpus = String::new();
    let mut findings = String::new();
    let texts = positives
        .iter()
        .map(|p| (p.text.as_str(), p.spans.as_slice()))
        .chain(negatives.iter().map(|n| (n.as_str(), &[][..])));
    for (text, spans) in texts {
        let spans: Vec<Value> = spans
            .iter()
            .map(|s| json!({"type": s.kind.as_str(), "start": s.start, "end": s.end}))
            .collect();
        corpus.push_str(&json!({"text": text, "spans": spans}).to_string());
        corpus.push('\n');
        let found: Vec<Value> = labeled(detector.detect(text))
            .iter()
            .map(|(_, s)| json!({"type": s.kind.as_str(), "start": s.start, "end": s.end}))
            .collect();
        findings.push_str(&json!({"findings": found}).to_string());
        findings.push('\n');
    }
    std::fs::write(out, corpus).expect("write the corpus");
    std::fs::write(out.with_extension("rampart.jsonl"), findings).expect("write the findings");
    eprintln!(
        "corpus written to {} ({} texts), findings to {}",
        out.display(),
        positives.len() + negatives.len(),
        out.with_extension("rampart.jsonl").display()
    );
}

/// Times `Detector::detect` over every text, in passes until two seconds have gone by.
fn bench(detector: &Detector, texts: &[&str]) -> Value {
    let bytes: usize = texts.iter().map(|t| t.len()).sum();
    for text in texts {
        std::hint::black_box(detector.detect(text));
    }
    let started = Instant::now();
    let mut passes = 0u32;
    while started.elapsed() < Duration::from_secs(2) {
        for text in texts {
            std::hint::black_box(detector.detect(std::hint::black_box(text)));
        }
        passes += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    let mb_per_s = bytes as f64 * f64::from(passes) / seconds / 1e6;
    let per_text_us = seconds * 1e6 / (texts.len() as f64 * f64::from(passes));
    eprintln!(
        "rampart Detector::detect: {mb_per_s:.2} MB/s, {per_text_us:.2} us/text ({} texts, {bytes} bytes, {passes} passes, {}build)",
        texts.len(),
        if cfg!(debug_assertions) {
            "debug "
        } else {
            "release "
        }
    );
    json!({"throughput_mb_s": mb_per_s, "us_per_text": per_text_us, "texts": texts.len(), "bytes": bytes, "passes": passes, "release": !cfg!(debug_assertions)})
}

#[test]
fn corpus_is_deterministic_and_well_formed() {
    let (positives, negatives) = generate(SEED);
    let (again, again_negatives) = generate(SEED);
    assert_eq!(
        positives.iter().map(|p| &p.text).collect::<Vec<_>>(),
        again.iter().map(|p| &p.text).collect::<Vec<_>>()
    );
    assert_eq!(negatives, again_negatives);
    for kind in TYPES {
        let count = positives
            .iter()
            .flat_map(|p| &p.spans)
            .filter(|s| s.kind == kind)
            .count();
        assert!(count >= 200, "{kind}: {count} positives");
    }
    assert!(negatives.len() >= 1000, "{} negatives", negatives.len());
    for item in &positives {
        assert!(item.text.is_ascii(), "{:?}", item.text);
        for span in &item.spans {
            assert!(span.start < span.end && span.end <= item.text.len());
        }
    }
    assert!(negatives.iter().all(|n| n.is_ascii()));
    // The generators' checksums agree with published examples.
    assert!(luhn_valid("4111111111111111") && !luhn_valid("4111111111111112"));
    assert_eq!(luhn_check_digit("37828224631000"), 5);
    assert_eq!(iban_check_digits("DE", "370400440532013000"), 89);
    assert_eq!(iban_check_digits("GB", "WEST12345698765432"), 82);
}

#[test]
fn corpus_precision_and_recall_per_type() {
    let (positives, negatives) = generate(SEED);
    let detector = Detector::new();
    let mut score = Score::default();
    for item in &positives {
        let expected: Vec<((), Span)> = item.spans.iter().map(|s| ((), *s)).collect();
        score.add(&item.text, &expected, &labeled(detector.detect(&item.text)));
    }
    for text in &negatives {
        score.add(text, &[], &labeled(detector.detect(text)));
    }
    let positives_count = positives.iter().map(|p| p.spans.len()).sum::<usize>();
    eprintln!(
        "{}",
        score.table(&format!("corpus (seed {SEED:#x}): {} texts with {positives_count} labeled values, {} hard negatives", positives.len(), negatives.len()))
    );
    eprintln!("{}", score.failures());

    if let Some(out) = std::env::var_os("RAMPART_PII_CORPUS_OUT") {
        let out = Path::new(&out);
        write_outputs(out, &positives, &negatives, &detector);
        if std::env::var_os("RAMPART_PII_BENCH").is_some() {
            let texts: Vec<&str> = positives
                .iter()
                .map(|p| p.text.as_str())
                .chain(negatives.iter().map(String::as_str))
                .collect();
            let summary = bench(&detector, &texts);
            std::fs::write(out.with_extension("rampart.json"), summary.to_string())
                .expect("write the summary");
        }
    } else if std::env::var_os("RAMPART_PII_BENCH").is_some() {
        let texts: Vec<&str> = positives
            .iter()
            .map(|p| p.text.as_str())
            .chain(negatives.iter().map(String::as_str))
            .collect();
        bench(&detector, &texts);
    }

    let below = score.below_floors();
    for (kind, reason) in KNOWN_BELOW_FLOOR {
        let still = below.iter().any(|(k, _)| k == kind);
        assert!(
            still,
            "{kind} is above its floor again: remove its KNOWN_BELOW_FLOOR entry ({reason})"
        );
        eprintln!("KNOWN BELOW FLOOR, not asserted: {kind}: {reason}");
    }
    let unexpected: Vec<&String> = below
        .iter()
        .filter(|(k, _)| !KNOWN_BELOW_FLOOR.iter().any(|(known, _)| known == k))
        .map(|(_, m)| m)
        .collect();
    assert!(
        unexpected.is_empty(),
        "below the floor: {unexpected:?}\n{}",
        score.failures()
    );
}

/// In JSON documents the redactor finds, at the value's path, exactly what the detector finds
/// in the value as text (for numbers, in their digits); the table scores the documents.
#[test]
fn corpus_json_documents_report_paths_and_offsets() {
    let documents = documents(SEED);
    let detector = Detector::new();
    let redactor = Redactor::new(Policy::default_policy(), HashKey::new([7; 32])).unwrap();
    let mut score = Score::default();
    let mut inconsistent = Vec::new();
    for item in &documents {
        let redacted = redactor.redact_json(&item.document);
        let found: Vec<(String, Span)> = redacted
            .findings
            .iter()
            .filter(|f| TYPES.contains(&f.kind))
            .map(|f| {
                (
                    f.path.clone().unwrap_or_default(),
                    Span {
                        kind: f.kind,
                        start: f.start,
                        end: f.end,
                    },
                )
            })
            .collect();
        let as_text: Vec<(String, Span)> = labeled(detector.detect(&item.text))
            .into_iter()
            .map(|((), span)| (item.path.clone(), span))
            .collect();
        if found != as_text {
            inconsistent.push(format!(
                "{}: redact_json {found:?}, detect {as_text:?}",
                item.document
            ));
        }
        score.add(&item.document.to_string(), &item.findings, &found);
    }
    eprintln!(
        "{}",
        score.table(&format!("JSON documents: {}", documents.len()))
    );
    eprintln!("{}", score.failures());
    assert!(
        inconsistent.is_empty(),
        "JSON findings differ from text findings:\n{}",
        inconsistent.join("\n")
    );
    let labeled_values: usize = documents.iter().map(|d| d.findings.len()).sum();
    assert!(
        labeled_values >= 500,
        "{labeled_values} labeled values in documents"
    );
}
