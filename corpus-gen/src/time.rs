//! Time: the year the corpus lives in, and RFC 3339 timestamps with milliseconds.

/// 2024-01-01T00:00:00Z and 2025-01-01T00:00:00Z, in milliseconds since the epoch.
pub(crate) const YEAR_START_MS: i64 = 1_704_067_200_000;
pub(crate) const YEAR_END_MS: i64 = 1_735_689_600_000;
pub(crate) const DAY_MS: i64 = 86_400_000;

/// RFC 3339 UTC with milliseconds: `2024-03-05T14:22:31.123Z`.
pub(crate) fn rfc3339(ms: i64) -> String {
    let days = ms.div_euclid(DAY_MS);
    let in_day = ms.rem_euclid(DAY_MS);
    let (year, month, day) = civil_from_days(days);
    let (h, m, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}
