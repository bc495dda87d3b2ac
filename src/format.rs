//! Rendering values as Spark prints them: NULL, `true`/`false`, doubles in Java's
//! `Double.toString` style (`1.0`, `1.0E10`), dates `2013-01-01`, timestamps
//! `2013-01-01 06:00:00` (fraction only when non-zero), decimals with their scale,
//! binaries as their bytes read as UTF-8.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, Float32Type, Float64Type, TimeUnit};

use crate::types::arrow_format;

/// Format row `i` of `arr` as Spark's `show()`/CLI would print it.
pub fn format_value(arr: &dyn Array, i: usize) -> String {
    if arr.is_null(i) {
        return "NULL".to_string();
    }
    match arr.data_type() {
        DataType::Float64 => java_double(arr.as_primitive::<Float64Type>().value(i)),
        DataType::Float32 => java_float(arr.as_primitive::<Float32Type>().value(i)),
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            let v = arr
                .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
                .value(i);
            format_timestamp_micros(v)
        }
        DataType::Time64(TimeUnit::Microsecond) => {
            let v = arr
                .as_primitive::<arrow::datatypes::Time64MicrosecondType>()
                .value(i);
            format_time_micros(v)
        }
        // Spark's CLI (HiveResult) prints a binary as its bytes read as UTF-8
        DataType::Binary => String::from_utf8_lossy(arr.as_binary::<i32>().value(i)).into_owned(),
        DataType::LargeBinary => {
            String::from_utf8_lossy(arr.as_binary::<i64>().value(i)).into_owned()
        }
        DataType::List(_) | DataType::Map(..) | DataType::Struct(_) => {
            let mut out = String::new();
            format_nested(arr, i, NestedStyle::Hive, &mut out);
            out
        }
        DataType::Interval(_) | DataType::Duration(_) => {
            crate::functions::interval::format_value(arr, i).unwrap_or_else(|| arrow_format(arr, i))
        }
        _ => arrow_format(arr, i),
    }
}

/// How arrays, maps and structs are written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum NestedStyle {
    /// As Spark's CLI prints them (HiveResult.toHiveString): `[1,2]`, `{1:"a"}`,
    /// `{"f":1,"g":"x"}`; strings inside quoted, NULL inside as `null`.
    Hive,
    /// As `CAST(... AS STRING)` writes them (Spark's Cast.castToString): `[1, 2]`,
    /// `{1 -> a}`, `{1, x}`; strings unquoted, NULL inside as `null`.
    Cast,
}

/// Append row `i` of the array, map or struct `arr` to `out` in `style`. Elements that
/// are not themselves complex are written as [`format_value`] writes them.
pub fn format_nested(arr: &dyn Array, i: usize, style: NestedStyle, out: &mut String) {
    let sep = if style == NestedStyle::Hive {
        ","
    } else {
        ", "
    };
    let element = |a: &dyn Array, j: usize, out: &mut String| {
        if a.is_null(j) || a.data_type() == &DataType::Null {
            out.push_str("null");
        } else if a.data_type().is_nested() {
            format_nested(a, j, style, out);
        } else if style == NestedStyle::Hive && crate::types::is_string(a.data_type()) {
            out.push('"');
            out.push_str(&format_value(a, j));
            out.push('"');
        } else {
            out.push_str(&format_value(a, j));
        }
    };
    match arr.data_type() {
        DataType::List(_) => {
            let l = arr.as_list::<i32>();
            let values = l.value(i);
            out.push('[');
            for j in 0..values.len() {
                if j > 0 {
                    out.push_str(sep);
                }
                element(values.as_ref(), j, out);
            }
            out.push(']');
        }
        DataType::Map(..) => {
            let m = arr.as_map();
            let entries = m.value(i);
            let (keys, values) = (entries.column(0), entries.column(1));
            out.push('{');
            for j in 0..entries.len() {
                if j > 0 {
                    out.push_str(sep);
                }
                element(keys.as_ref(), j, out);
                out.push_str(if style == NestedStyle::Hive {
                    ":"
                } else {
                    " -> "
                });
                element(values.as_ref(), j, out);
            }
            out.push('}');
        }
        DataType::Struct(fields) => {
            let st = arr.as_struct();
            out.push('{');
            for (j, (f, c)) in fields.iter().zip(st.columns()).enumerate() {
                if j > 0 {
                    out.push_str(sep);
                }
                if style == NestedStyle::Hive {
                    out.push('"');
                    out.push_str(f.name());
                    out.push_str("\":");
                }
                element(c.as_ref(), i, out);
            }
            out.push('}');
        }
        _ => out.push_str(&format_value(arr, i)),
    }
}

/// Microseconds since the epoch as `yyyy-MM-dd HH:mm:ss[.ffffff]` (trailing zeros trimmed).
pub fn format_timestamp_micros(v: i64) -> String {
    let secs = v.div_euclid(1_000_000);
    let micros = v.rem_euclid(1_000_000);
    match chrono::DateTime::from_timestamp(secs, (micros * 1000) as u32) {
        Some(dt) => {
            let base = dt.format("%Y-%m-%d %H:%M:%S").to_string();
            if micros == 0 {
                base
            } else {
                let frac = format!("{micros:06}");
                format!("{base}.{}", frac.trim_end_matches('0'))
            }
        }
        None => v.to_string(),
    }
}

/// Microseconds since midnight as `HH:mm:ss[.ffffff]` (trailing zeros trimmed), as
/// Spark 4.1 prints a TIME.
pub fn format_time_micros(v: i64) -> String {
    let micros = v.rem_euclid(1_000_000);
    let secs = v.div_euclid(1_000_000);
    let base = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if micros == 0 {
        base
    } else {
        let frac = format!("{micros:06}");
        format!("{base}.{}", frac.trim_end_matches('0'))
    }
}

/// Java's `Double.toString`: plain notation with at least one fraction digit for
/// 1e-3 <= |x| < 1e7, otherwise `d.dddE[-]n`; `NaN`, `Infinity`, `-Infinity`.
pub fn java_double(x: f64) -> String {
    java_layout(x, || format!("{x}"), || format!("{x:e}"))
}

/// Java's `Float.toString`: [`java_double`]'s layout over a float's own shortest digits
/// (`3.14`, where the value widened to a double prints `3.140000104904175`).
pub fn java_float(x: f32) -> String {
    java_layout(f64::from(x), || format!("{x}"), || format!("{x:e}"))
}

/// The Java layout of a value whose shortest round-trip digits `plain` / `sci` (Rust's
/// `{}` and `{:e}`) give.
fn java_layout(x: f64, plain: impl Fn() -> String, sci: impl Fn() -> String) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    let a = x.abs();
    if (1e-3..1e7).contains(&a) {
        let s = plain();
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        // shortest round-trip digits, then Java's scientific layout
        let s = sci(); // e.g. "1.2345e10" or "1e-5"
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mant = if mant.contains('.') {
            mant.to_string()
        } else {
            format!("{mant}.0")
        };
        format!("{mant}E{exp}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn java_doubles() {
        assert_eq!(java_double(1.0), "1.0");
        assert_eq!(java_float(3.14), "3.14");
        assert_eq!(java_float(1.1 + 2.2), "3.3000002");
        assert_eq!(java_float(1e10), "1.0E10");
        assert_eq!(java_double(1e10), "1.0E10");
        assert_eq!(java_double(-2.5e-5), "-2.5E-5");
        assert_eq!(java_double(123.456), "123.456");
        assert_eq!(java_double(1234567.0), "1234567.0");
        assert_eq!(java_double(12345678.0), "1.2345678E7");
    }
    #[test]
    fn timestamps() {
        assert_eq!(format_timestamp_micros(0), "1970-01-01 00:00:00");
        assert_eq!(format_timestamp_micros(1_500_000), "1970-01-01 00:00:01.5");
    }
}
