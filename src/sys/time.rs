//! The wall clock as a UTC timestamp, for results directory names and trace headers.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now as `YYYYMMDDTHHMMSSZ` (UTC), for directory names.
pub fn utc_timestamp() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format_utc(secs)
}

/// Formats seconds since the epoch as `YYYYMMDDTHHMMSSZ`, using the days-to-civil-date
/// conversion of the proleptic Gregorian calendar.
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// A `YYYYMMDDTHHMMSSZ` stamp as people read it, `YYYY-MM-DD HH:MM:SS UTC`; anything else
/// as it is (a results file edited by hand, or from another tool).
pub fn readable_utc(stamp: &str) -> String {
    let b = stamp.as_bytes();
    let shaped = b.len() == 16
        && b[8] == b'T'
        && b[15] == b'Z'
        && b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit);
    if !shaped {
        return stamp.to_string();
    }
    let part = |r: std::ops::Range<usize>| &stamp[r];
    format!(
        "{}-{}-{} {}:{}:{} UTC",
        part(0..4),
        part(4..6),
        part(6..8),
        part(9..11),
        part(11..13),
        part(13..15)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formatting_matches_known_dates() {
        assert_eq!(format_utc(0), "19700101T000000Z");
        assert_eq!(format_utc(951_782_400), "20000229T000000Z"); // leap day
        assert_eq!(format_utc(1_795_564_800 + 3_661), "20261125T010101Z");
    }

    #[test]
    fn stamps_read_as_dates_and_anything_else_is_left_alone() {
        assert_eq!(
            readable_utc(&format_utc(1_795_564_800 + 3_661)),
            "2026-11-25 01:01:01 UTC"
        );
        for odd in [
            "",
            "yesterday",
            "20261125T0101Z",
            "2026112XT010101Z",
            "20261125T010101",
        ] {
            assert_eq!(readable_utc(odd), odd);
        }
    }
}
