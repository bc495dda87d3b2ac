//! Scalar functions: name resolution with Spark's argument coercions and result
//! types, and vectorized evaluation over arrow arrays (one call per batch).

use std::sync::Arc;

use arrow::array::*;
use arrow::compute::kernels::temporal::{date_part, DatePart};
use arrow::compute::{cast, is_not_null};
use arrow::datatypes::*;
use chrono::{Datelike, NaiveDate, Timelike};

use crate::error::{QuarryError, Result};
use crate::types::{is_floating, is_integer, is_numeric, is_string, TIMESTAMP};

/// A scalar function. Names follow Spark SQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarFunc {
    Lower,
    Upper,
    Substring,
    Concat,
    ConcatWs,
    Trim,
    LTrim,
    RTrim,
    Length,
    Replace,
    Lpad,
    Rpad,
    Instr,
    Initcap,
    Reverse,
    StartsWith,
    EndsWith,
    Contains,
    Year,
    Quarter,
    Month,
    Day,
    DayOfWeek,
    DayOfYear,
    Hour,
    Minute,
    Second,
    DateTrunc,
    Trunc,
    DateAdd,
    DateSub,
    DateDiff,
    ToDate,
    ToTimestamp,
    CurrentDate,
    CurrentTimestamp,
    Coalesce,
    /// `try(x)` (DuckDB): `x`, NULL on the rows where evaluating it fails (the
    /// executor evaluates it lazily; see `physical::eval`).
    Try,
    NullIf,
    Abs,
    Round,
    Floor,
    Ceil,
    Sqrt,
    Exp,
    Ln,
    Log10,
    Power,
    Sign,
    Greatest,
    Least,
    TypeOf,
    Ascii,
    Chr,
    SplitPart,
    RegexpExtract,
    /// `regexp_extract_all(s, regex[, group])`: the group (default 1) of every match, as
    /// an array of strings (a group that took no part is "", as Spark).
    RegexpExtractAll,
    MakeDate,
    /// Math and bit functions ([`super::math`]).
    Math(super::math::MathFunc),
    /// Array, map and struct functions ([`super::collections`]).
    Coll(super::collections::CollectionFunc),
    /// String and binary functions ([`super::strings`]).
    Str(super::strings::StringFunc),
    /// Date and time functions ([`super::datetime`]).
    Date(super::datetime::DateFunc),
    /// Interval operations and functions ([`super::interval`]).
    Interval(super::interval::IntervalFunc),
    /// Higher-order functions over arrays, with lambda arguments ([`super::lambda`]).
    Lambda(super::lambda::HigherOrderFunc),
}

impl ScalarFunc {
    /// The Spark name.
    pub fn name(&self) -> &'static str {
        use ScalarFunc::*;
        match self {
            Lower => "lower",
            Upper => "upper",
            Substring => "substring",
            Concat => "concat",
            ConcatWs => "concat_ws",
            Trim => "trim",
            LTrim => "ltrim",
            RTrim => "rtrim",
            Length => "length",
            Replace => "replace",
            Lpad => "lpad",
            Rpad => "rpad",
            Instr => "instr",
            Initcap => "initcap",
            Reverse => "reverse",
            StartsWith => "startswith",
            EndsWith => "endswith",
            Contains => "contains",
            Year => "year",
            Quarter => "quarter",
            Month => "month",
            Day => "day",
            DayOfWeek => "dayofweek",
            DayOfYear => "dayofyear",
            Hour => "hour",
            Minute => "minute",
            Second => "second",
            DateTrunc => "date_trunc",
            Trunc => "trunc",
            DateAdd => "date_add",
            DateSub => "date_sub",
            DateDiff => "datediff",
            ToDate => "to_date",
            ToTimestamp => "to_timestamp",
            CurrentDate => "current_date",
            CurrentTimestamp => "current_timestamp",
            Coalesce => "coalesce",
            Try => "try",
            NullIf => "nullif",
            Abs => "abs",
            Round => "round",
            Floor => "floor",
            Ceil => "ceil",
            Sqrt => "sqrt",
            Exp => "exp",
            Ln => "ln",
            Log10 => "log10",
            Power => "power",
            Sign => "signum",
            Greatest => "greatest",
            Least => "least",
            TypeOf => "typeof",
            Ascii => "ascii",
            Chr => "chr",
            SplitPart => "split_part",
            RegexpExtract => "regexp_extract",
            RegexpExtractAll => "regexp_extract_all",
            MakeDate => "make_date",
            Math(f) => f.name(),
            Coll(f) => f.name(),
            Str(f) => f.name(),
            Date(f) => f.name(),
            Interval(f) => f.name(),
            Lambda(f) => f.name(),
        }
    }

    /// Deterministic functions give the same output for the same input.
    pub fn is_deterministic(&self) -> bool {
        match self {
            ScalarFunc::Math(f) => f.is_deterministic(),
            ScalarFunc::Str(f) => f.is_deterministic(),
            _ => true,
        }
    }

    /// Look up a function by (lower-case) name.
    pub fn lookup(name: &str) -> Option<ScalarFunc> {
        use ScalarFunc::*;
        Some(match name {
            "lower" | "lcase" => Lower,
            "upper" | "ucase" => Upper,
            "substring" | "substr" => Substring,
            "concat" => Concat,
            "concat_ws" => ConcatWs,
            "trim" => Trim,
            "ltrim" => LTrim,
            "rtrim" => RTrim,
            "length" | "char_length" | "character_length" | "len" => Length,
            "replace" => Replace,
            "lpad" => Lpad,
            "rpad" => Rpad,
            "instr" => Instr,
            "initcap" => Initcap,
            "reverse" => Reverse,
            "startswith" | "starts_with" | "prefix" => StartsWith,
            "endswith" | "ends_with" | "suffix" => EndsWith,
            "contains" => Contains,
            "year" => Year,
            "quarter" => Quarter,
            "month" => Month,
            "day" | "dayofmonth" => Day,
            "dayofweek" => DayOfWeek,
            "dayofyear" => DayOfYear,
            "hour" => Hour,
            "minute" => Minute,
            "second" => Second,
            "date_trunc" => DateTrunc,
            "trunc" => Trunc,
            "date_add" | "dateadd" => DateAdd,
            "date_sub" => DateSub,
            "datediff" | "date_diff" => DateDiff,
            "to_date" => ToDate,
            // one timestamp type, in UTC: NTZ and LTZ read the same
            "to_timestamp" | "to_timestamp_ntz" | "to_timestamp_ltz" => ToTimestamp,
            "current_date" | "curdate" => CurrentDate,
            "current_timestamp" | "now" | "localtimestamp" => CurrentTimestamp,
            "coalesce" | "nvl" | "ifnull" => Coalesce,
            "try" => Try,
            "nullif" => NullIf,
            "abs" => Abs,
            "round" => Round,
            "floor" => Floor,
            "ceil" | "ceiling" => Ceil,
            "sqrt" => Sqrt,
            "exp" => Exp,
            "ln" => Ln,
            "log10" => Log10,
            "power" | "pow" => Power,
            "sign" | "signum" => Sign,
            "greatest" => Greatest,
            "least" => Least,
            "typeof" => TypeOf,
            "ascii" => Ascii,
            "chr" | "char" => Chr,
            "split_part" => SplitPart,
            "regexp_extract" => RegexpExtract,
            "regexp_extract_all" => RegexpExtractAll,
            "make_date" => MakeDate,
            other => {
                return super::math::MathFunc::lookup(other)
                    .map(Math)
                    .or_else(|| super::collections::CollectionFunc::lookup(other).map(Coll))
                    .or_else(|| super::strings::StringFunc::lookup(other).map(Str))
                    .or_else(|| super::datetime::DateFunc::lookup(other).map(Date))
                    .or_else(|| super::interval::IntervalFunc::lookup(other).map(Interval))
            }
        })
    }

    /// Check the argument count and types; returns the types to cast the arguments to
    /// and the result type. `common` is the binder's common-supertype function.
    pub fn signature(
        &self,
        args: &[DataType],
        common: &dyn Fn(&[DataType]) -> Result<DataType>,
    ) -> Result<(Vec<DataType>, DataType)> {
        use ScalarFunc::*;
        let n = args.len();
        let arity = |lo: usize, hi: usize| super::check_arity(self.name(), n, lo, hi);
        let s = DataType::Utf8;
        let i = DataType::Int32;
        let d = DataType::Float64;
        Ok(match self {
            Math(f) => return f.signature(args),
            Coll(f) => return f.signature(args, common),
            Str(f) => return f.signature(args),
            Date(f) => return f.signature(args),
            Interval(f) => return f.signature(args),
            Lambda(f) => {
                return Err(QuarryError::Internal(format!(
                    "{}: typed by the binder",
                    f.name()
                )))
            }
            Lower | Upper | Trim | LTrim | RTrim | Initcap | Reverse => {
                arity(1, 1)?;
                (vec![s.clone()], s)
            }
            Length => {
                arity(1, 1)?;
                (vec![s], i)
            }
            Substring => {
                arity(2, 3)?;
                let mut v = vec![s.clone(), i.clone()];
                if n == 3 {
                    v.push(i);
                }
                (v, s)
            }
            Concat => {
                arity(0, usize::MAX)?;
                // Spark's Concat of binaries only is a binary
                // (spark.sql.function.concatBinaryAsString off, its default)
                if n > 0 && args.iter().all(|t| t == &DataType::Binary) {
                    (vec![DataType::Binary; n], DataType::Binary)
                } else {
                    (vec![s.clone(); n], s)
                }
            }
            ConcatWs => {
                arity(1, usize::MAX)?;
                (vec![s.clone(); n], s)
            }
            Replace => {
                arity(2, 3)?;
                (vec![s.clone(); n], s)
            }
            Lpad | Rpad => {
                arity(2, 3)?;
                // a binary padded with bytes (zero bytes by default) stays a binary
                if args[0] == DataType::Binary && args.get(2).is_none_or(|p| *p == DataType::Binary)
                {
                    let b = DataType::Binary;
                    return Ok((vec![b.clone(), i, b.clone()][..n].to_vec(), b));
                }
                let mut v = vec![s.clone(), i];
                if n == 3 {
                    v.push(s.clone());
                }
                (v, s)
            }
            Instr => {
                arity(2, 2)?;
                (vec![s.clone(), s], i)
            }
            StartsWith | EndsWith | Contains => {
                arity(2, 2)?;
                (vec![s.clone(), s], DataType::Boolean)
            }
            Year | Quarter | Month | Day | DayOfWeek | DayOfYear => {
                arity(1, 1)?;
                (vec![DataType::Date32], i)
            }
            Hour | Minute | Second => {
                arity(1, 1)?;
                match &args[0] {
                    // a time of day (Spark 4.1's hour(TIME))
                    t @ DataType::Time64(_) => (vec![t.clone()], i),
                    _ => (vec![TIMESTAMP], i),
                }
            }
            DateTrunc => {
                arity(2, 2)?;
                (vec![s, TIMESTAMP], TIMESTAMP)
            }
            Trunc => {
                arity(2, 2)?;
                (vec![DataType::Date32, s], DataType::Date32)
            }
            DateAdd | DateSub => {
                arity(2, 2)?;
                // Spark: INT, SMALLINT or TINYINT (a string literal is read as an INT
                // by the binder; a string column is not accepted)
                if !matches!(
                    args[1],
                    DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Null
                ) {
                    return Err(QuarryError::Analysis(format!(
                        "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Parameter 2 of {} requires the (\"INT\" or \"SMALLINT\" or \"TINYINT\") type, however it has the type \"{}\"",
                        self.name(),
                        crate::types::type_name(&args[1]).to_uppercase()
                    )));
                }
                (vec![DataType::Date32, i], DataType::Date32)
            }
            DateDiff => {
                arity(2, 2)?;
                (vec![DataType::Date32, DataType::Date32], i)
            }
            ToDate => {
                arity(1, 2)?;
                // Spark's ParseToDate: a string, date or timestamp; a number is no day
                // count (date_from_unix_date is)
                if crate::types::is_numeric(&args[0]) {
                    return Err(QuarryError::Analysis(format!(
                        "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Parameter 1 of to_date requires the (\"STRING\" or \"DATE\" or \"TIMESTAMP\" or \"TIMESTAMP_NTZ\") type, however it has the type \"{}\"; date_from_unix_date(days) makes a date of a day count",
                        crate::types::type_name(&args[0]).to_uppercase()
                    )));
                }
                let first = if is_string(&args[0]) || args[0] == DataType::Null {
                    s.clone()
                } else {
                    args[0].clone()
                };
                let mut v = vec![first];
                if n == 2 {
                    v.push(s);
                }
                (v, DataType::Date32)
            }
            ToTimestamp => {
                arity(1, 2)?;
                let first = if is_string(&args[0]) || args[0] == DataType::Null {
                    s.clone()
                } else {
                    args[0].clone()
                };
                let mut v = vec![first];
                if n == 2 {
                    v.push(s);
                }
                (v, TIMESTAMP)
            }
            CurrentDate => {
                arity(0, 0)?;
                (vec![], DataType::Date32)
            }
            CurrentTimestamp => {
                arity(0, 0)?;
                (vec![], TIMESTAMP)
            }
            Try => {
                arity(1, 1)?;
                (vec![args[0].clone()], args[0].clone())
            }
            Coalesce | Greatest | Least => {
                arity(1, usize::MAX)?;
                let t = common(args)?;
                // Spark orders arrays and structs, never maps (nor anything holding one)
                if *self != Coalesce && crate::types::contains_map(&t) {
                    return Err(QuarryError::Analysis(format!(
                        "[DATATYPE_MISMATCH.INVALID_ORDERING_TYPE] The `{}` does not support ordering on type \"{}\"",
                        self.name(),
                        crate::types::type_name(&t)
                    )));
                }
                (vec![t.clone(); n], t)
            }
            NullIf => {
                arity(2, 2)?;
                let t = common(args)?;
                (vec![t.clone(); 2], t)
            }
            Abs => {
                arity(1, 1)?;
                let t = numeric_arg(self, &args[0])?;
                (vec![t.clone()], t)
            }
            Sign => {
                arity(1, 1)?;
                (vec![d.clone()], d)
            }
            Round => {
                arity(1, 2)?;
                let t = numeric_arg(self, &args[0])?;
                let mut v = vec![t.clone()];
                if n == 2 {
                    v.push(i);
                }
                (v, t)
            }
            Floor | Ceil => {
                arity(1, 2)?;
                let t = numeric_arg(self, &args[0])?;
                if n == 2 {
                    // Spark's RoundCeil/RoundFloor: the value as a decimal, the scale an int
                    // (the binder sets the result type from the constant scale)
                    let dt = match t {
                        DataType::Decimal128(..) => t,
                        DataType::Int8 => DataType::Decimal128(3, 0),
                        DataType::Int16 => DataType::Decimal128(5, 0),
                        DataType::Int32 => DataType::Decimal128(10, 0),
                        DataType::Int64 => DataType::Decimal128(20, 0),
                        DataType::Float32 => DataType::Decimal128(14, 7),
                        _ => DataType::Decimal128(30, 15),
                    };
                    return Ok((vec![dt.clone(), i], dt));
                }
                match t {
                    DataType::Decimal128(p, s) => (vec![t.clone()], rounded_decimal_type(p, s, 0)),
                    _ => (vec![t], DataType::Int64),
                }
            }
            Sqrt | Exp | Ln | Log10 => {
                arity(1, 1)?;
                (vec![d.clone()], d)
            }
            Power => {
                arity(2, 2)?;
                (vec![d.clone(), d.clone()], d)
            }
            TypeOf => {
                arity(1, 1)?;
                (vec![args[0].clone()], s)
            }
            Ascii => {
                arity(1, 1)?;
                (vec![s], i)
            }
            Chr => {
                arity(1, 1)?;
                (vec![DataType::Int64], s)
            }
            SplitPart => {
                arity(3, 3)?;
                (vec![s.clone(), s.clone(), i], s)
            }
            MakeDate => {
                arity(3, 3)?;
                (vec![i.clone(), i.clone(), i], DataType::Date32)
            }
            RegexpExtract | RegexpExtractAll => {
                arity(2, 3)?;
                let mut v = vec![s.clone(), s.clone()];
                if n == 3 {
                    v.push(i);
                }
                if *self == RegexpExtractAll {
                    (v, crate::types::list_type(s))
                } else {
                    (v, s)
                }
            }
        })
    }
}

fn numeric_arg(f: &ScalarFunc, t: &DataType) -> Result<DataType> {
    if is_numeric(t) {
        Ok(t.clone())
    } else if *t == DataType::Null || is_string(t) {
        Ok(DataType::Float64)
    } else {
        Err(QuarryError::Analysis(format!(
            "[DATATYPE_MISMATCH] {}() requires a numeric argument, not {}",
            f.name(),
            crate::types::type_name(t)
        )))
    }
}

pub(super) fn strings(a: &ArrayRef) -> Result<&StringArray> {
    a.as_any().downcast_ref::<StringArray>().ok_or_else(|| {
        QuarryError::Internal(format!("expected a string array, got {}", a.data_type()))
    })
}
pub(super) fn ints(a: &ArrayRef) -> Result<&Int32Array> {
    a.as_any().downcast_ref::<Int32Array>().ok_or_else(|| {
        QuarryError::Internal(format!("expected an int array, got {}", a.data_type()))
    })
}
pub(super) fn dates(a: &ArrayRef) -> Result<&Date32Array> {
    a.as_any().downcast_ref::<Date32Array>().ok_or_else(|| {
        QuarryError::Internal(format!("expected a date array, got {}", a.data_type()))
    })
}

pub(super) fn map_str(a: &ArrayRef, f: impl Fn(&str) -> String) -> Result<ArrayRef> {
    let s = strings(a)?;
    let mut b = StringBuilder::with_capacity(s.len(), s.value_data().len());
    for v in s.iter() {
        match v {
            Some(v) => b.append_value(f(v)),
            None => b.append_null(),
        }
    }
    Ok(Arc::new(b.finish()))
}

pub(super) const EPOCH_DAYS_CE: i32 = 719_163;

pub(crate) fn from_naive_date(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - EPOCH_DAYS_CE
}

/// Spark (Java `DateTimeFormatter`) pattern -> chrono format, for the common letters.
fn spark_pattern_to_chrono(p: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let rep = match (c, n) {
            ('y', 2) => "%y".to_string(),
            ('y', _) => "%Y".to_string(),
            ('M', 1) | ('M', 2) => "%m".to_string(),
            ('M', 3) => "%b".to_string(),
            ('M', _) => "%B".to_string(),
            ('d', _) => "%d".to_string(),
            ('H', _) => "%H".to_string(),
            ('h', _) => "%I".to_string(),
            ('m', _) => "%M".to_string(),
            ('s', _) => "%S".to_string(),
            // chrono's `%.f` takes the dot with the digits
            ('S', _) => {
                if out.ends_with('.') {
                    out.pop();
                }
                "%.f".to_string()
            }
            ('a', _) => "%p".to_string(),
            ('\'', _) => String::new(),
            (c, n) => std::iter::repeat(c).take(n).collect(),
        };
        out.push_str(&rep);
        i += n;
    }
    out
}

/// `s` parsed with the chrono format `cf`; fields the pattern lacks take Spark's
/// defaults (year 1970, January, day 1, midnight), as `to_date('16', 'dd')` = 1970-01-16.
fn parse_with_defaults(s: &str, cf: &str) -> Option<chrono::NaiveDateTime> {
    use chrono::format::{parse, Parsed, StrftimeItems};
    let mut p = Parsed::new();
    parse(&mut p, s, StrftimeItems::new(cf)).ok()?;
    let dated = p.ordinal().is_some() || p.isoweek().is_some() || p.timestamp().is_some();
    if !dated {
        if p.year().is_none() && p.year_mod_100().is_none() {
            p.set_year(1970).ok()?;
        }
        if p.month().is_none() {
            p.set_month(1).ok()?;
        }
        if p.day().is_none() {
            p.set_day(1).ok()?;
        }
    }
    if p.hour_mod_12().is_none() {
        p.set_hour(0).ok()?;
    }
    if p.minute().is_none() {
        p.set_minute(0).ok()?;
    }
    let date = p.to_naive_date().ok()?;
    let time = p.to_naive_time().ok()?;
    Some(date.and_time(time))
}

/// Rejects a datetime pattern Spark's DateTimeFormatterHelper refuses: more letters of a
/// field than its widest form (`MMMMM`, the narrow month form, which Spark cannot parse;
/// `ddd`, `HHH`, `mmm`, `sss`, `aa`, `DDDD`; Java's DateTimeFormatterBuilder limits). Errors: Spark's INCONSISTENT_BEHAVIOR_CROSS_VERSION
/// reading of the pattern.
pub(crate) fn check_datetime_pattern(p: &str) -> Result<()> {
    let chars: Vec<char> = p.chars().collect();
    let (mut i, mut quoted) = (0, false);
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            quoted = !quoted;
            i += 1;
            continue;
        }
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let widest = match c {
            'M' | 'L' | 'E' | 'G' => 4,
            'y' | 'u' => 6,
            'd' | 'H' | 'h' | 'm' | 's' | 'k' | 'K' => 2,
            'a' => 1,
            'D' => 3,
            'S' => 9,
            _ => usize::MAX,
        };
        if !quoted && n > widest {
            return Err(QuarryError::Execution(format!(
                "[INCONSISTENT_BEHAVIOR_CROSS_VERSION.DATETIME_PATTERN_RECOGNITION] Fail to recognize '{p}' pattern in the DateTimeFormatter: too many pattern letters '{c}'"
            )));
        }
        i += n;
    }
    Ok(())
}

/// Spark 3's PARSE_DATETIME_BY_NEW_PARSER error for the first value of `s` that parsed
/// to NULL (`out`) with a pattern of `fmt` that Spark 2's parser would have read (see
/// [`super::datetime_parse::new_parser_failure`]).
pub(super) fn check_new_parser(
    s: &StringArray,
    fmt: Option<&StringArray>,
    out: &dyn Array,
) -> Result<()> {
    let Some(fmt) = fmt else { return Ok(()) };
    for i in 0..s.len() {
        if out.is_null(i) && !s.is_null(i) && !fmt.is_null(i) {
            if let Some(e) =
                super::datetime_parse::new_parser_failure(s.value(i).trim(), fmt.value(i))
            {
                return Err(e);
            }
        }
    }
    Ok(())
}

/// [`check_datetime_pattern`] over a column of patterns (each distinct run once).
pub(super) fn check_datetime_patterns(f: Option<&StringArray>) -> Result<()> {
    let mut last: Option<&str> = None;
    for p in f.into_iter().flat_map(|f| f.iter()).flatten() {
        if last != Some(p) {
            check_datetime_pattern(p)?;
            last = Some(p);
        }
    }
    Ok(())
}

/// `s` read with the Spark datetime pattern `f` ([`super::datetime_parse::parse`]); a
/// pattern that parser does not compile (letters such as `G`, `Q`, `w`) goes through the
/// chrono translation instead.
fn parse_with_pattern(s: &str, f: &str) -> Option<chrono::NaiveDateTime> {
    match super::datetime_parse::parse(s, f) {
        Some(dt) => dt,
        None => parse_with_defaults(s, &spark_pattern_to_chrono(f)),
    }
}

pub(super) fn parse_date_str(s: &str, fmt: Option<&str>) -> Option<i32> {
    let s = s.trim();
    match fmt {
        Some(f) => parse_with_pattern(s, f).map(|dt| from_naive_date(dt.date())),
        None => spark_string_to_date(s),
    }
}

/// A string as a date (days since 1970-01-01) by Spark's rules for `CAST(s AS DATE)`
/// (`SparkDateTimeUtils.stringToDate`): surrounding whitespace is ignored; then an
/// optional sign and `yyyy` (4 to 7 digits), `yyyy-[m]m` or `yyyy-[m]m-[d]d`, the last
/// optionally followed by a space or `T` and anything (`2020-01-01 12:34:56`,
/// `2020-01-01Tjunk`). A missing month or day is 1. Anything else, or a day that the
/// month does not have, is `None` (NULL in a non-ANSI cast).
pub fn spark_string_to_date(s: &str) -> Option<i32> {
    let b = s.trim().as_bytes();
    let (sign, mut j) = match b.first()? {
        b'-' => (-1, 1),
        b'+' => (1, 1),
        _ => (1, 0),
    };
    let valid = |segment: usize, digits: u32| {
        if segment == 0 {
            (4..=7).contains(&digits)
        } else {
            (1..=2).contains(&digits)
        }
    };
    let mut segments = [1i32, 1, 1];
    let (mut i, mut value, mut digits) = (0usize, 0i32, 0u32);
    while j < b.len() && i < 3 && b[j] != b' ' && b[j] != b'T' {
        if i < 2 && b[j] == b'-' {
            if !valid(i, digits) {
                return None;
            }
            segments[i] = value;
            (value, digits) = (0, 0);
            i += 1;
        } else if b[j].is_ascii_digit() {
            value = value * 10 + i32::from(b[j] - b'0');
            digits += 1;
            if digits > 7 {
                return None;
            }
        } else {
            return None;
        }
        j += 1;
    }
    // `yyyy` and `yyyy-[m]m` must be the whole string
    if !valid(i, digits) || (i < 2 && j < b.len()) {
        return None;
    }
    segments[i] = value;
    let days = days_from_civil(sign * segments[0], segments[1], segments[2])?;
    // only dates chrono holds (years up to ±262,143) are printed and computed with;
    // Spark's reach further
    NaiveDate::from_num_days_from_ce_opt(days.checked_add(EPOCH_DAYS_CE)?).map(|_| days)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (any year a date holds, past
/// chrono's ±262,143; Howard Hinnant's `days_from_civil`); `None` for a month or day
/// the calendar does not have.
pub(super) fn days_from_civil(y: i32, m: i32, d: i32) -> Option<i32> {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=month_days).contains(&d) {
        return None;
    }
    let (y, m, d) = (i64::from(y) - i64::from(m <= 2), i64::from(m), i64::from(d));
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    i32::try_from(era * 146_097 + doe - 719_468).ok()
}

pub(super) fn parse_timestamp_str(s: &str, fmt: Option<&str>) -> Option<i64> {
    let s = s.trim();
    match fmt {
        Some(f) => parse_with_pattern(s, f).map(|dt| dt.and_utc().timestamp_micros()),
        None => super::datetime::spark_string_to_timestamp(s),
    }
}

/// Evaluate `func` over argument arrays already cast to the signature's types.
/// `n` is the row count (for zero-argument functions).
pub fn evaluate(func: ScalarFunc, args: &[ArrayRef], n: usize) -> Result<ArrayRef> {
    use ScalarFunc::*;
    Ok(match func {
        Math(f) => super::math::evaluate(f, args, n)?,
        Coll(f) => {
            return Err(QuarryError::Internal(format!(
                "{} needs its result type: evaluate it through collections::evaluate",
                f.name()
            )))
        }
        Interval(f) => {
            return Err(QuarryError::Internal(format!(
                "{} needs its result type: evaluate it through interval::evaluate",
                f.name()
            )))
        }
        Lambda(f) => {
            return Err(QuarryError::Internal(format!(
                "{} needs its lambda: evaluate it through lambda::evaluate_call",
                f.name()
            )))
        }
        Str(f) => super::strings::evaluate(f, args, n)?,
        Date(f) => super::datetime::evaluate(f, args, n)?,
        Lower => map_str(&args[0], |s| s.to_lowercase())?,
        Upper => map_str(&args[0], |s| s.to_uppercase())?,
        Trim => map_str(&args[0], |s| s.trim_matches(' ').to_string())?,
        LTrim => map_str(&args[0], |s| s.trim_start_matches(' ').to_string())?,
        RTrim => map_str(&args[0], |s| s.trim_end_matches(' ').to_string())?,
        Reverse => map_str(&args[0], |s| s.chars().rev().collect())?,
        Initcap => map_str(&args[0], |s| {
            let mut out = String::with_capacity(s.len());
            let mut start = true;
            for c in s.chars() {
                if start {
                    out.extend(c.to_uppercase());
                } else {
                    out.extend(c.to_lowercase());
                }
                start = c == ' ';
            }
            out
        })?,
        Length => {
            let s = strings(&args[0])?;
            Arc::new(
                s.iter()
                    .map(|v| v.map(|v| v.chars().count() as i32))
                    .collect::<Int32Array>(),
            )
        }
        Substring => {
            let s = strings(&args[0])?;
            let pos = ints(&args[1])?;
            let len = if args.len() > 2 {
                Some(ints(&args[2])?)
            } else {
                None
            };
            let mut b = StringBuilder::with_capacity(s.len(), s.value_data().len().min(1 << 24));
            for i in 0..s.len() {
                if s.is_null(i) || pos.is_null(i) || len.is_some_and(|l| l.is_null(i)) {
                    b.append_null();
                    continue;
                }
                b.append_value(spark_substring(
                    s.value(i),
                    pos.value(i),
                    len.map(|l| l.value(i)),
                ));
            }
            Arc::new(b.finish())
        }
        Concat
            if args
                .first()
                .is_some_and(|a| a.data_type() == &DataType::Binary) =>
        {
            let cols: Vec<&arrow::array::BinaryArray> =
                args.iter().map(|a| a.as_binary::<i32>()).collect();
            let mut b = arrow::array::BinaryBuilder::new();
            for i in 0..n {
                if cols.iter().any(|c| c.is_null(i)) {
                    b.append_null();
                } else {
                    let v: Vec<u8> = cols
                        .iter()
                        .flat_map(|c| c.value(i).iter().copied())
                        .collect();
                    b.append_value(v);
                }
            }
            Arc::new(b.finish())
        }
        Concat => {
            let cols: Vec<&StringArray> = args.iter().map(strings).collect::<Result<_>>()?;
            let mut b = StringBuilder::new();
            for i in 0..n {
                if cols.iter().any(|c| c.is_null(i)) {
                    b.append_null();
                } else {
                    let s: String = cols.iter().map(|c| c.value(i)).collect();
                    b.append_value(s);
                }
            }
            Arc::new(b.finish())
        }
        ConcatWs => {
            let cols: Vec<&StringArray> = args.iter().map(strings).collect::<Result<_>>()?;
            let mut b = StringBuilder::new();
            for i in 0..n {
                if cols[0].is_null(i) {
                    b.append_null();
                    continue;
                }
                let parts: Vec<&str> = cols[1..]
                    .iter()
                    .filter(|c| !c.is_null(i))
                    .map(|c| c.value(i))
                    .collect();
                b.append_value(parts.join(cols[0].value(i)));
            }
            Arc::new(b.finish())
        }
        Replace => {
            let s = strings(&args[0])?;
            let from = strings(&args[1])?;
            let to = if args.len() > 2 {
                Some(strings(&args[2])?)
            } else {
                None
            };
            let mut b = StringBuilder::new();
            for i in 0..s.len() {
                if s.is_null(i) || from.is_null(i) || to.is_some_and(|t| t.is_null(i)) {
                    b.append_null();
                } else if from.value(i).is_empty() {
                    b.append_value(s.value(i));
                } else {
                    b.append_value(
                        s.value(i)
                            .replace(from.value(i), to.map(|t| t.value(i)).unwrap_or("")),
                    );
                }
            }
            Arc::new(b.finish())
        }
        Lpad | Rpad if args[0].data_type() == &DataType::Binary => {
            let s = args[0].as_binary::<i32>();
            let len = ints(&args[1])?;
            let pad = args.get(2).map(|p| p.as_binary::<i32>());
            let mut out: Vec<Option<Vec<u8>>> = Vec::with_capacity(s.len());
            let mut total = 0usize;
            for i in 0..s.len() {
                if s.is_null(i) || len.is_null(i) || pad.is_some_and(|p| p.is_null(i)) {
                    out.push(None);
                    continue;
                }
                // a binary is padded with zero bytes by default
                let p: &[u8] = pad.map_or(&[0u8][..], |p| p.value(i));
                total = total.saturating_add(len.value(i).max(0) as usize);
                super::check_column_bytes(func.name(), total)?;
                out.push(Some(pad_to(s.value(i), len.value(i), p, func == Lpad)));
            }
            Arc::new(out.into_iter().collect::<BinaryArray>())
        }
        Lpad | Rpad => {
            let s = strings(&args[0])?;
            let len = ints(&args[1])?;
            let pad = if args.len() > 2 {
                Some(strings(&args[2])?)
            } else {
                None
            };
            let mut b = StringBuilder::new();
            for i in 0..s.len() {
                if s.is_null(i) || len.is_null(i) || pad.is_some_and(|p| p.is_null(i)) {
                    b.append_null();
                    continue;
                }
                let p: Vec<char> = pad.map(|p| p.value(i)).unwrap_or(" ").chars().collect();
                // refuse before building a value no column can hold
                let widest = p.iter().map(|c| c.len_utf8()).max().unwrap_or(1);
                let target = len.value(i).max(0) as usize;
                super::check_column_bytes(func.name(), s.value(i).len() + target * widest)?;
                let chars: Vec<char> = s.value(i).chars().collect();
                let padded = pad_to(&chars, len.value(i), &p, func == Lpad);
                super::append_checked(
                    &mut b,
                    func.name(),
                    &padded.into_iter().collect::<String>(),
                )?;
            }
            Arc::new(b.finish())
        }
        Instr => {
            let s = strings(&args[0])?;
            let sub = strings(&args[1])?;
            Arc::new(
                (0..s.len())
                    .map(|i| {
                        if s.is_null(i) || sub.is_null(i) {
                            None
                        } else {
                            Some(
                                s.value(i)
                                    .find(sub.value(i))
                                    .map(|b| s.value(i)[..b].chars().count() as i32 + 1)
                                    .unwrap_or(0),
                            )
                        }
                    })
                    .collect::<Int32Array>(),
            )
        }
        StartsWith | EndsWith | Contains => {
            let s = strings(&args[0])?;
            let t = strings(&args[1])?;
            Arc::new(
                (0..s.len())
                    .map(|i| {
                        if s.is_null(i) || t.is_null(i) {
                            None
                        } else {
                            let (a, b) = (s.value(i), t.value(i));
                            Some(match func {
                                StartsWith => a.starts_with(b),
                                EndsWith => a.ends_with(b),
                                _ => a.contains(b),
                            })
                        }
                    })
                    .collect::<BooleanArray>(),
            )
        }
        Year => date_part(&args[0], DatePart::Year)?,
        Quarter => date_part(&args[0], DatePart::Quarter)?,
        Month => date_part(&args[0], DatePart::Month)?,
        Day => date_part(&args[0], DatePart::Day)?,
        DayOfYear => date_part(&args[0], DatePart::DayOfYear)?,
        DayOfWeek => {
            // Spark: 1 = Sunday .. 7 = Saturday
            let d = date_part(&args[0], DatePart::DayOfWeekSunday0)?;
            let d = ints(&d)?;
            Arc::new(d.iter().map(|v| v.map(|v| v + 1)).collect::<Int32Array>())
        }
        Hour => date_part(&args[0], DatePart::Hour)?,
        Minute => date_part(&args[0], DatePart::Minute)?,
        Second => date_part(&args[0], DatePart::Second)?,
        DateTrunc => {
            let unit = strings(&args[0])?;
            let ts = args[1]
                .as_any()
                .downcast_ref::<TimestampMicrosecondArray>()
                .ok_or_else(|| QuarryError::Internal("date_trunc input".into()))?;
            let mut out = Vec::with_capacity(ts.len());
            for i in 0..ts.len() {
                if ts.is_null(i) || unit.is_null(i) {
                    out.push(None);
                } else {
                    out.push(trunc_timestamp(ts.value(i), unit.value(i))?);
                }
            }
            Arc::new(TimestampMicrosecondArray::from(out))
        }
        Trunc => {
            let d = dates(&args[0])?;
            let unit = strings(&args[1])?;
            let mut out = Vec::with_capacity(d.len());
            for i in 0..d.len() {
                if d.is_null(i) || unit.is_null(i) {
                    out.push(None);
                } else {
                    let micros = d.value(i) as i64 * 86_400_000_000;
                    let u = unit.value(i).to_ascii_lowercase();
                    if !matches!(
                        u.as_str(),
                        "year" | "yyyy" | "yy" | "quarter" | "month" | "mon" | "mm" | "week"
                    ) {
                        out.push(None);
                        continue;
                    }
                    out.push(
                        trunc_timestamp(micros, &u)?.map(|t| t.div_euclid(86_400_000_000) as i32),
                    );
                }
            }
            Arc::new(Date32Array::from(out))
        }
        DateAdd | DateSub => {
            let d = dates(&args[0])?;
            let k = ints(&args[1])?;
            let sign = if func == DateAdd { 1 } else { -1 };
            Arc::new(
                (0..d.len())
                    .map(|i| {
                        if d.is_null(i) || k.is_null(i) {
                            None
                        } else {
                            d.value(i).checked_add(sign * k.value(i))
                        }
                    })
                    .collect::<Date32Array>(),
            )
        }
        DateDiff => {
            let a = dates(&args[0])?;
            let b = dates(&args[1])?;
            Arc::new(
                (0..a.len())
                    .map(|i| {
                        if a.is_null(i) || b.is_null(i) {
                            None
                        } else {
                            Some(a.value(i) - b.value(i))
                        }
                    })
                    .collect::<Int32Array>(),
            )
        }
        ToDate => match args[0].data_type() {
            DataType::Utf8 => {
                let s = strings(&args[0])?;
                let fmt = if args.len() > 1 {
                    Some(strings(&args[1])?)
                } else {
                    None
                };
                check_datetime_patterns(fmt)?;
                let out: ArrayRef = Arc::new(
                    (0..s.len())
                        .map(|i| {
                            if s.is_null(i) || fmt.is_some_and(|f| f.is_null(i)) {
                                None
                            } else {
                                parse_date_str(s.value(i), fmt.map(|f| f.value(i)))
                            }
                        })
                        .collect::<Date32Array>(),
                );
                check_new_parser(s, fmt, out.as_ref())?;
                out
            }
            _ => cast(&args[0], &DataType::Date32)?,
        },
        ToTimestamp => match args[0].data_type() {
            DataType::Utf8 => {
                let s = strings(&args[0])?;
                let fmt = if args.len() > 1 {
                    Some(strings(&args[1])?)
                } else {
                    None
                };
                check_datetime_patterns(fmt)?;
                let out: ArrayRef = Arc::new(
                    (0..s.len())
                        .map(|i| {
                            if s.is_null(i) || fmt.is_some_and(|f| f.is_null(i)) {
                                None
                            } else {
                                parse_timestamp_str(s.value(i), fmt.map(|f| f.value(i)))
                            }
                        })
                        .collect::<TimestampMicrosecondArray>(),
                );
                check_new_parser(s, fmt, out.as_ref())?;
                out
            }
            // a number is seconds since the epoch, as Spark's cast to timestamp
            _ => crate::physical::eval::cast_array(&args[0], &TIMESTAMP)?,
        },
        CurrentDate => {
            let today = from_naive_date(chrono::Utc::now().date_naive());
            Arc::new(Date32Array::from(vec![today; n]))
        }
        CurrentTimestamp => {
            let now = chrono::Utc::now().timestamp_micros();
            Arc::new(TimestampMicrosecondArray::from(vec![now; n]))
        }
        // (evaluated by the executor before its argument can fail; here it is given)
        Try => args[0].clone(),
        Coalesce => {
            let mut acc = args[0].clone();
            for a in &args[1..] {
                let keep = is_not_null(&acc)?;
                acc = arrow::compute::kernels::zip::zip(&keep, &acc, a)?;
            }
            acc
        }
        NullIf => {
            let eq = arrow::compute::kernels::cmp::eq(&args[0], &args[1])?;
            arrow::compute::nullif(&args[0], &eq)?
        }
        Greatest | Least => {
            let mut acc = args[0].clone();
            for a in &args[1..] {
                // Spark skips NULLs: take `a` where acc is null, or where a beats acc
                let op = if func == Greatest {
                    crate::plan::BinOp::Gt
                } else {
                    crate::plan::BinOp::Lt
                };
                let better = if a.data_type().is_nested() {
                    // arrays and structs: Spark's ordering, element by element
                    let b = crate::physical::eval::nested_compare(op, a, &acc)?;
                    b.as_boolean().clone()
                } else if op == crate::plan::BinOp::Gt {
                    arrow::compute::kernels::cmp::gt(a, &acc)?
                } else {
                    arrow::compute::kernels::cmp::lt(a, &acc)?
                };
                let acc_null = arrow::compute::is_null(&acc)?;
                let a_valid = is_not_null(a)?;
                let take_a = arrow::compute::or_kleene(
                    &arrow::compute::and_kleene(&acc_null, &a_valid)?,
                    &better,
                )?;
                let take_a = crate::physical::eval::null_as_false(&take_a);
                acc = arrow::compute::kernels::zip::zip(&take_a, a, &acc)?;
            }
            acc
        }
        Abs => match args[0].data_type() {
            DataType::Float64
            | DataType::Float32
            | DataType::Decimal128(_, _)
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64 => {
                let zero_i: ArrayRef = Arc::new(Int32Array::from(vec![0]));
                let zero = cast(&zero_i, args[0].data_type())?;
                let neg = arrow::compute::kernels::cmp::lt(&args[0], &Scalar::new(zero))?;
                let negated = arrow::compute::kernels::numeric::neg_wrapping(&args[0])?;
                let neg = crate::physical::eval::null_as_false(&neg);
                arrow::compute::kernels::zip::zip(&neg, &negated, &args[0])?
            }
            other => return Err(QuarryError::Internal(format!("abs of {other}"))),
        },
        Round => round(
            &args[0],
            if args.len() > 1 {
                Some(ints(&args[1])?)
            } else {
                None
            },
        )?,
        Floor | Ceil if args.len() == 2 => {
            let digits = ints(&args[1])?;
            let x = args[0]
                .as_any()
                .downcast_ref::<Decimal128Array>()
                .ok_or_else(|| QuarryError::Internal("ceil/floor with a scale".into()))?;
            let mode = if func == Ceil {
                DecimalRounding::Ceiling
            } else {
                DecimalRounding::Floor
            };
            round_decimals(x, |i| digits.is_valid(i).then(|| digits.value(i)), mode)?
        }
        Floor | Ceil => match args[0].data_type() {
            DataType::Decimal128(_, s) => {
                let s = *s;
                let a = args[0]
                    .as_any()
                    .downcast_ref::<Decimal128Array>()
                    .ok_or_else(|| QuarryError::Internal("floor".into()))?;
                let f = 10i128.pow(s as u32);
                let out: Decimal128Array = a
                    .iter()
                    .map(|v| {
                        v.map(|v| {
                            let q = v.div_euclid(f);
                            let r = v.rem_euclid(f);
                            if func == Ceil && r != 0 {
                                q + 1
                            } else {
                                q
                            }
                        })
                    })
                    .collect();
                let DataType::Decimal128(p, _) = rounded_decimal_type(a.precision(), s, 0) else {
                    return Err(QuarryError::Internal("rounded decimal type".into()));
                };
                Arc::new(out.with_precision_and_scale(p, 0)?)
            }
            _ => {
                let f = cast(&args[0], &DataType::Float64)?;
                let f = f.as_primitive::<Float64Type>();
                Arc::new(
                    f.iter()
                        .map(|v| v.map(|v| if func == Floor { v.floor() } else { v.ceil() } as i64))
                        .collect::<Int64Array>(),
                )
            }
        },
        Sqrt | Exp | Ln | Log10 | Sign => {
            let f = args[0].as_primitive::<Float64Type>();
            Arc::new(
                f.iter()
                    .map(|v| {
                        v.and_then(|v| match func {
                            Sqrt => Some(v.sqrt()),
                            Exp => Some(v.exp()),
                            Ln if v > 0.0 => Some(v.ln()),
                            Log10 if v > 0.0 => Some(v.log10()),
                            Sign => Some(if v > 0.0 {
                                1.0
                            } else if v < 0.0 {
                                -1.0
                            } else {
                                0.0
                            }),
                            _ => None,
                        })
                    })
                    .collect::<Float64Array>(),
            )
        }
        Power => {
            let a = args[0].as_primitive::<Float64Type>();
            let b = args[1].as_primitive::<Float64Type>();
            Arc::new(
                (0..a.len())
                    .map(|i| {
                        if a.is_null(i) || b.is_null(i) {
                            None
                        } else {
                            Some(a.value(i).powf(b.value(i)))
                        }
                    })
                    .collect::<Float64Array>(),
            )
        }
        TypeOf => {
            let name = crate::types::type_name(args[0].data_type());
            Arc::new(StringArray::from(vec![name; n]))
        }
        // Spark's `make_date(year, month, day)`: NULL for a date that does not exist
        // (its non-ANSI behaviour)
        MakeDate => {
            let (y, m, d) = (ints(&args[0])?, ints(&args[1])?, ints(&args[2])?);
            Arc::new(
                (0..y.len())
                    .map(|r| {
                        if y.is_null(r) || m.is_null(r) || d.is_null(r) {
                            return None;
                        }
                        let (m, d) = (
                            u32::try_from(m.value(r)).ok()?,
                            u32::try_from(d.value(r)).ok()?,
                        );
                        NaiveDate::from_ymd_opt(y.value(r), m, d).map(from_naive_date)
                    })
                    .collect::<Date32Array>(),
            )
        }
        // Spark's `ascii`: the code point of the first character, 0 for ''
        Ascii => Arc::new(
            strings(&args[0])?
                .iter()
                .map(|v| v.map(|v| v.chars().next().map_or(0, |c| c as i32)))
                .collect::<Int32Array>(),
        ),
        // Spark's `chr`: '' for a negative code, else the character of code % 256
        Chr => {
            let c = arrow::compute::cast(&args[0], &DataType::Int64)?;
            Arc::new(
                c.as_primitive::<arrow::datatypes::Int64Type>()
                    .iter()
                    .map(|v| {
                        v.map(|v| {
                            if v < 0 {
                                String::new()
                            } else {
                                char::from((v % 256) as u8).to_string()
                            }
                        })
                    })
                    .collect::<StringArray>(),
            )
        }
        SplitPart => {
            let (st, d, k) = (strings(&args[0])?, strings(&args[1])?, ints(&args[2])?);
            let mut b = StringBuilder::new();
            for r in 0..st.len() {
                if st.is_null(r) || d.is_null(r) || k.is_null(r) {
                    b.append_null();
                    continue;
                }
                b.append_value(spark_split_part(st.value(r), d.value(r), k.value(r))?);
            }
            Arc::new(b.finish())
        }
        RegexpExtract | RegexpExtractAll => {
            let name = func.name();
            let (st, pat) = (strings(&args[0])?, strings(&args[1])?);
            let idx = args.get(2).map(ints).transpose()?;
            let mut cache = super::strings::RegexCache::new(name);
            let mut one = StringBuilder::new();
            let field = match crate::types::list_type(DataType::Utf8) {
                DataType::List(f) => f,
                _ => return Err(QuarryError::Internal("a list type".into())),
            };
            let mut all = ListBuilder::new(StringBuilder::new()).with_field(field);
            for r in 0..st.len() {
                let g = idx.map_or(Some(1), |a| (!a.is_null(r)).then(|| a.value(r)));
                let (Some(g), false, false) = (g, st.is_null(r), pat.is_null(r)) else {
                    one.append_null();
                    all.append_null();
                    continue;
                };
                let p = pat.value(r);
                let re = cache.get(p)?;
                if g < 0 || g as usize >= re.captures_len() {
                    return Err(QuarryError::Execution(format!(
                        "[INVALID_PARAMETER_VALUE.REGEX_GROUP_INDEX] {name}: the group index {g} is out of range: the pattern '{p}' has {} group(s)",
                        re.captures_len() - 1
                    )));
                }
                let text = |c: regex::Captures| {
                    c.get(g as usize)
                        .map(|m| m.as_str().to_string())
                        .unwrap_or_default()
                };
                if func == RegexpExtract {
                    one.append_value(re.captures(st.value(r)).map(text).unwrap_or_default());
                } else {
                    for c in re.captures_iter(st.value(r)) {
                        all.values().append_value(text(c));
                    }
                    all.append(true);
                }
            }
            if func == RegexpExtract {
                Arc::new(one.finish())
            } else {
                Arc::new(all.finish())
            }
        }
    })
}

/// Spark's `lpad`/`rpad` on characters or bytes: `body` cut or padded to `len` with
/// `pad` repeated (on the left for `lpad`); an empty pad only cuts.
fn pad_to<T: Copy>(body: &[T], len: i32, pad: &[T], left: bool) -> Vec<T> {
    let target = len.max(0) as usize;
    if body.len() >= target || pad.is_empty() {
        return body[..body.len().min(target)].to_vec();
    }
    let fill = pad.iter().cycle().take(target - body.len()).copied();
    if left {
        fill.chain(body.iter().copied()).collect()
    } else {
        body.iter().copied().chain(fill).collect()
    }
}

/// Spark's `split_part(str, delimiter, partNum)`: 1-based part, negative counts from
/// the end, '' when out of range; an empty delimiter leaves the whole string as the
/// only part; part 0 is an error.
fn spark_split_part(s: &str, delim: &str, k: i32) -> Result<String> {
    if k == 0 {
        return Err(QuarryError::Execution(
            "[INVALID_INDEX_OF_ZERO] split_part: the index 0 is invalid: an index shall be either < 0 or > 0 (the first element has index 1)".into(),
        ));
    }
    let parts: Vec<&str> = if delim.is_empty() {
        vec![s]
    } else {
        s.split(delim).collect()
    };
    let i = if k > 0 {
        k as i64 - 1
    } else {
        parts.len() as i64 + k as i64
    };
    Ok(usize::try_from(i)
        .ok()
        .and_then(|i| parts.get(i))
        .map(|p| p.to_string())
        .unwrap_or_default())
}

/// The type of rounding `decimal(p, s)` to `scale` digits (`round`, `floor`, `ceil`), as
/// Spark's `RoundBase`: one more integral digit, scale `min(s, scale)` (0 when negative).
pub fn rounded_decimal_type(p: u8, s: i8, scale: i64) -> DataType {
    let integral = p as i64 - s as i64 + 1;
    if scale < 0 {
        DataType::Decimal128(integral.max(-scale + 1).min(38) as u8, 0)
    } else {
        let ns = (s as i64).min(scale);
        DataType::Decimal128((integral + ns).min(38) as u8, ns as i8)
    }
}

/// Spark's `substring(str, pos, len)`: 1-based; pos 0 acts as 1; negative pos counts from the end.
fn spark_substring(s: &str, pos: i32, len: Option<i32>) -> &str {
    // character positions; for ASCII text they are byte positions
    let ascii = s.is_ascii();
    let n = if ascii { s.len() } else { s.chars().count() } as i64;
    let len = len.map(|l| l as i64).unwrap_or(i64::MAX / 4);
    if len <= 0 {
        return "";
    }
    let start = if pos > 0 {
        pos as i64 - 1
    } else if pos == 0 {
        0
    } else {
        n + pos as i64
    };
    let end = start.saturating_add(len);
    let (start, end) = (start.max(0).min(n) as usize, end.max(0).min(n) as usize);
    if start >= end {
        return "";
    }
    if ascii {
        return &s[start..end];
    }
    let byte = |c: usize| s.char_indices().nth(c).map_or(s.len(), |(b, _)| b);
    &s[byte(start)..byte(end)]
}

fn trunc_timestamp(micros: i64, unit: &str) -> Result<Option<i64>> {
    let Some(dt) = super::datetime::to_datetime(micros) else {
        return Ok(None);
    };
    let d = dt.date();
    let u = unit.to_ascii_lowercase();
    let date_only = |nd: Option<NaiveDate>| {
        nd.and_then(|nd| nd.and_hms_opt(0, 0, 0))
            .map(|x| x.and_utc().timestamp_micros())
    };
    Ok(match u.as_str() {
        "year" | "yyyy" | "yy" => date_only(NaiveDate::from_ymd_opt(d.year(), 1, 1)),
        "quarter" => date_only(NaiveDate::from_ymd_opt(d.year(), (d.month() - 1) / 3 * 3 + 1, 1)),
        "month" | "mon" | "mm" => date_only(NaiveDate::from_ymd_opt(d.year(), d.month(), 1)),
        "week" => date_only(d.checked_sub_days(chrono::Days::new(d.weekday().num_days_from_monday() as u64))),
        "day" | "dd" => date_only(Some(d)),
        "hour" => d.and_hms_opt(dt.hour(), 0, 0).map(|x| x.and_utc().timestamp_micros()),
        "minute" => d.and_hms_opt(dt.hour(), dt.minute(), 0).map(|x| x.and_utc().timestamp_micros()),
        "second" => d.and_hms_opt(dt.hour(), dt.minute(), dt.second()).map(|x| x.and_utc().timestamp_micros()),
        _ => return Err(QuarryError::Execution(format!("date_trunc: unknown unit '{unit}' (year, quarter, month, week, day, hour, minute, second)"))),
    })
}

/// How [`round_decimals`] rounds: Spark's `round` (HALF_UP), `ceil(x, d)`, `floor(x, d)`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DecimalRounding {
    HalfUp,
    Ceiling,
    Floor,
}

/// `x` rounded to `digits(i)` decimal places (NULL where that is None) as Spark's
/// RoundBase over decimals: the array keeps `x`'s precision and scale (the call's result
/// type, one integral digit wider, is a cast after it); a carry past the precision is
/// NULL, as Spark's non-ANSI mode.
fn round_decimals(
    x: &Decimal128Array,
    digits: impl Fn(usize) -> Option<i32>,
    mode: DecimalRounding,
) -> Result<ArrayRef> {
    let s = x.scale() as i32;
    let out: Decimal128Array = (0..x.len())
        .map(|i| {
            if x.is_null(i) {
                return None;
            }
            let d = digits(i)?;
            let v = x.value(i);
            if d >= s {
                return Some(v);
            }
            if s - d > 38 {
                // every decimal(38) value is below 10^38, so below half of 10^(s-d): the
                // quotient is 0, or one step toward the rounding's side, which is too wide
                return match mode {
                    DecimalRounding::Ceiling if v > 0 => None,
                    DecimalRounding::Floor if v < 0 => None,
                    _ => Some(0),
                };
            }
            let f = 10i128.pow((s - d) as u32);
            let q = match mode {
                DecimalRounding::HalfUp => {
                    let r = (v % f).abs();
                    v / f + if r >= f - r { v.signum() } else { 0 }
                }
                DecimalRounding::Ceiling => v.div_euclid(f) + i128::from(v.rem_euclid(f) != 0),
                DecimalRounding::Floor => v.div_euclid(f),
            };
            q.checked_mul(f)
        })
        .collect();
    Ok(Arc::new(
        out.with_precision_and_scale(x.precision(), x.scale())?,
    ))
}

/// Spark's `round`: HALF_UP, for doubles, integers and decimals (result keeps the input type).
fn round(a: &ArrayRef, digits: Option<&Int32Array>) -> Result<ArrayRef> {
    let d_at = |i: usize| {
        digits
            .map(|d| if d.is_null(i) { 0 } else { d.value(i) })
            .unwrap_or(0)
    };
    Ok(match a.data_type() {
        t if is_floating(t) => {
            let f = cast(a, &DataType::Float64)?;
            let f = f.as_primitive::<Float64Type>();
            let out: Float64Array = (0..f.len())
                .map(|i| {
                    if f.is_null(i) {
                        return None;
                    }
                    let v = f.value(i);
                    let m = 10f64.powi(d_at(i));
                    // HALF_UP on the decimal representation, as Java's BigDecimal does
                    let r = (v * m).abs();
                    let rounded = if (r - r.trunc() - 0.5).abs() < 1e-9 {
                        r.trunc() + 1.0
                    } else {
                        r.round()
                    };
                    Some(rounded.copysign(v) / m)
                })
                .collect();
            cast(&(Arc::new(out) as ArrayRef), t)?
        }
        DataType::Decimal128(..) => {
            let x = a
                .as_any()
                .downcast_ref::<Decimal128Array>()
                .ok_or_else(|| QuarryError::Internal("round".into()))?;
            round_decimals(x, |i| Some(d_at(i)), DecimalRounding::HalfUp)?
        }
        t if is_integer(t) => super::math::round_integers(a, |i| Some(d_at(i)), false)?,
        t => return Err(QuarryError::Internal(format!("round of {t}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn days_from_civil_matches_chrono() {
        for (y, m, d) in [
            (1970, 1, 1),
            (2000, 2, 29),
            (1900, 3, 1),
            (-44, 3, 15),
            (262_000, 12, 31),
            (1, 1, 1),
        ] {
            let chrono = NaiveDate::from_ymd_opt(y, m as u32, d as u32).map(from_naive_date);
            assert_eq!(days_from_civil(y, m, d), chrono, "{y}-{m}-{d}");
        }
        assert_eq!(days_from_civil(1900, 2, 29), None);
        assert_eq!(days_from_civil(2021, 13, 1), None);
        assert_eq!(days_from_civil(2021, 4, 31), None);
        // past chrono's years (i64::MAX microseconds is 294247-01-10, day 106,751,991)
        assert_eq!(days_from_civil(294_247, 1, 11), Some(106_751_992));
        assert_eq!(spark_string_to_date("294247-01-11 00:00:00"), None);
        assert_eq!(spark_string_to_date("2020-01-01 garbage"), Some(18_262));
        assert_eq!(spark_string_to_date("2020-01-01abc"), None);
        assert_eq!(spark_string_to_date("12345678-01-01"), None);
    }

    #[test]
    fn substring_rules() {
        assert_eq!(spark_substring("Spark SQL", 5, None), "k SQL");
        assert_eq!(spark_substring("Spark SQL", -3, None), "SQL");
        assert_eq!(spark_substring("Spark SQL", 5, Some(1)), "k");
        assert_eq!(spark_substring("Spark SQL", 0, Some(2)), "Sp");
        assert_eq!(spark_substring("abc", 10, Some(2)), "");
        // positions count characters, not bytes
        assert_eq!(spark_substring("héllo wörld", 2, Some(4)), "éllo");
        assert_eq!(spark_substring("日本語テキスト", -3, None), "キスト");
        assert_eq!(spark_substring("añb", 2, Some(10)), "ñb");
        assert_eq!(spark_substring("añb", -5, Some(3)), "a");
    }
    #[test]
    fn patterns() {
        assert_eq!(spark_pattern_to_chrono("yyyy-MM-dd"), "%Y-%m-%d");
        assert_eq!(
            parse_date_str("2013/01/05", Some("yyyy/MM/dd")),
            Some(15710)
        );
    }
}
