//! Exact conversion of manifest prices to integers.
//!
//! llmax keeps money as whole pico-dollars (`llmax::catalog::Usd`). A price
//! in USD per million tokens with at most six decimals is a whole number of
//! pico-dollars per token: the price's millionths. The conversion goes
//! through the decimal text of the number, never through `x * 1e6` in
//! floating point, so `0.10875` is exactly `108750` and `0.0000001` is
//! refused rather than rounded.

use std::fmt;

/// Why a manifest number is not a valid price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceError {
    /// `inf` or `nan`.
    NotFinite,
    /// Below zero.
    Negative,
    /// More than six decimals.
    TooPrecise,
    /// Too large for `u64` pico-dollars.
    TooLarge,
}

impl fmt::Display for PriceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PriceError::NotFinite => "is not a finite number",
            PriceError::Negative => "is negative; prices are zero or more",
            PriceError::TooPrecise => {
                "has more than six decimals; llmax keeps exact pico-dollars, so a price \
                 has at most six"
            }
            PriceError::TooLarge => "is too large",
        })
    }
}

/// `value` in millionths, exactly: `2.5` is `2_500_000`.
pub fn millionths(value: f64) -> Result<u64, PriceError> {
    if !value.is_finite() {
        return Err(PriceError::NotFinite);
    }
    if value < 0.0 {
        return Err(PriceError::Negative);
    }
    // `Display` for f64 prints the shortest decimal that reads back as the
    // same float, never in exponent form: the number as it was written in
    // the manifest (for any price of up to 15 significant digits).
    let text = value.to_string();
    // -0.0 is not below zero but displays with its sign.
    let text = text.trim_start_matches('-');
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 6 {
        return Err(PriceError::TooPrecise);
    }
    let whole: u64 = whole.parse().map_err(|_| PriceError::TooLarge)?;
    let fraction = if fraction.is_empty() {
        0
    } else {
        let digits: u64 = fraction.parse().map_err(|_| PriceError::TooPrecise)?;
        // At most six digits, so the exponent is at most 6.
        digits * 10u64.pow(6 - fraction.len() as u32)
    };
    whole
        .checked_mul(1_000_000)
        .and_then(|micros| micros.checked_add(fraction))
        .ok_or(PriceError::TooLarge)
}

/// `value / 10^decimals` as a plain decimal: `format_decimal(2_500_000, 6)`
/// is `"2.5"`.
pub fn format_decimal(value: u64, decimals: u32) -> String {
    let unit = 10u64.pow(decimals);
    let (whole, fraction) = (value / unit, value % unit);
    if fraction == 0 {
        return whole.to_string();
    }
    let digits = format!("{fraction:0width$}", width = decimals as usize);
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_exactly() {
        assert_eq!(millionths(2.5), Ok(2_500_000));
        assert_eq!(millionths(10.0), Ok(10_000_000));
        assert_eq!(millionths(0.0), Ok(0));
        assert_eq!(millionths(-0.0), Ok(0));
        assert_eq!(millionths(0.10875), Ok(108_750));
        assert_eq!(millionths(0.8625), Ok(862_500));
        assert_eq!(millionths(2.5875), Ok(2_587_500));
        assert_eq!(millionths(0.000001), Ok(1));
        assert_eq!(millionths(1.375), Ok(1_375_000));
        assert_eq!(millionths(0.075), Ok(75_000));
        assert_eq!(millionths(0.3), Ok(300_000));
        assert_eq!(millionths(0.1 + 0.2), Err(PriceError::TooPrecise));
        assert_eq!(millionths(150.0), Ok(150_000_000));
        assert_eq!(millionths(123_456.654321), Ok(123_456_654_321));
    }

    #[test]
    fn floating_point_multiplication_would_be_wrong() {
        // The reason for the text route: 0.000498 * 1e6 is 497.99999999999994.
        let naive = 0.000498f64 * 1e6;
        assert_ne!(naive as u64, 498);
        assert_eq!(millionths(0.000498), Ok(498));
        assert_eq!(millionths(0.001009), Ok(1009));
    }

    #[test]
    fn refuses_what_is_not_a_price() {
        assert_eq!(millionths(0.0000001), Err(PriceError::TooPrecise));
        assert_eq!(millionths(1.2345678), Err(PriceError::TooPrecise));
        assert_eq!(millionths(-1.0), Err(PriceError::Negative));
        assert_eq!(millionths(f64::NAN), Err(PriceError::NotFinite));
        assert_eq!(millionths(f64::INFINITY), Err(PriceError::NotFinite));
        assert_eq!(millionths(f64::NEG_INFINITY), Err(PriceError::NotFinite));
        assert_eq!(millionths(1e20), Err(PriceError::TooLarge));
        assert_eq!(millionths(1e300), Err(PriceError::TooLarge));
        // The largest whole number of dollars that fits.
        assert_eq!(
            millionths(18_446_744_073_709.0),
            Ok(18_446_744_073_709_000_000)
        );
        assert_eq!(millionths(18_446_744_073_710.0), Err(PriceError::TooLarge));
    }

    #[test]
    fn formats_without_trailing_zeros() {
        assert_eq!(format_decimal(2_500_000, 6), "2.5");
        assert_eq!(format_decimal(10_000_000, 6), "10");
        assert_eq!(format_decimal(108_750, 6), "0.10875");
        assert_eq!(format_decimal(1, 6), "0.000001");
        assert_eq!(format_decimal(0, 6), "0");
        assert_eq!(format_decimal(6_000_000_000, 12), "0.006");
    }
}
