//! Card numbers (PANs) as the card vault takes them: digits (spaces and dashes allowed between
//! groups), a length the brand allows, and a valid Luhn check digit. The digits are zeroized on
//! drop and never printed; errors describe the problem without the number.

use std::fmt;
use std::ops::RangeInclusive;

use zeroize::Zeroizing;

use crate::validate::luhn;

/// A validated primary account number.
pub struct Pan {
    digits: Zeroizing<String>,
    brand: &'static str,
}

/// Why a PAN was refused. No variant carries digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PanError {
    /// Something other than digits and single spaces or dashes between them.
    #[error("must contain only digits (spaces or dashes may separate groups)")]
    NotDigits,
    /// Too short or too long for any card.
    #[error("has {len} digits; card numbers have 12 to 19")]
    Length {
        /// How many digits it has.
        len: usize,
    },
    /// A brand's number with a length that brand does not issue.
    #[error("has {len} digits, which is not a valid length for a {brand} card")]
    BrandLength {
        /// The brand its prefix names.
        brand: &'static str,
        /// How many digits it has.
        len: usize,
    },
    /// The check digit is wrong.
    #[error("fails the Luhn check (a digit is wrong or missing)")]
    Luhn,
}

/// The brand a PAN's prefix names and the lengths that brand issues.
fn brand_of(digits: &str) -> (&'static str, RangeInclusive<usize>) {
    let prefix = |len: usize, low: u32, high: u32| {
        digits
            .get(..len)
            .and_then(|p| p.parse::<u32>().ok())
            .is_some_and(|p| (low..=high).contains(&p))
    };
    if digits.starts_with('4') {
        ("visa", 13..=19)
    } else if prefix(2, 51, 55) || prefix(4, 2221, 2720) {
        ("mastercard", 16..=16)
    } else if prefix(2, 34, 34) || prefix(2, 37, 37) {
        ("amex", 15..=15)
    } else if digits.starts_with("6011")
        || digits.starts_with("65")
        || prefix(3, 644, 649)
        || prefix(6, 622_126, 622_925)
    {
        ("discover", 16..=19)
    } else if prefix(4, 3528, 3589) {
        ("jcb", 16..=19)
    } else if prefix(3, 300, 305) || prefix(2, 36, 36) || prefix(2, 38, 39) {
        ("diners", 14..=19)
    } else if digits.starts_with("62") {
        ("unionpay", 16..=19)
    } else {
        ("unknown", 12..=19)
    }
}

impl Pan {
    /// Validates a PAN.
    pub fn parse(text: &str) -> Result<Self, PanError> {
        let trimmed = text.trim();
        let mut digits = Zeroizing::new(String::with_capacity(19));
        let mut previous_separator = true;
        for c in trimmed.chars() {
            match c {
                '0'..='9' => {
                    digits.push(c);
                    previous_separator = false;
                }
                ' ' | '-' if !previous_separator => previous_separator = true,
                _ => return Err(PanError::NotDigits),
            }
            if digits.len() > 19 {
                return Err(PanError::Length { len: 20 });
            }
        }
        if previous_separator && !digits.is_empty() {
            return Err(PanError::NotDigits);
        }
        let len = digits.len();
        if !(12..=19).contains(&len) {
            return Err(PanError::Length { len });
        }
        let (brand, lengths) = brand_of(&digits);
        if brand == "visa" && !matches!(len, 13 | 16 | 19) || !lengths.contains(&len) {
            return Err(PanError::BrandLength { brand, len });
        }
        if !luhn(digits.as_bytes()) {
            return Err(PanError::Luhn);
        }
        Ok(Self { digits, brand })
    }

    /// The digits, without separators.
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// `visa`, `mastercard`, `amex`, `discover`, `jcb`, `diners`, `unionpay` or `unknown`.
    pub fn brand(&self) -> &'static str {
        self.brand
    }

    /// The last four digits.
    pub fn last_four(&self) -> &str {
        self.digits
            .get(self.digits.len().saturating_sub(4)..)
            .unwrap_or_default()
    }
}

impl fmt::Debug for Pan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pan({} ending {})", self.brand, self.last_four())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_each_brand_with_its_lengths() {
        for (pan, brand) in [
            ("4111111111111111", "visa"),
            ("4222222222222", "visa"),
            ("5555555555554444", "mastercard"),
            ("2223003122003222", "mastercard"),
            ("378282246310005", "amex"),
            ("6011111111111117", "discover"),
            ("3530111333300000", "jcb"),
            ("36227206271667", "diners"),
            ("6200000000000005", "unionpay"),
            ("4111 1111 1111 1111", "visa"),
            ("4111-1111-1111-1111", "visa"),
        ] {
            let parsed = Pan::parse(pan).unwrap_or_else(|e| panic!("{pan}: {e}"));
            assert_eq!(parsed.brand(), brand, "{pan}");
        }
        let pan = Pan::parse("4111111111111111").expect("valid");
        assert_eq!(pan.last_four(), "1111");
        assert_eq!(format!("{pan:?}"), "Pan(visa ending 1111)");
    }

    #[test]
    fn refuses_each_kind_of_bad_number() {
        assert_eq!(Pan::parse("4111111111111112").err(), Some(PanError::Luhn));
        assert_eq!(
            Pan::parse("4111x11111111111").err(),
            Some(PanError::NotDigits)
        );
        assert_eq!(
            Pan::parse("4111  1111111111111").err(),
            Some(PanError::NotDigits)
        );
        assert_eq!(
            Pan::parse("4111111111111111-").err(),
            Some(PanError::NotDigits)
        );
        assert_eq!(Pan::parse("41111").err(), Some(PanError::Length { len: 5 }));
        assert_eq!(Pan::parse("").err(), Some(PanError::Length { len: 0 }));
        assert_eq!(
            Pan::parse("41111111111111111111").err(),
            Some(PanError::Length { len: 20 })
        );
        // Amex numbers have 15 digits; 16 is refused even with a valid check digit.
        assert!(matches!(
            Pan::parse("3782822463100005").err(),
            Some(PanError::BrandLength {
                brand: "amex",
                len: 16
            })
        ));
        assert!(matches!(
            Pan::parse("41111111111111").err(),
            Some(PanError::BrandLength {
                brand: "visa",
                len: 14
            })
        ));
        for e in [
            PanError::Luhn,
            PanError::NotDigits,
            PanError::Length { len: 3 },
        ] {
            assert!(!e.to_string().contains("4111"));
        }
    }
}
