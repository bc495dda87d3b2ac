//! Spark's functions over one line of CSV text: `from_csv(text, schema[, options])`,
//! `to_csv(struct[, options])` and `schema_of_csv(text[, options])` (Spark's
//! CsvToStructs, StructsToCsv and SchemaOfCsv). Lines are split and written by the `csv`
//! crate and written field by field: fields separated by the `delimiter` option (`,` by
//! default), quoted with `"` when they hold the delimiter, a quote or a line break.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringArray, StringBuilder, StructArray};
use arrow::datatypes::{DataType, Fields};

use super::json::JsonFormats;
use crate::error::{QuarryError, Result};

/// The CSV options (CSVOptions) these functions read: the field delimiter (`sep` or
/// `delimiter`, one character) and the date and timestamp patterns.
#[derive(Clone, Debug)]
pub struct CsvOptions {
    pub delimiter: u8,
    pub formats: JsonFormats,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            formats: JsonFormats::default(),
        }
    }
}

impl CsvOptions {
    /// The options among `(key, value)` pairs (keys case-insensitive); others are
    /// ignored. Errors: a delimiter that is not one single-byte character.
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<CsvOptions> {
        let mut o = CsvOptions::default();
        for (k, v) in pairs {
            match k.to_ascii_lowercase().as_str() {
                "sep" | "delimiter" => {
                    let d = match v.as_str() {
                        "\\t" => "\t",
                        other => other,
                    };
                    match d.as_bytes() {
                        [b] if b.is_ascii() => o.delimiter = *b,
                        _ => {
                            return Err(QuarryError::Analysis(format!(
                            "[INVALID_OPTIONS] the CSV delimiter must be one character, not '{v}'"
                        )))
                        }
                    }
                }
                "dateformat" => o.formats.date_format = Some(v.clone()),
                "timestampformat" => o.formats.timestamp_format = Some(v.clone()),
                _ => {}
            }
        }
        Ok(o)
    }
}

/// The fields of one CSV line (None for text that is no CSV record).
fn split(line: &str, delimiter: u8) -> Option<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(line.as_bytes());
    let rec = r.records().next()?.ok()?;
    Some(rec.iter().map(str::to_string).collect())
}

/// `from_csv(text, schema)`: each line's fields, by position, as the struct type `t`'s
/// fields (Spark's cast rules; the date/timestamp patterns for those types). An empty or
/// missing field, or one that does not convert, is NULL (PERMISSIVE); NULL text is NULL.
pub fn from_csv(text: &StringArray, t: &DataType, o: &CsvOptions) -> Result<ArrayRef> {
    let DataType::Struct(fields) = t else {
        return Err(QuarryError::Internal(format!("from_csv to {t}")));
    };
    for p in [&o.formats.date_format, &o.formats.timestamp_format]
        .into_iter()
        .flatten()
    {
        super::scalar::check_datetime_pattern(p)?;
    }
    let n = text.len();
    let rows: Vec<Option<Vec<String>>> = (0..n)
        .map(|i| {
            text.is_valid(i)
                .then(|| split(text.value(i), o.delimiter))
                .flatten()
        })
        .collect();
    let mut cols: Vec<ArrayRef> = Vec::with_capacity(fields.len());
    for (k, f) in fields.iter().enumerate() {
        let raw: StringArray = rows
            .iter()
            .map(|r| {
                r.as_ref()
                    .and_then(|r| r.get(k))
                    .filter(|v| !v.is_empty())
                    .map(String::as_str)
            })
            .collect();
        let col: ArrayRef = match f.data_type() {
            DataType::Date32 => Arc::new(
                raw.iter()
                    .map(|v| {
                        v.and_then(|v| {
                            super::scalar::parse_date_str(v, o.formats.date_format.as_deref())
                        })
                    })
                    .collect::<arrow::array::Date32Array>(),
            ),
            DataType::Timestamp(..) => {
                let micros: arrow::array::TimestampMicrosecondArray = raw
                    .iter()
                    .map(|v| {
                        v.and_then(|v| {
                            super::scalar::parse_timestamp_str(
                                v,
                                o.formats.timestamp_format.as_deref(),
                            )
                        })
                    })
                    .collect();
                arrow::compute::cast(&(Arc::new(micros) as ArrayRef), f.data_type())?
            }
            t => crate::physical::eval::cast_array(&(Arc::new(raw) as ArrayRef), t)?,
        };
        cols.push(col);
    }
    let nulls: arrow::buffer::NullBuffer = rows.iter().map(Option::is_some).collect();
    Ok(Arc::new(StructArray::try_new(
        Fields::from(fields.iter().cloned().collect::<Vec<_>>()),
        cols,
        Some(nulls),
    )?))
}

/// `to_csv(struct)`: each row's fields as one CSV line: NULL as an empty field, an
/// empty string as `""` (CSVOptions' emptyValue), dates `yyyy-MM-dd` and timestamps
/// `yyyy-MM-dd'T'HH:mm:ss.SSSXXX` unless the options give patterns, other values as
/// Spark casts them to strings. A NULL struct is NULL. Errors: a field of an array, map
/// or struct type (Spark's "to_csv does not support" them).
pub fn to_csv(values: &ArrayRef, o: &CsvOptions) -> Result<ArrayRef> {
    let st = values.as_struct_opt().ok_or_else(|| {
        QuarryError::Analysis(format!(
            "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] to_csv needs a STRUCT, not {}",
            crate::types::type_name(values.data_type())
        ))
    })?;
    let mut texts: Vec<ArrayRef> = Vec::with_capacity(st.num_columns());
    for c in st.columns() {
        let t = match c.data_type() {
            DataType::List(_) | DataType::Map(..) | DataType::Struct(_) => {
                return Err(QuarryError::Analysis(format!(
                    "[DATATYPE_MISMATCH.UNSUPPORTED_INPUT_TYPE] to_csv does not support a field of type {}",
                    crate::types::type_name(c.data_type())
                )))
            }
            // the JSON writer's forms, which are CSVOptions' defaults too
            DataType::Date32 | DataType::Timestamp(..) => {
                super::json::datetime_texts(c, &o.formats)?
            }
            _ => crate::physical::eval::cast_array(c, &DataType::Utf8)?,
        };
        let t = arrow::compute::cast(&t, &DataType::Utf8)?;
        texts.push(t);
    }
    let mut out = StringBuilder::with_capacity(st.len(), st.len() * 8);
    for i in 0..st.len() {
        if st.is_null(i) {
            out.append_null();
            continue;
        }
        let d = o.delimiter as char;
        let fields: Vec<String> = texts
            .iter()
            .map(|t| {
                let t = t.as_string::<i32>();
                if t.is_null(i) {
                    return String::new();
                }
                let v = t.value(i);
                // quoted when it would read back otherwise (univocity's quoting)
                if v.is_empty() || v.contains([d, '"', '\n', '\r']) {
                    format!("\"{}\"", v.replace('"', "\"\""))
                } else {
                    v.to_string()
                }
            })
            .collect();
        let line = fields.join(&d.to_string());
        out.append_value(line);
    }
    Ok(Arc::new(out.finish()))
}

/// Spark's `schema_of_csv(text)`: the type CSVInferSchema gives each field of the line,
/// as DDL text (`STRUCT<_c0: INT, _c1: STRING>`): INT, then BIGINT, DECIMAL(p,0) past a
/// bigint, DOUBLE, TIMESTAMP (Spark's default timestamp parsing), BOOLEAN, else STRING;
/// an empty field is STRING.
pub fn schema_of_csv(line: &str, o: &CsvOptions) -> Result<String> {
    let fields = split(line, o.delimiter).ok_or_else(|| {
        QuarryError::Execution(format!(
            "[MALFORMED_RECORD_IN_PARSING] schema_of_csv cannot read the CSV text {line:?}"
        ))
    })?;
    let types: Vec<String> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| format!("_c{i}: {}", infer_field(f, o)))
        .collect();
    Ok(format!("STRUCT<{}>", types.join(", ")))
}

fn infer_field(f: &str, o: &CsvOptions) -> String {
    if f.is_empty() {
        return "STRING".into();
    }
    if f.parse::<i32>().is_ok() {
        return "INT".into();
    }
    if f.parse::<i64>().is_ok() {
        return "BIGINT".into();
    }
    let digits = f.strip_prefix(['-', '+']).unwrap_or(f);
    if !digits.is_empty() && digits.len() <= 38 && digits.bytes().all(|b| b.is_ascii_digit()) {
        return format!("DECIMAL({},0)", digits.trim_start_matches('0').len().max(1));
    }
    let numeric = f.parse::<f64>().is_ok()
        && f.bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
    if numeric || ["NaN", "Infinity", "-Infinity", "Inf", "-Inf"].contains(&f) {
        return "DOUBLE".into();
    }
    if super::scalar::parse_timestamp_str(f, o.formats.timestamp_format.as_deref()).is_some() {
        return "TIMESTAMP".into();
    }
    if f.eq_ignore_ascii_case("true") || f.eq_ignore_ascii_case("false") {
        return "BOOLEAN".into();
    }
    "STRING".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_and_round_trips() {
        let o = CsvOptions::default();
        assert_eq!(
            schema_of_csv("1,abc,3.5,12345678901,true,2015-08-26 10:00:00,", &o).unwrap(),
            "STRUCT<_c0: INT, _c1: STRING, _c2: DOUBLE, _c3: BIGINT, _c4: BOOLEAN, _c5: TIMESTAMP, _c6: STRING>"
        );
        let pipe = CsvOptions::from_pairs(&[("delimiter".into(), "|".into())]).unwrap();
        assert_eq!(
            schema_of_csv("1|abc", &pipe).unwrap(),
            "STRUCT<_c0: INT, _c1: STRING>"
        );
        assert!(CsvOptions::from_pairs(&[("sep".into(), "ab".into())]).is_err());
        assert_eq!(
            split("a,\"b,c\",", b','),
            Some(vec!["a".into(), "b,c".into(), "".into()])
        );
    }
}
