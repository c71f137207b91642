//! Money: [`Usd`], exact pico-dollars, and its parsing from text.

use std::fmt;

/// An amount of money in US dollars, held exactly as an integer number of
/// pico-dollars (10^-12 USD), up to [`Usd::MAX`] (about 18.4 million USD).
///
/// Prices per million tokens in public price lists have at most six
/// decimals, so a price per token is a whole number of pico-dollars and a
/// call's cost is computed without rounding. Convert to `f64` only for
/// display or for storage that wants it.
///
/// An amount is written as money: whole dollars with [`Usd::dollars`], any
/// amount by parsing its decimal text (exactly, or not at all: see
/// [`FromStr`](#impl-FromStr-for-Usd)).
///
/// ```
/// use llmax::Usd;
///
/// let budget = Usd::dollars(10);
/// let per_call: Usd = "0.25".parse()?;
/// assert_eq!(per_call.saturating_mul(40), budget);
/// assert_eq!("$0.0000275".parse::<Usd>()?, Usd::from_picos(27_500_000));
/// assert_eq!(budget.to_string(), "$10");
/// # Ok::<(), llmax::catalog::ParseUsdError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Usd {
    picos: u64,
}

/// Pico-dollars in a dollar.
const PICOS_PER_DOLLAR: u64 = 1_000_000_000_000;
/// Decimals a [`Usd`] holds.
const DECIMALS: usize = 12;

impl Usd {
    /// Zero dollars.
    pub const ZERO: Usd = Usd { picos: 0 };

    /// The most a `Usd` holds: `u64::MAX` pico-dollars, about 18.4 million
    /// USD. Sums and products saturate here.
    pub const MAX: Usd = Usd { picos: u64::MAX };

    /// Whole dollars: `Usd::dollars(10)` is $10.
    ///
    /// Saturates at [`Usd::MAX`] (from 18,446,745 dollars on), as all `Usd`
    /// arithmetic does.
    ///
    /// ```
    /// use llmax::Usd;
    ///
    /// assert_eq!(Usd::dollars(10).to_string(), "$10");
    /// assert_eq!(Usd::dollars(u64::MAX), Usd::MAX);
    /// ```
    pub const fn dollars(dollars: u64) -> Usd {
        Usd {
            picos: dollars.saturating_mul(PICOS_PER_DOLLAR),
        }
    }

    /// An amount in pico-dollars.
    pub const fn from_picos(picos: u64) -> Usd {
        Usd { picos }
    }

    /// The amount in pico-dollars.
    pub const fn picos(self) -> u64 {
        self.picos
    }

    /// The amount in dollars, as a float (for display and storage).
    pub fn as_f64(self) -> f64 {
        self.picos as f64 / 1e12
    }

    /// Sum, saturating at `u64::MAX` pico-dollars (about 18 million USD).
    #[must_use]
    pub const fn saturating_add(self, other: Usd) -> Usd {
        Usd {
            picos: self.picos.saturating_add(other.picos),
        }
    }

    /// This rate times a count, saturating.
    #[must_use]
    pub const fn saturating_mul(self, n: u64) -> Usd {
        Usd {
            picos: self.picos.saturating_mul(n),
        }
    }
}

impl std::ops::Add for Usd {
    type Output = Usd;
    fn add(self, other: Usd) -> Usd {
        self.saturating_add(other)
    }
}

impl std::ops::AddAssign for Usd {
    fn add_assign(&mut self, other: Usd) {
        *self = self.saturating_add(other);
    }
}

impl std::iter::Sum for Usd {
    fn sum<I: Iterator<Item = Usd>>(iter: I) -> Usd {
        iter.fold(Usd::ZERO, Usd::saturating_add)
    }
}

impl fmt::Display for Usd {
    /// Dollars with every significant decimal, e.g. `$0.0000275`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.picos / 1_000_000_000_000;
        let frac = self.picos % 1_000_000_000_000;
        if frac == 0 {
            return write!(f, "${whole}");
        }
        let digits = format!("{frac:012}");
        write!(f, "${whole}.{}", digits.trim_end_matches('0'))
    }
}

impl std::str::FromStr for Usd {
    type Err = ParseUsdError;

    /// Parses a decimal amount of dollars: `"10"`, `"0.25"`, `"$0.0000275"`
    /// (an optional `$`, so that what [`Display`](fmt::Display) writes
    /// parses back), at most 12 decimals, up to [`Usd::MAX`].
    ///
    /// Exact or refused, never rounded: a digit below the pico-dollar
    /// (`"0.0000000000001"`) is [`ParseUsdErrorKind::TooPrecise`], an amount
    /// over [`Usd::MAX`] is [`ParseUsdErrorKind::TooLarge`]. Zeros past the
    /// 12th decimal change nothing and are accepted. Signs, exponents,
    /// spaces and digit separators are refused, as `u64`'s `FromStr` does.
    ///
    /// ```
    /// use llmax::Usd;
    /// use llmax::catalog::ParseUsdErrorKind;
    ///
    /// assert_eq!("0.25".parse::<Usd>(), Ok(Usd::from_picos(250_000_000_000)));
    /// let error = "0.0000000000001".parse::<Usd>().unwrap_err();
    /// assert_eq!(error.kind(), &ParseUsdErrorKind::TooPrecise);
    /// assert!("1e3".parse::<Usd>().is_err());
    /// ```
    fn from_str(text: &str) -> Result<Usd, ParseUsdError> {
        let error = |kind| ParseUsdError {
            text: text.to_owned(),
            kind,
        };
        let amount = text.strip_prefix('$').unwrap_or(text);
        let (whole, fraction) = match amount.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (amount, None),
        };
        let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || !fraction.is_none_or(digits) {
            return Err(error(if amount.is_empty() {
                ParseUsdErrorKind::Empty
            } else {
                ParseUsdErrorKind::InvalidDigit
            }));
        }
        let fraction = fraction.unwrap_or_default();
        let (kept, beyond) = fraction.split_at(fraction.len().min(DECIMALS));
        if beyond.bytes().any(|b| b != b'0') {
            return Err(error(ParseUsdErrorKind::TooPrecise));
        }
        // Digits only, checked above: parsing can fail only by overflow.
        let whole: u64 = whole
            .parse()
            .map_err(|_| error(ParseUsdErrorKind::TooLarge))?;
        // At most 12 digits, each padded to the pico-dollar: below 10^12.
        let picos_of_fraction = (0..DECIMALS).fold(0u64, |picos, position| {
            let digit = kept.as_bytes().get(position).map_or(0, |b| b - b'0');
            picos * 10 + u64::from(digit)
        });
        whole
            .checked_mul(PICOS_PER_DOLLAR)
            .and_then(|picos| picos.checked_add(picos_of_fraction))
            .map(Usd::from_picos)
            .ok_or_else(|| error(ParseUsdErrorKind::TooLarge))
    }
}

/// Text that is not an amount of [`Usd`], from its `FromStr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseUsdError {
    text: String,
    kind: ParseUsdErrorKind,
}

impl ParseUsdError {
    /// Why the text is not an amount.
    pub fn kind(&self) -> &ParseUsdErrorKind {
        &self.kind
    }
}

/// Why text is not an amount of [`Usd`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseUsdErrorKind {
    /// Nothing (or only `$`).
    Empty,
    /// Not an unsigned decimal number: a sign, an exponent, a space, a
    /// separator, or a `.` without digits on both sides.
    InvalidDigit,
    /// Digits below the pico-dollar, which `Usd` cannot hold exactly.
    TooPrecise,
    /// More than [`Usd::MAX`].
    TooLarge,
}

impl fmt::Display for ParseUsdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.kind {
            ParseUsdErrorKind::Empty => "it is empty",
            ParseUsdErrorKind::InvalidDigit => {
                "it is not a decimal number of dollars (digits, one `.`, an optional `$` first)"
            }
            ParseUsdErrorKind::TooPrecise => {
                "it has digits past the 12th decimal, below the pico-dollar that llmax keeps exactly"
            }
            ParseUsdErrorKind::TooLarge => {
                "it is more than the 18446744.073709551615 USD a Usd holds"
            }
        };
        write!(f, "{:?} is not an amount of USD: {why}", self.text)
    }
}

impl std::error::Error for ParseUsdError {}

impl serde::Serialize for Usd {
    /// Serialized as a number of dollars (`f64`), as most stores expect.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_f64())
    }
}
