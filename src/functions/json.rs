//! Spark's functions over JSON text: `get_json_object(json, path)`, the `json_tuple`
//! generator's field lookup, `json_array_length`, `json_object_keys`, and the
//! conversions `to_json` and `from_json` (through arrow's JSON writer and reader).
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

fn fields(raw: &str) -> Option<Vec<(String, &RawValue)>> {
    serde_json::from_str::<Fields>(raw).ok().map(|f| f.0)
}

fn elements(raw: &str) -> Option<Vec<&RawValue>> {
    serde_json::from_str::<Elements>(raw).ok().map(|e| e.0)
}

/// A JSON value as Spark's JSON functions return it: a string unquoted, `null` as
/// NULL, an object or array compacted, anything else (numbers, booleans) as written.
fn render(v: &RawValue) -> Option<String> {
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

/// `to_json(v)`: each value as JSON text, NULL for NULL (Spark's `StructsToJson`): a
/// struct as an object whose NULL fields are left out (Spark's `ignoreNullFields`), an
/// array as an array, a map as an object keyed by the keys' text. Dates are
/// `yyyy-MM-dd`; timestamps are written ISO 8601 without a zone (Spark adds the
/// session's offset and milliseconds).
pub fn to_json(values: &ArrayRef) -> Result<ArrayRef> {
    let n = values.len();
    if values.data_type() == &DataType::Null {
        return Ok(Arc::new(StringArray::new_null(n)));
    }
    let values = &as_spark_json_values(values)?;
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

/// `a` with the values that Spark's JSON writer (JacksonGenerator) writes as strings
/// of its own form turned into those strings, inside structs, arrays and maps too:
/// timestamps as `yyyy-MM-dd'T'HH:mm:ss.SSSXXX` (milliseconds, the session time zone,
/// UTC: `Z`; JSONOptions' default timestampFormat), binaries in base64 (Jackson's
/// writeBinary). Other types pass unchanged (arrow's writer already writes dates as
/// `yyyy-MM-dd` and decimals as written).
fn as_spark_json_values(a: &ArrayRef) -> Result<ArrayRef> {
    use arrow::array::AsArray;
    use base64::Engine;
    Ok(match a.data_type() {
        DataType::Timestamp(..) => {
            let t = arrow::compute::cast(a, &crate::types::TIMESTAMP)?;
            let t = t.as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
            Arc::new(
                t.iter()
                    .map(|v| {
                        v.and_then(chrono::DateTime::from_timestamp_micros)
                            .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
                    })
                    .collect::<StringArray>(),
            )
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
        DataType::Struct(fields) => {
            let st = a.as_struct();
            let cols = st
                .columns()
                .iter()
                .map(as_spark_json_values)
                .collect::<Result<Vec<_>>>()?;
            let fields: Vec<Field> = fields
                .iter()
                .zip(&cols)
                .map(|(f, c)| Field::new(f.name(), c.data_type().clone(), true))
                .collect();
            Arc::new(arrow::array::StructArray::try_new(
                fields.into(),
                cols,
                st.nulls().cloned(),
            )?)
        }
        DataType::List(f) => {
            let l = a.as_list::<i32>();
            let values = as_spark_json_values(l.values())?;
            Arc::new(arrow::array::ListArray::try_new(
                Arc::new(Field::new(f.name(), values.data_type().clone(), true)),
                l.offsets().clone(),
                values,
                l.nulls().cloned(),
            )?)
        }
        DataType::Map(f, sorted) => {
            let m = a.as_map();
            let keys = as_spark_json_values(m.keys())?;
            let vals = as_spark_json_values(m.values())?;
            let DataType::Struct(kv) = f.data_type() else {
                return Err(QuarryError::Internal("map entries type".into()));
            };
            let kv: Vec<Field> = vec![
                Field::new(kv[0].name(), keys.data_type().clone(), false),
                Field::new(kv[1].name(), vals.data_type().clone(), true),
            ];
            let entries = arrow::array::StructArray::try_new(kv.into(), vec![keys, vals], None)?;
            Arc::new(arrow::array::MapArray::try_new(
                Arc::new(Field::new(f.name(), entries.data_type().clone(), false)),
                m.offsets().clone(),
                entries,
                m.nulls().cloned(),
                *sorted,
            )?)
        }
        _ => a.clone(),
    })
}

/// `from_json(text, schema)`: the JSON text of each row read as `t` (a struct, array or
/// map type) by arrow's JSON reader: object fields by name (case-sensitive, extra
/// fields ignored, missing ones NULL), numbers and strings converted to the fields'
/// types. NULL text, text that is not JSON, and text whose values do not fit the
/// schema give NULL (Spark's PERMISSIVE mode, which also keeps the fields that did
/// parse: here the whole row is NULL).
pub fn from_json(text: &StringArray, t: &DataType) -> Result<ArrayRef> {
    let n = text.len();
    let schema = Arc::new(Schema::new(vec![Field::new("v", t.clone(), true)]));
    // `{"v":<text>}` per row; text that is not one JSON value becomes null, so no row
    // can run into the next
    let line = |i: usize| -> String {
        if text.is_valid(i) {
            let v = text.value(i).trim();
            if serde_json::from_str::<&RawValue>(v).is_ok() {
                return format!("{{\"v\":{v}}}\n");
            }
        }
        "{\"v\":null}\n".to_string()
    };
    let decode = |lines: &str, rows: usize| -> Option<ArrayRef> {
        let mut d = arrow::json::ReaderBuilder::new(schema.clone())
            .with_batch_size(rows.max(1))
            .build_decoder()
            .ok()?;
        let used = d.decode(lines.as_bytes()).ok()?;
        if used != lines.len() {
            return None;
        }
        let b = d.flush().ok()??;
        (b.num_rows() == rows).then(|| b.column(0).clone())
    };
    let all: String = (0..n).map(line).collect();
    if let Some(a) = decode(&all, n) {
        return Ok(a);
    }
    // some row does not fit the schema: row by row, those rows NULL
    let parts: Vec<ArrayRef> = (0..n)
        .map(|i| decode(&line(i), 1).unwrap_or_else(|| arrow::array::new_null_array(t, 1)))
        .collect();
    if parts.is_empty() {
        return Ok(arrow::array::new_empty_array(t));
    }
    let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
    Ok(arrow::compute::concat(&refs)?)
}
