//! One pass over a text's bytes that says which patterns could match at all: the digits in
//! its longest run of separated digits, whether it has an `@`, colons, a dotted quad, a URL.

/// Byte features of a text (see [`Features::of`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Features {
    /// An `@`.
    pub at: bool,
    /// A `::`.
    pub double_colon: bool,
    /// How many `:`.
    pub colons: usize,
    /// A `+` followed by a digit.
    pub plus_digit: bool,
    /// The most digits in one run of digits joined by at most two separators at a time (space,
    /// `-`, `.`, `(`, `)`): `(415) 555-2671` is one run of 10.
    pub longest_digit_run: usize,
    /// The most digits in one run joined only by single spaces or dashes, as cards and SSNs
    /// are written.
    pub longest_grouped_run: usize,
    /// Groups of 3, 2 and 4 digits joined by single spaces or dashes (an SSN's shape).
    pub ssn_shape: bool,
    /// A run with three dots between digits (`203.0.113.7`), not led by `v`, `.` or `/` (a
    /// version: `v1.2.3.4`, `Chrome/120.0.0.0`).
    pub dotted_quad: bool,
    /// `://` followed later by `?`.
    pub url: bool,
    /// Two letters that start a token, then two digits (an IBAN's country and check digits).
    pub letters_then_digits: bool,
    /// Where the first run of at least 8 digits begins: no phone number starts before it
    /// (but for its `+` or `(`).
    pub long_run_from: Option<usize>,
    /// Where the first grouped run of at least 9 digits begins: no card or SSN starts before.
    pub grouped_run_from: Option<usize>,
    /// Where the first dotted quad's run begins.
    pub dotted_quad_from: Option<usize>,
}

impl Features {
    /// Whether any gate but a marker's could be open: every such gate needs one of these.
    pub(crate) fn may_open_a_gate(&self) -> bool {
        self.at
            || self.url
            || self.double_colon
            || self.colons >= 7
            || self.longest_digit_run >= 8
            || self.dotted_quad
            || self.letters_then_digits
    }

    /// The features of `bytes`.
    pub(crate) fn of(bytes: &[u8]) -> Self {
        let mut features = Self::default();
        let mut run_digits = 0usize;
        // Dots in the current sequence of digits and single dots, who led it, where it began.
        let (mut quad_dots, mut quad_led_by, mut quad_start) = (0usize, 0u8, 0usize);
        let mut grouped = 0usize;
        // Digits in the current group of a grouped run, and in the two groups before it.
        let (mut group, mut group_1, mut group_2) = (0usize, 0usize, 0usize);
        // Where the current run of digits began, and the current grouped run.
        let (mut run_start, mut grouped_start) = (0usize, 0usize);
        let mut gap = 0usize;
        let mut previous = 0u8;
        // Letters that start a token, then digits, in a row just before the current byte (a
        // letter after a digit makes `letters` negative until the token ends).
        let (mut letters, mut digits) = (0isize, 0usize);
        let mut scheme = false;
        for (i, &byte) in bytes.iter().enumerate() {
            // Letters are most of a log's bytes: they only end a run of digits.
            if byte.is_ascii_alphabetic() {
                if digits > 0 {
                    (letters, digits) = (isize::MIN / 2, 0);
                } else {
                    letters += 1;
                }
                gap = 3;
                previous = byte;
                continue;
            }
            if byte.is_ascii_digit() {
                digits += 1;
                if letters >= 2 && digits == 2 {
                    features.letters_then_digits = true;
                }
            } else {
                (letters, digits) = (0, 0);
            }
            match byte {
                b'0'..=b'9' => {
                    if gap > 2 || run_digits == 0 {
                        run_digits = 0;
                        run_start = i;
                    }
                    if !(gap == 0 || (gap == 1 && previous == b'.')) {
                        (quad_dots, quad_led_by, quad_start) = (0, previous, i);
                    }
                    if gap == 1 && matches!(previous, b' ' | b'-') && grouped > 0 {
                        (group_2, group_1, group) = (group_1, group, 0);
                    } else if gap != 0 || grouped == 0 {
                        (grouped, group, group_1, group_2) = (0, 0, 0, 0);
                        grouped_start = i;
                    }
                    group += 1;
                    if group == 4 && group_1 == 2 && group_2 == 3 {
                        features.ssn_shape = true;
                    }
                    gap = 0;
                    run_digits += 1;
                    grouped += 1;
                    features.longest_digit_run = features.longest_digit_run.max(run_digits);
                    features.longest_grouped_run = features.longest_grouped_run.max(grouped);
                    if run_digits == 8 && features.long_run_from.is_none() {
                        features.long_run_from = Some(run_start);
                    }
                    if grouped == 9 && features.grouped_run_from.is_none() {
                        features.grouped_run_from = Some(grouped_start);
                    }
                    if previous == b'+' {
                        features.plus_digit = true;
                    }
                }
                b' ' | b'-' | b'.' | b'(' | b')' => {
                    if byte == b'.' && gap == 0 && run_digits > 0 {
                        quad_dots += 1;
                        if quad_dots >= 3 && !matches!(quad_led_by, b'v' | b'V' | b'.' | b'/') {
                            features.dotted_quad = true;
                            features.dotted_quad_from.get_or_insert(quad_start);
                        }
                    }
                    gap += 1;
                }
                b'@' => {
                    features.at = true;
                    gap = 3;
                }
                b':' => {
                    features.colons += 1;
                    if previous == b':' {
                        features.double_colon = true;
                    }
                    if !scheme && bytes.get(i + 1..i + 3) == Some(b"//") {
                        scheme = true;
                    }
                    gap = 3;
                }
                b'?' if scheme => {
                    features.url = true;
                    gap = 3;
                }
                _ => gap = 3,
            }
            previous = byte;
        }
        features
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_digits_span_separators() {
        assert_eq!(Features::of(b"(415) 555-2671").longest_digit_run, 10);
        assert_eq!(Features::of(b"+44 (0)20 7946 0958").longest_digit_run, 13);
        assert_eq!(Features::of(b"4111 1111 1111 1111").longest_digit_run, 16);
        assert_eq!(Features::of(b"a1b2c3").longest_digit_run, 1);
        let ip = Features::of(b"203.0.113.17");
        assert_eq!((ip.longest_digit_run, ip.longest_grouped_run), (9, 3));
        let phone = Features::of(b"+44 (0)20 7946 0958");
        assert_eq!(phone.longest_grouped_run, 10);
        assert_eq!(Features::of(b"4111-1111-1111-1111").longest_grouped_run, 16);
        assert!(Features::of(b"ssn 123-45-6789").ssn_shape);
        assert!(Features::of(b"ssn 123 45 6789").ssn_shape);
        assert!(!Features::of(b"+44 (0)20 7946 0958").ssn_shape);
        assert!(!Features::of(b"4111 1111 1111 1111").ssn_shape);
        let ip = Features::of(b"from 203.0.113.7");
        assert!(ip.dotted_quad);
        assert_eq!(ip.dotted_quad_from, Some(5));
        let text = Features::of(b"id 12 then (415) 555-2671 and 123-45-6789");
        assert_eq!(text.long_run_from, Some(12));
        assert_eq!(text.grouped_run_from, Some(30));
        assert!(!Features::of(b"1.2.3 and 4").dotted_quad);
        assert!(!Features::of(b"Chrome/120.0.0.0 Safari").dotted_quad);
        assert!(!Features::of(b"v1.2.3.4").dotted_quad);
        assert!(Features::of(b"ip=1.2.3.4").dotted_quad);
        assert!(Features::of(b".0(203.0.113.7").dotted_quad);
        assert!(Features::of(b"0@123-45-6789").ssn_shape);
        assert!(Features::of(b"fe80::1").double_colon);
        assert!(Features::of(b"+49 30").plus_digit);
        assert!(Features::of(b"https://x.io/a?b=c").url);
        assert!(Features::of(b"iban=LU44 420D").letters_then_digits);
        assert!(Features::of(b"de89370400").letters_then_digits);
        assert!(!Features::of(b"a1b2 c3d4").letters_then_digits);
        assert!(!Features::of(b"b64bbea42c13").letters_then_digits);
        assert!(!Features::of(b"ORD-2026-000123").letters_then_digits);
        assert!(!Features::of(b"what? https://x.io/").url);
    }
}
