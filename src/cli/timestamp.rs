//! Timestamps on the command line: epoch milliseconds, or an ISO-8601 UTC date-time
//! (`2026-12-03T18:00:00`, `2026-12-03T18:00:00.250Z`), as Kafka's tools accept.

use super::CliError;

/// Milliseconds since the epoch of `s`: digits are milliseconds; otherwise
/// `YYYY-MM-DDTHH:MM:SS[.fff][Z]` in UTC.
pub fn parse_millis(s: &str) -> Result<i64, CliError> {
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    let bad = || {
        CliError::Usage(format!(
            "bad timestamp {s:?}: epoch milliseconds or YYYY-MM-DDTHH:MM:SS[.fff] (UTC)"
        ))
    };
    let s = s.strip_suffix('Z').unwrap_or(s);
    let (date, time) = s.split_once('T').ok_or_else(bad)?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (Some(Ok(year)), Some(Ok(month)), Some(Ok(day)), None) =
        (d.next(), d.next(), d.next(), d.next())
    else {
        return Err(bad());
    };
    let (hms, frac) = match time.split_once('.') {
        Some((hms, frac)) => (hms, frac),
        None => (time, "0"),
    };
    let mut t = hms.split(':').map(|p| p.parse::<i64>());
    let (Some(Ok(h)), Some(Ok(m)), Some(Ok(sec)), None) = (t.next(), t.next(), t.next(), t.next())
    else {
        return Err(bad());
    };
    let millis: i64 = format!("{frac:0<3}")
        .get(..3)
        .and_then(|f| f.parse().ok())
        .ok_or_else(bad)?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return Err(bad());
    }
    let days = days_from_civil(year, month, day);
    Ok(((days * 24 + h) * 60 + m) * 60_000 + sec * 1000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_and_dates() {
        assert_eq!(parse_millis("1700000000000").unwrap(), 1_700_000_000_000);
        assert_eq!(parse_millis("1970-01-01T00:00:00").unwrap(), 0);
        assert_eq!(
            parse_millis("2023-11-14T22:13:20.5Z").unwrap(),
            1_700_000_000_500
        );
        assert!(parse_millis("yesterday").is_err());
        assert!(parse_millis("2023-13-01T00:00:00").is_err());
    }
}
