//! Just enough DER to name a certificate in the log: its serial number and its not-after time.
//! Anything unexpected gives `None`; nothing here decides whether a certificate is used.

/// One DER element at the start of `input`: its tag, its content and what follows it.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, rest) = rest.split_at(count);
        let length = bytes.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b));
        (length, rest)
    };
    if rest.len() < length {
        return None;
    }
    let (content, rest) = rest.split_at(length);
    Some((tag, content, rest))
}

/// The serial number (lower-case hex, colon-separated) and not-after time (RFC 3339, UTC) of a
/// DER certificate.
pub fn serial_and_not_after(certificate: &[u8]) -> Option<(String, String)> {
    const SEQUENCE: u8 = 0x30;
    const INTEGER: u8 = 0x02;
    const EXPLICIT_VERSION: u8 = 0xa0;
    let (SEQUENCE, certificate, _) = element(certificate)? else {
        return None;
    };
    let (SEQUENCE, tbs, _) = element(certificate)? else {
        return None;
    };
    let (mut tag, mut content, mut rest) = element(tbs)?;
    if tag == EXPLICIT_VERSION {
        (tag, content, rest) = element(rest)?;
    }
    if tag != INTEGER {
        return None;
    }
    let serial = content
        .iter()
        .skip_while(|&&b| b == 0 && content.len() > 1)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    let (_, _signature, rest) = element(rest)?;
    let (_, _issuer, rest) = element(rest)?;
    let (SEQUENCE, validity, _) = element(rest)? else {
        return None;
    };
    let (_, _not_before, rest) = element(validity)?;
    let (tag, not_after, _) = element(rest)?;
    Some((serial, time_text(tag, not_after)?))
}

/// UTCTime (`YYMMDDHHMMSSZ`, tag 0x17) or GeneralizedTime (`YYYYMMDDHHMMSSZ`, tag 0x18).
fn time_text(tag: u8, text: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(text).ok()?;
    let digits = text.strip_suffix('Z')?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let full = match (tag, digits.len()) {
        (0x17, 12) => {
            let century = if digits.get(..2)? < "50" { "20" } else { "19" };
            format!("{century}{digits}")
        }
        (0x18, 14) => digits.to_owned(),
        _ => return None,
    };
    Some(format!(
        "{}-{}-{}T{}:{}:{}Z",
        full.get(..4)?,
        full.get(4..6)?,
        full.get(6..8)?,
        full.get(8..10)?,
        full.get(10..12)?,
        full.get(12..14)?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_none_not_a_panic() {
        for bad in [
            &b""[..],
            b"\x30",
            b"\x30\x85\x01\x02\x03\x04\x05",
            b"\x30\x03\x30\x01",
            b"\x02\x01\x01",
        ] {
            assert_eq!(serial_and_not_after(bad), None);
        }
        assert_eq!(
            time_text(0x17, b"270105120000Z").as_deref(),
            Some("2027-01-05T12:00:00Z")
        );
        assert_eq!(
            time_text(0x18, b"20270105120000Z").as_deref(),
            Some("2027-01-05T12:00:00Z")
        );
        assert_eq!(time_text(0x17, b"2701051200Z"), None);
    }
}
