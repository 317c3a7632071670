//! The calendar dates of experiment definitions: `YYYY-MM-DD` or RFC 3339 text, read into
//! instants the store and RFC 3339 can both hold.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Deserializer};

/// `YYYY-MM-DD` or RFC 3339, from 1970 to 9999 (what RFC 3339 writes back); a bare date is
/// that day's start (UTC), or with `end` the next day's start, so that an end date includes
/// its day (9999-12-31 ends at its last millisecond).
pub(super) fn instant(text: &str, end: bool) -> Result<DateTime<Utc>, String> {
    let out_of_range =
        || format!("{text:?} is out of range: dates are from 1970-01-01 to 9999-12-31");
    if let Ok(time) = DateTime::parse_from_rfc3339(text.trim()) {
        let time = time.with_timezone(&Utc);
        return if (1970..=9999).contains(&time.year()) {
            Ok(time)
        } else {
            Err(out_of_range())
        };
    }
    let date = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{text:?} is not a date (YYYY-MM-DD) or an RFC 3339 time"))?;
    if !(1970..=9999).contains(&date.year()) {
        return Err(out_of_range());
    }
    let start = date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    if !end {
        return Ok(start);
    }
    Ok(match date.succ_opt().filter(|next| next.year() <= 9999) {
        Some(next) => next.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
        None => start + chrono::Duration::milliseconds(86_400_000 - 1),
    })
}

pub(super) fn start_date<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<DateTime<Utc>, D::Error> {
    instant(&String::deserialize(deserializer)?, false).map_err(serde::de::Error::custom)
}

pub(super) fn end_date<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<DateTime<Utc>, D::Error> {
    instant(&String::deserialize(deserializer)?, true).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::instant;
    use chrono::Datelike;

    #[test]
    fn dates_stay_within_what_rfc_3339_writes_back() {
        for text in ["+262142-12-31", "1969-12-31", "0001-01-01"] {
            let error = instant(text, true).expect_err(text);
            assert!(error.contains("out of range"), "{error}");
        }
        assert!(instant("10000-01-01", true).is_err());
        assert!(instant("+262142-12-31T00:00:00Z", false).is_err());
        let last = instant("9999-12-31", true).expect("the last day");
        assert_eq!(last.year(), 9999);
        assert!(last.to_rfc3339().starts_with("9999-12-31T23:59:59.999"));
        assert_eq!(
            instant("2026-12-06", true).expect("a day").to_rfc3339(),
            "2026-12-07T00:00:00+00:00"
        );
    }
}
