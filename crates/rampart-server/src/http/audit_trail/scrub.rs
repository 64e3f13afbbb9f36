//! Identifiers as the audit trail writes them: card numbers and secrets replaced.

/// The detector behind [`scrub_identifier`], built once.
static DETECTOR: std::sync::LazyLock<rampart_privacy::Detector> =
    std::sync::LazyLock::new(rampart_privacy::Detector::new);

/// An identifier (path parameter, resource id, string detail) as it may be written to the
/// append-only audit log or shown in an error: card numbers and secrets (API keys, JWTs,
/// bearer tokens, private keys) replaced by `[REDACTED:CREDIT_CARD]` / `[REDACTED:SECRET]`.
/// Besides the detector's word-bounded matches, any run of 12 or more digits (single spaces or
/// dashes allowed between them) holding a Luhn-valid 12-to-19-digit window is a card number
/// here, so `payments_5105105105105100` is caught too.
pub(crate) fn scrub_identifier(text: &str) -> String {
    use rampart_privacy::PiiType;
    if uuid::Uuid::try_parse(text).is_ok() {
        // Principal, key and session ids: never a card number, and must stay exact.
        return text.to_owned();
    }
    let mut spans: Vec<(std::ops::Range<usize>, &str)> = DETECTOR
        .detect(text)
        .into_iter()
        .filter_map(|(kind, range)| match kind {
            PiiType::CreditCard => Some((range, "[REDACTED:CREDIT_CARD]")),
            PiiType::Secret | PiiType::SensitiveKey => Some((range, "[REDACTED:SECRET]")),
            _ => None,
        })
        .collect();
    spans.extend(
        digit_runs_with_card(text)
            .into_iter()
            .map(|range| (range, "[REDACTED:CREDIT_CARD]")),
    );
    if spans.is_empty() {
        return text.to_owned();
    }
    spans.sort_by_key(|(range, _)| range.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (range, label) in spans {
        if range.end <= at {
            continue;
        }
        out.push_str(text.get(at..range.start.max(at)).unwrap_or_default());
        out.push_str(label);
        at = range.end;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    out
}

/// Byte ranges of digit runs (single ` ` or `-` allowed between digits) of 12 or more digits
/// with a Luhn-valid window of 12 to 19 digits.
fn digit_runs_with_card(text: &str) -> Vec<std::ops::Range<usize>> {
    let bytes = text.as_bytes();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
            continue;
        }
        let start = i;
        let mut digits = Vec::new();
        let mut end = i;
        while let Some(b) = bytes.get(i) {
            if b.is_ascii_digit() {
                digits.push(b - b'0');
                i += 1;
                end = i;
            } else if matches!(b, b' ' | b'-') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                i += 1;
            } else {
                break;
            }
        }
        let has_card =
            (12..=19).any(|len| digits.len() >= len && digits.windows(len).any(luhn_valid));
        if has_card {
            runs.push(start..end);
        }
        i = end.max(start + 1);
    }
    runs
}

fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(*d);
            if !i.is_multiple_of(2) {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}
