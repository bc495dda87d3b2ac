//! Spark's interval types, as Spark 3.2+ has them by default
//! (`spark.sql.legacy.interval.enabled` off):
//!
//! - **year-month** intervals (`INTERVAL '1-2' YEAR TO MONTH`, `INTERVAL 3 MONTHS`): a
//!   number of months, arrow `Interval(YearMonth)` (i32);
//! - **day-time** intervals (`INTERVAL '1 02:03:04.5' DAY TO SECOND`, `INTERVAL 2 HOURS`,
//!   `date - date`, `ts - ts`): microseconds, arrow `Duration(Microsecond)` (i64);
//! - the legacy **calendar** interval (`CAST('1 month 2 days' AS INTERVAL)`,
//!   `make_interval`): months, days and microseconds, arrow `Interval(MonthDayNano)`.
//!
//! A Spark interval type also has a start and an end field (`DAY TO HOUR`); arrow's type
//! does not, so the binder carries them beside the expression ([`Qualifier`],
//! [`IntervalFunc::Qualified`]) where Spark's answer depends on them: `date + INTERVAL
//! '1' DAY` is a date but `date + INTERVAL 1 HOUR` a timestamp, and a cast to a number
//! counts in the end field's unit. A value whose fields are not known (a column read
//! from a view) takes the widest ones: `YEAR TO MONTH` or `DAY TO SECOND`.
//!
//! Parsing follows Spark's `IntervalUtils` (`stringToInterval` for `'1 day 2 hours'`,
//! `castStringToYMInterval` / `castStringToDTInterval` for `'1-2'` and `'1 02:03:04'`),
//! printing its `toYearMonthIntervalString` / `toDayTimeIntervalString` (HIVE style for
//! results, `3-1` and `3 00:00:01.000000000`; ANSI style for `CAST(... AS STRING)`,
//! `INTERVAL '3-1' YEAR TO MONTH`) and `CalendarInterval.toString` (`3 months 1 hours`).
//! Arithmetic follows Spark's `MultiplyYMInterval` / `DivideDTInterval` and friends:
//! integral factors are exact (overflow is an error), fractional ones round HALF_UP.

use std::sync::Arc;

use arrow::array::*;
use arrow::datatypes::*;

use crate::error::{QuarryError, Result};
use crate::types::{is_integer, is_string};

/// The arrow type of Spark's year-month intervals (months).
pub const YEAR_MONTH: DataType = DataType::Interval(IntervalUnit::YearMonth);
/// The arrow type of Spark's day-time intervals (microseconds).
pub const DAY_TIME: DataType = DataType::Duration(TimeUnit::Microsecond);
/// The arrow type of Spark's legacy calendar interval (months, days, nanoseconds).
pub const CALENDAR: DataType = DataType::Interval(IntervalUnit::MonthDayNano);

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_MINUTE: i64 = 60 * MICROS_PER_SECOND;
const MICROS_PER_HOUR: i64 = 60 * MICROS_PER_MINUTE;
const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

/// Whether `dt` is one of Spark's ANSI interval types (year-month or day-time).
pub fn is_ansi_interval(dt: &DataType) -> bool {
    *dt == YEAR_MONTH || *dt == DAY_TIME
}

/// Whether `dt` is an interval type (ANSI or calendar).
pub fn is_interval(dt: &DataType) -> bool {
    is_ansi_interval(dt) || *dt == CALENDAR
}

/// A field of an interval type, in Spark's order (YEAR < MONTH; DAY < ... < SECOND).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
}

impl Field {
    /// The field a type qualifier word names (`year`, `MONTH`, ...; no plurals).
    pub fn parse(word: &str) -> Option<Field> {
        Some(match word.to_ascii_lowercase().as_str() {
            "year" => Field::Year,
            "month" => Field::Month,
            "day" => Field::Day,
            "hour" => Field::Hour,
            "minute" => Field::Minute,
            "second" => Field::Second,
            _ => return None,
        })
    }

    /// The name as Spark writes it in a type (`DAY`).
    pub fn name(self) -> &'static str {
        match self {
            Field::Year => "YEAR",
            Field::Month => "MONTH",
            Field::Day => "DAY",
            Field::Hour => "HOUR",
            Field::Minute => "MINUTE",
            Field::Second => "SECOND",
        }
    }

    fn is_year_month(self) -> bool {
        matches!(self, Field::Year | Field::Month)
    }

    /// One unit of a day-time field in microseconds.
    fn micros(self) -> i64 {
        match self {
            Field::Day => MICROS_PER_DAY,
            Field::Hour => MICROS_PER_HOUR,
            Field::Minute => MICROS_PER_MINUTE,
            _ => MICROS_PER_SECOND,
        }
    }

    /// One unit of a year-month field in months.
    fn months(self) -> i64 {
        if self == Field::Year {
            12
        } else {
            1
        }
    }

    /// One unit of this field in the storage unit of its family (months or microseconds).
    fn unit(self) -> i64 {
        if self.is_year_month() {
            self.months()
        } else {
            self.micros()
        }
    }
}

/// The start and end fields of an interval type (`DAY TO HOUR`; `DAY` when equal).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Qualifier {
    pub start: Field,
    pub end: Field,
}

impl Qualifier {
    /// `INTERVAL YEAR TO MONTH`, the widest year-month type.
    pub const YEAR_TO_MONTH: Qualifier = Qualifier {
        start: Field::Year,
        end: Field::Month,
    };
    /// `INTERVAL DAY TO SECOND`, the widest day-time type.
    pub const DAY_TO_SECOND: Qualifier = Qualifier {
        start: Field::Day,
        end: Field::Second,
    };

    /// `start TO end`; an error when they are of different families or out of order
    /// (`MONTH TO YEAR`, `YEAR TO DAY`).
    pub fn new(start: Field, end: Field) -> Result<Qualifier> {
        if start.is_year_month() != end.is_year_month() || start > end {
            return Err(QuarryError::Analysis(format!(
                "[PARSE_SYNTAX_ERROR] Intervals FROM {} TO {} are not supported",
                start.name(),
                end.name()
            )));
        }
        Ok(Qualifier { start, end })
    }

    /// Whether this is a year-month type.
    pub fn is_year_month(self) -> bool {
        self.start.is_year_month()
    }

    /// The arrow type values of this type have.
    pub fn data_type(self) -> DataType {
        if self.is_year_month() {
            YEAR_MONTH
        } else {
            DAY_TIME
        }
    }

    /// The widest qualifier of an ANSI interval type (None for other types).
    pub fn of_type(dt: &DataType) -> Option<Qualifier> {
        if *dt == YEAR_MONTH {
            Some(Qualifier::YEAR_TO_MONTH)
        } else if *dt == DAY_TIME {
            Some(Qualifier::DAY_TO_SECOND)
        } else {
            None
        }
    }

    /// The qualifier of a value that meets one of `other` (Spark's wider interval type:
    /// the earlier start, the later end). Both must be of one family.
    pub fn union(self, other: Qualifier) -> Qualifier {
        Qualifier {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// `DAY`, `DAY TO SECOND`.
    pub fn fields_sql(self) -> String {
        if self.start == self.end {
            self.start.name().to_string()
        } else {
            format!("{} TO {}", self.start.name(), self.end.name())
        }
    }

    /// The type's name as Spark's `typeof` prints it (`interval day to second`).
    pub fn type_name(self) -> String {
        format!("interval {}", self.fields_sql().to_ascii_lowercase())
    }
}

/// Parse a type name's interval part: `interval year to month`, `INTERVAL DAY`. `None`
/// when `text` is not an ANSI interval type name (a bare `interval` is the calendar type).
pub fn parse_type_qualifier(text: &str) -> Option<Result<Qualifier>> {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| w.to_ascii_lowercase())
        .collect();
    if words.first().map(String::as_str) != Some("interval") || words.len() < 2 {
        return None;
    }
    let field = |w: &str| {
        Field::parse(w).ok_or_else(|| QuarryError::NotSupported(format!("data type '{text}'")))
    };
    Some(match words.len() {
        2 => field(&words[1]).map(|f| Qualifier { start: f, end: f }),
        4 if words[2] == "to" => {
            field(&words[1]).and_then(|s| field(&words[3]).and_then(|e| Qualifier::new(s, e)))
        }
        _ => Err(QuarryError::NotSupported(format!("data type '{text}'"))),
    })
}

// ---------------------------------------------------------------------------------------
// Literals and strings
// ---------------------------------------------------------------------------------------

fn invalid(what: &str, input: &str) -> QuarryError {
    QuarryError::Analysis(format!(
        "[INVALID_INTERVAL_FORMAT] Error parsing '{input}' to interval: {what}"
    ))
}

/// What Spark's `IntervalUtils.stringToInterval` reads from `1 year 2 days 3.5 seconds`.
#[derive(Debug, Default)]
struct Units {
    months: i64,
    days: i64,
    micros: i64,
    /// The fields named, earliest and latest (week counts as DAY, milli- and
    /// microseconds as SECOND).
    first: Option<Field>,
    last: Option<Field>,
    year_month: bool,
    day_time: bool,
}

/// Parse an interval string of `[+|-]value unit` pairs (an optional leading `interval`;
/// units singular or plural: year, month, week, day, hour, minute, second,
/// millisecond, microsecond; only seconds may have a fraction, of up to 9 digits).
fn parse_units(input: &str) -> Result<Units> {
    let lower = input.trim().to_ascii_lowercase();
    let mut words: Vec<&str> = lower.split_whitespace().collect();
    if words.first() == Some(&"interval") {
        words.remove(0);
    }
    if words.is_empty() {
        return Err(invalid("the interval string is empty", input));
    }
    if !words.len().is_multiple_of(2) {
        return Err(invalid("expected value and unit pairs", input));
    }
    let overflow = || invalid("the interval value is out of range", input);
    let mut u = Units::default();
    for pair in words.chunks(2) {
        let (value, unit) = (pair[0], pair[1]);
        let (negative, digits) = match value.as_bytes().first() {
            Some(b'-') => (true, &value[1..]),
            Some(b'+') => (false, &value[1..]),
            _ => (false, value),
        };
        let (int_part, frac) = match digits.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (digits, None),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (int_part.is_empty() && frac.is_none_or(str::is_empty))
            || !all_digits(int_part)
            || !frac.is_none_or(all_digits)
        {
            return Err(invalid(&format!("invalid value '{value}'"), input));
        }
        let whole: i64 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| overflow())?
        };
        let unit_name = unit.strip_suffix('s').unwrap_or(unit);
        if frac.is_some() && unit_name != "second" {
            return Err(invalid(
                &format!("'{value}' cannot have fractional part"),
                input,
            ));
        }
        let sign = if negative { -1 } else { 1 };
        let (field, months, days, micros) = match unit_name {
            "year" => (
                Field::Year,
                whole.checked_mul(12).ok_or_else(overflow)?,
                0,
                0,
            ),
            "month" => (Field::Month, whole, 0, 0),
            "week" => (Field::Day, 0, whole.checked_mul(7).ok_or_else(overflow)?, 0),
            "day" => (Field::Day, 0, whole, 0),
            "hour" => (
                Field::Hour,
                0,
                0,
                whole.checked_mul(MICROS_PER_HOUR).ok_or_else(overflow)?,
            ),
            "minute" => (
                Field::Minute,
                0,
                0,
                whole.checked_mul(MICROS_PER_MINUTE).ok_or_else(overflow)?,
            ),
            "second" => {
                let f = frac.unwrap_or("");
                if f.len() > 9 {
                    return Err(invalid(
                        "interval can only support nanosecond precision",
                        input,
                    ));
                }
                // nanoseconds past the microsecond are dropped, as Spark does
                let micros_frac: i64 = format!("{f:0<6}")[..6].parse().unwrap_or(0);
                let m = whole
                    .checked_mul(MICROS_PER_SECOND)
                    .and_then(|m| m.checked_add(micros_frac))
                    .ok_or_else(overflow)?;
                (Field::Second, 0, 0, m)
            }
            "millisecond" => (
                Field::Second,
                0,
                0,
                whole.checked_mul(1000).ok_or_else(overflow)?,
            ),
            "microsecond" => (Field::Second, 0, 0, whole),
            _ => return Err(invalid(&format!("invalid unit '{unit}'"), input)),
        };
        u.months = u.months.checked_add(sign * months).ok_or_else(overflow)?;
        u.days = u.days.checked_add(sign * days).ok_or_else(overflow)?;
        u.micros = u.micros.checked_add(sign * micros).ok_or_else(overflow)?;
        u.first = Some(u.first.map_or(field, |f| f.min(field)));
        u.last = Some(u.last.map_or(field, |f| f.max(field)));
        if field.is_year_month() {
            u.year_month = true;
        } else {
            u.day_time = true;
        }
    }
    if i32::try_from(u.months).is_err() {
        return Err(overflow());
    }
    Ok(u)
}

/// An interval value of one of the two ANSI families.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    Months(i32),
    Micros(i64),
}

impl Value {
    /// The value as a one-row arrow array of its type.
    pub fn to_array(self) -> ArrayRef {
        match self {
            Value::Months(m) => Arc::new(IntervalYearMonthArray::from(vec![m])),
            Value::Micros(m) => Arc::new(DurationMicrosecondArray::from(vec![m])),
        }
    }
}

/// An ANSI interval from `stringToInterval`'s reading: year-month when only year and
/// month units were named, day-time when only the others; mixing them is Spark's error.
fn ansi_of_units(u: &Units, input: &str) -> Result<(Value, Qualifier)> {
    let (Some(first), Some(last)) = (u.first, u.last) else {
        return Err(invalid("the interval string is empty", input));
    };
    if u.year_month && u.day_time {
        return Err(QuarryError::Analysis(format!(
            "[INVALID_INTERVAL_FORMAT] Cannot mix year-month and day-time fields: interval {input}"
        )));
    }
    let q = Qualifier {
        start: first,
        end: last,
    };
    if u.year_month {
        // parse_units checked that the months fit
        return Ok((Value::Months(u.months as i32), q));
    }
    let micros = u
        .days
        .checked_mul(MICROS_PER_DAY)
        .and_then(|d| d.checked_add(u.micros))
        .ok_or_else(|| invalid("the interval value is out of range", input))?;
    Ok((Value::Micros(micros), q))
}

/// `INTERVAL '1 day 2 hours'` and the multi-unit form `INTERVAL 1 DAY 2 HOURS` (which the
/// parser hands over as that string): the value and its fields.
pub fn literal_from_units(text: &str) -> Result<(Value, Qualifier)> {
    ansi_of_units(&parse_units(text)?, text)
}

/// `INTERVAL value unit` (`INTERVAL '-10' DAY`, `INTERVAL 1.5 SECONDS`): `value` is the
/// number or string as written, with the sign written before it applied.
pub fn literal_single_unit(value: &str, unit: &str) -> Result<(Value, Qualifier)> {
    // Spark (SPARK-32840): the value must not smuggle units of its own in
    if value.chars().any(|c| c.is_alphabetic()) {
        return Err(invalid(
            &format!("the value '{value}' of a {unit} interval has letters"),
            &format!("{value} {unit}"),
        ));
    }
    literal_from_units(&format!("{value} {unit}"))
}

/// `INTERVAL '1-2' YEAR TO MONTH`, `INTERVAL '1 02:03' DAY TO MINUTE`.
pub fn literal_unit_to_unit(value: &str, q: Qualifier) -> Result<(Value, Qualifier)> {
    Ok((parse_ansi_string(value, q)?, q))
}

/// One value of `[+|-]digits[.digits]` pieces separated as the qualifier's pattern says.
/// Returns the value, or a message saying what is wrong.
fn parse_ansi_body(body: &str, q: Qualifier) -> std::result::Result<Value, String> {
    let (negative, rest) = match body.as_bytes().first() {
        Some(b'-') => (true, &body[1..]),
        Some(b'+') => (false, &body[1..]),
        _ => (false, body),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if q.is_year_month() {
        let months: i64 = if q.start != q.end {
            let (y, m) = rest
                .split_once('-')
                .ok_or_else(|| "expected the form [+|-]y-m".to_string())?;
            if !digits(y) || !digits(m) {
                return Err("expected the form [+|-]y-m".into());
            }
            let y: i64 = y.parse().map_err(|_| "year out of range".to_string())?;
            let m: i64 = m.parse().map_err(|_| "month out of range".to_string())?;
            if m > 11 {
                return Err(format!("month {m} outside range [0, 11]"));
            }
            y.checked_mul(12)
                .and_then(|y| y.checked_add(m))
                .ok_or_else(|| "year out of range".to_string())?
        } else {
            if !digits(rest) {
                return Err(format!(
                    "expected [+|-]{}",
                    q.start.name().to_ascii_lowercase()
                ));
            }
            let v: i64 = rest.parse().map_err(|_| "value out of range".to_string())?;
            v.checked_mul(q.start.months())
                .ok_or_else(|| "value out of range".to_string())?
        };
        let months = if negative { -months } else { months };
        return i32::try_from(months)
            .map(Value::Months)
            .map_err(|_| "value out of range".into());
    }
    // day-time: the fields from start to end, `d h:m:s.f` with a space after the day
    let fields: Vec<Field> = [Field::Day, Field::Hour, Field::Minute, Field::Second]
        .into_iter()
        .filter(|f| *f >= q.start && *f <= q.end)
        .collect();
    let mut parts: Vec<&str> = vec![];
    let mut tail = rest;
    if q.start == Field::Day && q.end != Field::Day {
        let (d, t) = tail.split_once(' ').ok_or_else(|| {
            format!(
                "expected the form [+|-]d h{}",
                if q.end > Field::Hour { ":m..." } else { "" }
            )
        })?;
        parts.push(d);
        tail = t;
    }
    parts.extend(tail.split(':'));
    if parts.len() != fields.len() {
        return Err(format!(
            "expected {} fields for {}",
            fields.len(),
            q.fields_sql()
        ));
    }
    let mut micros: i64 = 0;
    for (i, (f, p)) in fields.iter().zip(&parts).enumerate() {
        let (whole, frac) = match (f, p.split_once('.')) {
            (Field::Second, Some((w, fr))) => (w, fr),
            _ => (*p, ""),
        };
        if !digits(whole) || (!frac.is_empty() && !digits(frac)) || frac.len() > 9 {
            return Err(format!("invalid {} '{p}'", f.name().to_ascii_lowercase()));
        }
        // fields after the first hold one or two digits within their range
        if i > 0 {
            let max = match f {
                Field::Hour => 23,
                _ => 59,
            };
            let v: i64 = whole.parse().unwrap_or(i64::MAX);
            if whole.len() > 2 || v > max {
                return Err(format!(
                    "{} {whole} outside range [0, {max}]",
                    f.name().to_ascii_lowercase()
                ));
            }
        }
        let v: i64 = whole
            .parse()
            .map_err(|_| format!("{} out of range", f.name().to_ascii_lowercase()))?;
        let frac_micros: i64 = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<6}")[..6].parse().unwrap_or(0)
        };
        micros = v
            .checked_mul(f.micros())
            .and_then(|v| v.checked_add(frac_micros))
            .and_then(|v| micros.checked_add(v))
            .ok_or_else(|| "value out of range".to_string())?;
    }
    Ok(Value::Micros(if negative { -micros } else { micros }))
}

/// Read `text` as an interval of type `q`, as Spark's `castStringToYMInterval` /
/// `castStringToDTInterval`: the bare form of the type (`1-2`, `3 04:05:06.7`, `-10`)
/// or the ANSI literal form `INTERVAL [+|-]'...' <fields>` with the same fields.
pub fn parse_ansi_string(text: &str, q: Qualifier) -> Result<Value> {
    let t = text.trim();
    let err = |why: String| {
        QuarryError::Execution(format!(
            "[INVALID_INTERVAL_FORMAT] Interval string does not match {} format of `{}`: '{text}' ({why})",
            if q.is_year_month() { "year-month" } else { "day-time" },
            q.fields_sql()
        ))
    };
    let upper = t.to_ascii_uppercase();
    if let Some(rest) = upper.strip_prefix("INTERVAL") {
        // INTERVAL [+|-]'body' FIELDS
        let rest = rest.trim_start();
        let (outer_negative, rest) = match rest.as_bytes().first() {
            Some(b'-') => (true, &rest[1..]),
            Some(b'+') => (false, &rest[1..]),
            _ => (false, rest),
        };
        let body_and_fields = rest
            .strip_prefix('\'')
            .ok_or_else(|| err("expected a quoted value".into()))?;
        let (body, fields) = body_and_fields
            .split_once('\'')
            .ok_or_else(|| err("expected a quoted value".into()))?;
        let fields: Vec<&str> = fields.split_whitespace().collect();
        if fields.join(" ") != q.fields_sql() {
            return Err(err(format!("the fields are not {}", q.fields_sql())));
        }
        let v = parse_ansi_body(body, q).map_err(err)?;
        return Ok(match (outer_negative, v) {
            (false, v) => v,
            (true, Value::Months(m)) => Value::Months(-m),
            (true, Value::Micros(m)) => Value::Micros(-m),
        });
    }
    parse_ansi_body(t, q).map_err(err)
}

// ---------------------------------------------------------------------------------------
// Printing
// ---------------------------------------------------------------------------------------

/// A year-month interval as Spark prints results (`1-2`, `-0-10`).
pub fn hive_year_month(months: i32) -> String {
    let sign = if months < 0 { "-" } else { "" };
    let abs = (months as i64).abs();
    format!("{sign}{}-{}", abs / 12, abs % 12)
}

/// A day-time interval as Spark prints results (`3 00:00:01.000000000`).
pub fn hive_day_time(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let mut rest = (micros as i128).abs();
    let day = MICROS_PER_DAY as i128;
    let days = rest / day;
    rest %= day;
    let hours = rest / MICROS_PER_HOUR as i128;
    rest %= MICROS_PER_HOUR as i128;
    let minutes = rest / MICROS_PER_MINUTE as i128;
    rest %= MICROS_PER_MINUTE as i128;
    let seconds = rest / MICROS_PER_SECOND as i128;
    let nanos = (rest % MICROS_PER_SECOND as i128) * 1000;
    format!("{sign}{days} {hours:02}:{minutes:02}:{seconds:02}.{nanos:09}")
}

/// Microseconds as seconds without trailing zeros (`1`, `1.5`, `0.000001`).
fn plain_seconds(micros: i128) -> String {
    let (s, f) = (micros / 1_000_000, micros % 1_000_000);
    if f == 0 {
        return s.to_string();
    }
    let frac = format!("{f:06}");
    format!("{s}.{}", frac.trim_end_matches('0'))
}

/// A year-month interval as `CAST(... AS STRING)` writes it (`INTERVAL '1-2' YEAR TO MONTH`).
pub fn ansi_year_month(months: i32, q: Qualifier) -> String {
    let sign = if months < 0 { "-" } else { "" };
    let abs = (months as i64).abs();
    let body = match (q.start, q.end) {
        (Field::Year, Field::Year) => format!("{sign}{}", abs / 12),
        (Field::Month, Field::Month) => format!("{months}"),
        _ => format!("{sign}{}-{}", abs / 12, abs % 12),
    };
    format!("INTERVAL '{body}' {}", q.fields_sql())
}

/// A day-time interval as `CAST(... AS STRING)` writes it (`INTERVAL '3 00:00:01' DAY TO SECOND`).
pub fn ansi_day_time(micros: i64, q: Qualifier) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let mut rest = (micros as i128).abs();
    let mut body = sign.to_string();
    let take = |rest: &mut i128, unit: i64| {
        let v = *rest / unit as i128;
        *rest %= unit as i128;
        v
    };
    let seconds = |rest: i128| {
        let lead = if rest < 10 * MICROS_PER_SECOND as i128 {
            "0"
        } else {
            ""
        };
        format!("{lead}{}", plain_seconds(rest))
    };
    match q.start {
        Field::Day => body.push_str(&take(&mut rest, MICROS_PER_DAY).to_string()),
        Field::Hour => body.push_str(&format!("{:02}", take(&mut rest, MICROS_PER_HOUR))),
        Field::Minute => body.push_str(&format!("{:02}", take(&mut rest, MICROS_PER_MINUTE))),
        _ => body.push_str(&seconds(rest)),
    }
    if q.start < Field::Hour && Field::Hour <= q.end {
        body.push_str(&format!(" {:02}", take(&mut rest, MICROS_PER_HOUR)));
    }
    if q.start < Field::Minute && Field::Minute <= q.end {
        body.push_str(&format!(":{:02}", take(&mut rest, MICROS_PER_MINUTE)));
    }
    if q.start < Field::Second && Field::Second <= q.end {
        body.push(':');
        body.push_str(&seconds(rest));
    }
    format!("INTERVAL '{body}' {}", q.fields_sql())
}

/// A calendar interval as Spark's `CalendarInterval.toString` (`1 years 2 months 3 days
/// 4 hours 5.5 seconds`, `0 seconds`).
pub fn calendar_string(v: IntervalMonthDayNano) -> String {
    let micros = v.nanoseconds / 1000;
    if v.months == 0 && v.days == 0 && micros == 0 {
        return "0 seconds".into();
    }
    let mut parts: Vec<String> = vec![];
    let mut unit = |n: i64, name: &str| {
        if n != 0 {
            parts.push(format!("{n} {name}"));
        }
    };
    unit(v.months as i64 / 12, "years");
    unit(v.months as i64 % 12, "months");
    unit(v.days as i64, "days");
    let mut rest = micros;
    unit(rest / MICROS_PER_HOUR, "hours");
    rest %= MICROS_PER_HOUR;
    unit(rest / MICROS_PER_MINUTE, "minutes");
    rest %= MICROS_PER_MINUTE;
    if rest != 0 {
        let s = plain_seconds(rest.abs() as i128);
        parts.push(format!("{}{s} seconds", if rest < 0 { "-" } else { "" }));
    }
    parts.join(" ")
}

/// Row `i` of an interval array as Spark prints results; None for other types.
pub fn format_value(arr: &dyn Array, i: usize) -> Option<String> {
    match arr.data_type() {
        DataType::Interval(IntervalUnit::YearMonth) => Some(hive_year_month(
            arr.as_primitive::<IntervalYearMonthType>().value(i),
        )),
        DataType::Duration(TimeUnit::Microsecond) => Some(hive_day_time(
            arr.as_primitive::<DurationMicrosecondType>().value(i),
        )),
        DataType::Interval(IntervalUnit::MonthDayNano) => Some(calendar_string(
            arr.as_primitive::<IntervalMonthDayNanoType>().value(i),
        )),
        _ => None,
    }
}

/// A calendar interval from Spark's interval string (`1 month 2 days`, `interval 3
/// hours`); None when the string is not one (a failed cast is NULL).
fn parse_calendar(text: &str) -> Option<IntervalMonthDayNano> {
    let u = parse_units(text).ok()?;
    Some(IntervalMonthDayNano::new(
        i32::try_from(u.months).ok()?,
        i32::try_from(u.days).ok()?,
        u.micros.checked_mul(1000)?,
    ))
}

// ---------------------------------------------------------------------------------------
// Casts
// ---------------------------------------------------------------------------------------

fn cast_overflow(v: &str, to: &str) -> QuarryError {
    QuarryError::Execution(format!(
        "[CAST_OVERFLOW] The value {v} of the type interval cannot be cast to {to} due to an overflow. Use `try_cast` to tolerate overflow and return NULL instead."
    ))
}

fn overflow(what: &str) -> QuarryError {
    QuarryError::Execution(format!(
        "[ARITHMETIC_OVERFLOW] {what} caused overflow. Use 'try_' functions or set \"spark.sql.ansi.enabled\" to \"false\" to bypass this error."
    ))
}

/// Build an interval array of type `q` from per-row raw values (months or microseconds).
fn from_raw(values: impl IntoIterator<Item = Option<i64>>, q: Qualifier) -> Result<ArrayRef> {
    if q.is_year_month() {
        let v: Vec<Option<i32>> = values
            .into_iter()
            .map(|x| match x {
                Some(x) => i32::try_from(x)
                    .map(Some)
                    .map_err(|_| overflow("the year-month interval")),
                None => Ok(None),
            })
            .collect::<Result<_>>()?;
        Ok(Arc::new(IntervalYearMonthArray::from(v)))
    } else {
        Ok(Arc::new(
            values.into_iter().collect::<DurationMicrosecondArray>(),
        ))
    }
}

/// The raw values (months or microseconds) of an ANSI interval array.
fn raw(a: &dyn Array) -> Result<Vec<Option<i64>>> {
    Ok(match a.data_type() {
        DataType::Interval(IntervalUnit::YearMonth) => a
            .as_primitive::<IntervalYearMonthType>()
            .iter()
            .map(|v| v.map(i64::from))
            .collect(),
        DataType::Duration(TimeUnit::Microsecond) => {
            a.as_primitive::<DurationMicrosecondType>().iter().collect()
        }
        other => {
            return Err(QuarryError::Internal(format!(
                "an interval was expected, got {other}"
            )))
        }
    })
}

/// The months or microseconds of an ANSI interval array, as bigints.
pub fn to_raw(a: &ArrayRef) -> Result<Int64Array> {
    Ok(Int64Array::from(raw(a.as_ref())?))
}

/// Bigint months or microseconds as an array of the ANSI interval type `dt`.
pub fn from_raw_array(values: &Int64Array, dt: &DataType) -> Result<ArrayRef> {
    let q = Qualifier::of_type(dt)
        .ok_or_else(|| QuarryError::Internal(format!("{dt} is not an interval type")))?;
    from_raw(values.iter(), q)
}

/// Round `n / d` HALF_UP (away from zero at .5), as Java's `RoundingMode.HALF_UP`.
fn div_half_up(n: i128, d: i128) -> Option<i128> {
    if d == 0 {
        return None;
    }
    let (q, r) = (n / d, n % d);
    if r.abs().checked_mul(2)? >= d.abs() {
        Some(q + if (n < 0) != (d < 0) { -1 } else { 1 })
    } else {
        Some(q)
    }
}

/// `CAST(x AS INTERVAL <q>)` (Spark's `Cast` to an ANSI interval type): from a string
/// (the type's own form or its ANSI literal), an integral number (a count of the end
/// field: `CAST(10 AS INTERVAL DAY)`), a decimal (years and months round HALF_UP; a
/// day-time value keeps microseconds when it ends in SECOND, else whole end units), or
/// an interval of the same family (truncated to the end field). A value that does not
/// fit, or a string that does not parse, is an error (NULL for `try_cast`).
pub fn cast_to_interval(a: &ArrayRef, q: Qualifier, try_cast: bool) -> Result<ArrayRef> {
    let unit = q.end.unit() as i128;
    let fail = |e: QuarryError| if try_cast { Ok(None) } else { Err(e) };
    let fits = |v: i128| -> Option<i64> {
        if q.is_year_month() {
            i32::try_from(v).ok().map(i64::from)
        } else {
            i64::try_from(v).ok()
        }
    };
    let out_of_range = |v: String| {
        QuarryError::Execution(format!(
            "[CAST_OVERFLOW] The value {v} cannot be cast to {} due to an overflow. Use `try_cast` to tolerate overflow and return NULL instead.",
            q.type_name()
        ))
    };
    let dt = a.data_type().clone();
    let values: Vec<Option<i64>> = match &dt {
        DataType::Null => vec![None; a.len()],
        t if is_string(t) => {
            let s = arrow::compute::cast(a, &DataType::Utf8)?;
            s.as_string::<i32>()
                .iter()
                .map(|v| match v {
                    None => Ok(None),
                    Some(text) => match parse_ansi_string(text, q) {
                        Ok(Value::Months(m)) => Ok(Some(i64::from(m))),
                        Ok(Value::Micros(m)) => Ok(Some(m)),
                        Err(e) => fail(e),
                    },
                })
                .collect::<Result<_>>()?
        }
        t if is_integer(t) => {
            let v = arrow::compute::cast(a, &DataType::Int64)?;
            v.as_primitive::<Int64Type>()
                .iter()
                .map(|x| match x {
                    None => Ok(None),
                    Some(x) => match fits(x as i128 * unit) {
                        Some(v) => Ok(Some(v)),
                        None => fail(out_of_range(x.to_string())),
                    },
                })
                .collect::<Result<_>>()?
        }
        DataType::Decimal128(_, s) => {
            let scale = 10i128.pow((*s).max(0) as u32);
            let d = a.as_primitive::<Decimal128Type>();
            d.iter()
                .enumerate()
                .map(|(i, x)| {
                    let Some(x) = x else { return Ok(None) };
                    let v = if q.is_year_month() {
                        x.checked_mul(unit).and_then(|n| div_half_up(n, scale))
                    } else {
                        // truncated to microseconds, then to whole end units unless SECOND
                        x.checked_mul(unit).map(|n| n / scale).map(|m| {
                            if q.end == Field::Second {
                                m
                            } else {
                                m - m % unit
                            }
                        })
                    };
                    match v.and_then(fits) {
                        Some(v) => Ok(Some(v)),
                        None => fail(out_of_range(d.value_as_string(i))),
                    }
                })
                .collect::<Result<_>>()?
        }
        t if Qualifier::of_type(t).is_some_and(|f| f.is_year_month() == q.is_year_month()) => {
            let u = unit as i64;
            raw(a.as_ref())?
                .into_iter()
                .map(|v| v.map(|v| v - v % u))
                .collect()
        }
        other => {
            return Err(QuarryError::Analysis(format!(
                "[DATATYPE_MISMATCH.CAST_WITHOUT_SUGGESTION] cannot cast {} to {}",
                crate::types::type_name(other),
                q.type_name()
            )))
        }
    };
    from_raw(values, q)
}

/// `CAST(interval AS t)` for an interval of fields `q` (Spark's `Cast` from an ANSI
/// interval): a string (the ANSI literal form), an integral number (whole end units,
/// truncated; a value out of `t`'s range is an error, NULL for `try_cast`), or a
/// decimal (end units, HALF_UP at `t`'s scale; too many digits is an error).
pub fn cast_from_interval(
    a: &ArrayRef,
    q: Qualifier,
    to: &DataType,
    try_cast: bool,
) -> Result<ArrayRef> {
    if *a.data_type() == DataType::Null {
        return Ok(new_null_array(to, a.len()));
    }
    let values = raw(a.as_ref())?;
    let unit = q.end.unit() as i128;
    let shown = |v: i64| {
        if q.is_year_month() {
            ansi_year_month(v as i32, q)
        } else {
            ansi_day_time(v, q)
        }
    };
    match to {
        DataType::Utf8 => Ok(Arc::new(
            values.iter().map(|v| v.map(shown)).collect::<StringArray>(),
        )),
        t if is_integer(t) => {
            let (lo, hi): (i128, i128) = match t {
                DataType::Int8 => (i8::MIN as i128, i8::MAX as i128),
                DataType::Int16 => (i16::MIN as i128, i16::MAX as i128),
                DataType::Int32 => (i32::MIN as i128, i32::MAX as i128),
                _ => (i64::MIN as i128, i64::MAX as i128),
            };
            let out: Vec<Option<i64>> = values
                .iter()
                .map(|v| match v {
                    None => Ok(None),
                    Some(v) => {
                        let n = *v as i128 / unit;
                        if n < lo || n > hi {
                            if try_cast {
                                Ok(None)
                            } else {
                                Err(cast_overflow(&shown(*v), &crate::types::type_name(t)))
                            }
                        } else {
                            Ok(Some(n as i64))
                        }
                    }
                })
                .collect::<Result<_>>()?;
            Ok(arrow::compute::cast(
                &(Arc::new(Int64Array::from(out)) as ArrayRef),
                t,
            )?)
        }
        DataType::Decimal128(p, s) => {
            let scale = 10i128.pow((*s).max(0) as u32);
            let limit = 10i128.pow(*p as u32);
            let out: Vec<Option<i128>> = values
                .iter()
                .map(|v| match v {
                    None => Ok(None),
                    Some(v) => match div_half_up(*v as i128 * scale, unit) {
                        Some(d) if d.abs() < limit => Ok(Some(d)),
                        _ if try_cast => Ok(None),
                        _ => Err(cast_overflow(&shown(*v), &crate::types::type_name(to))),
                    },
                })
                .collect::<Result<_>>()?;
            Ok(Arc::new(
                Decimal128Array::from(out).with_precision_and_scale(*p, *s)?,
            ))
        }
        t if Qualifier::of_type(t).is_some() => Err(QuarryError::Analysis(format!(
            "[DATATYPE_MISMATCH.CAST_WITHOUT_SUGGESTION] cannot cast {} to {}",
            q.type_name(),
            crate::types::type_name(t)
        ))),
        t => Err(QuarryError::Analysis(format!(
            "[DATATYPE_MISMATCH.CAST_WITHOUT_SUGGESTION] cannot cast {} to {}",
            q.type_name(),
            crate::types::type_name(t)
        ))),
    }
}

/// Casts that involve intervals, for the executor's generic cast (a CAST written
/// without interval fields, or a coercion): ANSI intervals take their widest fields;
/// a string becomes a calendar interval (NULL when it is not one), a calendar interval
/// a string. None when neither side is an interval.
pub fn cast_generic(a: &ArrayRef, to: &DataType) -> Option<Result<ArrayRef>> {
    let from = a.data_type();
    if let Some(q) = Qualifier::of_type(to) {
        return Some(cast_to_interval(a, q, false));
    }
    if let Some(q) = Qualifier::of_type(from) {
        return Some(cast_from_interval(a, q, to, false));
    }
    if *to == CALENDAR {
        return Some(match from {
            DataType::Null => Ok(new_null_array(to, a.len())),
            t if is_string(t) => arrow::compute::cast(a, &DataType::Utf8)
                .map_err(QuarryError::from)
                .map(|s| {
                    Arc::new(
                        s.as_string::<i32>()
                            .iter()
                            .map(|v| v.and_then(parse_calendar))
                            .collect::<IntervalMonthDayNanoArray>(),
                    ) as ArrayRef
                }),
            t => Err(QuarryError::Analysis(format!(
                "[DATATYPE_MISMATCH.CAST_WITHOUT_SUGGESTION] cannot cast {} to interval",
                crate::types::type_name(t)
            ))),
        });
    }
    if *from == CALENDAR {
        return Some(if is_string(to) {
            Ok(Arc::new(
                a.as_primitive::<IntervalMonthDayNanoType>()
                    .iter()
                    .map(|v| v.map(calendar_string))
                    .collect::<StringArray>(),
            ))
        } else {
            Err(QuarryError::Analysis(format!(
                "[DATATYPE_MISMATCH.CAST_WITHOUT_SUGGESTION] cannot cast interval to {}",
                crate::types::type_name(to)
            )))
        });
    }
    None
}

// ---------------------------------------------------------------------------------------
// Functions
// ---------------------------------------------------------------------------------------

/// An interval operation or function; the binder builds these (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntervalFunc {
    /// The identity on an ANSI interval of these fields: how the binder keeps a value's
    /// fields (`INTERVAL '1' DAY` is `Qualified(DAY)` over the literal).
    Qualified(Qualifier),
    /// `CAST(x AS INTERVAL <fields>)`, see [`cast_to_interval`].
    CastTo { to: Qualifier, try_cast: bool },
    /// `CAST(interval AS t)` from an interval of these fields, see [`cast_from_interval`].
    CastFrom { from: Qualifier, try_cast: bool },
    /// `interval * number` (the binder puts the interval first).
    Multiply,
    /// `interval / number`.
    Divide,
    /// `date - date`: the days between as a day-time interval.
    SubtractDates,
    /// The whole days of a day-time interval, as an int (`date + INTERVAL '2' DAY`).
    Days,
    /// `make_dt_interval([days[, hours[, mins[, secs]]]])`.
    MakeDtInterval,
    /// `make_ym_interval([years[, months]])`.
    MakeYmInterval,
    /// `make_interval([years[, months[, weeks[, days[, hours[, mins[, secs]]]]]]])`: a
    /// calendar interval.
    MakeInterval,
    /// An ANSI interval's months or microseconds as a bigint (how sum/avg run over
    /// intervals); `FromRaw` turns such a number back into the call's interval type.
    ToRaw,
    /// See [`IntervalFunc::ToRaw`]: a number (rounded HALF_UP) as the call's interval type.
    FromRaw,
}

impl IntervalFunc {
    /// The Spark name (for plans and errors).
    pub fn name(&self) -> &'static str {
        match self {
            IntervalFunc::Qualified(_) => "interval",
            IntervalFunc::CastTo { .. } | IntervalFunc::CastFrom { .. } => "cast",
            IntervalFunc::Multiply => "multiply_interval",
            IntervalFunc::Divide => "divide_interval",
            IntervalFunc::SubtractDates => "subtract_dates",
            IntervalFunc::Days => "interval_days",
            IntervalFunc::MakeDtInterval => "make_dt_interval",
            IntervalFunc::MakeYmInterval => "make_ym_interval",
            IntervalFunc::MakeInterval => "make_interval",
            IntervalFunc::ToRaw => "interval_to_raw",
            IntervalFunc::FromRaw => "interval_from_raw",
        }
    }

    /// The functions users call by name.
    pub fn lookup(name: &str) -> Option<IntervalFunc> {
        Some(match name {
            "make_dt_interval" => IntervalFunc::MakeDtInterval,
            "make_ym_interval" => IntervalFunc::MakeYmInterval,
            "make_interval" => IntervalFunc::MakeInterval,
            _ => return None,
        })
    }

    /// Argument types to cast to and the result type.
    pub fn signature(&self, args: &[DataType]) -> Result<(Vec<DataType>, DataType)> {
        let n = args.len();
        let want = |lo: usize, hi: usize| super::check_arity(self.name(), n, lo, hi);
        let i = DataType::Int32;
        Ok(match self {
            IntervalFunc::MakeDtInterval => {
                want(0, 4)?;
                let mut v = vec![DataType::Int32; n.min(3)];
                if n == 4 {
                    v.push(DataType::Decimal128(18, 6));
                }
                (v, DAY_TIME)
            }
            IntervalFunc::MakeYmInterval => {
                want(0, 2)?;
                (vec![i; n], YEAR_MONTH)
            }
            IntervalFunc::MakeInterval => {
                want(0, 7)?;
                let mut v = vec![DataType::Int32; n.min(6)];
                if n == 7 {
                    v.push(DataType::Decimal128(18, 6));
                }
                (v, CALENDAR)
            }
            // the others are built by the binder with their types
            _ => {
                return Err(QuarryError::Internal(format!(
                    "{} has no signature",
                    self.name()
                )))
            }
        })
    }
}

/// Evaluate `f` over its arguments; `out` is the call's result type.
pub fn evaluate(f: IntervalFunc, args: &[ArrayRef], n: usize, out: &DataType) -> Result<ArrayRef> {
    match f {
        IntervalFunc::Qualified(_) => Ok(args[0].clone()),
        IntervalFunc::CastTo { to, try_cast } => cast_to_interval(&args[0], to, try_cast),
        IntervalFunc::CastFrom { from, try_cast } => {
            cast_from_interval(&args[0], from, out, try_cast)
        }
        IntervalFunc::Multiply | IntervalFunc::Divide => {
            multiply_or_divide(&args[0], &args[1], f == IntervalFunc::Divide)
        }
        IntervalFunc::SubtractDates => {
            let l = arrow::compute::cast(&args[0], &DataType::Date32)?;
            let r = arrow::compute::cast(&args[1], &DataType::Date32)?;
            let (l, r) = (
                l.as_primitive::<Date32Type>(),
                r.as_primitive::<Date32Type>(),
            );
            Ok(Arc::new(
                l.iter()
                    .zip(r.iter())
                    .map(|(a, b)| Some((a? as i64 - b? as i64) * MICROS_PER_DAY))
                    .collect::<DurationMicrosecondArray>(),
            ))
        }
        IntervalFunc::Days => Ok(Arc::new(
            raw(args[0].as_ref())?
                .into_iter()
                .map(|v| v.map(|v| (v / MICROS_PER_DAY) as i32))
                .collect::<Int32Array>(),
        )),
        IntervalFunc::MakeDtInterval => make_dt_interval(args, n),
        IntervalFunc::MakeYmInterval => {
            let part = |k: usize, i: usize| int_arg(args, k, i);
            let mut v = Vec::with_capacity(n);
            for i in 0..n {
                v.push(match (part(0, i), part(1, i)) {
                    (Some(y), Some(m)) => Some(y * 12 + m),
                    _ => None,
                });
            }
            from_raw(v, Qualifier::YEAR_TO_MONTH)
        }
        IntervalFunc::MakeInterval => make_interval(args, n),
        IntervalFunc::ToRaw => Ok(Arc::new(to_raw(&args[0])?)),
        IntervalFunc::FromRaw => {
            let q = Qualifier::of_type(out)
                .ok_or_else(|| QuarryError::Internal(format!("interval_from_raw to {out}")))?;
            let values: Vec<Option<i64>> = match args[0].data_type() {
                DataType::Decimal128(_, s) => {
                    let scale = 10i128.pow((*s).max(0) as u32);
                    args[0]
                        .as_primitive::<Decimal128Type>()
                        .iter()
                        .map(|v| match v {
                            None => Ok(None),
                            Some(v) => div_half_up(v, scale)
                                .and_then(|v| i64::try_from(v).ok())
                                .map(Some)
                                .ok_or_else(|| overflow("the interval aggregate")),
                        })
                        .collect::<Result<_>>()?
                }
                _ => arrow::compute::cast(&args[0], &DataType::Int64)?
                    .as_primitive::<Int64Type>()
                    .iter()
                    .collect(),
            };
            from_raw(values, q)
        }
    }
}

/// The value of `a` at row `i` as an exact decimal (value, scale), or None for NULL.
fn exact_number(a: &dyn Array, i: usize) -> Option<(i128, u32)> {
    if a.is_null(i) {
        return None;
    }
    Some(match a.data_type() {
        DataType::Decimal128(_, s) => (
            a.as_primitive::<Decimal128Type>().value(i),
            (*s).max(0) as u32,
        ),
        DataType::Int8 => (a.as_primitive::<Int8Type>().value(i) as i128, 0),
        DataType::Int16 => (a.as_primitive::<Int16Type>().value(i) as i128, 0),
        DataType::Int32 => (a.as_primitive::<Int32Type>().value(i) as i128, 0),
        DataType::Int64 => (a.as_primitive::<Int64Type>().value(i) as i128, 0),
        _ => return None,
    })
}

/// `interval * number` / `interval / number`, Spark's `MultiplyYMInterval`,
/// `MultiplyDTInterval`, `DivideYMInterval`, `DivideDTInterval`: exact for integral and
/// decimal numbers (rounded HALF_UP to whole months or microseconds), doubles rounded
/// HALF_UP; a result out of range, a NaN factor or a division by zero is an error.
fn multiply_or_divide(iv: &ArrayRef, num: &ArrayRef, divide: bool) -> Result<ArrayRef> {
    let q = Qualifier::of_type(iv.data_type())
        .ok_or_else(|| QuarryError::Internal("interval arithmetic on a non-interval".into()))?;
    let values = raw(iv.as_ref())?;
    let float = crate::types::is_floating(num.data_type());
    let num_f = if float {
        Some(arrow::compute::cast(num, &DataType::Float64)?)
    } else {
        None
    };
    let what = if divide {
        "interval division"
    } else {
        "interval multiplication"
    };
    let mut out: Vec<Option<i64>> = Vec::with_capacity(values.len());
    for (i, v) in values.into_iter().enumerate() {
        let Some(v) = v else {
            out.push(None);
            continue;
        };
        let r: Option<i128> = if let Some(f) = &num_f {
            let f = f.as_primitive::<Float64Type>();
            if f.is_null(i) {
                out.push(None);
                continue;
            }
            let x = f.value(i);
            if divide && x == 0.0 {
                return Err(QuarryError::Execution("[INTERVAL_DIVIDED_BY_ZERO] Division by zero. Use `try_divide` to tolerate divisor being 0 and return NULL instead.".into()));
            }
            let y = if divide { v as f64 / x } else { v as f64 * x };
            // HALF_UP: away from zero at .5
            let r = y.round();
            (r.is_finite() && r.abs() < 9.2e18).then_some(r as i128)
        } else {
            let Some((x, s)) = exact_number(num.as_ref(), i) else {
                out.push(None);
                continue;
            };
            let scale = 10i128.pow(s);
            if divide {
                if x == 0 {
                    return Err(QuarryError::Execution("[INTERVAL_DIVIDED_BY_ZERO] Division by zero. Use `try_divide` to tolerate divisor being 0 and return NULL instead.".into()));
                }
                (v as i128)
                    .checked_mul(scale)
                    .and_then(|n| div_half_up(n, x))
            } else {
                (v as i128)
                    .checked_mul(x)
                    .and_then(|n| div_half_up(n, scale))
            }
        };
        let fits = r.filter(|r| {
            if q.is_year_month() {
                i32::try_from(*r).is_ok()
            } else {
                i64::try_from(*r).is_ok()
            }
        });
        match fits {
            Some(r) => out.push(Some(r as i64)),
            None => return Err(overflow(what)),
        }
    }
    from_raw(out, q)
}

/// Integer argument `k` of a `make_*interval` call at row `i`: 0 when the call has
/// fewer arguments, None when NULL.
fn int_arg(args: &[ArrayRef], k: usize, i: usize) -> Option<i64> {
    match args.get(k) {
        Some(a) => (!a.is_null(i)).then(|| a.as_primitive::<Int32Type>().value(i) as i64),
        None => Some(0),
    }
}

/// The seconds argument `k` (decimal(18, 6)) of a `make_*interval` call at row `i`, in
/// microseconds (its unscaled value): 0 when absent, None when NULL.
fn secs_arg(args: &[ArrayRef], k: usize, i: usize) -> Option<i128> {
    match args.get(k) {
        Some(a) => (!a.is_null(i)).then(|| a.as_primitive::<Decimal128Type>().value(i)),
        None => Some(0),
    }
}

/// `make_dt_interval(days, hours, mins, secs)`: missing arguments are 0; NULL in, NULL out.
fn make_dt_interval(args: &[ArrayRef], n: usize) -> Result<ArrayRef> {
    let int = |k: usize, i: usize| int_arg(args, k, i);
    let secs = |i: usize| secs_arg(args, 3, i);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (Some(d), Some(h), Some(m), Some(s)) = (int(0, i), int(1, i), int(2, i), secs(i))
        else {
            out.push(None);
            continue;
        };
        let micros = (d as i128 * MICROS_PER_DAY as i128)
            + (h as i128 * MICROS_PER_HOUR as i128)
            + (m as i128 * MICROS_PER_MINUTE as i128)
            + s;
        out.push(Some(
            i64::try_from(micros).map_err(|_| overflow("make_dt_interval"))?,
        ));
    }
    Ok(Arc::new(DurationMicrosecondArray::from(out)))
}

/// `make_interval(years, months, weeks, days, hours, mins, secs)`: a calendar interval;
/// missing arguments are 0; NULL in, NULL out; a value out of range is NULL (Spark's
/// non-ANSI result).
fn make_interval(args: &[ArrayRef], n: usize) -> Result<ArrayRef> {
    let int = |k: usize, i: usize| int_arg(args, k, i);
    let secs = |i: usize| secs_arg(args, 6, i);
    let out: IntervalMonthDayNanoArray = (0..n)
        .map(|i| {
            let months = int(0, i)?.checked_mul(12)?.checked_add(int(1, i)?)?;
            let days = int(2, i)?.checked_mul(7)?.checked_add(int(3, i)?)?;
            let micros = (int(4, i)? as i128 * MICROS_PER_HOUR as i128)
                + (int(5, i)? as i128 * MICROS_PER_MINUTE as i128)
                + secs(i)?;
            Some(IntervalMonthDayNano::new(
                i32::try_from(months).ok()?,
                i32::try_from(days).ok()?,
                i64::try_from(micros.checked_mul(1000)?).ok()?,
            ))
        })
        .collect();
    Ok(Arc::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> (Value, Qualifier) {
        literal_from_units(s).unwrap()
    }

    #[test]
    fn literals() {
        let day = Qualifier {
            start: Field::Day,
            end: Field::Day,
        };
        assert_eq!(dt("1 day"), (Value::Micros(MICROS_PER_DAY), day));
        assert_eq!(
            dt("interval 1 day 2 hours").0,
            Value::Micros(MICROS_PER_DAY + 2 * MICROS_PER_HOUR)
        );
        assert_eq!(
            dt("1 day 2 hours").1,
            Qualifier::new(Field::Day, Field::Hour).unwrap()
        );
        assert_eq!(dt("2 weeks").0, Value::Micros(14 * MICROS_PER_DAY));
        assert_eq!(dt("-1.5 seconds").0, Value::Micros(-1_500_000));
        assert_eq!(dt("1 year 2 months").0, Value::Months(14));
        assert_eq!(dt("3 years -1 month").0, Value::Months(35));
        assert!(
            literal_from_units("3 month 1 hour").is_err(),
            "mixed families"
        );
        assert!(literal_from_units("1.5 days").is_err(), "fraction of a day");
        assert!(literal_from_units("1 fortnight").is_err());
        assert!(literal_from_units("").is_err());
        assert!(literal_from_units("99999999999 years").is_err());
        assert!(
            literal_single_unit("1 day", "hour").is_err(),
            "letters in the value"
        );
        assert_eq!(
            literal_single_unit("-10", "day").unwrap().0,
            Value::Micros(-10 * MICROS_PER_DAY)
        );
    }

    #[test]
    fn ansi_strings() {
        let ym = Qualifier::YEAR_TO_MONTH;
        let ds = Qualifier::DAY_TO_SECOND;
        let hs = Qualifier::new(Field::Hour, Field::Second).unwrap();
        assert_eq!(parse_ansi_string("-10-2", ym).unwrap(), Value::Months(-122));
        assert!(parse_ansi_string("1-12", ym).is_err(), "month past 11");
        assert_eq!(
            parse_ansi_string("3 00:00:01", ds).unwrap(),
            Value::Micros(3 * MICROS_PER_DAY + MICROS_PER_SECOND)
        );
        assert_eq!(
            parse_ansi_string("12 20:4:0", ds).unwrap(),
            Value::Micros(12 * MICROS_PER_DAY + 20 * MICROS_PER_HOUR + 4 * MICROS_PER_MINUTE)
        );
        assert_eq!(
            parse_ansi_string("08:11:10.001", hs).unwrap(),
            Value::Micros(8 * MICROS_PER_HOUR + 11 * MICROS_PER_MINUTE + 10_001_000)
        );
        assert!(parse_ansi_string("1 24:00:00", ds).is_err(), "hour past 23");
        assert_eq!(
            parse_ansi_string("interval '3-1' year to month", ym).unwrap(),
            Value::Months(37)
        );
        assert_eq!(
            parse_ansi_string("INTERVAL -'3-1' YEAR TO MONTH", ym).unwrap(),
            Value::Months(-37)
        );
        assert!(
            parse_ansi_string("INTERVAL '3-1' YEAR", ym).is_err(),
            "other fields"
        );
    }

    #[test]
    fn printing() {
        assert_eq!(hive_year_month(-10), "-0-10");
        assert_eq!(hive_year_month(1000), "83-4");
        assert_eq!(
            hive_day_time(-10 * MICROS_PER_SECOND),
            "-0 00:00:10.000000000"
        );
        assert_eq!(hive_day_time(i64::MIN), "-106751991 04:00:54.775808000");
        let ds = Qualifier::DAY_TO_SECOND;
        assert_eq!(
            ansi_day_time(3 * MICROS_PER_DAY + MICROS_PER_SECOND, ds),
            "INTERVAL '3 00:00:01' DAY TO SECOND"
        );
        assert_eq!(
            ansi_day_time(
                -1_500_000,
                Qualifier {
                    start: Field::Second,
                    end: Field::Second
                }
            ),
            "INTERVAL '-01.5' SECOND"
        );
        assert_eq!(
            ansi_year_month(37, Qualifier::YEAR_TO_MONTH),
            "INTERVAL '3-1' YEAR TO MONTH"
        );
        assert_eq!(
            ansi_year_month(
                -37,
                Qualifier {
                    start: Field::Month,
                    end: Field::Month
                }
            ),
            "INTERVAL '-37' MONTH"
        );
        assert_eq!(
            calendar_string(IntervalMonthDayNano::new(3, 0, MICROS_PER_HOUR * 1000)),
            "3 months 1 hours"
        );
        assert_eq!(
            calendar_string(IntervalMonthDayNano::new(0, 0, 0)),
            "0 seconds"
        );
    }

    #[test]
    fn casts() {
        let hm = Qualifier::new(Field::Hour, Field::Minute).unwrap();
        let d: ArrayRef = Arc::new(
            Decimal128Array::from(vec![80_654_321i128])
                .with_precision_and_scale(8, 6)
                .unwrap(),
        );
        let r = cast_to_interval(&d, hm, false).unwrap();
        assert_eq!(
            hive_day_time(r.as_primitive::<DurationMicrosecondType>().value(0)),
            "0 01:20:00.000000000"
        );
        let month = Qualifier {
            start: Field::Month,
            end: Field::Month,
        };
        let d: ArrayRef = Arc::new(
            Decimal128Array::from(vec![10_654_321i128])
                .with_precision_and_scale(8, 6)
                .unwrap(),
        );
        let r = cast_to_interval(&d, month, false).unwrap();
        assert_eq!(r.as_primitive::<IntervalYearMonthType>().value(0), 11);
        let big: ArrayRef = Arc::new(Int64Array::from(vec![2147483647]));
        let year = Qualifier {
            start: Field::Year,
            end: Field::Year,
        };
        assert!(cast_to_interval(&big, year, false).is_err());
        assert!(cast_to_interval(&big, year, true).unwrap().is_null(0));
        // interval -> number counts end units, truncating
        let iv: ArrayRef = Arc::new(DurationMicrosecondArray::from(vec![
            -(93784 * MICROS_PER_SECOND + 123_000),
        ]));
        let n = cast_from_interval(&iv, Qualifier::DAY_TO_SECOND, &DataType::Int32, false).unwrap();
        assert_eq!(n.as_primitive::<Int32Type>().value(0), -93784);
        assert!(
            cast_from_interval(&iv, Qualifier::DAY_TO_SECOND, &DataType::Int16, false).is_err()
        );
        let iv: ArrayRef = Arc::new(DurationMicrosecondArray::from(vec![10_005_000]));
        let s = Qualifier {
            start: Field::Second,
            end: Field::Second,
        };
        let d = cast_from_interval(&iv, s, &DataType::Decimal128(4, 2), false).unwrap();
        assert_eq!(d.as_primitive::<Decimal128Type>().value(0), 1001);
        assert!(cast_from_interval(&iv, s, &DataType::Decimal128(1, 0), false).is_err());
    }

    #[test]
    fn arithmetic_rounds_half_up() {
        let ym: ArrayRef = Arc::new(IntervalYearMonthArray::from(vec![Some(5), Some(-5), None]));
        let two: ArrayRef = Arc::new(Int32Array::from(vec![2, 2, 2]));
        let r = multiply_or_divide(&ym, &two, true).unwrap();
        let r = r.as_primitive::<IntervalYearMonthType>();
        assert_eq!((r.value(0), r.value(1), r.is_null(2)), (3, -3, true));
        let half: ArrayRef = Arc::new(Float64Array::from(vec![0.5, 0.5, 0.5]));
        let r = multiply_or_divide(&ym, &half, false).unwrap();
        let r = r.as_primitive::<IntervalYearMonthType>();
        assert_eq!((r.value(0), r.value(1)), (3, -3));
        let zero: ArrayRef = Arc::new(Int32Array::from(vec![0, 0, 0]));
        assert!(multiply_or_divide(&ym, &zero, true).is_err());
        let big: ArrayRef = Arc::new(Int64Array::from(vec![i64::MAX, 1, 1]));
        assert!(multiply_or_divide(&ym, &big, false).is_err());
    }
}
