//! Parsing text with a Spark datetime pattern (`to_timestamp(s, 'yyyy-MM-dd HH:mm')`,
//! `to_date`, `unix_timestamp`, the `dateFormat`/`timestampFormat` options), as Spark 3's
//! `DateTimeFormatterHelper` builds a `java.time.format.DateTimeFormatter`:
//!
//! - letters: `y`/`u` year (`yy` two digits, base 2000), `M`/`L` month (`MMM` short and
//!   `MMMM` full names), `d`, `D` day of year, `H`, `k`, `K`, `h`, `a`, `m`, `s`, `S`
//!   (second fraction: one up to as many digits as letters, Spark's variable-length
//!   fraction), `E` day-of-week names, `z`/`V` zone names, `X`/`x`/`Z`/`O` offsets;
//! - `'text'` literals (`''` is a quote), `[...]` optional sections, other characters
//!   literal; text and literals match case-insensitively (`parseCaseInsensitive`);
//! - numbers follow `DateTimeFormatterBuilder.appendValue`: one letter takes one or more
//!   digits, two letters exactly two, three `D` exactly three; a variable-width number
//!   followed directly by fixed-width ones leaves them their digits (adjacent value
//!   parsing, so `yyyyMMdd` reads `20191006`);
//! - the whole text must be consumed; a field given twice must agree; missing fields
//!   take Spark's defaults (1970-01-01 00:00:00); `h` without `a` is the morning.
//!
//! A value that does not match is `None` (NULL, as Spark's non-ANSI mode).

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};

/// One element of a compiled pattern.
#[derive(Clone, Debug, PartialEq)]
enum Item {
    Literal(String),
    Optional(Vec<Item>),
    /// A number of `min..=max` digits (a sign allowed for years) for `field`.
    Number {
        field: Field,
        min: usize,
        max: usize,
    },
    /// `yy`: two digits, 2000-2099.
    ReducedYear,
    /// `S...`: 1 to `max` digits of the second.
    Fraction {
        max: usize,
    },
    MonthText,
    DayOfWeekText,
    AmPm,
    /// `z`, `V`: a zone name or id; `X`, `x`, `Z`, `O`: an offset.
    Zone,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Year,
    Month,
    Day,
    DayOfYear,
    /// `H`: 0-23.
    Hour,
    /// `k`: 1-24.
    ClockHour,
    /// `h`: 1-12.
    ClockHourOfAmPm,
    /// `K`: 0-11.
    HourOfAmPm,
    Minute,
    Second,
}

/// Fields read from the text; a second value for a field must agree with the first.
#[derive(Default, Debug, Clone)]
struct Parsed {
    year: Option<i64>,
    month: Option<i64>,
    day: Option<i64>,
    day_of_year: Option<i64>,
    hour: Option<i64>,
    hour_of_ampm: Option<i64>,
    pm: Option<bool>,
    minute: Option<i64>,
    second: Option<i64>,
    nanos: Option<i64>,
    weekday: Option<u32>,
    /// Seconds east of UTC.
    offset: Option<i32>,
    /// A named zone whose offset depends on the date.
    zone: Option<chrono_tz::Tz>,
}

fn set(slot: &mut Option<i64>, v: i64) -> Option<()> {
    match *slot {
        Some(old) if old != v => None,
        _ => {
            *slot = Some(v);
            Some(())
        }
    }
}

/// Compile `pattern`; `None` for a pattern Spark's formatter refuses.
fn compile(pattern: &str) -> Option<Vec<Item>> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut stack: Vec<Vec<Item>> = vec![vec![]];
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let items = stack.last_mut()?;
        if c == '\'' {
            // a quoted literal; '' is a quote
            let mut text = String::new();
            let mut j = i + 1;
            if chars.get(j) == Some(&'\'') {
                items.push(Item::Literal("'".into()));
                i = j + 1;
                continue;
            }
            loop {
                match chars.get(j) {
                    None => return None,
                    Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                        text.push('\'');
                        j += 2;
                    }
                    Some('\'') => break,
                    Some(&ch) => {
                        text.push(ch);
                        j += 1;
                    }
                }
            }
            items.push(Item::Literal(text));
            i = j + 1;
            continue;
        }
        if c == '[' {
            stack.push(vec![]);
            i += 1;
            continue;
        }
        if c == ']' {
            let inner = stack.pop()?;
            stack.last_mut()?.push(Item::Optional(inner));
            i += 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            items.push(Item::Literal(c.to_string()));
            i += 1;
            continue;
        }
        let mut n = 1;
        while chars.get(i + n) == Some(&c) {
            n += 1;
        }
        let num = |field, n: usize| match n {
            1 => Some(Item::Number {
                field,
                min: 1,
                max: 19,
            }),
            2 => Some(Item::Number {
                field,
                min: 2,
                max: 2,
            }),
            _ => None,
        };
        let item = match c {
            'y' | 'u' => match n {
                2 => Item::ReducedYear,
                1..=6 => Item::Number {
                    field: Field::Year,
                    min: n,
                    max: 19,
                },
                _ => return None,
            },
            'M' | 'L' => match n {
                1 | 2 => num(Field::Month, n)?,
                3 | 4 => Item::MonthText,
                _ => return None,
            },
            'd' => num(Field::Day, n)?,
            'D' => match n {
                1 => Item::Number {
                    field: Field::DayOfYear,
                    min: 1,
                    max: 3,
                },
                2 => Item::Number {
                    field: Field::DayOfYear,
                    min: 2,
                    max: 3,
                },
                3 => Item::Number {
                    field: Field::DayOfYear,
                    min: 3,
                    max: 3,
                },
                _ => return None,
            },
            'H' => num(Field::Hour, n)?,
            'k' => num(Field::ClockHour, n)?,
            'h' => num(Field::ClockHourOfAmPm, n)?,
            'K' => num(Field::HourOfAmPm, n)?,
            'm' => num(Field::Minute, n)?,
            's' => num(Field::Second, n)?,
            'S' => Item::Fraction { max: n.min(9) },
            'a' if n == 1 => Item::AmPm,
            'E' if n <= 4 => Item::DayOfWeekText,
            'z' if n <= 4 => Item::Zone,
            'V' if n == 2 => Item::Zone,
            'X' | 'x' | 'Z' | 'O' if n <= 5 => Item::Zone,
            _ => return None,
        };
        items.push(item);
        i += n;
    }
    if stack.len() != 1 {
        return None;
    }
    stack.pop()
}

/// The digits fixed-width numbers right after item `k` of `items` need.
fn reserved_after(items: &[Item], k: usize) -> usize {
    items[k + 1..]
        .iter()
        .map_while(|it| match it {
            Item::Number { min, max, .. } if min == max => Some(*min),
            Item::ReducedYear => Some(2),
            _ => None,
        })
        .sum()
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Match a full or three-letter name from `names` at the start of `s` (case-insensitive);
/// (index, bytes used).
fn match_name(s: &str, names: &[&str]) -> Option<(usize, usize)> {
    let lower = s.to_ascii_lowercase();
    for (i, name) in names.iter().enumerate() {
        if lower.starts_with(name) {
            return Some((i, name.len()));
        }
    }
    for (i, name) in names.iter().enumerate() {
        if lower.starts_with(&name[..3]) {
            return Some((i, 3));
        }
    }
    None
}

/// A zone or offset at the start of `s`: (bytes used); the zone goes into `p`.
fn parse_zone(s: &str, p: &mut Parsed) -> Option<usize> {
    let b = s.as_bytes();
    if b.first() == Some(&b'Z') {
        p.offset = Some(0);
        return Some(1);
    }
    // an offset: +HH, +HHMM, +HH:MM (after an optional GMT/UTC prefix)
    let (prefix, rest) = ["GMT", "UTC", "UT"]
        .iter()
        .find(|z| s.len() >= z.len() && s[..z.len()].eq_ignore_ascii_case(z))
        .map(|z| (z.len(), &s[z.len()..]))
        .unwrap_or((0, s));
    let rb = rest.as_bytes();
    if matches!(rb.first(), Some(b'+' | b'-')) {
        let sign = if rb[0] == b'-' { -1 } else { 1 };
        let digits: Vec<u8> = rb[1..].iter().copied().take(5).collect();
        let num = |d: &[u8]| -> Option<i32> {
            d.iter().try_fold(0i32, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + (c - b'0') as i32)
            })
        };
        let (h, m, used) = if digits.len() >= 5 && digits[2] == b':' {
            (num(&digits[..2])?, num(&digits[3..5])?, 5)
        } else if digits.len() >= 4 && digits[..4].iter().all(u8::is_ascii_digit) {
            (num(&digits[..2])?, num(&digits[2..4])?, 4)
        } else if digits.len() >= 2 && digits[..2].iter().all(u8::is_ascii_digit) {
            (num(&digits[..2])?, 0, 2)
        } else if !digits.is_empty() && digits[0].is_ascii_digit() {
            (num(&digits[..1])?, 0, 1)
        } else {
            return None;
        };
        if h > 18 || m > 59 {
            return None;
        }
        p.offset = Some(sign * (h * 3600 + m * 60));
        return Some(prefix + 1 + used);
    }
    if prefix > 0 {
        p.offset = Some(0);
        return Some(prefix);
    }
    // a region id (America/Los_Angeles) or an abbreviation Java's zone names know
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+')))
        .unwrap_or(s.len());
    let word = &s[..end];
    let zone: chrono_tz::Tz = match word.to_ascii_uppercase().as_str() {
        "PST" | "PDT" | "PT" => chrono_tz::America::Los_Angeles,
        "MST" | "MDT" => chrono_tz::America::Denver,
        "CST" | "CDT" | "CT" => chrono_tz::America::Chicago,
        "EST" | "EDT" | "ET" => chrono_tz::America::New_York,
        "CET" | "CEST" => chrono_tz::Europe::Paris,
        "BST" => chrono_tz::Europe::London,
        "JST" => chrono_tz::Asia::Tokyo,
        _ => word.parse().ok()?,
    };
    p.zone = Some(zone);
    Some(end)
}

/// Read `items` from `s`; the bytes used, `None` when they do not match.
fn parse_items(items: &[Item], s: &str, p: &mut Parsed) -> Option<usize> {
    let mut pos = 0;
    for (k, item) in items.iter().enumerate() {
        let rest = &s[pos..];
        match item {
            Item::Literal(text) => {
                if rest.len() < text.len()
                    || !rest.is_char_boundary(text.len())
                    || !rest[..text.len()].eq_ignore_ascii_case(text)
                {
                    return None;
                }
                pos += text.len();
            }
            Item::Optional(inner) => {
                // an optional section that does not match leaves no fields behind
                let mut trial = p.clone();
                if let Some(n) = parse_items(inner, rest, &mut trial) {
                    *p = trial;
                    pos += n;
                }
            }
            Item::Number { field, min, max } => {
                let b = rest.as_bytes();
                let signed = *field == Field::Year && matches!(b.first(), Some(b'-' | b'+'));
                let start = usize::from(signed);
                let run = b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
                let take = if min == max {
                    *min
                } else {
                    run.saturating_sub(reserved_after(items, k)).min(*max)
                };
                if take < *min || take > run || take > 18 {
                    return None;
                }
                let mut v: i64 = rest[start..start + take].parse().ok()?;
                if signed && b[0] == b'-' {
                    v = -v;
                }
                pos += start + take;
                let slot = match field {
                    Field::Year => &mut p.year,
                    Field::Month => &mut p.month,
                    Field::Day => &mut p.day,
                    Field::DayOfYear => &mut p.day_of_year,
                    Field::Hour => &mut p.hour,
                    Field::ClockHour => {
                        if !(1..=24).contains(&v) {
                            return None;
                        }
                        set(&mut p.hour, v % 24)?;
                        continue;
                    }
                    Field::ClockHourOfAmPm => {
                        if !(1..=12).contains(&v) {
                            return None;
                        }
                        set(&mut p.hour_of_ampm, v % 12)?;
                        continue;
                    }
                    Field::HourOfAmPm => &mut p.hour_of_ampm,
                    Field::Minute => &mut p.minute,
                    Field::Second => &mut p.second,
                };
                set(slot, v)?;
            }
            Item::ReducedYear => {
                let d = rest.get(..2)?;
                if !d.bytes().all(|c| c.is_ascii_digit()) {
                    return None;
                }
                set(&mut p.year, 2000 + d.parse::<i64>().ok()?)?;
                pos += 2;
            }
            Item::Fraction { max } => {
                let run = rest.bytes().take_while(u8::is_ascii_digit).count();
                let take = run.min(*max);
                if take == 0 {
                    return None;
                }
                let digits = &rest[..take];
                let nanos: i64 = format!("{digits:0<9}").parse().ok()?;
                set(&mut p.nanos, nanos)?;
                pos += take;
            }
            Item::MonthText => {
                let (m, n) = match_name(rest, &MONTHS)?;
                set(&mut p.month, m as i64 + 1)?;
                pos += n;
            }
            Item::DayOfWeekText => {
                let (d, n) = match_name(rest, &WEEKDAYS)?;
                p.weekday = Some(d as u32);
                pos += n;
            }
            Item::AmPm => {
                let head = rest.get(..2)?;
                let pm = if head.eq_ignore_ascii_case("AM") {
                    false
                } else if head.eq_ignore_ascii_case("PM") {
                    true
                } else {
                    return None;
                };
                p.pm = Some(pm);
                pos += 2;
            }
            Item::Zone => {
                pos += parse_zone(rest, p)?;
            }
        }
    }
    Some(pos)
}

/// `s` read with the Spark datetime `pattern`, as a UTC date-time (a zone or offset in
/// the text moves it to UTC). The outer `None`: a pattern this parser does not compile
/// (letters such as `G`, `Q`, `w`); the inner `None`: text that does not match it, or
/// fields that are not a real date and time.
pub fn parse(s: &str, pattern: &str) -> Option<Option<NaiveDateTime>> {
    let items = compile(pattern)?;
    Some(resolve(&items, s))
}

/// Spark's INCONSISTENT_BEHAVIOR_CROSS_VERSION.PARSE_DATETIME_BY_NEW_PARSER check for a
/// value `s` that [`parse`] could not read: when Spark 2's parser (`SimpleDateFormat`,
/// which takes any number of digits for a number: `yy` reads `123`, `DD` reads `9`) would
/// have read it, Spark 3 raises this error instead of returning NULL.
pub fn new_parser_failure(s: &str, pattern: &str) -> Option<crate::error::QuarryError> {
    let items = compile(pattern)?;
    // only for patterns of numbers and literals, where the two parsers differ just in
    // how many digits they take (SimpleDateFormat reads no sign before a number)
    fn plain(items: &[Item]) -> bool {
        items.iter().all(|it| match it {
            Item::Number { .. } | Item::ReducedYear | Item::Literal(_) => true,
            Item::Optional(inner) => plain(inner),
            _ => false,
        })
    }
    if s.starts_with(['-', '+']) || !plain(&items) {
        return None;
    }
    fn legacy(items: &[Item]) -> Vec<Item> {
        items
            .iter()
            .map(|it| match it {
                Item::Number { field, max, .. } => Item::Number {
                    field: *field,
                    min: 1,
                    max: (*max).max(19),
                },
                Item::ReducedYear => Item::Number {
                    field: Field::Year,
                    min: 1,
                    max: 19,
                },
                Item::Optional(inner) => Item::Optional(legacy(inner)),
                other => other.clone(),
            })
            .collect()
    }
    let lenient = legacy(&items);
    if lenient == items || resolve(&lenient, s).is_none() {
        return None;
    }
    Some(crate::error::QuarryError::Execution(format!(
        "[INCONSISTENT_BEHAVIOR_CROSS_VERSION.PARSE_DATETIME_BY_NEW_PARSER] You may get a different result due to the upgrading to Spark >= 3.0: Fail to parse '{s}' in the new parser. You can set \"spark.sql.legacy.timeParserPolicy\" to \"LEGACY\" to restore the behavior before Spark 3.0, or set to \"CORRECTED\" and treat it as an invalid datetime string."
    )))
}

fn resolve(items: &[Item], s: &str) -> Option<NaiveDateTime> {
    let mut p = Parsed::default();
    if parse_items(items, s, &mut p)? != s.len() {
        return None;
    }
    let year = p.year.unwrap_or(1970);
    let year = i32::try_from(year).ok()?;
    let date = match p.day_of_year {
        Some(doy) => {
            let d = NaiveDate::from_yo_opt(year, u32::try_from(doy).ok()?)?;
            if p.month.is_some_and(|m| m != d.month() as i64)
                || p.day.is_some_and(|x| x != d.day() as i64)
            {
                return None;
            }
            d
        }
        None => NaiveDate::from_ymd_opt(
            year,
            u32::try_from(p.month.unwrap_or(1)).ok()?,
            u32::try_from(p.day.unwrap_or(1)).ok()?,
        )?,
    };
    if let Some(w) = p.weekday {
        if date.weekday().num_days_from_monday() != w {
            return None;
        }
    }
    let hour = match (p.hour, p.hour_of_ampm) {
        (Some(h), None) => h,
        (h, Some(h12)) => {
            if !(0..12).contains(&h12) {
                return None;
            }
            let h24 = h12 + if p.pm == Some(true) { 12 } else { 0 };
            if h.is_some_and(|h| h != h24) {
                return None;
            }
            h24
        }
        (None, None) => {
            if p.pm == Some(true) {
                12
            } else {
                0
            }
        }
    };
    let time = NaiveTime::from_hms_nano_opt(
        u32::try_from(hour).ok()?,
        u32::try_from(p.minute.unwrap_or(0)).ok()?,
        u32::try_from(p.second.unwrap_or(0)).ok()?,
        u32::try_from(p.nanos.unwrap_or(0)).ok()?,
    )?;
    let local = date.and_time(time);
    Some(match (p.offset, p.zone) {
        (Some(off), _) => local - chrono::Duration::seconds(off as i64),
        (None, Some(z)) => z.from_local_datetime(&local).earliest()?.naive_utc(),
        (None, None) => local,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str, p: &str) -> Option<String> {
        parse(s, p)
            .expect("pattern compiles")
            .map(|d| d.format("%Y-%m-%d %H:%M:%S%.f").to_string())
    }

    #[test]
    fn spark_parsing_cases() {
        // variable-length fractions and optional sections (Spark's timestamp.sql)
        let f = "yyyy-MM-dd HH:mm:ss.SSSSSS[zzz]";
        assert_eq!(ts("2019-10-06 10:11:12.", f), None);
        assert_eq!(
            ts("2019-10-06 10:11:12.1", f).as_deref(),
            Some("2019-10-06 10:11:12.100")
        );
        assert_eq!(
            ts("2019-10-06 10:11:12.123UTC", f).as_deref(),
            Some("2019-10-06 10:11:12.123")
        );
        assert_eq!(ts("2019-10-06 10:11:12.1234567PST", f), None);
        assert_eq!(
            ts(
                "223456 2019-10-06 10:11:12.123456",
                "SSSSSS yyyy-MM-dd HH:mm:ss.SSSSSS"
            ),
            None
        );
        assert!(ts("2019-10-06 10:11", "yyyy-MM-dd HH:mm[:ss.SSSSSS]").is_some());
        assert_eq!(
            ts("12.12342019-10-06S10:11", "ss.SSSSyyyy-MM-dd'S'HH:mm").as_deref(),
            Some("2019-10-06 10:11:12.123400")
        );
        assert_eq!(
            ts("12.1232019-10-06S10:11", "ss.SSSSyyyy-MM-dd'S'HH:mm"),
            None
        );
        assert_eq!(
            ts("12.1234019-10-06S10:11", "ss.SSSSy-MM-dd'S'HH:mm").as_deref(),
            Some("0019-10-06 10:11:12.123400")
        );
        assert!(ts("2019-10-06T10:11:12'12", "yyyy-MM-dd'T'HH:mm:ss''SSSS").is_some());
        assert!(ts("'2019-10-06T10:11:12", "''yyyy-MM-dd'T'HH:mm:ss").is_some());
        assert_eq!(ts("02-29", "MM-dd"), None);
        assert_eq!(
            ts("2019 10:10:10", "yyyy hh:mm:ss").as_deref(),
            Some("2019-01-01 10:10:10")
        );
        // day of year (datetime-parsing.sql)
        assert_eq!(ts("9", "DD"), None);
        assert_eq!(
            ts("2020-365", "yyyy-DDD").as_deref(),
            Some("2020-12-30 00:00:00")
        );
        assert_eq!(
            ts("2020-12-31-366", "yyyy-MM-dd-DDD").as_deref(),
            Some("2020-12-31 00:00:00")
        );
        assert_eq!(ts("2020-11-31-366", "yyyy-MM-dd-DDD"), None);
        // adjacent value parsing
        assert_eq!(
            ts("20191006", "yyyyMMdd").as_deref(),
            Some("2019-10-06 00:00:00")
        );
        assert_eq!(
            ts("Oct 6 2019 3:04 PM", "MMM d yyyy h:mm a").as_deref(),
            Some("2019-10-06 15:04:00")
        );
        assert_eq!(ts("1", "yy"), None);
    }
}
