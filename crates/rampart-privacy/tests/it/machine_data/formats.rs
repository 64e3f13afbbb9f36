//! Generators of formatted machine values: version strings, timestamps in every common form,
//! durations, byte sizes, ISBNs, order numbers, phone-like numeric ids, currency amounts, OIDs
//! and MAC addresses.

use crate::corpus::{DIGITS, Rng};

use super::ids::hex;

/// Version strings of software, user agents and runtimes (never a bare dotted quad, which is
/// an IPv4 address).
pub(super) fn version(rng: &mut Rng) -> String {
    let (a, b, c, d) = (
        rng.range(0, 30),
        rng.range(0, 99),
        rng.range(0, 255),
        rng.range(0, 255),
    );
    match rng.below(16) {
        0 => format!("v{a}.{b}.{c}.{d}"),
        1 => format!("V{a}.{b}.{c}.{d}"),
        2 => format!(
            "{a}.{b}.{c}-{}.{}+build.{}",
            rng.pick(&["rc", "beta", "alpha"]),
            rng.range(1, 9),
            rng.range(1, 999)
        ),
        3 => format!(
            "Chrome/{}.0.{}.{}",
            rng.range(90, 130),
            rng.range(4000, 6999),
            rng.range(1, 250)
        ),
        4 => format!("go1.{}.{}", rng.range(10, 23), rng.range(0, 12)),
        5 => format!("{a}.{b}.{c}"),
        6 => format!("v{a}.{b}.{c}"),
        7 => format!("{a}.{b}.{c}+{}", hex(rng, 7)),
        8 => format!("Firefox/{}.0", rng.range(100, 130)),
        9 => format!(
            "{}/{a}.{b}.{c}",
            rng.pick(&[
                "nginx",
                "curl",
                "Python",
                "node",
                "okhttp",
                "Go-http-client"
            ])
        ),
        10 => format!(
            "10.0.{}.{}",
            rng.range(10_000, 22_999),
            rng.range(1000, 9999)
        ),
        11 => format!("{a}.{b}.{c}-{}-aws", rng.range(1000, 1999)),
        12 => format!("{a}.{b}.{c}.{d}.{}", rng.range(0, 99)),
        13 => format!("{}.{b}.{c}_{}", rng.range(1, 21), rng.range(1, 400)),
        14 => format!("release-{a}.{b}"),
        _ => format!("{a}.{b}.{c}-SNAPSHOT"),
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/// Day of the week, 0 = Sunday (Sakamoto's method).
fn weekday(year: u32, month: u32, day: u32) -> usize {
    const OFFSETS: [u32; 12] = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
    let y = if month < 3 { year - 1 } else { year };
    let index = usize::try_from(month - 1).unwrap_or(0);
    usize::try_from((y + y / 4 - y / 100 + y / 400 + OFFSETS[index] + day) % 7).unwrap_or(0)
}

/// Timestamps: RFC 3339 (with and without fraction and offset), RFC 2822 and HTTP dates,
/// Apache CLF, syslog, Python logging, `date`, Go's log, epoch seconds to nanoseconds and
/// compact ISO 8601.
pub(super) fn timestamp(rng: &mut Rng) -> String {
    let (y, mo, d) = (rng.range(2000, 2030), rng.range(1, 12), rng.range(1, 28));
    let (h, mi, s) = (rng.range(0, 23), rng.range(0, 59), rng.range(0, 59));
    let month = MONTHS[usize::try_from(mo - 1).unwrap_or(0)];
    let day_name = WEEKDAYS[weekday(y, mo, d)];
    let offset = *rng.pick(&["+00:00", "+01:00", "-05:00", "+05:30", "-08:00", "+09:00"]);
    let compact_offset = offset.replace(':', "");
    let epoch = 1_000_000_000 + u64::from(rng.range(0, 899_999_999));
    let fraction_len = *rng.pick(&[3, 6, 9]);
    match rng.below(20) {
        0 => format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"),
        1 => format!(
            "{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{}Z",
            rng.digits(fraction_len)
        ),
        2 => format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{offset}"),
        3 => format!(
            "{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{}{offset}",
            rng.digits(6)
        ),
        4 => format!("{day_name}, {d:02} {month} {y} {h:02}:{mi:02}:{s:02} {compact_offset}"),
        5 => format!("{day_name}, {d:02} {month} {y} {h:02}:{mi:02}:{s:02} GMT"),
        6 => format!("{d:02}/{month}/{y}:{h:02}:{mi:02}:{s:02} {compact_offset}"),
        7 => format!("[{d:02}/{month}/{y}:{h:02}:{mi:02}:{s:02} {compact_offset}]"),
        8 => format!("{month} {d:>2} {h:02}:{mi:02}:{s:02}"),
        9 => format!("{y}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02},{}", rng.digits(3)),
        10 => epoch.to_string(),
        11 => format!("{epoch}{}", rng.digits(3)),
        12 => format!("{epoch}{}", rng.digits(6)),
        13 => format!("{epoch}{}", rng.digits(9)),
        14 => format!("{y}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z"),
        15 => format!("{day_name} {month} {d:>2} {h:02}:{mi:02}:{s:02} UTC {y}"),
        16 => format!("{y}/{mo:02}/{d:02} {h:02}:{mi:02}:{s:02}"),
        17 => format!(
            "{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{}{compact_offset}",
            rng.digits(3)
        ),
        18 => format!("{epoch}.{}", rng.digits(fraction_len.min(6))),
        _ => format!("{y}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{}", rng.digits(3)),
    }
}

/// Durations: Go's (`1h2m3.5s`, `350ms`), ISO 8601 (`PT1H30M`), clock (`00:01:23.456`).
pub(super) fn duration(rng: &mut Rng) -> String {
    let (h, m, s) = (rng.range(0, 23), rng.range(0, 59), rng.range(0, 59));
    match rng.below(12) {
        0 => format!("{h}h{m}m{s}.{}s", rng.range(0, 9)),
        1 => format!("{}ms", rng.range(0, 99_999)),
        2 => {
            let fraction_len = 1 + rng.below(6);
            format!("{}.{}s", rng.range(0, 999), rng.digits(fraction_len))
        }
        3 => format!("PT{h}H{m}M"),
        4 => format!("PT{s}.{}S", rng.digits(3)),
        5 => format!("P{}DT{h}H{m}M{s}S", rng.range(1, 30)),
        6 => format!("{h:02}:{m:02}:{s:02}.{}", rng.digits(3)),
        7 => format!("{}us", rng.range(1, 999_999)),
        8 => format!("{}.{}ms", rng.range(0, 999), rng.digits(6)),
        9 => format!("{}\u{b5}s", rng.range(1, 9999)),
        10 => format!("{m}m{s}s"),
        _ => format!("{}d{h}h", rng.range(1, 400)),
    }
}

/// Byte sizes: `1.5 GiB`, `1048576 bytes`, `12,345,678 B`.
pub(super) fn byte_size(rng: &mut Rng) -> String {
    let unit = *rng.pick(&["B", "KiB", "MiB", "GiB", "TiB", "kB", "MB", "GB", "TB"]);
    match rng.below(7) {
        0 => format!("{}.{} {unit}", rng.range(0, 1023), rng.range(0, 9)),
        1 => format!("{}{unit}", rng.range(1, 4096)),
        2 => {
            let power = rng.range(10, 40);
            format!("{} bytes", (1u64 << power) * u64::from(rng.range(1, 3)))
        }
        3 => {
            let n = u64::from(rng.range(1_000, 999_999)) * u64::from(rng.range(1, 999));
            format!("{} B", thousands(n, ','))
        }
        4 => format!("{}.{}G", rng.range(1, 64), rng.range(0, 9)),
        5 => format!("size={}", rng.range(0, 2_000_000_000)),
        _ => format!("{} bytes", rng.range(0, 999_999)),
    }
}

/// `n` with `separator` between groups of three digits.
pub(super) fn thousands(n: u64, separator: char) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(c);
    }
    out
}

/// ISBN-10 and ISBN-13 with computed check digits, hyphenated as publishers do or compact.
pub(super) fn isbn(rng: &mut Rng) -> String {
    // Registration group, publisher and title lengths (their sum is 9).
    const SPLITS: &[(usize, usize, usize)] =
        &[(1, 3, 5), (1, 2, 6), (1, 4, 4), (2, 3, 4), (1, 5, 3)];
    let (group, publisher, title) = *rng.pick(SPLITS);
    let body = rng.digits(9);
    let hyphenated = |body: &str, check: &str| {
        format!(
            "{}-{}-{}-{check}",
            &body[..group],
            &body[group..group + publisher],
            &body[group + publisher..group + publisher + title]
        )
    };
    let (value, compact) = if rng.chance(50) {
        let sum: u32 = body
            .bytes()
            .enumerate()
            .map(|(i, b)| u32::from(b - b'0') * (10 - u32::try_from(i).unwrap_or(0)))
            .sum();
        let check = match (11 - sum % 11) % 11 {
            10 => "X".to_owned(),
            n => n.to_string(),
        };
        (hyphenated(&body, &check), format!("{body}{check}"))
    } else {
        let prefix = *rng.pick(&["978", "978", "979"]);
        let digits = format!("{prefix}{body}");
        let sum: u32 = digits
            .bytes()
            .enumerate()
            .map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 1 } else { 3 })
            .sum();
        let check = ((10 - sum % 10) % 10).to_string();
        (
            format!("{prefix}-{}", hyphenated(&body, &check)),
            format!("{digits}{check}"),
        )
    };
    match rng.below(5) {
        0 => compact,
        1 => format!("ISBN {value}"),
        _ => value,
    }
}

/// Order, invoice and purchase-order numbers, and parcel tracking numbers.
pub(super) fn order_number(rng: &mut Rng) -> String {
    match rng.below(9) {
        0 => format!("ORD-{}-{:06}", rng.range(2015, 2030), rng.range(1, 999_999)),
        1 => format!("#{}", rng.range(1001, 999_999)),
        2 => format!("PO-45{}", rng.digits(8)),
        3 => format!("INV-{}-{:05}", rng.range(2015, 2030), rng.range(1, 99_999)),
        4 => format!(
            "{}-{}-{}",
            rng.range(100, 199),
            rng.digits(7),
            rng.digits(7)
        ),
        5 => format!("SO{}", rng.digits(8)),
        6 => format!("1Z{}{}", hex(rng, 6).to_ascii_uppercase(), rng.digits(10)),
        7 => format!("94001{}", rng.digits(17)),
        _ => format!("order_{}", rng.digits(10)),
    }
}

/// Ids of 10-11 contiguous digits that look like phone numbers but carry no separator or `+`.
pub(super) fn numeric_id(rng: &mut Rng) -> String {
    let nanp = format!(
        "{}{}{}{}{}",
        rng.range(2, 9),
        rng.digits(2),
        rng.range(2, 9),
        rng.digits(2),
        rng.digits(4)
    );
    match rng.below(6) {
        0 => nanp,
        1 => format!("1{nanp}"),
        2 => format!("id={nanp}"),
        3 => format!("id=1{nanp}"),
        4 => format!("user_id:{}{}", rng.range(1, 9), rng.string(DIGITS, 9)),
        _ => format!("{}{}", rng.range(1, 9), rng.string(DIGITS, 10)),
    }
}

/// Currency amounts in the notations of several locales.
pub(super) fn currency(rng: &mut Rng) -> String {
    let whole = u64::from(rng.range(0, 99_999_999));
    let small = rng.range(0, 9_999);
    let cents = rng.range(0, 99);
    match rng.below(12) {
        0 => format!("${}.{cents:02}", thousands(whole, ',')),
        1 => format!("\u{20ac} {},{cents:02}", thousands(whole, '.')),
        2 => format!("USD {}.{cents:02}", thousands(whole, ',')),
        3 => format!("-{small}.{cents:02} EUR"),
        4 => format!("JPY {}", thousands(whole, ' ')),
        5 => format!("\u{a3}{small}.{cents:02}"),
        6 => format!("CHF {}.{cents:02}", thousands(u64::from(small), '\'')),
        7 => format!("{},{cents:02} \u{20ac}", thousands(whole, '.')),
        8 => format!("(${}.{cents:02})", thousands(u64::from(small), ',')),
        9 => format!("{}.{}M USD", rng.range(1, 999), rng.range(0, 9)),
        10 => format!("amount={small}.{cents:02}&currency=EUR"),
        _ => format!("{}{small}.{cents:02}", rng.pick(&["+", "-"])),
    }
}

/// Object identifiers of five or more arcs (`1.3.6.1.4.1.311.21.20`).
pub(super) fn oid(rng: &mut Rng) -> String {
    const KNOWN: &[&str] = &[
        "1.3.6.1.4.1.311.21.20",
        "2.16.840.1.113730.3.1.2",
        "1.2.840.113549.1.1.11",
        "1.3.6.1.2.1.1.3.0",
        "1.3.6.1.4.1.2021.10.1.3.1",
        "2.5.29.37.0.1",
        "1.3.6.1.5.5.7.3.1",
        "0.9.2342.19200300.100.1.25",
    ];
    let value = match rng.below(3) {
        0 => (*rng.pick(KNOWN)).to_owned(),
        1 => {
            let arcs = 2 + rng.below(6);
            let tail: Vec<String> = (0..arcs).map(|_| rng.range(0, 255).to_string()).collect();
            format!("1.3.6.1.4.1.{}.{}", rng.range(1, 60_000), tail.join("."))
        }
        _ => {
            let arcs = 5 + rng.below(6);
            let mut parts = vec![rng.range(0, 2).to_string(), rng.range(0, 39).to_string()];
            parts.extend((2..arcs).map(|_| rng.range(0, 255).to_string()));
            parts.join(".")
        }
    };
    match rng.below(8) {
        0 => format!("urn:oid:{value}"),
        1 => format!("oid={value}"),
        _ => value,
    }
}

/// MAC addresses with colons, dashes, Cisco dots or none.
pub(super) fn mac(rng: &mut Rng) -> String {
    let oui = *rng.pick(&["001a2b", "3c22fb", "f45c89", "acde48", "0242ac", "000c29"]);
    let mut bytes = if rng.chance(50) {
        oui.to_owned()
    } else {
        hex(rng, 6)
    };
    bytes.push_str(&hex(rng, 6));
    let octets: Vec<&str> = (0..6).map(|i| &bytes[i * 2..i * 2 + 2]).collect();
    let value = match rng.below(5) {
        0 | 1 => octets.join(":"),
        2 => octets.join("-"),
        3 => format!("{}.{}.{}", &bytes[..4], &bytes[4..8], &bytes[8..]),
        _ => bytes.clone(),
    };
    if rng.chance(40) {
        value.to_ascii_uppercase()
    } else {
        value
    }
}
