//! `from_json`: JSON text read as a value of a given type, as Spark's JacksonParser
//! reads it in PERMISSIVE mode with partial results (`spark.sql.json.enablePartialResults`,
//! on by default since Spark 3.4).
//!
//! Each JSON value is converted by the rules of Spark's `JacksonParser.makeConverter`:
//! - booleans from `true`/`false` only; integers from integral numbers only (a string
//!   `"2"` or `2.0` does not convert, nor does a number out of the type's range);
//! - floats and doubles from any number, and from the strings `NaN`, `Infinity`,
//!   `+Infinity`, `+INF`, `-Infinity`, `-INF`;
//! - decimals from numbers and from strings (commas ignored, Locale.US), rounded half up
//!   to the scale; one that does not fit the precision does not convert;
//! - strings from strings; any other value gives its JSON text;
//! - binaries from base64 strings;
//! - dates and timestamps from non-empty strings (the `dateFormat`/`timestampFormat`
//!   option's pattern, else Spark's cast rules); a timestamp also from an integral
//!   number of seconds, a date also from a string of days since 1970-01-01;
//! - structs from objects (fields by exact name, the last of duplicates, others
//!   ignored), arrays from arrays, maps (string keys) from objects;
//! - `null` is NULL for every type.
//!
//! A value that does not convert fails. A failed field of a struct, or value of a map,
//! is NULL and the rest is kept (a partial result); a failed element fails its whole
//! array. At the top, a failed struct is a struct of NULLs (malformed text too), and a
//! failed array or map is NULL. Empty text and SQL NULL give NULL.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Float32Array, Float64Array,
    Int16Array, Int32Array, Int64Array, Int8Array, ListArray, MapArray, StringArray, StructArray,
    TimestampMicrosecondArray,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, Field};
use serde_json::value::RawValue;

use super::json::JsonFormats;
use crate::error::{QuarryError, Result};

/// How converting one value went.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Status {
    Ok,
    /// converted, with some nested field or map value NULL because it failed
    Partial,
    /// did not convert: NULL
    Failed,
}

/// One JSON value, looked at once.
enum Tok<'a> {
    Null,
    Bool(bool),
    /// a number as written
    Num(&'a str),
    Str(String),
    Obj(Vec<(String, &'a RawValue)>),
    Arr(Vec<&'a RawValue>),
}

fn token(v: &RawValue) -> Option<Tok<'_>> {
    let t = v.get().trim();
    Some(match t.as_bytes().first()? {
        b'n' => Tok::Null,
        b't' => Tok::Bool(true),
        b'f' => Tok::Bool(false),
        b'"' => Tok::Str(serde_json::from_str::<String>(t).ok()?),
        b'{' => Tok::Obj(super::json::fields(t)?),
        b'[' => Tok::Arr(super::json::elements(t)?),
        _ => Tok::Num(t),
    })
}

/// `from_json(text, t)` over a column of texts; see the module doc. Errors: a map
/// whose keys are not strings (Spark's INVALID_JSON_MAP_KEY_TYPE), a type JSON values
/// cannot be read as.
pub fn from_json(text: &StringArray, t: &DataType, opts: &JsonFormats) -> Result<ArrayRef> {
    for p in [&opts.date_format, &opts.timestamp_format]
        .into_iter()
        .flatten()
    {
        super::scalar::check_datetime_pattern(p)?;
    }
    // the first JSON value of each text (Jackson reads one and ignores what follows)
    let roots: Vec<Option<Option<&RawValue>>> = text
        .iter()
        .map(|s| {
            let s = s?;
            if s.trim().is_empty() {
                return None;
            }
            let mut it = serde_json::Deserializer::from_str(s).into_iter::<&RawValue>();
            Some(it.next().and_then(|r| r.ok()))
        })
        .collect();
    let vals: Vec<Option<&RawValue>> = roots.iter().map(|r| r.flatten()).collect();
    match t {
        DataType::Struct(fields) => {
            let (a, _) = convert(&vals, t, opts)?;
            // a text that failed as a whole is a struct of NULLs, not NULL
            let valid: Vec<bool> = roots.iter().map(|r| r.is_some()).collect();
            let st = a
                .as_any()
                .downcast_ref::<StructArray>()
                .ok_or_else(|| QuarryError::Internal("from_json: struct".into()))?;
            Ok(Arc::new(StructArray::try_new(
                fields.clone(),
                st.columns().to_vec(),
                Some(NullBuffer::from(valid)),
            )?))
        }
        DataType::List(f) if matches!(f.data_type(), DataType::Struct(_)) => {
            // one object where an array of structs is wanted is an array of that one
            let raws: Vec<Option<String>> = vals
                .iter()
                .map(|v| {
                    v.filter(|r| r.get().trim_start().starts_with('{'))
                        .map(|r| format!("[{}]", r.get()))
                })
                .collect();
            let wrapped: Vec<Option<Box<RawValue>>> = raws
                .into_iter()
                .map(|s| s.and_then(|s| RawValue::from_string(s).ok()))
                .collect();
            let vals: Vec<Option<&RawValue>> = vals
                .iter()
                .zip(&wrapped)
                .map(|(v, w)| w.as_deref().or(*v))
                .collect();
            Ok(convert(&vals, t, opts)?.0)
        }
        _ => Ok(convert(&vals, t, opts)?.0),
    }
}

/// `vals` (one JSON value per slot, `None` for NULL) as an array of `t`, with how each
/// slot went. A failed slot is NULL.
fn convert(
    vals: &[Option<&RawValue>],
    t: &DataType,
    opts: &JsonFormats,
) -> Result<(ArrayRef, Vec<Status>)> {
    let toks: Vec<Option<Tok>> = vals.iter().map(|v| v.and_then(token)).collect();
    // a value serde read but `token` could not is malformed: it fails
    let malformed = |i: usize| vals[i].is_some() && toks[i].is_none();
    let mut status = vec![Status::Ok; vals.len()];
    macro_rules! primitive {
        ($arr:ty, $f:expr) => {{
            let out: $arr = toks
                .iter()
                .enumerate()
                .map(|(i, tk)| match tk {
                    None | Some(Tok::Null) => {
                        if malformed(i) {
                            status[i] = Status::Failed;
                        }
                        None
                    }
                    Some(tk) => {
                        let v = $f(tk);
                        if v.is_none() {
                            status[i] = Status::Failed;
                        }
                        v
                    }
                })
                .collect();
            Arc::new(out) as ArrayRef
        }};
    }
    let array: ArrayRef = match t {
        DataType::Null => Arc::new(arrow::array::NullArray::new(vals.len())),
        DataType::Boolean => primitive!(BooleanArray, |tk: &Tok| match tk {
            Tok::Bool(b) => Some(*b),
            _ => None,
        }),
        DataType::Int8 => primitive!(Int8Array, |tk: &Tok| integral(tk)
            .and_then(|v| i8::try_from(v).ok())),
        DataType::Int16 => primitive!(Int16Array, |tk: &Tok| integral(tk)
            .and_then(|v| i16::try_from(v).ok())),
        DataType::Int32 => primitive!(Int32Array, |tk: &Tok| integral(tk)
            .and_then(|v| i32::try_from(v).ok())),
        DataType::Int64 => primitive!(Int64Array, integral),
        DataType::Float32 => primitive!(Float32Array, |tk: &Tok| match tk {
            Tok::Num(n) => n.parse::<f32>().ok(),
            Tok::Str(s) => non_numeric(s).map(|v| v as f32),
            _ => None,
        }),
        DataType::Float64 => primitive!(Float64Array, |tk: &Tok| match tk {
            Tok::Num(n) => n.parse::<f64>().ok(),
            Tok::Str(s) => non_numeric(s),
            _ => None,
        }),
        // a string, else the value's JSON text (Jackson's copyCurrentStructure)
        DataType::Utf8 => Arc::new(
            toks.iter()
                .zip(vals)
                .map(|(tk, v)| match tk {
                    Some(Tok::Str(s)) => Some(s.clone()),
                    Some(Tok::Null) | None => None,
                    Some(_) => v.and_then(super::json::render),
                })
                .collect::<StringArray>(),
        ),
        DataType::Binary => primitive!(BinaryArray, |tk: &Tok| match tk {
            Tok::Str(s) => {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.decode(s).ok()
            }
            _ => None,
        }),
        DataType::Date32 => primitive!(Date32Array, |tk: &Tok| match tk {
            Tok::Str(s) if !s.is_empty() => match opts.date_format.as_deref() {
                Some(f) => super::scalar::parse_date_str(s, Some(f)),
                // no pattern given: Spark falls back to the cast's rules, then to a
                // number of days (how Spark 1.5 wrote dates)
                None => super::scalar::parse_date_str(s, None).or_else(|| s.parse().ok()),
            },
            _ => None,
        }),
        DataType::Timestamp(..) => {
            let micros = primitive!(TimestampMicrosecondArray, |tk: &Tok| match tk {
                Tok::Str(s) if !s.is_empty() => {
                    super::scalar::parse_timestamp_str(s, opts.timestamp_format.as_deref())
                }
                Tok::Num(_) => integral(tk).and_then(|v| v.checked_mul(1_000_000)),
                _ => None,
            });
            arrow::compute::cast(&micros, t)?
        }
        DataType::Decimal128(..) => {
            // the number's text (or the string, commas dropped) through Spark's cast
            let texts: StringArray = toks
                .iter()
                .map(|tk| match tk {
                    Some(Tok::Num(n)) => Some(n.to_string()),
                    Some(Tok::Str(s)) if !s.is_empty() => Some(s.replace(',', "")),
                    _ => None,
                })
                .collect();
            let texts: ArrayRef = Arc::new(texts);
            let out = crate::physical::eval::cast_array(&texts, t)?;
            for (i, tk) in toks.iter().enumerate() {
                let failed = match tk {
                    None => malformed(i),
                    Some(Tok::Null) => false,
                    Some(_) => out.is_null(i),
                };
                if failed {
                    status[i] = Status::Failed;
                }
            }
            out
        }
        DataType::Struct(fields) => {
            let mut cols = Vec::with_capacity(fields.len());
            for f in fields.iter() {
                let child: Vec<Option<&RawValue>> = toks
                    .iter()
                    .map(|tk| match tk {
                        Some(Tok::Obj(entries)) => entries
                            .iter()
                            .rev()
                            .find(|(k, _)| k == f.name())
                            .map(|(_, v)| *v),
                        _ => None,
                    })
                    .collect();
                let (c, st) = convert(&child, f.data_type(), opts)?;
                for (i, s) in st.iter().enumerate() {
                    if *s != Status::Ok {
                        status[i] = Status::Partial;
                    }
                }
                cols.push(c);
            }
            let mut valid = vec![false; vals.len()];
            for (i, tk) in toks.iter().enumerate() {
                match tk {
                    Some(Tok::Obj(_)) => valid[i] = true,
                    None | Some(Tok::Null) => {
                        if malformed(i) {
                            status[i] = Status::Failed;
                        }
                    }
                    Some(_) => status[i] = Status::Failed,
                }
            }
            let fields: Vec<Field> = fields
                .iter()
                .zip(&cols)
                .map(|(f, c)| Field::new(f.name(), c.data_type().clone(), true))
                .collect();
            Arc::new(StructArray::try_new(
                fields.into(),
                cols,
                Some(NullBuffer::from(valid)),
            )?)
        }
        DataType::List(f) => {
            for (i, tk) in toks.iter().enumerate() {
                match tk {
                    Some(Tok::Arr(_)) | Some(Tok::Null) => {}
                    None if !malformed(i) => {}
                    _ => status[i] = Status::Failed,
                }
            }
            let build = |status: &[Status]| -> Result<(ArrayRef, Vec<Status>, Vec<i32>)> {
                let mut flat: Vec<Option<&RawValue>> = vec![];
                let mut offsets = vec![0i32];
                for (i, tk) in toks.iter().enumerate() {
                    if let (Some(Tok::Arr(es)), Status::Ok) = (tk, status[i]) {
                        flat.extend(es.iter().map(|e| Some(*e)));
                    }
                    offsets.push(offset(flat.len(), "an array")?);
                }
                let (values, st) = convert(&flat, f.data_type(), opts)?;
                Ok((values, st, offsets))
            };
            let (mut values, st, mut offsets) = build(&status)?;
            // an element that failed fails its whole array: build again without it
            let mut again = false;
            for i in 0..toks.len() {
                let range = offsets[i] as usize..offsets[i + 1] as usize;
                if st[range.clone()].contains(&Status::Failed) {
                    status[i] = Status::Failed;
                    again = true;
                } else if st[range].contains(&Status::Partial) {
                    status[i] = Status::Partial;
                }
            }
            if again {
                (values, _, offsets) = build(&status)?;
            }
            let valid: Vec<bool> = toks
                .iter()
                .zip(&status)
                .map(|(tk, s)| matches!(tk, Some(Tok::Arr(_))) && *s != Status::Failed)
                .collect();
            Arc::new(ListArray::try_new(
                Arc::new(Field::new(f.name(), values.data_type().clone(), true)),
                OffsetBuffer::new(offsets.into()),
                values,
                Some(NullBuffer::from(valid)),
            )?)
        }
        DataType::Map(entry, sorted) => {
            let DataType::Struct(kv) = entry.data_type() else {
                return Err(QuarryError::Internal("from_json: map entries".into()));
            };
            if kv.len() != 2 || !crate::types::is_string(kv[0].data_type()) {
                return Err(QuarryError::Analysis(format!(
                    "[INVALID_JSON_MAP_KEY_TYPE] Input schema {} can only contain STRING as a key type for a MAP",
                    crate::types::type_name(t)
                )));
            }
            let mut keys: Vec<&str> = vec![];
            let mut flat: Vec<Option<&RawValue>> = vec![];
            let mut offsets = vec![0i32];
            let mut valid = vec![false; vals.len()];
            for (i, tk) in toks.iter().enumerate() {
                match tk {
                    Some(Tok::Obj(es)) => {
                        valid[i] = true;
                        for (k, v) in es {
                            keys.push(k);
                            flat.push(Some(*v));
                        }
                    }
                    Some(Tok::Null) => {}
                    None if !malformed(i) => {}
                    _ => status[i] = Status::Failed,
                }
                offsets.push(offset(flat.len(), "an object")?);
            }
            let (values, st) = convert(&flat, kv[1].data_type(), opts)?;
            for i in 0..toks.len() {
                let range = offsets[i] as usize..offsets[i + 1] as usize;
                if st[range].iter().any(|s| *s != Status::Ok) {
                    status[i] = Status::Partial;
                }
            }
            let keys: ArrayRef = Arc::new(StringArray::from(keys));
            let fields = vec![
                Field::new(kv[0].name(), DataType::Utf8, false),
                Field::new(kv[1].name(), values.data_type().clone(), true),
            ];
            let entries = StructArray::try_new(fields.into(), vec![keys, values], None)?;
            Arc::new(MapArray::try_new(
                Arc::new(Field::new(entry.name(), entries.data_type().clone(), false)),
                OffsetBuffer::new(offsets.into()),
                entries,
                Some(NullBuffer::from(valid)),
                *sorted,
            )?)
        }
        other => {
            return Err(QuarryError::NotSupported(format!(
                "from_json to {}",
                crate::types::type_name(other)
            )))
        }
    };
    Ok((array, status))
}

/// `n` values as an arrow offset; `what` (`an array`, `an object`) names the value that
/// would outgrow arrow's 32-bit offsets in the error.
fn offset(n: usize, what: &str) -> Result<i32> {
    i32::try_from(n).map_err(|_| QuarryError::Execution(format!("from_json: {what} too large")))
}

/// An integral JSON number (Jackson's VALUE_NUMBER_INT) as an i64; `None` for a
/// fraction, an exponent, or a value out of range.
fn integral(tk: &Tok) -> Option<i64> {
    match tk {
        Tok::Num(n) if !n.contains(['.', 'e', 'E']) => n.parse().ok(),
        _ => None,
    }
}

/// The strings Spark reads as non-finite floats (JSONOptions.allowNonNumericNumbers).
fn non_numeric(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "+INF" | "+Infinity" | "Infinity" => Some(f64::INFINITY),
        "-INF" | "-Infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}
