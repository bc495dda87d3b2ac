//! Spark's date and time functions beyond the basic ones in [`super::scalar`]:
//! `date_format` with Java `DateTimeFormatter` patterns, unix-time conversions,
//! `last_day`, `add_months`, `months_between`, `weekofyear`, `next_day`,
//! `make_timestamp`, and `timestampadd`/`timestampdiff` by unit.
//!
//! Timestamps are Quarry's `TIMESTAMP` (microseconds, no zone); the session time zone
//! is UTC, so `from_unixtime(0)` is `1970-01-01 00:00:00`.

use std::sync::Arc;

use arrow::array::*;
use arrow::datatypes::*;
use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, NaiveDateTime, Timelike, Weekday};

use super::scalar::{dates, from_naive_date, ints, parse_timestamp_str, strings, EPOCH_DAYS_CE};
use crate::error::{QuarryError, Result};
use crate::types::{is_numeric, is_string, TIMESTAMP};

/// A date/time function (see the module docs). Names follow Spark SQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateFunc {
    /// `date_format(ts, pattern)`.
    DateFormat,
    /// `from_unixtime(seconds[, pattern])`.
    FromUnixtime,
    /// `unix_timestamp([x[, pattern]])`/`to_unix_timestamp`: seconds since the epoch.
    UnixTimestamp,
    TimestampSeconds,
    TimestampMillis,
    TimestampMicros,
    UnixSeconds,
    UnixMillis,
    UnixMicros,
    LastDay,
    AddMonths,
    /// `months_between(ts1, ts2[, roundOff])`.
    MonthsBetween,
    WeekOfYear,
    /// `next_day(date, dayOfWeek)`: the first later date on that weekday.
    NextDay,
    /// `make_timestamp(year, month, day, hour, min, sec)`; with one argument (DuckDB),
    /// microseconds since the epoch.
    MakeTimestamp,
    /// `make_time(hour, minute, second)` (Spark 4.1, DuckDB): a TIME; NULL when a
    /// field is out of range.
    MakeTime,
    /// `microsecond(ts)` (DuckDB): the seconds of the minute in microseconds
    /// (`12:01:02.5` gives 2500000); also of a TIME.
    Microsecond,
    /// `timestampadd(unit, n, ts)` (and `dateadd` with a unit).
    TimestampAdd,
    /// `timestampdiff(unit, start, end)` (and `datediff` with a unit).
    TimestampDiff,
    CurrentTimezone,
    /// `from_utc_timestamp(ts, tz)`: the wall-clock time in `tz` of the instant `ts`
    /// read as UTC (`ts` plus `tz`'s offset at that instant).
    FromUtcTimestamp,
    /// `to_utc_timestamp(ts, tz)`: the UTC instant of the wall-clock time `ts` in `tz`
    /// (a time skipped by a DST change moves forward, a repeated one takes the earlier
    /// offset, as java.time's `ZonedDateTime.of`).
    ToUtcTimestamp,
}

impl DateFunc {
    /// The Spark name.
    pub fn name(&self) -> &'static str {
        use DateFunc::*;
        match self {
            DateFormat => "date_format",
            FromUnixtime => "from_unixtime",
            UnixTimestamp => "unix_timestamp",
            TimestampSeconds => "timestamp_seconds",
            TimestampMillis => "timestamp_millis",
            TimestampMicros => "timestamp_micros",
            UnixSeconds => "unix_seconds",
            UnixMillis => "unix_millis",
            UnixMicros => "unix_micros",
            LastDay => "last_day",
            AddMonths => "add_months",
            MonthsBetween => "months_between",
            WeekOfYear => "weekofyear",
            NextDay => "next_day",
            MakeTimestamp => "make_timestamp",
            MakeTime => "make_time",
            Microsecond => "microsecond",
            TimestampAdd => "timestampadd",
            TimestampDiff => "timestampdiff",
            CurrentTimezone => "current_timezone",
            FromUtcTimestamp => "from_utc_timestamp",
            ToUtcTimestamp => "to_utc_timestamp",
        }
    }

    /// Look up a function by (lower-case) name.
    pub fn lookup(name: &str) -> Option<DateFunc> {
        use DateFunc::*;
        Some(match name {
            "date_format" => DateFormat,
            "from_unixtime" => FromUnixtime,
            "unix_timestamp" | "to_unix_timestamp" => UnixTimestamp,
            "timestamp_seconds" => TimestampSeconds,
            "timestamp_millis" => TimestampMillis,
            "timestamp_micros" => TimestampMicros,
            "unix_seconds" => UnixSeconds,
            "unix_millis" => UnixMillis,
            "unix_micros" => UnixMicros,
            "last_day" => LastDay,
            "add_months" => AddMonths,
            "months_between" => MonthsBetween,
            "weekofyear" => WeekOfYear,
            "next_day" => NextDay,
            "make_timestamp" | "make_timestamp_ntz" | "make_timestamp_ltz" => MakeTimestamp,
            "make_time" => MakeTime,
            "microsecond" | "microseconds" => Microsecond,
            "timestampadd" => TimestampAdd,
            "timestampdiff" => TimestampDiff,
            "current_timezone" => CurrentTimezone,
            "from_utc_timestamp" => FromUtcTimestamp,
            "to_utc_timestamp" => ToUtcTimestamp,
            _ => return None,
        })
    }

    /// Argument types to cast to and the result type (see [`super::scalar::ScalarFunc::signature`]).
    pub fn signature(&self, args: &[DataType]) -> Result<(Vec<DataType>, DataType)> {
        use DateFunc::*;
        let n = args.len();
        let s = DataType::Utf8;
        let l = DataType::Int64;
        let d = DataType::Date32;
        let i = DataType::Int32;
        let want = |lo: usize, hi: usize| super::check_arity(self.name(), n, lo, hi);
        Ok(match self {
            DateFormat => {
                want(2, 2)?;
                (vec![TIMESTAMP, s.clone()], s)
            }
            FromUnixtime => {
                want(1, 2)?;
                (
                    [l].into_iter()
                        .chain(std::iter::repeat_n(s.clone(), n - 1))
                        .collect(),
                    s,
                )
            }
            UnixTimestamp => {
                // `unix_timestamp()` (now) is bound as unix_timestamp(current_timestamp())
                want(1, 2)?;
                let mut v = vec![if is_string(&args[0]) || args[0] == DataType::Null {
                    s.clone()
                } else {
                    TIMESTAMP
                }];
                if n == 2 {
                    v.push(s);
                }
                (v, l)
            }
            TimestampSeconds => {
                want(1, 1)?;
                let t = if crate::types::is_integer(&args[0]) || args[0] == DataType::Null {
                    l
                } else if is_numeric(&args[0]) {
                    DataType::Float64
                } else {
                    return Err(type_error(self, &args[0]));
                };
                (vec![t], TIMESTAMP)
            }
            TimestampMillis | TimestampMicros => {
                want(1, 1)?;
                (vec![l], TIMESTAMP)
            }
            UnixSeconds | UnixMillis | UnixMicros => {
                want(1, 1)?;
                (vec![TIMESTAMP], l)
            }
            LastDay => {
                want(1, 1)?;
                (vec![d.clone()], d)
            }
            AddMonths => {
                want(2, 2)?;
                (vec![d.clone(), i], d)
            }
            MonthsBetween => {
                want(2, 3)?;
                let mut v = vec![TIMESTAMP, TIMESTAMP];
                if n == 3 {
                    v.push(DataType::Boolean);
                }
                (v, DataType::Float64)
            }
            WeekOfYear => {
                want(1, 1)?;
                (vec![d], i)
            }
            NextDay => {
                want(2, 2)?;
                (vec![d.clone(), s], d)
            }
            MakeTimestamp if n == 1 => (vec![l], TIMESTAMP),
            MakeTime => {
                want(3, 3)?;
                (
                    vec![l.clone(), l, DataType::Float64],
                    DataType::Time64(TimeUnit::Microsecond),
                )
            }
            Microsecond => {
                want(1, 1)?;
                match &args[0] {
                    t @ DataType::Time64(_) => (vec![t.clone()], l),
                    _ => (vec![TIMESTAMP], l),
                }
            }
            MakeTimestamp => {
                want(6, 6)?;
                (
                    vec![
                        i.clone(),
                        i.clone(),
                        i.clone(),
                        i.clone(),
                        i,
                        DataType::Float64,
                    ],
                    TIMESTAMP,
                )
            }
            TimestampAdd => {
                want(3, 3)?;
                (vec![s, l, TIMESTAMP], TIMESTAMP)
            }
            TimestampDiff => {
                want(3, 3)?;
                (vec![s, TIMESTAMP, TIMESTAMP], l)
            }
            CurrentTimezone => {
                want(0, 0)?;
                (vec![], s)
            }
            FromUtcTimestamp | ToUtcTimestamp => {
                want(2, 2)?;
                (vec![TIMESTAMP, s], TIMESTAMP)
            }
        })
    }
}

fn type_error(f: &DateFunc, t: &DataType) -> QuarryError {
    QuarryError::Analysis(format!(
        "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve \"{}\": the argument requires a numeric type, not \"{}\"",
        f.name(),
        crate::types::type_name(t)
    ))
}

const MICROS: i64 = 1_000_000;

/// Microseconds since the epoch as a date-time (UTC); `None` out of chrono's range.
pub(super) fn to_datetime(micros: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp_micros(micros).map(|d| d.naive_utc())
}

fn to_date(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days.checked_add(EPOCH_DAYS_CE)?)
}

fn micros_of(dt: NaiveDateTime) -> i64 {
    dt.and_utc().timestamp_micros()
}

fn timestamps(a: &ArrayRef) -> &TimestampMicrosecondArray {
    a.as_primitive::<TimestampMicrosecondType>()
}

/// Format `dt` with a Java `DateTimeFormatter` pattern, as Spark's `date_format`:
/// `y M L d D H h k K m s S a E e Q w` and zone letters (`z`, `VV`, `X`, `Z`, `O`,
/// UTC), quoted literals (`'...'`, `''`). An unknown letter is an error naming it.
pub fn format_java(dt: NaiveDateTime, pattern: &str) -> Result<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // '' is a quote; '...' a literal
            if chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            let mut j = i + 1;
            while j < chars.len() {
                if chars[j] == '\'' {
                    if chars.get(j + 1) == Some(&'\'') {
                        out.push('\'');
                        j += 2;
                        continue;
                    }
                    break;
                }
                out.push(chars[j]);
                j += 1;
            }
            i = j + 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            out.push(c);
            i += 1;
            continue;
        }
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let num = |v: i64, width: usize| format!("{v:0width$}");
        let text = match c {
            'y' => {
                let y = i64::from(dt.year());
                if n == 2 {
                    num(y.rem_euclid(100), 2)
                } else {
                    num(y, n)
                }
            }
            'M' | 'L' => match n {
                1 | 2 => num(i64::from(dt.month()), n),
                3 => month_name(dt.month())[..3].to_string(),
                _ => month_name(dt.month()).to_string(),
            },
            'd' => num(i64::from(dt.day()), n),
            'D' => num(i64::from(dt.ordinal()), n),
            'H' => num(i64::from(dt.hour()), n),
            'k' => num(i64::from(if dt.hour() == 0 { 24 } else { dt.hour() }), n),
            'h' => num(i64::from(if dt.hour() % 12 == 0 { 12 } else { dt.hour() % 12 }), n),
            'K' => num(i64::from(dt.hour() % 12), n),
            'm' => num(i64::from(dt.minute()), n),
            's' => num(i64::from(dt.second()), n),
            'S' => {
                let frac = format!("{:09}", dt.nanosecond());
                if n <= 9 {
                    frac[..n].to_string()
                } else {
                    format!("{frac}{}", "0".repeat(n - 9))
                }
            }
            'a' => (if dt.hour() < 12 { "AM" } else { "PM" }).to_string(),
            'E' => {
                let name = weekday_name(dt.weekday());
                if n <= 3 {
                    name[..3].to_string()
                } else {
                    name.to_string()
                }
            }
            'e' => num(i64::from(dt.weekday().number_from_sunday()), n),
            'Q' | 'q' => {
                let q = (dt.month() - 1) / 3 + 1;
                match n {
                    1 | 2 => num(i64::from(q), n),
                    3 => format!("Q{q}"),
                    _ => format!("{} quarter", ["1st", "2nd", "3rd", "4th"][(q - 1) as usize]),
                }
            }
            'w' => num(i64::from(dt.iso_week().week()), n),
            'G' => "AD".to_string(),
            'V' | 'z' | 'O' | 'v' => "UTC".to_string(),
            'X' => "Z".to_string(),
            'x' => ["+00", "+0000", "+00:00"][(n.min(3)) - 1].to_string(),
            'Z' => {
                if n <= 3 {
                    "+0000".to_string()
                } else {
                    "GMT".to_string()
                }
            }
            _ => {
                return Err(QuarryError::Execution(format!(
                    "[INVALID_DATETIME_PATTERN] Unrecognized datetime pattern: {pattern} (the letter '{c}')"
                )))
            }
        };
        out.push_str(&text);
        i += n;
    }
    Ok(out)
}

fn month_name(m: u32) -> &'static str {
    [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ][(m.clamp(1, 12) - 1) as usize]
}

fn weekday_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

/// Spark's day-of-week names for `next_day`: two letters, three letters or the full
/// name, in any case, without surrounding spaces (Spark's
/// `DateTimeUtils.getDayOfWeekFromString` does not trim: `' MO '` is no day). `None` for
/// anything else.
fn parse_weekday(s: &str) -> Option<Weekday> {
    Some(match s.to_ascii_uppercase().as_str() {
        "MO" | "MON" | "MONDAY" => Weekday::Mon,
        "TU" | "TUE" | "TUESDAY" => Weekday::Tue,
        "WE" | "WED" | "WEDNESDAY" => Weekday::Wed,
        "TH" | "THU" | "THURSDAY" => Weekday::Thu,
        "FR" | "FRI" | "FRIDAY" => Weekday::Fri,
        "SA" | "SAT" | "SATURDAY" => Weekday::Sat,
        "SU" | "SUN" | "SUNDAY" => Weekday::Sun,
        _ => return None,
    })
}

fn last_day_of_month(d: NaiveDate) -> Option<NaiveDate> {
    let first_next = if d.month() == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
    }?;
    first_next.pred_opt()
}

/// `d` plus `k` months (minus, for a negative `k`), as Spark's `add_months`: a day past
/// the end of the new month is its last day. None past the dates chrono represents.
pub(crate) fn add_months(d: NaiveDateTime, k: i64) -> Option<NaiveDateTime> {
    let m = Months::new(u32::try_from(k.unsigned_abs()).ok()?);
    if k >= 0 {
        d.checked_add_months(m)
    } else {
        d.checked_sub_months(m)
    }
}

/// Spark's `months_between`: whole months when both are the same day of the month or
/// both the last day of their month; otherwise the month difference plus the rest in
/// seconds over 31 days. Rounded to 8 places when `round` is set.
fn months_between(a: NaiveDateTime, b: NaiveDateTime, round: bool) -> Option<f64> {
    let months = (a.year() - b.year()) * 12 + a.month() as i32 - b.month() as i32;
    let last = |d: NaiveDateTime| last_day_of_month(d.date()).is_some_and(|l| l == d.date());
    if a.day() == b.day() || (last(a) && last(b)) {
        return Some(f64::from(months));
    }
    let secs_in_day =
        |d: NaiveDateTime| i64::from(d.day()) * 86_400 + i64::from(d.num_seconds_from_midnight());
    let diff = (secs_in_day(a) - secs_in_day(b)) as f64 / (31.0 * 86_400.0);
    let r = f64::from(months) + diff;
    Some(if round { (r * 1e8).round() / 1e8 } else { r })
}

/// Microseconds per unit for the units of fixed length.
fn fixed_unit(unit: &str) -> Option<i64> {
    Some(match unit {
        "MICROSECOND" => 1,
        "MILLISECOND" => 1_000,
        "SECOND" => MICROS,
        "MINUTE" => 60 * MICROS,
        "HOUR" => 3_600 * MICROS,
        "DAY" | "DAYOFYEAR" => 86_400 * MICROS,
        "WEEK" => 7 * 86_400 * MICROS,
        _ => return None,
    })
}

fn month_unit(unit: &str) -> Option<i64> {
    Some(match unit {
        "MONTH" => 1,
        "QUARTER" => 3,
        "YEAR" => 12,
        _ => return None,
    })
}

fn unit_error(f: &str, unit: &str) -> QuarryError {
    QuarryError::Analysis(format!(
        "[INVALID_PARAMETER_VALUE.DATETIME_UNIT] The value of parameter(s) `unit` in `{f}` is invalid: expects one of the units without quotes YEAR, QUARTER, MONTH, WEEK, DAY, DAYOFYEAR, HOUR, MINUTE, SECOND, MILLISECOND, MICROSECOND, but got the string literal '{unit}'."
    ))
}

fn timestamp_add(unit: &str, k: i64, ts: i64) -> Result<Option<i64>> {
    let u = unit.to_ascii_uppercase();
    if let Some(m) = fixed_unit(&u) {
        return Ok(k.checked_mul(m).and_then(|d| ts.checked_add(d)));
    }
    if let Some(m) = month_unit(&u) {
        return Ok(to_datetime(ts)
            .and_then(|dt| add_months(dt, k.checked_mul(m)?))
            .map(micros_of));
    }
    Err(unit_error("timestampadd", unit))
}

/// Spark's `timestampdiff`: whole units from `start` to `end`, truncated toward zero;
/// months count only when the day-and-time of `end` reaches that of `start`.
fn timestamp_diff(unit: &str, start: i64, end: i64) -> Result<Option<i64>> {
    let u = unit.to_ascii_uppercase();
    if let Some(m) = fixed_unit(&u) {
        return Ok(end.checked_sub(start).map(|d| d / m));
    }
    if let Some(m) = month_unit(&u) {
        let (Some(a), Some(b)) = (to_datetime(start), to_datetime(end)) else {
            return Ok(None);
        };
        let mut months =
            i64::from((b.year() - a.year()) * 12 + b.month() as i32 - a.month() as i32);
        let rest = |d: NaiveDateTime| (d.day(), d.time());
        if months > 0 && rest(b) < rest(a) {
            months -= 1;
        } else if months < 0 && rest(b) > rest(a) {
            months += 1;
        }
        return Ok(Some(months / m));
    }
    Err(unit_error("timestampdiff", unit))
}

/// Evaluate over arguments cast to the signature's types; `n` rows.
pub fn evaluate(func: DateFunc, args: &[ArrayRef], n: usize) -> Result<ArrayRef> {
    use DateFunc::*;
    let valid = |r: usize| args.iter().all(|a| a.is_valid(r));
    Ok(match func {
        DateFormat | FromUnixtime => {
            let fmt = args.get(1).map(strings).transpose()?;
            let mut b = StringBuilder::new();
            for r in 0..n {
                if !valid(r) {
                    b.append_null();
                    continue;
                }
                let micros = if func == DateFormat {
                    timestamps(&args[0]).value(r)
                } else {
                    match args[0]
                        .as_primitive::<Int64Type>()
                        .value(r)
                        .checked_mul(MICROS)
                    {
                        Some(m) => m,
                        None => {
                            b.append_null();
                            continue;
                        }
                    }
                };
                let Some(dt) = to_datetime(micros) else {
                    b.append_null();
                    continue;
                };
                let p = fmt.map_or("yyyy-MM-dd HH:mm:ss", |f| f.value(r));
                b.append_value(format_java(dt, p)?);
            }
            Arc::new(b.finish())
        }
        UnixTimestamp => {
            let out: Int64Array = match args[0].data_type() {
                DataType::Utf8 => {
                    let s = strings(&args[0])?;
                    let fmt = args.get(1).map(strings).transpose()?;
                    super::scalar::check_datetime_patterns(fmt)?;
                    let out: Int64Array = (0..n)
                        .map(|r| {
                            if !valid(r) {
                                return None;
                            }
                            let f = fmt.map_or("yyyy-MM-dd HH:mm:ss", |f| f.value(r));
                            parse_timestamp_str(s.value(r), Some(f)).map(|m| m.div_euclid(MICROS))
                        })
                        .collect();
                    super::scalar::check_new_parser(s, fmt, &out)?;
                    out
                }
                _ => timestamps(&args[0])
                    .iter()
                    .map(|v| v.map(|m| m.div_euclid(MICROS)))
                    .collect(),
            };
            Arc::new(out)
        }
        TimestampSeconds | TimestampMillis | TimestampMicros => {
            let out: TimestampMicrosecondArray = match args[0].data_type() {
                DataType::Float64 => args[0]
                    .as_primitive::<Float64Type>()
                    .iter()
                    .map(|v| {
                        let m = v? * MICROS as f64;
                        (m.is_finite() && m.abs() < i64::MAX as f64).then(|| m as i64)
                    })
                    .collect(),
                _ => {
                    let k = match func {
                        TimestampSeconds => MICROS,
                        TimestampMillis => 1_000,
                        _ => 1,
                    };
                    args[0]
                        .as_primitive::<Int64Type>()
                        .iter()
                        .map(|v| v?.checked_mul(k))
                        .collect()
                }
            };
            Arc::new(out)
        }
        UnixSeconds | UnixMillis | UnixMicros => {
            let k = match func {
                UnixSeconds => MICROS,
                UnixMillis => 1_000,
                _ => 1,
            };
            Arc::new(
                timestamps(&args[0])
                    .iter()
                    .map(|v| v.map(|m| m.div_euclid(k)))
                    .collect::<Int64Array>(),
            )
        }
        LastDay => Arc::new(
            dates(&args[0])?
                .iter()
                .map(|v| to_date(v?).and_then(last_day_of_month).map(from_naive_date))
                .collect::<Date32Array>(),
        ),
        AddMonths => {
            let (d, k) = (dates(&args[0])?, ints(&args[1])?);
            Arc::new(
                (0..n)
                    .map(|r| {
                        if !valid(r) {
                            return None;
                        }
                        let dt = to_date(d.value(r))?.and_hms_opt(0, 0, 0)?;
                        add_months(dt, i64::from(k.value(r))).map(|x| from_naive_date(x.date()))
                    })
                    .collect::<Date32Array>(),
            )
        }
        MonthsBetween => {
            let (a, b) = (timestamps(&args[0]), timestamps(&args[1]));
            let round = args.get(2).map(|a| a.as_boolean());
            Arc::new(
                (0..n)
                    .map(|r| {
                        if !valid(r) {
                            return None;
                        }
                        let ro = round.is_none_or(|x| x.value(r));
                        months_between(to_datetime(a.value(r))?, to_datetime(b.value(r))?, ro)
                    })
                    .collect::<Float64Array>(),
            )
        }
        WeekOfYear => Arc::new(
            dates(&args[0])?
                .iter()
                .map(|v| to_date(v?).map(|d| d.iso_week().week() as i32))
                .collect::<Int32Array>(),
        ),
        NextDay => {
            let (d, w) = (dates(&args[0])?, strings(&args[1])?);
            Arc::new(
                (0..n)
                    .map(|r| {
                        if !valid(r) {
                            return None;
                        }
                        let day = to_date(d.value(r))?;
                        let want = parse_weekday(w.value(r))?;
                        let ahead = (7 + want.num_days_from_monday() as i64
                            - day.weekday().num_days_from_monday() as i64
                            - 1)
                            % 7
                            + 1;
                        day.checked_add_signed(Duration::days(ahead))
                            .map(from_naive_date)
                    })
                    .collect::<Date32Array>(),
            )
        }
        MakeTimestamp if args.len() == 1 => Arc::new(
            args[0]
                .as_primitive::<Int64Type>()
                .reinterpret_cast::<TimestampMicrosecondType>(),
        ),
        MakeTime => {
            let (h, m) = (
                args[0].as_primitive::<Int64Type>(),
                args[1].as_primitive::<Int64Type>(),
            );
            let sec = args[2].as_primitive::<Float64Type>();
            Arc::new(
                (0..n)
                    .map(|r| {
                        if !valid(r) {
                            return None;
                        }
                        let (h, m, s) = (h.value(r), m.value(r), sec.value(r));
                        if !(0..24).contains(&h)
                            || !(0..60).contains(&m)
                            || !(0.0..60.0).contains(&s)
                        {
                            return None;
                        }
                        Some((h * 3600 + m * 60) * MICROS + (s * MICROS as f64).round() as i64)
                    })
                    .collect::<Time64MicrosecondArray>(),
            )
        }
        Microsecond => {
            let micros: Vec<Option<i64>> = match args[0].data_type() {
                DataType::Time64(_) => args[0]
                    .as_primitive::<Time64MicrosecondType>()
                    .iter()
                    .collect(),
                _ => timestamps(&args[0]).iter().collect(),
            };
            Arc::new(
                micros
                    .into_iter()
                    .map(|v| v.map(|m| m.rem_euclid(60 * MICROS)))
                    .collect::<Int64Array>(),
            )
        }
        MakeTimestamp => {
            let p: Vec<&Int32Array> = args[..5].iter().map(ints).collect::<Result<_>>()?;
            let sec = args[5].as_primitive::<Float64Type>();
            Arc::new(
                (0..n)
                    .map(|r| {
                        if !valid(r) {
                            return None;
                        }
                        let v = |k: usize| u32::try_from(p[k].value(r)).ok();
                        let s = sec.value(r);
                        // 60 seconds is the next minute (Spark); more is invalid (NULL)
                        if !(0.0..=60.0).contains(&s) {
                            return None;
                        }
                        let whole = s.trunc() as u32;
                        let micros = ((s - s.trunc()) * 1e6).round() as i64;
                        let date = NaiveDate::from_ymd_opt(p[0].value(r), v(1)?, v(2)?)?;
                        let base = if whole == 60 {
                            if micros != 0 {
                                return None;
                            }
                            date.and_hms_opt(v(3)?, v(4)?, 0)? + Duration::minutes(1)
                        } else {
                            date.and_hms_opt(v(3)?, v(4)?, whole)?
                        };
                        Some(micros_of(base) + micros)
                    })
                    .collect::<TimestampMicrosecondArray>(),
            )
        }
        TimestampAdd => {
            let (u, k, ts) = (
                strings(&args[0])?,
                args[1].as_primitive::<Int64Type>(),
                timestamps(&args[2]),
            );
            let mut out = TimestampMicrosecondBuilder::with_capacity(n);
            for r in 0..n {
                match valid(r) {
                    true => out.append_option(timestamp_add(u.value(r), k.value(r), ts.value(r))?),
                    false => out.append_null(),
                }
            }
            Arc::new(out.finish())
        }
        TimestampDiff => {
            let (u, a, b) = (
                strings(&args[0])?,
                timestamps(&args[1]),
                timestamps(&args[2]),
            );
            let mut out = Int64Builder::with_capacity(n);
            for r in 0..n {
                match valid(r) {
                    true => out.append_option(timestamp_diff(u.value(r), a.value(r), b.value(r))?),
                    false => out.append_null(),
                }
            }
            Arc::new(out.finish())
        }
        CurrentTimezone => Arc::new(StringArray::from(vec!["UTC"; n])),
        FromUtcTimestamp | ToUtcTimestamp => {
            let ts = args[0].as_primitive::<TimestampMicrosecondType>();
            let zones = strings(&args[1])?;
            let mut cache: Option<(String, Zone)> = None;
            let mut out = Vec::with_capacity(n);
            for r in 0..n {
                if !valid(r) {
                    out.push(None);
                    continue;
                }
                let name = zones.value(r);
                if cache.as_ref().is_none_or(|(c, _)| c != name) {
                    cache = Some((name.to_string(), Zone::parse(name)?));
                }
                let Some((_, zone)) = &cache else {
                    return Err(QuarryError::Internal("time zone cache".into()));
                };
                let v = ts.value(r);
                out.push(if func == FromUtcTimestamp {
                    zone.utc_to_local(v)
                } else {
                    zone.local_to_utc(v)
                });
            }
            Arc::new(TimestampMicrosecondArray::from(out))
        }
    })
}

/// Whether the zone id `name` (Spark's forms, as [`Zone::parse`] reads them) is UTC at
/// every instant: a zero offset (`+00:00`, `Z`, `GMT+0`) or one of the IANA database's
/// names for UTC (`UTC`, `Etc/UTC`, `GMT`, `Zulu`, ...). A region whose offset is zero
/// only part of the year (`Europe/London`) is not. Errors: an invalid zone id,
/// `[INVALID_TIMEZONE]`.
pub(crate) fn is_utc_zone(name: &str) -> Result<bool> {
    Ok(match Zone::parse(name)? {
        Zone::Fixed(off) => off.local_minus_utc() == 0,
        Zone::Region(tz) => matches!(
            tz.name(),
            "UTC"
                | "UCT"
                | "Universal"
                | "Zulu"
                | "GMT"
                | "GMT0"
                | "GMT+0"
                | "GMT-0"
                | "Greenwich"
                | "Etc/UTC"
                | "Etc/UCT"
                | "Etc/Universal"
                | "Etc/Zulu"
                | "Etc/GMT"
                | "Etc/GMT0"
                | "Etc/GMT+0"
                | "Etc/GMT-0"
                | "Etc/Greenwich"
        ),
    })
}

/// A string as a timestamp (UTC microseconds) by Spark's rules for `CAST(s AS TIMESTAMP)`
/// (`DateTimeUtils.stringToTimestamp`). Surrounding whitespace is ignored; then either
/// - a date: an optional sign and a year of 4 to 6 digits, `-[m]m`, `-[d]d`, the last
///   optionally followed by a space or `T` and a time (`2015`, `2015-03`,
///   `2015-03-18T`, `2015-3-8 1:2:3`), or
/// - a time alone, `[T][h]h:[m]m...`, on today's date;
///
/// a time is `[h]h[:[m]m[:[s]s[.fraction]]]` (a fraction past microseconds is
/// truncated), and after the seconds may come a zone (`Z`, `UTC`, `+07:30`, `-1:0`,
/// ` GMT+0730`, ` Europe/Moscow`), in which the text's wall-clock time is read; without
/// one it is read in the session time zone (UTC). `None` (NULL in a non-ANSI cast) for
/// anything else, a day the month does not have, or a value past the microsecond range.
pub fn spark_string_to_timestamp(s: &str) -> Option<i64> {
    let b = s
        .trim_matches(|c: char| c <= ' ' || c.is_whitespace())
        .as_bytes();
    let (sign, start) = match b.first()? {
        b'-' => (Some(-1), 1),
        b'+' => (Some(1), 1),
        _ => (None, 0),
    };
    // segments: year, month, day, hour, minute, second, microseconds
    let mut seg = [1i64, 1, 1, 0, 0, 0, 0];
    let (mut i, mut j) = (0usize, start);
    let mut just_time = false;
    if b.get(j) == Some(&b'T') && sign.is_none() {
        just_time = true;
        i = 3;
        j += 1;
    }
    let (mut value, mut digits, mut frac_digits) = (0i64, 0u32, 0u32);
    let mut zone: Option<&str> = None;
    let valid = |segment: usize, digits: u32| match segment {
        0 => (4..=6).contains(&digits),
        6 => true,
        _ => (1..=2).contains(&digits),
    };
    while j < b.len() {
        let c = b[j];
        if c.is_ascii_digit() {
            let d = i64::from(c - b'0');
            if i == 6 {
                frac_digits += 1;
                if frac_digits <= 6 {
                    value = value * 10 + d;
                }
            } else {
                value = value * 10 + d;
                digits += 1;
                if digits > 6 {
                    return None;
                }
            }
            j += 1;
            continue;
        }
        match (i, c) {
            (0 | 1, b'-') => {}
            // `hh:` first: a time alone
            (0, b':') if sign.is_none() => {
                if !valid(3, digits) {
                    return None;
                }
                just_time = true;
                seg[3] = value;
                (value, digits, i) = (0, 0, 4);
                j += 1;
                continue;
            }
            (2, b' ' | b'T') => {}
            (3 | 4, b':') => {}
            (5, b'.') => {}
            // the zone follows the seconds or their fraction
            (5 | 6, _) => {
                if !valid(i, digits) {
                    return None;
                }
                seg[i] = value;
                zone = Some(std::str::from_utf8(&b[j..]).ok()?.trim());
                (value, digits) = (0, u32::MAX);
                break;
            }
            _ => return None,
        }
        if !valid(i, digits) {
            return None;
        }
        seg[i] = value;
        (value, digits) = (0, 0);
        i += 1;
        j += 1;
    }
    if digits != u32::MAX {
        // `2015-03-18T` and `2015-03-18 ` end with an empty time
        if !(i == 3 && digits == 0 && !just_time) {
            if !valid(i, digits) {
                return None;
            }
            seg[i] = value;
        }
    }
    if i == 6 || frac_digits > 0 {
        let mut f = seg[6];
        for _ in frac_digits.min(6)..6 {
            f *= 10;
        }
        seg[6] = f;
    }
    if just_time && sign.is_some() {
        return None;
    }
    let days = if just_time {
        i64::from(from_naive_date(chrono::Utc::now().date_naive()))
    } else {
        let year = i32::try_from(seg[0]).ok()? * sign.unwrap_or(1);
        i64::from(super::scalar::days_from_civil(
            year,
            i32::try_from(seg[1]).ok()?,
            i32::try_from(seg[2]).ok()?,
        )?)
    };
    if seg[3] > 23 || seg[4] > 59 || seg[5] > 59 {
        return None;
    }
    let local = days
        .checked_mul(86_400_000_000)?
        .checked_add((seg[3] * 3600 + seg[4] * 60 + seg[5]) * 1_000_000 + seg[6])?;
    match zone {
        None | Some("") => Some(local),
        Some(z) => Zone::parse(z).ok()?.local_to_utc(local),
    }
}

/// A time zone as Spark's zone ids name them: a region (`Asia/Seoul`, `UTC`, through
/// chrono-tz's IANA database) or a fixed offset (`+09:00`, `-08`, `GMT+8`, `UTC-05:30`).
enum Zone {
    Region(chrono_tz::Tz),
    Fixed(chrono::FixedOffset),
}

impl Zone {
    /// Errors name the zone, as Spark's `INVALID_TIMEZONE`.
    fn parse(name: &str) -> Result<Zone> {
        let bad = || {
            QuarryError::Execution(format!(
                "[INVALID_TIMEZONE] The timezone: {name} is invalid. The timezone must be either a region-based zone ID or a zone offset. Region IDs must have the form 'area/city', such as 'America/Los_Angeles'. Zone offsets must be in the format '(+|-)HH', '(+|-)HH:mm' or '(+|-)HH:mm:ss', e.g '-08', '+01:00' or '-13:33:33'., and must be in the range from -18:00 to +18:00. 'Z' and 'UTC' are accepted as synonyms for '+00:00'."
            ))
        };
        let t = name.trim();
        if t.eq_ignore_ascii_case("Z") {
            return Ok(Zone::Fixed(
                chrono::FixedOffset::east_opt(0).ok_or_else(bad)?,
            ));
        }
        if let Ok(tz) = t.parse::<chrono_tz::Tz>() {
            return Ok(Zone::Region(tz));
        }
        let rest = ["GMT", "UTC", "UT"]
            .iter()
            .find_map(|p| t.strip_prefix(p))
            .unwrap_or(t);
        let (sign, body) = match rest.as_bytes().first() {
            Some(b'+') => (1, &rest[1..]),
            Some(b'-') => (-1, &rest[1..]),
            _ => return Err(bad()),
        };
        // `+hhmm` and `+hhmmss` as `+hh:mm` and `+hh:mm:ss` (Java's ZoneOffset.of)
        let parts: Vec<&str> =
            if body.is_ascii() && !body.contains(':') && matches!(body.len(), 4 | 6) {
                (0..body.len())
                    .step_by(2)
                    .map(|k| &body[k..k + 2])
                    .collect()
            } else {
                body.split(':').collect()
            };
        let num = |s: Option<&&str>| -> Result<i32> {
            match s {
                None => Ok(0),
                Some(s)
                    if !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    s.parse().map_err(|_| bad())
                }
                Some(_) => Err(bad()),
            }
        };
        if parts.len() > 3 {
            return Err(bad());
        }
        let (h, m, sec) = (num(parts.first())?, num(parts.get(1))?, num(parts.get(2))?);
        if h > 18 || m > 59 || sec > 59 {
            return Err(bad());
        }
        let secs = sign * (h * 3600 + m * 60 + sec);
        Ok(Zone::Fixed(
            chrono::FixedOffset::east_opt(secs).ok_or_else(bad)?,
        ))
    }

    /// The offset from UTC, in microseconds, at the UTC date-time `utc`.
    fn offset_at(&self, utc: &chrono::NaiveDateTime) -> i64 {
        use chrono::Offset;
        let secs = match self {
            Zone::Region(tz) => {
                use chrono::TimeZone;
                tz.offset_from_utc_datetime(utc).fix().local_minus_utc()
            }
            Zone::Fixed(f) => f.local_minus_utc(),
        };
        secs as i64 * 1_000_000
    }

    /// `micros` (UTC) as the zone's wall-clock time, in micros.
    fn utc_to_local(&self, micros: i64) -> Option<i64> {
        let t = chrono::DateTime::from_timestamp_micros(micros)?.naive_utc();
        micros.checked_add(self.offset_at(&t))
    }

    /// The zone's wall-clock time `micros` as UTC micros.
    fn local_to_utc(&self, micros: i64) -> Option<i64> {
        let local = chrono::DateTime::from_timestamp_micros(micros)?.naive_utc();
        match self {
            Zone::Fixed(f) => micros.checked_sub(f.local_minus_utc() as i64 * 1_000_000),
            Zone::Region(tz) => {
                use chrono::{Offset, TimeZone};
                let off = match tz.offset_from_local_datetime(&local) {
                    chrono::LocalResult::Single(o) => o.fix(),
                    chrono::LocalResult::Ambiguous(a, b) => {
                        // the earlier instant: the larger offset
                        let (a, b) = (a.fix(), b.fix());
                        if a.local_minus_utc() >= b.local_minus_utc() {
                            a
                        } else {
                            b
                        }
                    }
                    // a skipped time: the offset before the gap, which moves it forward
                    chrono::LocalResult::None => {
                        let before = local - chrono::Duration::days(1);
                        tz.offset_from_utc_datetime(&before).fix()
                    }
                };
                micros.checked_sub(off.local_minus_utc() as i64 * 1_000_000)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap_or_default()
    }

    #[test]
    fn string_to_timestamp_as_spark_casts() {
        let micros = |s: &str| dt(s).and_utc().timestamp_micros();
        let cases = [
            ("2015", Some("2015-01-01 00:00:00")),
            ("2015-3", Some("2015-03-01 00:00:00")),
            (" 2015-03-18 ", Some("2015-03-18 00:00:00")),
            ("2015-03-18T", Some("2015-03-18 00:00:00")),
            ("2015-3-8 1:2:3", Some("2015-03-08 01:02:03")),
            ("2015-03-18 12", Some("2015-03-18 12:00:00")),
            ("2015-03-18T12:03", Some("2015-03-18 12:03:00")),
            ("2015-03-18 12:03:17.", Some("2015-03-18 12:03:17")),
            ("2015-03-18 12:03:17.12", Some("2015-03-18 12:03:17.12")),
            (
                "2015-03-18 12:03:17.123456789",
                Some("2015-03-18 12:03:17.123456"),
            ),
            ("2015-03-18 12:03:17Z", Some("2015-03-18 12:03:17")),
            ("2015-03-18 12:03:17 UTC", Some("2015-03-18 12:03:17")),
            ("2015-03-18T12:03:17-1:0", Some("2015-03-18 13:03:17")),
            ("2015-03-18T12:03:17.5+0730", Some("2015-03-18 04:33:17.5")),
            ("2015-03-18T12:03:17 GMT+07:30", Some("2015-03-18 04:33:17")),
            (
                "2015-01-18 12:03:17 Europe/Paris",
                Some("2015-01-18 11:03:17"),
            ),
            ("02015-03-18", Some("2015-03-18 00:00:00")),
            ("238", None),
            ("2015-03-18X", None),
            ("2015/03/18", None),
            ("20150318", None),
            ("1999 08", None),
            ("2015-02-29", None),
            ("2015-03-18 24:00:00", None),
            ("2015-03-18T12:03.17", None),
            ("2015-03-18 12:03Z", None),
            ("2015-03-18 12:03:17 Mars/Olympus", None),
            ("+12:12:12", None),
            ("", None),
            ("+", None),
        ];
        for (text, want) in cases {
            assert_eq!(
                spark_string_to_timestamp(text),
                want.map(micros),
                "{text:?}"
            );
        }
        // a time alone is today's
        let today = i64::from(from_naive_date(chrono::Utc::now().date_naive()));
        let t = spark_string_to_timestamp("18:12:15");
        assert!(t.is_some_and(|t| t.div_euclid(86_400_000_000) - today <= 1));
        assert_eq!(
            t.map(|t| t.rem_euclid(86_400_000_000)),
            Some((18 * 3600 + 12 * 60 + 15) * 1_000_000)
        );
        assert_eq!(
            spark_string_to_timestamp("T18:12:15.5+01:00").map(|t| t.rem_euclid(86_400_000_000)),
            Some((17 * 3600 + 12 * 60 + 15) * 1_000_000 + 500_000)
        );
    }

    #[test]
    fn java_patterns() {
        let t = dt("2016-04-08 13:05:09.123");
        let f = |p: &str| format_java(t, p).unwrap_or_else(|e| e.to_string());
        assert_eq!(f("yyyy-MM-dd HH:mm:ss"), "2016-04-08 13:05:09");
        assert_eq!(f("y"), "2016");
        assert_eq!(f("yy/M/d h:mm a"), "16/4/8 1:05 PM");
        assert_eq!(f("EEE, MMM d ''yy"), "Fri, Apr 8 '16");
        assert_eq!(f("EEEE MMMM D"), "Friday April 99");
        assert_eq!(f("HH:mm:ss.SSS"), "13:05:09.123");
        assert_eq!(f("'at' HH 'o''clock'"), "at 13 o'clock");
        assert!(format_java(t, "yyyy-MM-dd bb").is_err());
    }

    #[test]
    fn months_between_like_spark() {
        let a = dt("1997-02-28 10:30:00");
        let b = dt("1996-10-30 00:00:00");
        assert_eq!(months_between(a, b, true), Some(3.94959677));
        assert_eq!(
            months_between(dt("2020-03-31 00:00:00"), dt("2020-02-29 00:00:00"), true),
            Some(1.0)
        );
    }

    #[test]
    fn units() {
        let ts = micros_of(dt("2022-02-25 01:02:03"));
        assert_eq!(
            timestamp_add("MONTH", -1, ts).ok().flatten(),
            Some(micros_of(dt("2022-01-25 01:02:03")))
        );
        let later = micros_of(dt("2022-01-25 01:02:03"));
        assert_eq!(timestamp_diff("MONTH", ts, later).ok().flatten(), Some(-1));
        assert_eq!(
            timestamp_diff("WEEK", ts, micros_of(dt("2022-01-28 01:02:03")))
                .ok()
                .flatten(),
            Some(-4)
        );
        assert!(timestamp_add("FORTNIGHT", 1, ts).is_err());
    }
}
