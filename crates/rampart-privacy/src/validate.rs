//! Validators: each takes a candidate the patterns found and says whether it really is one.
//! They are what keeps order numbers, version strings and ids out of the findings.

use base64::Engine as _;

/// Luhn checksum over ASCII digits.
pub fn luhn(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut n = u32::from(d.wrapping_sub(b'0'));
        if n > 9 {
            return false;
        }
        if !i.is_multiple_of(2) {
            n *= 2;
            if n > 9 {
                n -= 9;
            }
        }
        sum += n;
    }
    sum.is_multiple_of(10)
}

fn prefix_in(digits: &str, len: usize, low: u32, high: u32) -> bool {
    digits
        .get(..len)
        .and_then(|p| p.parse::<u32>().ok())
        .is_some_and(|p| (low..=high).contains(&p))
}

/// The card brand of a PAN, checking the brand's lengths; `None` when no brand matches.
pub fn card_brand(digits: &str) -> Option<&'static str> {
    let len = digits.len();
    if digits.starts_with('4') && matches!(len, 13 | 16 | 19) {
        return Some("visa");
    }
    if (prefix_in(digits, 2, 51, 55) || prefix_in(digits, 4, 2221, 2720)) && len == 16 {
        return Some("mastercard");
    }
    if (digits.starts_with("34") || digits.starts_with("37")) && len == 15 {
        return Some("amex");
    }
    if (digits.starts_with("6011")
        || digits.starts_with("65")
        || prefix_in(digits, 3, 644, 649)
        || prefix_in(digits, 6, 622126, 622925))
        && (16..=19).contains(&len)
    {
        return Some("discover");
    }
    if prefix_in(digits, 4, 3528, 3589) && (16..=19).contains(&len) {
        return Some("jcb");
    }
    if (prefix_in(digits, 3, 300, 305)
        || digits.starts_with("36")
        || digits.starts_with("38")
        || digits.starts_with("39"))
        && (14..=19).contains(&len)
    {
        return Some("diners");
    }
    if digits.starts_with("62") && (16..=19).contains(&len) {
        return Some("unionpay");
    }
    None
}

/// The groupings card numbers are written in: contiguous, or 4-4-4-4, 4-4-4-4-3, 4-6-5
/// (15 digits, American Express) and 4-6-4 (14 digits, Diners Club).
const CARD_GROUPINGS: &[&[usize]] = &[&[4, 4, 4, 4], &[4, 4, 4, 4, 3], &[4, 6, 5], &[4, 6, 4]];

/// A card number: contiguous digits, or one of the groupings cards are printed in with one
/// kind of separator (space or dash); a known brand's length; Luhn.
pub fn credit_card(candidate: &str) -> bool {
    let mut separators = candidate.chars().filter(|c| !c.is_ascii_digit());
    if let Some(first) = separators.next() {
        if separators.any(|c| c != first) {
            return false;
        }
        let groups: Vec<usize> = candidate.split(first).map(str::len).collect();
        if !CARD_GROUPINGS.contains(&groups.as_slice()) {
            return false;
        }
    }
    let digits: String = candidate.chars().filter(char::is_ascii_digit).collect();
    if digits.chars().all(|c| c == '0') {
        return false;
    }
    card_brand(&digits).is_some() && luhn(digits.as_bytes())
}

/// A US SSN `AAA-GG-SSSS`: area not 000, 666 or 900-999; group not 00; serial not 0000.
pub fn us_ssn(candidate: &str) -> bool {
    let digits: String = candidate.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 9 {
        return false;
    }
    let area: u32 = digits.get(..3).and_then(|s| s.parse().ok()).unwrap_or(0);
    let group: u32 = digits.get(3..5).and_then(|s| s.parse().ok()).unwrap_or(0);
    let serial: u32 = digits.get(5..).and_then(|s| s.parse().ok()).unwrap_or(0);
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
        // Numbers the SSA published in advertising and never issued.
        && digits != "078051120" && digits != "219099999"
}

/// IBAN lengths per country (ISO 13616 registry).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NL", 18),
    ("NO", 15),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("SA", 24),
    ("SC", 31),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
];

/// An IBAN: its country's length and the ISO 7064 mod-97 check, in upper or lower case (not
/// mixed), compact or grouped. A compact candidate of hex digits only (`be12…`, a span id or a
/// digest) must also have a numeric BBAN, as the IBANs of those countries (AD, AE, BA, BE, DE,
/// EE) do, so hex identifiers pass by chance far less often than one in 97.
pub fn iban(candidate: &str) -> bool {
    let compact: String = candidate.chars().filter(|c| !c.is_whitespace()).collect();
    let lower = compact.chars().any(|c| c.is_ascii_lowercase());
    let upper = compact.chars().any(|c| c.is_ascii_uppercase());
    if lower && upper {
        return false;
    }
    if !candidate.contains(' ')
        && compact.chars().all(|c| c.is_ascii_hexdigit())
        && !compact
            .get(4..)
            .is_some_and(|bban| bban.bytes().all(|b| b.is_ascii_digit()))
    {
        return false;
    }
    let compact = compact.to_ascii_uppercase();
    let Some(country) = compact.get(..2) else {
        return false;
    };
    let Some(&(_, length)) = IBAN_LENGTHS.iter().find(|(c, _)| *c == country) else {
        return false;
    };
    if compact.len() != length
        || !compact
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return false;
    }
    let (head, tail) = compact.split_at(4);
    let mut remainder = 0u32;
    for c in tail.chars().chain(head.chars()) {
        let value = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    remainder == 1
}

/// An IP address (IPv4 without leading zeros, or IPv6 in any standard form).
pub fn ip_address(candidate: &str) -> bool {
    candidate.parse::<std::net::IpAddr>().is_ok()
}

/// An IPv6 address in any standard form, with an optional zone (`fe80::1%eth0`); at least
/// one hex digit (`::` alone is no one's address).
pub fn ipv6_address(candidate: &str) -> bool {
    let address = candidate.split_once('%').map_or(candidate, |(a, _)| a);
    address.bytes().any(|b| b.is_ascii_hexdigit()) && address.parse::<std::net::Ipv6Addr>().is_ok()
}

/// A JWT: three base64url parts whose header decodes to a JSON object naming an `alg`.
pub fn jwt(candidate: &str) -> bool {
    let Some(header) = candidate.split('.').next() else {
        return false;
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|v| v.get("alg").is_some())
}

/// A Rampart API key whose checksum is right.
pub fn rampart_key(candidate: &str) -> bool {
    rampart_access::ApiKey::parse(candidate).is_ok()
}

/// A phone number: 8-15 digits (E.164; a trunk prefix `(0)` after the country code, as in
/// `+44 (0)20 7946 0958`, is not dialled and not counted), and for national formats separators
/// where a number has them, so that bare ids of 10 digits are not taken for phones.
pub fn phone(candidate: &str) -> bool {
    if candidate.starts_with('+') {
        let trunk = candidate.matches("(0)").count();
        if trunk > 1 {
            return false;
        }
        let digits = candidate.replace("(0)", "");
        let count = digits.chars().filter(char::is_ascii_digit).count();
        return (8..=15).contains(&count);
    }
    let digits = candidate.chars().filter(char::is_ascii_digit).count();
    let has_separator = candidate
        .chars()
        .any(|c| matches!(c, ' ' | '-' | '.' | '(' | ')'));
    has_separator && (10..=11).contains(&digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_need_a_brand_its_length_and_luhn() {
        for pan in [
            "4111111111111111",
            "4111 1111 1111 1111",
            "5555555555554444",
            "2223003122003222",
            "378282246310005",
            "6011111111111117",
            "3530111333300000",
            "36227206271667",
            "6200000000000005",
        ] {
            assert!(credit_card(pan), "{pan}");
        }
        for bad in [
            "4111111111111112",
            "4111-1111 1111-1111",
            "1234567812345678",
            "0000000000000000",
            "41111111111111",
        ] {
            assert!(!credit_card(bad), "{bad}");
        }
        assert_eq!(card_brand("2223003122003222"), Some("mastercard"));
        assert_eq!(card_brand("6200000000000005"), Some("unionpay"));
    }

    #[test]
    fn ssn_rules() {
        assert!(us_ssn("123-45-6789"));
        for bad in [
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "123-00-4567",
            "123-45-0000",
            "078-05-1120",
        ] {
            assert!(!us_ssn(bad), "{bad}");
        }
    }

    #[test]
    fn ibans_check_country_length_and_mod97() {
        assert!(iban("DE89370400440532013000"));
        assert!(iban("GB82 WEST 1234 5698 7654 32"));
        assert!(iban("FR1420041010050500013M02606"));
        assert!(!iban("DE89370400440532013001"));
        assert!(!iban("DE8937040044053201300"));
        assert!(!iban("ZZ89370400440532013000"));
    }

    #[test]
    fn jwts_and_rampart_keys_are_checked() {
        assert!(jwt(
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlc2lnbmF0dXJl"
        ));
        assert!(!jwt("eyJub3BlIjoxfQ.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"));
        let key = rampart_access::ApiKey::generate().expect("rng");
        assert!(rampart_key(key.expose()));
        assert!(!rampart_key(&format!("rk_{}", "a".repeat(46))));
    }
}
