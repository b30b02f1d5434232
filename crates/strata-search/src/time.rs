//! ISO-8601 timestamps to microseconds since the Unix epoch.

use crate::error::{Result, SearchError};
use strata_storage::Timestamp;

/// Parses an ISO-8601 date or date-time into microseconds since the Unix epoch (UTC).
///
/// Accepted forms: `YYYY-MM-DD`, and `YYYY-MM-DD` + `T` (or a space) + `HH:MM`,
/// `HH:MM:SS` or `HH:MM:SS.fraction`, followed by `Z`, `±HH:MM`, `±HHMM`, `±HH` or
/// nothing. Without an offset the time is taken as UTC; a date alone means its
/// midnight. Fractions beyond microseconds are truncated. Dates before 1970 and
/// out-of-range fields (month 13, Feb 30, hour 24, second 60) are refused.
///
/// ```
/// use strata_search::parse_iso8601;
/// assert_eq!(parse_iso8601("1970-01-02").unwrap(), 86_400_000_000);
/// assert_eq!(parse_iso8601("1970-01-01T01:00:00+01:00").unwrap(), 0);
/// assert!(parse_iso8601("yesterday").is_err());
/// ```
pub fn parse_iso8601(input: &str) -> Result<Timestamp> {
    let fail = |reason: &str| SearchError::InvalidTimestamp {
        input: input.to_owned(),
        reason: reason.to_owned(),
    };
    let s = input.trim();
    let b = s.as_bytes();
    let mut p = Parser { b, pos: 0 };
    let year = p.digits(4).ok_or_else(|| fail("expected a 4-digit year"))?;
    p.expect(b'-')
        .ok_or_else(|| fail("expected '-' after the year"))?;
    let month = p
        .digits(2)
        .ok_or_else(|| fail("expected a 2-digit month"))?;
    p.expect(b'-')
        .ok_or_else(|| fail("expected '-' after the month"))?;
    let day = p.digits(2).ok_or_else(|| fail("expected a 2-digit day"))?;
    if !(1..=12).contains(&month) {
        return Err(fail("month must be 01-12"));
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err(fail("day out of range for the month"));
    }
    if year < 1970 {
        return Err(fail("dates before 1970 are not supported"));
    }
    let mut micros: i64 = 0;
    let mut offset_secs: i64 = 0;
    if p.pos < b.len() {
        match b[p.pos] {
            b'T' | b't' | b' ' => p.pos += 1,
            _ => return Err(fail("expected 'T' between date and time")),
        }
        let hour = p.digits(2).ok_or_else(|| fail("expected a 2-digit hour"))?;
        p.expect(b':')
            .ok_or_else(|| fail("expected ':' after the hour"))?;
        let minute = p
            .digits(2)
            .ok_or_else(|| fail("expected 2-digit minutes"))?;
        let mut second = 0;
        if p.peek() == Some(b':') {
            p.pos += 1;
            second = p
                .digits(2)
                .ok_or_else(|| fail("expected 2-digit seconds"))?;
            if matches!(p.peek(), Some(b'.' | b',')) {
                p.pos += 1;
                let start = p.pos;
                let mut frac: i64 = 0;
                while let Some(d) = p.peek().filter(u8::is_ascii_digit) {
                    if p.pos - start < 6 {
                        frac = frac * 10 + i64::from(d - b'0');
                    }
                    p.pos += 1;
                }
                let n = p.pos - start;
                if n == 0 {
                    return Err(fail("expected digits after the decimal point"));
                }
                for _ in n..6 {
                    frac *= 10;
                }
                micros = frac;
            }
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(fail("time of day out of range"));
        }
        micros += (hour * 3600 + minute * 60 + second) * 1_000_000;
        match p.peek() {
            None => {}
            Some(b'Z' | b'z') => p.pos += 1,
            Some(sign @ (b'+' | b'-')) => {
                p.pos += 1;
                let oh = p
                    .digits(2)
                    .ok_or_else(|| fail("expected a 2-digit offset hour"))?;
                if p.peek() == Some(b':') {
                    p.pos += 1;
                }
                let om = if p.pos < b.len() {
                    p.digits(2)
                        .ok_or_else(|| fail("expected 2-digit offset minutes"))?
                } else {
                    0
                };
                if oh > 23 || om > 59 {
                    return Err(fail("UTC offset out of range"));
                }
                offset_secs = (oh * 3600 + om * 60) * if sign == b'+' { 1 } else { -1 };
            }
            Some(_) => return Err(fail("unexpected text after the time")),
        }
    }
    if p.pos != b.len() {
        return Err(fail("unexpected trailing text"));
    }
    let days = days_from_civil(year, month, day);
    let total = days * 86_400_000_000 + micros - offset_secs * 1_000_000;
    Timestamp::try_from(total).map_err(|_| fail("instant is before 1970-01-01T00:00:00Z"))
}

struct Parser<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.pos += 1)
    }

    fn digits(&mut self, n: usize) -> Option<i64> {
        let s = self.b.get(self.pos..self.pos + n)?;
        if !s.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.pos += n;
        Some(s.iter().fold(0, |acc, d| acc * 10 + i64::from(d - b'0')))
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        // 2026-02-07T00:00:00Z = 1770422400 s.
        assert_eq!(
            parse_iso8601("2026-02-07T00:00:00Z").ok(),
            Some(1_770_422_400_000_000)
        );
        assert_eq!(
            parse_iso8601("2026-02-07").ok(),
            Some(1_770_422_400_000_000)
        );
        assert_eq!(
            parse_iso8601("2026-02-09T23:59:59Z").ok(),
            Some(1_770_422_400_000_000 + (2 * 86_400 + 86_399) * 1_000_000)
        );
        assert_eq!(
            parse_iso8601("2000-02-29T12:00").ok(),
            Some(951_825_600_000_000)
        );
    }

    #[test]
    fn offsets_and_fractions() {
        let utc = parse_iso8601("2024-05-01T10:00:00Z").expect("valid");
        assert_eq!(parse_iso8601("2024-05-01T12:30:00+02:30").ok(), Some(utc));
        assert_eq!(parse_iso8601("2024-05-01T07:00:00-0300").ok(), Some(utc));
        assert_eq!(parse_iso8601("2024-05-01T11:00:00+01").ok(), Some(utc));
        assert_eq!(parse_iso8601("2024-05-01 10:00:00").ok(), Some(utc));
        assert_eq!(
            parse_iso8601("2024-05-01T10:00:00.5Z").ok(),
            Some(utc + 500_000)
        );
        assert_eq!(
            parse_iso8601("2024-05-01T10:00:00.123456789Z").ok(),
            Some(utc + 123_456)
        );
    }

    #[test]
    fn invalid_inputs_are_clear_errors() {
        for bad in [
            "",
            "2024",
            "2024-13-01",
            "2023-02-29",
            "2024-04-31",
            "2024-05-01T24:00:00Z",
            "2024-05-01T10:60",
            "2024-05-01T10:00:00.Z",
            "2024-05-01T10:00:00Q",
            "2024-05-01T10:00:00+25:00",
            "1969-12-31",
            "1970-01-01T00:00:00+01:00",
            "next tuesday",
        ] {
            let err = parse_iso8601(bad).expect_err(bad);
            assert!(err.to_string().contains("invalid timestamp"), "{err}");
            assert_eq!(err.code(), "invalid_input");
        }
    }
}
