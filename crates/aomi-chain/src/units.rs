//! Exact conversions between human amounts ("1.5") and base units (1500000 with 6 decimals).
//!
//! Amounts are never floats: the text is split at the decimal point and the digits are read as
//! integers, so "0.1" with 18 decimals is exactly 100000000000000000 base units. Anything that does
//! not fit exactly (too many fractional digits, more than 2^256 - 1 base units, a sign, an exponent)
//! is refused with an error that says why.

use alloy::primitives::U256;

/// Why an amount could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitsError {
    /// The text is not a plain decimal number.
    #[error("\"{0}\" is not an amount: write digits with at most one decimal point, like 1.5")]
    NotANumber(String),
    /// Negative amounts do not exist on chain.
    #[error("\"{0}\" is negative; amounts are positive")]
    Negative(String),
    /// More fractional digits than the token has decimals.
    #[error("\"{amount}\" has {digits} decimal places but the token has only {decimals}")]
    TooPrecise {
        /// The amount as given.
        amount: String,
        /// Its fractional digits.
        digits: usize,
        /// The token's decimals.
        decimals: u8,
    },
    /// More than a uint256 can hold.
    #[error("\"{0}\" is too large: it does not fit in 256 bits of base units")]
    Overflow(String),
    /// Decimals beyond what any token uses (the scale would not fit in 256 bits).
    #[error("{0} decimals is out of range (at most 77)")]
    BadDecimals(u8),
}

/// The largest number of decimals whose scale, 10^decimals, fits in a U256.
const MAX_DECIMALS: u8 = 77;

/// Converts a human amount ("1.5", "1,000.25" is refused, "1_000" is refused) into base units with
/// `decimals` decimals, exactly.
pub fn parse_units(amount: &str, decimals: u8) -> Result<U256, UnitsError> {
    if decimals > MAX_DECIMALS {
        return Err(UnitsError::BadDecimals(decimals));
    }
    let text = amount.trim();
    if text.starts_with('-') {
        return Err(UnitsError::Negative(amount.to_owned()));
    }
    let text = text.strip_prefix('+').unwrap_or(text);
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return Err(UnitsError::NotANumber(amount.to_owned()));
    }
    // Trailing zeros in the fraction carry no value: "1.500000" fits 6 decimals, and so does "1.50".
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > usize::from(decimals) {
        return Err(UnitsError::TooPrecise { amount: amount.to_owned(), digits: fraction.len(), decimals });
    }
    let overflow = || UnitsError::Overflow(amount.to_owned());
    let whole = if whole.is_empty() { U256::ZERO } else { whole.parse::<U256>().map_err(|_| overflow())? };
    let scale = U256::from(10u8).pow(U256::from(decimals));
    let fraction_units = if fraction.is_empty() {
        U256::ZERO
    } else {
        let padded = format!("{fraction:0<width$}", width = usize::from(decimals));
        padded.parse::<U256>().map_err(|_| overflow())?
    };
    whole.checked_mul(scale).and_then(|w| w.checked_add(fraction_units)).ok_or_else(overflow)
}

/// Formats base units with `decimals` decimals, exactly, without trailing zeros: 1500000 with 6
/// decimals is "1.5", 2000000 is "2".
pub fn format_units(value: U256, decimals: u8) -> String {
    let digits = value.to_string();
    let decimals = usize::from(decimals);
    if decimals == 0 {
        return digits;
    }
    let padded = format!("{digits:0>width$}", width = decimals + 1);
    let (whole, fraction) = padded.split_at(padded.len() - decimals);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() { whole.to_owned() } else { format!("{whole}.{fraction}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly() {
        assert_eq!(parse_units("1.5", 6), Ok(U256::from(1_500_000u64)));
        assert_eq!(parse_units("0.1", 18), Ok(U256::from(100_000_000_000_000_000u64)));
        assert_eq!(parse_units(".5", 1), Ok(U256::from(5u8)));
        assert_eq!(parse_units("7.", 2), Ok(U256::from(700u16)));
        assert_eq!(parse_units("1.500000", 6), Ok(U256::from(1_500_000u64)));
        assert_eq!(parse_units("42", 0), Ok(U256::from(42u8)));
        assert_eq!(parse_units(&U256::MAX.to_string(), 0), Ok(U256::MAX));
    }

    #[test]
    fn refuses_what_does_not_fit() {
        assert!(matches!(parse_units("1.2345678", 6), Err(UnitsError::TooPrecise { digits: 7, .. })));
        assert!(matches!(parse_units("-1", 6), Err(UnitsError::Negative(_))));
        for bad in ["", ".", "1e6", "1,5", "abc", "1.2.3", "0x10", " 1 5"] {
            assert!(matches!(parse_units(bad, 6), Err(UnitsError::NotANumber(_))), "{bad}");
        }
        let max = U256::MAX.to_string();
        assert!(matches!(parse_units(&max, 1), Err(UnitsError::Overflow(_))));
        assert!(matches!(parse_units(&format!("{max}0"), 0), Err(UnitsError::Overflow(_))));
        assert!(matches!(parse_units("1", 78), Err(UnitsError::BadDecimals(78))));
    }

    #[test]
    fn formats_exactly() {
        assert_eq!(format_units(U256::from(1_500_000u64), 6), "1.5");
        assert_eq!(format_units(U256::from(2_000_000u64), 6), "2");
        assert_eq!(format_units(U256::from(1u8), 18), "0.000000000000000001");
        assert_eq!(format_units(U256::ZERO, 18), "0");
        assert_eq!(format_units(U256::from(123u8), 0), "123");
        let max = U256::MAX;
        assert_eq!(parse_units(&format_units(max, 18), 18), Ok(max), "round trip at the top");
    }
}
