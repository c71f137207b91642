//! UTC days as `YYYY-MM-DD`, from the system clock, without a date crate:
//! the ledger needs only the day of an instant and month boundaries.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// A UTC calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Day {
    year: i64,
    month: u32,
    day: u32,
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

impl Day {
    /// The UTC day of an instant in ms since the epoch.
    pub fn of_ms(ms: i64) -> Day {
        Day::from_days(ms.div_euclid(86_400_000))
    }

    /// Today, UTC.
    pub fn today() -> Day {
        Day::of_ms(now_ms())
    }

    /// Howard Hinnant's `civil_from_days`: the proleptic Gregorian date of
    /// a count of days since 1970-01-01.
    fn from_days(days: i64) -> Day {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Day { year, month, day }
    }

    /// The inverse of [`from_days`](Self::from_days).
    fn to_days(self) -> i64 {
        let year = self.year - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let yoe = year.rem_euclid(400);
        let month = i64::from(self.month);
        let mp = if month > 2 { month - 3 } else { month + 9 };
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    pub fn next(self) -> Day {
        Day::from_days(self.to_days() + 1)
    }

    pub fn month_start(self) -> Day {
        Day { day: 1, ..self }
    }

    pub fn next_month_start(self) -> Day {
        if self.month == 12 {
            Day {
                year: self.year + 1,
                month: 1,
                day: 1,
            }
        } else {
            Day {
                month: self.month + 1,
                day: 1,
                ..self
            }
        }
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_months() {
        assert_eq!(Day::of_ms(0).to_string(), "1970-01-01");
        // 2024-02-29T23:59:59.999Z, a leap day.
        let leap = Day::of_ms(1_709_251_199_999);
        assert_eq!(leap.to_string(), "2024-02-29");
        assert_eq!(leap.next().to_string(), "2024-03-01");
        assert_eq!(leap.month_start().to_string(), "2024-02-01");
        assert_eq!(Day::of_ms(1_735_603_200_000).to_string(), "2024-12-31");
        assert_eq!(
            Day::of_ms(1_735_603_200_000).next_month_start().to_string(),
            "2025-01-01"
        );
        assert_eq!(Day::of_ms(-1).to_string(), "1969-12-31");
        for days in [-1000, 0, 59, 365, 11_016, 20_000, 30_000] {
            assert_eq!(Day::from_days(days).to_days(), days);
        }
    }
}
