//! Spark's functions over JSON text: `get_json_object(json, path)`, the `json_tuple`
//! generator's field lookup, `json_array_length`, `json_object_keys`, and the
//! conversion `to_json` (through arrow's JSON writer); `from_json` is in `json_read`.
//!
//! Values are read with serde_json as raw text (`RawValue`), so a number comes back as
//! written (`5.23`, `1e2`), as Spark's Jackson-based functions copy it; a string comes
//! back unquoted and unescaped; an object or array as compact JSON. Malformed JSON, a
//! missing field and a JSON `null` all give NULL.

use std::fmt;

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::{QuarryError, Result};

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema};

/// An object's fields in document order, values as raw text.
struct Fields<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Fields<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Fields<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(
                self,
                mut m: M,
            ) -> std::result::Result<Fields<'a>, M::Error> {
                let mut out = vec![];
                while let Some((k, v)) = m.next_entry::<String, &'de RawValue>()? {
                    out.push((k, v));
                }
                Ok(Fields(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// An array's elements, as raw text.
struct Elements<'a>(Vec<&'a RawValue>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Elements<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Elements<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON array")
            }
            fn visit_seq<S: SeqAccess<'de>>(
                self,
                mut s: S,
            ) -> std::result::Result<Elements<'a>, S::Error> {
                let mut out = vec![];
                while let Some(v) = s.next_element::<&'de RawValue>()? {
                    out.push(v);
                }
                Ok(Elements(out))
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

pub(super) fn fields(raw: &str) -> Option<Vec<(String, &RawValue)>> {
    serde_json::from_str::<Fields>(raw).ok().map(|f| f.0)
}

pub(super) fn elements(raw: &str) -> Option<Vec<&RawValue>> {
    serde_json::from_str::<Elements>(raw).ok().map(|e| e.0)
}

/// A JSON value as Spark's JSON functions return it: a string unquoted, `null` as
/// NULL, an object or array compacted, anything else (numbers, booleans) as written.
pub(super) fn render(v: &RawValue) -> Option<String> {
    let t = v.get().trim();
    match t.as_bytes().first()? {
        b'"' => serde_json::from_str::<String>(t).ok(),
        b'n' if t == "null" => None,
        b'{' | b'[' => serde_json::from_str::<serde_json::Value>(t)
            .ok()
            .map(|x| x.to_string()),
        _ => Some(t.to_string()),
    }
}

/// One step of a JSON path.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Parse Spark's JSON path (`$`, then `.name`, `['name']` or `[n]` steps); `None` for
/// a path Spark would not match anything with (a malformed one).
fn parse_path(path: &str) -> Option<Vec<Step>> {
    let rest = path.strip_prefix('$')?;
    let b = rest.as_bytes();
    let mut steps = vec![];
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'.' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j] != b'.' && b[j] != b'[' {
                    j += 1;
                }
                if j == start {
                    return None;
                }
                steps.push(Step::Key(rest[start..j].to_string()));
                i = j;
            }
            b'[' => {
                let close = rest[i..].find(']')? + i;
                let inner = &rest[i + 1..close];
                if let Some(q) = inner.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')) {
                    steps.push(Step::Key(q.to_string()));
                } else {
                    steps.push(Step::Index(inner.trim().parse().ok()?));
                }
                i = close + 1;
            }
            _ => return None,
        }
    }
    Some(steps)
}

/// `get_json_object(json, path)`: the value at `path` (see the module docs); NULL for
/// malformed JSON, a missing value or a malformed path. The wildcard `[*]` is an error
/// (not supported).
pub fn get_json_object(json: &str, path: &str) -> Result<Option<String>> {
    if path.contains('*') {
        return Err(QuarryError::NotSupported(format!(
            "the wildcard in the get_json_object path '{path}'"
        )));
    }
    let Some(steps) = parse_path(path) else {
        return Ok(None);
    };
    let Ok(root) = serde_json::from_str::<&RawValue>(json) else {
        return Ok(None);
    };
    let mut cur = root;
    for s in &steps {
        let next = match s {
            Step::Key(k) => fields(cur.get())
                .and_then(|fs| fs.into_iter().find(|(n, _)| n == k).map(|(_, v)| v)),
            Step::Index(n) => elements(cur.get()).and_then(|es| es.get(*n).copied()),
        };
        match next {
            Some(v) => cur = v,
            None => return Ok(None),
        }
    }
    Ok(render(cur))
}

/// The top-level fields `keys` of a JSON object, each as [`get_json_object`] renders it
/// (`json_tuple`); every one NULL for malformed JSON or a value that is not an object.
pub fn json_tuple_fields(json: &str, keys: &[Option<&str>]) -> Vec<Option<String>> {
    let Some(fs) = fields(json) else {
        return vec![None; keys.len()];
    };
    keys.iter()
        .map(|k| {
            let k = (*k)?;
            fs.iter().find(|(n, _)| n == k).and_then(|(_, v)| render(v))
        })
        .collect()
}

/// `json_array_length(json)`: the number of elements of an outermost JSON array; NULL
/// for anything else.
pub fn json_array_length(json: &str) -> Option<i32> {
    elements(json).map(|e| e.len() as i32)
}

/// `json_object_keys(json)`: the keys of an outermost JSON object in document order;
/// NULL for anything else.
pub fn json_object_keys(json: &str) -> Option<Vec<String>> {
    fields(json).map(|fs| fs.into_iter().map(|(k, _)| k).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_rendering() {
        let j =
            r#"{"a":{"b":[10, {"c":"x\"y"}, 2.50]},"n":null,"t":true,"s":"hi","o":{"k" : [1, 2]}}"#;
        let g = |p: &str| get_json_object(j, p).unwrap();
        assert_eq!(g("$.s").as_deref(), Some("hi"));
        assert_eq!(g("$.a.b[0]").as_deref(), Some("10"));
        assert_eq!(g("$.a.b[1].c").as_deref(), Some("x\"y"));
        assert_eq!(g("$.a.b[2]").as_deref(), Some("2.50"));
        assert_eq!(g("$['a']['b'][0]").as_deref(), Some("10"));
        assert_eq!(g("$.o").as_deref(), Some(r#"{"k":[1,2]}"#));
        assert_eq!(g("$.t").as_deref(), Some("true"));
        assert_eq!(g("$.n"), None);
        assert_eq!(g("$.missing"), None);
        assert_eq!(g("$.a.b[7]"), None);
        assert_eq!(g("a.b"), None);
        assert_eq!(get_json_object("{bad", "$.a").unwrap(), None);
        assert!(get_json_object(j, "$.a.b[*]").is_err());
    }

    #[test]
    fn tuples_lengths_keys() {
        let j = r#"{"f1":"value1","f2":2,"f3":{"x":1},"f5":null}"#;
        assert_eq!(
            json_tuple_fields(
                j,
                &[
                    Some("f1"),
                    Some("f2"),
                    Some("f3"),
                    Some("f4"),
                    Some("f5"),
                    None
                ]
            ),
            vec![
                Some("value1".into()),
                Some("2".into()),
                Some(r#"{"x":1}"#.into()),
                None,
                None,
                None
            ]
        );
        assert_eq!(json_tuple_fields("[1]", &[Some("a")]), vec![None]);
        assert_eq!(json_array_length("[1, [2, 3], {}]"), Some(3));
        assert_eq!(json_array_length("{}"), None);
        assert_eq!(
            json_object_keys(r#"{"z":1,"a":{"q":2}}"#),
            Some(vec!["z".to_string(), "a".to_string()])
        );
        assert_eq!(json_object_keys("[1]"), None);
    }
}

/// The JSON options (JSONOptions) that change how dates and timestamps are written and
/// read: `dateFormat` and `timestampFormat`, Java DateTimeFormatter patterns.
#[derive(Clone, Debug, Default)]
pub struct JsonFormats {
    pub date_format: Option<String>,
    pub timestamp_format: Option<String>,
}

impl JsonFormats {
    /// The formats among an options map (one row of a `map<string,string>` array; the
    /// keys case-insensitive, as Spark's CaseInsensitiveMap); other options are ignored.
    pub fn from_options(options: &ArrayRef) -> Result<JsonFormats> {
        let mut out = JsonFormats::default();
        for (k, v) in option_pairs(options)? {
            match k.to_ascii_lowercase().as_str() {
                "dateformat" => out.date_format = Some(v),
                "timestampformat" => out.timestamp_format = Some(v),
                _ => {}
            }
        }
        Ok(out)
    }
}

/// Checks a JSON/CSV function's options argument type: a map of strings (Spark's "Must
/// use a map() function for options"). Errors: INVALID_OPTIONS naming `func`.
pub(super) fn check_options_type(func: &str, t: &DataType) -> Result<()> {
    let strings = matches!(t, DataType::Map(f, _)
        if matches!(f.data_type(), DataType::Struct(kv)
            if kv.iter().all(|x| crate::types::is_string(x.data_type()))));
    if strings {
        return Ok(());
    }
    Err(QuarryError::Analysis(format!(
        "[INVALID_OPTIONS.NON_MAP_FUNCTION] {func}: must use a map() function of strings for options, not {}",
        crate::types::type_name(t)
    )))
}

/// The (key, value) pairs of an options map (the first row of a `map<string,string>`
/// array; NULL keys or values are skipped).
pub(super) fn option_pairs(options: &ArrayRef) -> Result<Vec<(String, String)>> {
    use arrow::array::AsArray;
    let Some(m) = options.as_map_opt() else {
        return Ok(vec![]);
    };
    if m.is_empty() || m.is_null(0) {
        return Ok(vec![]);
    }
    let entries = m.value(0);
    let keys = arrow::compute::cast(entries.column(0), &DataType::Utf8)?;
    let values = arrow::compute::cast(entries.column(1), &DataType::Utf8)?;
    let (keys, values) = (keys.as_string::<i32>(), values.as_string::<i32>());
    Ok((0..keys.len())
        .filter(|&i| keys.is_valid(i) && values.is_valid(i))
        .map(|i| (keys.value(i).to_string(), values.value(i).to_string()))
        .collect())
}

/// `to_json(v)`: each value as JSON text, NULL for NULL (Spark's `StructsToJson`): a
/// struct as an object whose NULL fields are left out (Spark's `ignoreNullFields`), an
/// array as an array, a map as an object keyed by the keys' text. Dates are
/// `yyyy-MM-dd`; timestamps are written ISO 8601 without a zone (Spark adds the
/// session's offset and milliseconds).
pub fn to_json(values: &ArrayRef, opts: &JsonFormats) -> Result<ArrayRef> {
    let n = values.len();
    if values.data_type() == &DataType::Null {
        return Ok(Arc::new(StringArray::new_null(n)));
    }
    let values = &as_spark_json_values(values, opts)?;
    // one record per row, `{"v":<json>}` (`{}` for NULL), written by arrow's encoder
    let schema = Arc::new(Schema::new(vec![Field::new(
        "v",
        values.data_type().clone(),
        true,
    )]));
    let batch = RecordBatch::try_new(schema, vec![values.clone()])?;
    let mut buf = Vec::new();
    {
        let mut w = arrow::json::LineDelimitedWriter::new(&mut buf);
        w.write(&batch)?;
        w.finish()?;
    }
    let text = String::from_utf8(buf)
        .map_err(|e| QuarryError::Internal(format!("to_json wrote invalid UTF-8: {e}")))?;
    let mut out = StringBuilder::with_capacity(n, text.len());
    let mut lines = text.lines();
    for i in 0..n {
        let line = lines
            .next()
            .ok_or_else(|| QuarryError::Internal("to_json: a row without its line".into()))?;
        match line
            .strip_prefix("{\"v\":")
            .and_then(|l| l.strip_suffix('}'))
        {
            Some(v) if values.is_valid(i) => out.append_value(v),
            _ => out.append_null(),
        }
    }
    Ok(Arc::new(out.finish()))
}

/// `a`'s dates and timestamps as the text Spark's JSON and CSV writers give them (the
/// options' patterns, else `yyyy-MM-dd` and `yyyy-MM-dd'T'HH:mm:ss.SSSXXX`), as strings.
pub(super) fn datetime_texts(a: &ArrayRef, opts: &JsonFormats) -> Result<ArrayRef> {
    let texts = as_spark_json_values(a, opts)?;
    Ok(arrow::compute::cast(&texts, &DataType::Utf8)?)
}

/// `a` with the values that Spark's JSON writer (JacksonGenerator) writes as strings
/// of its own form turned into those strings, inside structs, arrays and maps too:
/// timestamps as `yyyy-MM-dd'T'HH:mm:ss.SSSXXX` (milliseconds, the session time zone,
/// UTC: `Z`; JSONOptions' default timestampFormat), binaries in base64 (Jackson's
/// writeBinary). Other types pass unchanged (arrow's writer already writes dates as
/// `yyyy-MM-dd` and decimals as written).
fn as_spark_json_values(a: &ArrayRef, opts: &JsonFormats) -> Result<ArrayRef> {
    use arrow::array::AsArray;
    use base64::Engine;
    Ok(match a.data_type() {
        DataType::Timestamp(..) => {
            let t = arrow::compute::cast(a, &crate::types::TIMESTAMP)?;
            let t = t.as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
            let mut out = StringBuilder::with_capacity(t.len(), t.len() * 24);
            for v in t.iter() {
                match v.and_then(chrono::DateTime::from_timestamp_micros) {
                    None => out.append_null(),
                    Some(d) => match &opts.timestamp_format {
                        Some(f) => {
                            out.append_value(super::datetime::format_java(d.naive_utc(), f)?)
                        }
                        None => out.append_value(d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()),
                    },
                }
            }
            Arc::new(out.finish())
        }
        DataType::Date32 if opts.date_format.is_some() => {
            let f = opts.date_format.as_deref().unwrap_or_default();
            let d = a.as_primitive::<arrow::datatypes::Date32Type>();
            let mut out = StringBuilder::with_capacity(d.len(), d.len() * 10);
            for v in d.iter() {
                match v.and_then(|v| {
                    chrono::NaiveDate::from_num_days_from_ce_opt(v + super::scalar::EPOCH_DAYS_CE)
                }) {
                    None => out.append_null(),
                    Some(day) => out.append_value(super::datetime::format_java(
                        day.and_time(chrono::NaiveTime::MIN),
                        f,
                    )?),
                }
            }
            Arc::new(out.finish())
        }
        DataType::Binary | DataType::LargeBinary => {
            let b = arrow::compute::cast(a, &DataType::Binary)?;
            Arc::new(
                b.as_binary::<i32>()
                    .iter()
                    .map(|v| v.map(|v| base64::engine::general_purpose::STANDARD.encode(v)))
                    .collect::<StringArray>(),
            )
        }
        DataType::Map(..) => {
            // a JSON object's keys are text: Spark writes each key's string form (the
            // keys' target is a string, the values' their own type)
            let Some((_, v)) = crate::types::map_key_value(a.data_type()) else {
                return Err(QuarryError::Internal("to_json: map type".into()));
            };
            let target = crate::types::map_type(DataType::Utf8, v.clone());
            super::rebuild_nested(a, Some(&target), &mut |c, t| match t {
                Some(t) if t != c.data_type() => crate::physical::eval::cast_array(c, t),
                _ => as_spark_json_values(c, opts),
            })?
        }
        DataType::Struct(_) | DataType::List(_) => {
            super::rebuild_nested(a, None, &mut |c, _| as_spark_json_values(c, opts))?
        }
        _ => a.clone(),
    })
}

/// Options of Spark's JSON schema inference that `schema_of_json` takes (JSONOptions'
/// names): `primitivesAsString` reads every number and boolean as a string,
/// `prefersDecimal` a fractional number as a decimal (when one fits), and
/// `allowNumericLeadingZeros` accepts `01`.
#[derive(Clone, Copy, Debug, Default)]
pub struct InferOptions {
    pub primitives_as_string: bool,
    pub prefers_decimal: bool,
    pub allow_numeric_leading_zeros: bool,
}

/// A type JsonInferSchema infers, before NULL types are canonicalized to strings.
#[derive(Clone, Debug, PartialEq)]
enum Inferred {
    Null,
    Boolean,
    Long,
    Double,
    Decimal(u8, i8),
    String,
    Array(Box<Inferred>),
    /// fields sorted by name, as Spark's inference sorts them
    Struct(Vec<(String, Inferred)>),
}

/// Spark's `schema_of_json(json[, options])`: the schema Spark's JSON inference gives the
/// document, as DDL text (`STRUCT<a: BIGINT, b: ARRAY<STRING>>`): integers are BIGINT
/// (DECIMAL(p,0) past a bigint), fractions DOUBLE (or DECIMAL with `prefersDecimal`),
/// objects STRUCT with their fields sorted by name, arrays ARRAY of the merged element
/// type (JsonInferSchema.compatibleType: numbers widen, anything else mixed is STRING),
/// and a NULL-only value STRING. Errors: text that is not JSON.
pub fn schema_of_json(json: &str, o: InferOptions) -> Result<String> {
    let text = if o.allow_numeric_leading_zeros {
        strip_leading_zeros(json)
    } else {
        json.to_string()
    };
    let raw: &RawValue = serde_json::from_str(text.trim()).map_err(|e| {
        QuarryError::Execution(format!(
            "[MALFORMED_RECORD_IN_PARSING] schema_of_json cannot read the JSON text {json:?}: {e}"
        ))
    })?;
    let t = infer(raw, o)?;
    Ok(match canonical(t) {
        Some(t) => sql_of(&t),
        None => "STRUCT<>".to_string(),
    })
}

fn infer(v: &RawValue, o: InferOptions) -> Result<Inferred> {
    let t = v.get().trim();
    let bad = || QuarryError::Execution(format!("schema_of_json: malformed JSON {t}"));
    Ok(match t.as_bytes().first() {
        None => Inferred::Null,
        Some(b'{') => {
            let mut out: Vec<(String, Inferred)> = vec![];
            for (k, x) in fields(t).ok_or_else(bad)? {
                let x = infer(x, o)?;
                match out.iter_mut().find(|(n, _)| *n == k) {
                    Some((_, prev)) => *prev = merge(prev.clone(), x),
                    None => out.push((k, x)),
                }
            }
            out.sort_by(|a, b| a.0.cmp(&b.0));
            Inferred::Struct(out)
        }
        Some(b'[') => {
            let mut e = Inferred::Null;
            for x in elements(t).ok_or_else(bad)? {
                e = merge(e, infer(x, o)?);
            }
            Inferred::Array(Box::new(e))
        }
        Some(b'"') => Inferred::String,
        Some(b'n') => Inferred::Null,
        Some(_) if o.primitives_as_string => Inferred::String,
        Some(b't' | b'f') => Inferred::Boolean,
        Some(_) => {
            let fractional = t.contains(['.', 'e', 'E']);
            let digits = t.trim_start_matches('-');
            if !fractional {
                if t.parse::<i64>().is_ok() {
                    Inferred::Long
                } else if digits.len() <= 38 {
                    Inferred::Decimal(digits.len() as u8, 0)
                } else {
                    Inferred::Double
                }
            } else if o.prefers_decimal && !t.contains(['e', 'E']) {
                // BigDecimal's precision and scale of the text as written
                let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
                let int = int.trim_start_matches('0');
                let scale = frac.len();
                let precision = if int.is_empty() {
                    frac.trim_start_matches('0').len().max(1)
                } else {
                    int.len() + scale
                };
                let p = precision.max(scale);
                if p <= 38 {
                    Inferred::Decimal(p as u8, scale as i8)
                } else {
                    Inferred::Double
                }
            } else {
                Inferred::Double
            }
        }
    })
}

/// JsonInferSchema.compatibleType.
fn merge(a: Inferred, b: Inferred) -> Inferred {
    use Inferred::*;
    let widen = |(p1, s1): (u8, i8), (p2, s2): (u8, i8)| {
        let s = s1.max(s2);
        let int = (p1 as i32 - s1 as i32).max(p2 as i32 - s2 as i32);
        let p = int + s as i32;
        if p > 38 {
            Double
        } else {
            Decimal(p as u8, s)
        }
    };
    match (a, b) {
        (a, b) if a == b => a,
        (Null, t) | (t, Null) => t,
        (Long, Double) | (Double, Long) => Double,
        (Decimal(p1, s1), Decimal(p2, s2)) => widen((p1, s1), (p2, s2)),
        (Decimal(p, s), Long) | (Long, Decimal(p, s)) => widen((p, s), (20, 0)),
        (Decimal(..), Double) | (Double, Decimal(..)) => Double,
        (Array(x), Array(y)) => Array(Box::new(merge(*x, *y))),
        (Struct(x), Struct(y)) => {
            let mut out = x;
            for (k, t) in y {
                match out.iter_mut().find(|(n, _)| *n == k) {
                    Some((_, prev)) => *prev = merge(prev.clone(), t),
                    None => out.push((k, t)),
                }
            }
            out.sort_by(|a, b| a.0.cmp(&b.0));
            Struct(out)
        }
        _ => String,
    }
}

/// JsonInferSchema.canonicalizeType: NULL becomes STRING, a struct without fields is
/// dropped (None) with the field that holds it.
fn canonical(t: Inferred) -> Option<Inferred> {
    match t {
        Inferred::Null => Some(Inferred::String),
        Inferred::Array(e) => canonical(*e).map(|e| Inferred::Array(Box::new(e))),
        Inferred::Struct(fs) => {
            let fs: Vec<(String, Inferred)> = fs
                .into_iter()
                .filter(|(n, _)| !n.is_empty())
                .filter_map(|(n, t)| canonical(t).map(|t| (n, t)))
                .collect();
            (!fs.is_empty()).then_some(Inferred::Struct(fs))
        }
        t => Some(t),
    }
}

/// A type's DDL text as Spark's `DataType.sql` writes it (field names quoted when not
/// plain words, as QuotingUtils.quoteIfNeeded).
fn sql_of(t: &Inferred) -> String {
    match t {
        Inferred::Null | Inferred::String => "STRING".into(),
        Inferred::Boolean => "BOOLEAN".into(),
        Inferred::Long => "BIGINT".into(),
        Inferred::Double => "DOUBLE".into(),
        Inferred::Decimal(p, s) => format!("DECIMAL({p},{s})"),
        Inferred::Array(e) => format!("ARRAY<{}>", sql_of(e)),
        Inferred::Struct(fs) => {
            let fields: Vec<String> = fs
                .iter()
                .map(|(n, t)| {
                    let plain = !n.is_empty()
                        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        && !n.chars().all(|c| c.is_ascii_digit());
                    let name = if plain {
                        n.clone()
                    } else {
                        format!("`{}`", n.replace('`', "``"))
                    };
                    format!("{name}: {}", sql_of(t))
                })
                .collect();
            format!("STRUCT<{}>", fields.join(", "))
        }
    }
}

/// JSON text with the leading zeros of its numbers dropped (`01` is `1`), outside strings.
fn strip_leading_zeros(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_str, mut escaped) = (false, false);
    let mut prev_is_num_start = true;
    let chars: Vec<char> = json.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        if c == '"' {
            in_str = true;
        }
        let next_digit = chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
        if c == '0' && prev_is_num_start && next_digit {
            continue; // a leading zero before another digit
        }
        prev_is_num_start = matches!(c, ':' | ',' | '[' | '-' | ' ' | '\t' | '\n' | '\r');
        out.push(c);
    }
    out
}

#[cfg(test)]
mod schema_tests {
    use super::*;

    #[test]
    fn infers_as_spark() {
        let d = InferOptions::default();
        assert_eq!(
            schema_of_json(r#"{"c2":[1], "c1":0}"#, d).unwrap(),
            "STRUCT<c1: BIGINT, c2: ARRAY<BIGINT>>"
        );
        assert_eq!(
            schema_of_json(r#"[{"a":1},{"a":1.5,"b":null},{"c d":[]}]"#, d).unwrap(),
            "ARRAY<STRUCT<a: DOUBLE, b: STRING, `c d`: ARRAY<STRING>>>"
        );
        assert_eq!(
            schema_of_json(r#"[1, "x", true]"#, d).unwrap(),
            "ARRAY<STRING>"
        );
        assert_eq!(schema_of_json("{}", d).unwrap(), "STRUCT<>");
        let o = InferOptions {
            prefers_decimal: true,
            allow_numeric_leading_zeros: true,
            ..d
        };
        assert_eq!(
            schema_of_json(r#"{"c1":01, "c2":0.1}"#, o).unwrap(),
            "STRUCT<c1: BIGINT, c2: DECIMAL(1,1)>"
        );
        let s = InferOptions {
            primitives_as_string: true,
            ..d
        };
        assert_eq!(
            schema_of_json(r#"{"c1":1}"#, s).unwrap(),
            "STRUCT<c1: STRING>"
        );
        assert!(schema_of_json("{", d).is_err());
    }
}
