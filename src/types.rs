//! SQL types (Spark SQL names) mapped onto arrow `DataType`s, and constant values.
//!
//! Spark's types map as: boolean, tinyint (Int8), smallint (Int16), int (Int32),
//! bigint (Int64), float (Float32), double (Float64), decimal(p,s) (Decimal128),
//! string/varchar/char (Utf8), binary, date (Date32), timestamp (Timestamp(us), UTC).

use std::sync::Arc;

use arrow::array::{new_null_array, Array, ArrayRef};
use arrow::datatypes::{DataType, TimeUnit};
use arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::error::{QuarryError, Result};

/// The arrow type Quarry uses for Spark's `timestamp` (microseconds, UTC-normalized, no zone).
pub const TIMESTAMP: DataType = DataType::Timestamp(TimeUnit::Microsecond, None);

/// A table column's `CHAR(n)` or `VARCHAR(n)` (Spark 3.1+'s char/varchar semantics,
/// `spark.sql.legacy.charVarcharAsString = false`): the column holds strings (Utf8) and
/// the length, in characters, is checked on write; a CHAR value is also padded with
/// spaces to `n` when written and when read, and compared with a shorter string literal
/// as if the literal were padded (Spark's CharVarcharUtils and ApplyCharTypePadding).
/// Elsewhere (a cast, a query's column) Spark treats both as STRING, and so does Quarry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CharVarchar {
    Char(usize),
    Varchar(usize),
}

impl CharVarchar {
    /// The length type of a type name (`char(5)`, `CHARACTER(5)`, `varchar(10)`,
    /// `character varying(10)`); `None` for any other type, a bare `char`/`varchar`
    /// included (those are STRING).
    pub fn parse(text: &str) -> Option<CharVarchar> {
        let t = text.trim().to_ascii_lowercase();
        let (base, rest) = t.split_once('(')?;
        let n: usize = rest.strip_suffix(')')?.trim().parse().ok()?;
        match base.trim() {
            "char" | "character" => Some(CharVarchar::Char(n)),
            "varchar" | "character varying" => Some(CharVarchar::Varchar(n)),
            _ => None,
        }
    }

    /// The length limit, in characters.
    pub fn length(self) -> usize {
        match self {
            CharVarchar::Char(n) | CharVarchar::Varchar(n) => n,
        }
    }

    /// Spark's type name: `char(5)`, `varchar(10)`.
    pub fn name(self) -> String {
        match self {
            CharVarchar::Char(n) => format!("char({n})"),
            CharVarchar::Varchar(n) => format!("varchar({n})"),
        }
    }
}

/// Parse a Spark/Hive type name (`int`, `varchar(10)`, `decimal(10,2)`, ...).
/// Errors name the unknown type.
///
/// Complex types use Spark's DDL syntax: `array<int>`, `map<string, int>`,
/// `struct<a: int, b string>` (the colon is optional), nested to any depth.
pub fn parse_type_name(text: &str) -> Result<DataType> {
    let t = text.trim().to_ascii_lowercase();
    if let Some(q) = crate::functions::interval::parse_type_qualifier(&t) {
        return Ok(q?.data_type());
    }
    if t == "interval" {
        return Ok(crate::functions::interval::CALENDAR);
    }
    if let Some(open) = t.find('<') {
        return parse_complex_type(text.trim(), &t, open);
    }
    // `T[]` / `T[n]` (PostgreSQL, DuckDB): an array of T
    if let Some(inner) = t.strip_suffix(']').and_then(|s| s.rsplit_once('[')) {
        if inner.1.trim().chars().all(|c| c.is_ascii_digit()) {
            return Ok(list_type(parse_type_name(inner.0)?));
        }
    }
    let (base, args) = match t.find('(') {
        Some(i) if t.ends_with(')') => (
            t[..i].trim().to_string(),
            Some(t[i + 1..t.len() - 1].to_string()),
        ),
        _ => (t.clone(), None),
    };
    let dt = match base.as_str() {
        "boolean" | "bool" => DataType::Boolean,
        "tinyint" | "byte" | "int1" => DataType::Int8,
        "smallint" | "short" | "int2" => DataType::Int16,
        "int" | "integer" | "int4" | "signed" => DataType::Int32,
        "bigint" | "long" | "int8" => DataType::Int64,
        // unsigned integers (MySQL's `INT UNSIGNED`, DuckDB's UTINYINT .. UBIGINT):
        // a cast to one checks the range; values compute as the next wider signed type
        // (see `normalize_type`), as unsigned columns read from files do
        "tinyint unsigned" | "utinyint" | "uint8" => DataType::UInt8,
        "smallint unsigned" | "usmallint" | "uint16" => DataType::UInt16,
        "int unsigned" | "integer unsigned" | "uinteger" | "uint" | "uint32" => DataType::UInt32,
        "bigint unsigned" | "ubigint" | "uint64" => DataType::UInt64,
        // DuckDB's 128-bit integer: the 38-digit decimal holds its values up to 10^38
        "hugeint" | "int128" => DataType::Decimal128(38, 0),
        "float" | "real" | "float4" => DataType::Float32,
        "double" | "double precision" | "float8" => DataType::Float64,
        "string" | "varchar" | "char" | "character" | "text" | "character varying" => {
            DataType::Utf8
        }
        "binary" | "bytea" | "blob" => DataType::Binary,
        "date" => DataType::Date32,
        // Spark 4.1's TIME(p) (time of day): microseconds since midnight
        "time" | "time without time zone" => DataType::Time64(TimeUnit::Microsecond),
        "timestamp" | "timestamp_ntz" | "timestamp_ltz" | "datetime" => TIMESTAMP,
        "decimal" | "dec" | "numeric" => {
            let (p, s) = match args.as_deref() {
                None => (10, 0),
                Some(a) => {
                    let parts: Vec<&str> = a.split(',').map(|x| x.trim()).collect();
                    let p: u8 = parts[0].parse().map_err(|_| analysis_type(text))?;
                    let s: i8 = match parts.get(1) {
                        Some(s) => s.parse().map_err(|_| analysis_type(text))?,
                        None => 0,
                    };
                    (p, s)
                }
            };
            if p == 0 || p > 38 || s < 0 || s as u8 > p {
                return Err(QuarryError::Analysis(format!(
                    "decimal precision {p} and scale {s} are out of range (precision 1..38, 0 <= scale <= precision)"
                )));
            }
            DataType::Decimal128(p, s)
        }
        _ => return Err(analysis_type(text)),
    };
    Ok(dt)
}

/// `array<..>`, `map<..,..>`, `struct<..>`; `lower` is `text` lower-cased, `open` the
/// position of its first `<`. Field names keep their case.
fn parse_complex_type(text: &str, lower: &str, open: usize) -> Result<DataType> {
    if !lower.ends_with('>') {
        return Err(analysis_type(text));
    }
    let base = lower[..open].trim();
    let inner = &text[open + 1..text.len() - 1];
    let parts = split_top_level(inner);
    match (base, parts.len()) {
        ("array", 1) => Ok(list_type(parse_type_name(parts[0])?)),
        ("map", 2) => Ok(map_type(
            parse_type_name(parts[0])?,
            parse_type_name(parts[1])?,
        )),
        ("struct", _) => {
            let mut fields = vec![];
            for part in parts.iter().filter(|p| !p.trim().is_empty()) {
                let part = part.trim();
                // `name: type` or `name type`; the name may be back-quoted
                let cut = part
                    .find(|c: char| c == ':' || c.is_whitespace())
                    .ok_or_else(|| analysis_type(text))?;
                let name = part[..cut].trim().trim_matches('`');
                let ty = part[cut..].trim_start_matches(|c: char| c == ':' || c.is_whitespace());
                fields.push(arrow::datatypes::Field::new(
                    name,
                    parse_type_name(ty)?,
                    true,
                ));
            }
            Ok(DataType::Struct(fields.into()))
        }
        _ => Err(analysis_type(text)),
    }
}

/// Split `a, map<b, c>, d` at the commas outside angle brackets and parentheses.
fn split_top_level(s: &str) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0i32, 0, vec![]);
    for (i, c) in s.char_indices() {
        match c {
            '<' | '(' => depth += 1,
            '>' | ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// Spark's `array<element>`: an arrow List whose elements may be NULL.
pub fn list_type(element: DataType) -> DataType {
    DataType::List(Arc::new(arrow::datatypes::Field::new_list_field(
        element, true,
    )))
}

/// Spark's `map<key, value>`: an arrow Map of non-null keys and nullable values, with
/// arrow's (and parquet's) standard entry names.
pub fn map_type(key: DataType, value: DataType) -> DataType {
    use arrow::datatypes::Field;
    let entries = DataType::Struct(
        vec![
            Field::new("key", key, false),
            Field::new("value", value, true),
        ]
        .into(),
    );
    DataType::Map(Arc::new(Field::new("entries", entries, false)), false)
}

/// The element type of an array type.
pub fn element_type(dt: &DataType) -> Option<&DataType> {
    match dt {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            Some(f.data_type())
        }
        _ => None,
    }
}

/// The key and value types of a map type.
pub fn map_key_value(dt: &DataType) -> Option<(&DataType, &DataType)> {
    match dt {
        DataType::Map(f, _) => match f.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => Some((kv[0].data_type(), kv[1].data_type())),
            _ => None,
        },
        _ => None,
    }
}

fn analysis_type(text: &str) -> QuarryError {
    QuarryError::NotSupported(format!("data type '{text}'"))
}

/// Whether a type is a map or holds one (in array elements or struct fields): Spark
/// orders no such value (`INVALID_ORDERING_TYPE`).
pub fn contains_map(dt: &DataType) -> bool {
    match dt {
        DataType::Map(..) => true,
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            contains_map(f.data_type())
        }
        DataType::Struct(fields) => fields.iter().any(|f| contains_map(f.data_type())),
        _ => false,
    }
}

/// Spark's name for an arrow type, as `DESCRIBE` and `typeof` print it.
pub fn type_name(dt: &DataType) -> String {
    match dt {
        DataType::Null => "void".into(),
        DataType::Boolean => "boolean".into(),
        DataType::Int8 => "tinyint".into(),
        DataType::Int16 => "smallint".into(),
        DataType::Int32 => "int".into(),
        DataType::Int64 => "bigint".into(),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => "bigint".into(),
        DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Float16 => "float".into(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".into(),
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => "binary".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Time32(_) | DataType::Time64(_) => "time(6)".into(),
        DataType::Timestamp(_, _) => "timestamp".into(),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => format!("decimal({p},{s})"),
        DataType::List(f) | DataType::LargeList(f) => {
            format!("array<{}>", type_name(f.data_type()))
        }
        DataType::Struct(fs) => format!(
            "struct<{}>",
            fs.iter()
                .map(|f| format!("{}:{}", f.name(), type_name(f.data_type())))
                .collect::<Vec<_>>()
                .join(",")
        ),
        DataType::Map(..) => match map_key_value(dt) {
            Some((k, v)) => format!("map<{},{}>", type_name(k), type_name(v)),
            None => "map".into(),
        },
        DataType::FixedSizeList(f, _) => format!("array<{}>", type_name(f.data_type())),
        DataType::Dictionary(_, v) => type_name(v),
        DataType::Interval(arrow::datatypes::IntervalUnit::MonthDayNano) => "interval".into(),
        other => match crate::functions::interval::Qualifier::of_type(other) {
            Some(q) => q.type_name(),
            None => format!("{other}").to_ascii_lowercase(),
        },
    }
}

/// Whether `dt` is a numeric type (integers, floats, decimals).
pub fn is_numeric(dt: &DataType) -> bool {
    is_integer(dt) || is_floating(dt) || matches!(dt, DataType::Decimal128(_, _))
}
/// Whether `dt` is a signed or unsigned integer type.
pub fn is_integer(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
    )
}
/// Whether `dt` is float or double.
pub fn is_floating(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Float16 | DataType::Float32 | DataType::Float64
    )
}
/// Whether `dt` is a string type.
pub fn is_string(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

/// Normalizes a type read from a file to the type Quarry computes with:
/// all strings become Utf8, timestamps become microsecond UTC timestamps,
/// unsigned integers widen to the next signed type, dictionaries unpack.
pub fn normalize_type(dt: &DataType) -> DataType {
    match dt {
        DataType::LargeUtf8 | DataType::Utf8View => DataType::Utf8,
        DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
            DataType::Binary
        }
        DataType::Timestamp(_, _) => TIMESTAMP,
        DataType::Date64 => DataType::Date32,
        DataType::Time32(_) | DataType::Time64(_) => DataType::Time64(TimeUnit::Microsecond),
        DataType::Duration(_) => DataType::Duration(TimeUnit::Microsecond),
        DataType::UInt8 => DataType::Int16,
        DataType::UInt16 => DataType::Int32,
        DataType::UInt32 => DataType::Int64,
        DataType::UInt64 => DataType::Decimal128(20, 0),
        DataType::Float16 => DataType::Float32,
        DataType::Dictionary(_, v) => normalize_type(v),
        DataType::Decimal256(p, s) if *p <= 38 => DataType::Decimal128(*p, *s),
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            list_type(normalize_type(f.data_type()))
        }
        DataType::Map(..) => match map_key_value(dt) {
            Some((k, v)) => map_type(normalize_type(k), normalize_type(v)),
            None => dt.clone(),
        },
        DataType::Struct(fs) => DataType::Struct(
            fs.iter()
                .map(|f| {
                    arrow::datatypes::Field::new(f.name(), normalize_type(f.data_type()), true)
                })
                .collect::<Vec<_>>()
                .into(),
        ),
        other => other.clone(),
    }
}

/// The precision and scale of an integer type seen as a decimal (Spark's rule:
/// tinyint = decimal(3,0), smallint = (5,0), int = (10,0), bigint = (20,0)).
pub fn decimal_of(dt: &DataType) -> Option<(u8, i8)> {
    match dt {
        DataType::Decimal128(p, s) => Some((*p, *s)),
        DataType::Int8 => Some((3, 0)),
        DataType::Int16 => Some((5, 0)),
        DataType::Int32 => Some((10, 0)),
        DataType::Int64 => Some((20, 0)),
        _ => None,
    }
}

/// A constant value: an arrow array of length one (so every arrow type works
/// and casts come from arrow-cast).
#[derive(Clone, Debug)]
pub struct ScalarValue(pub ArrayRef);

impl ScalarValue {
    /// A typed NULL.
    pub fn null(dt: &DataType) -> Self {
        ScalarValue(new_null_array(dt, 1))
    }
    pub fn from_i32(v: i32) -> Self {
        ScalarValue(Arc::new(arrow::array::Int32Array::from(vec![v])))
    }
    pub fn from_i64(v: i64) -> Self {
        ScalarValue(Arc::new(arrow::array::Int64Array::from(vec![v])))
    }
    pub fn from_f64(v: f64) -> Self {
        ScalarValue(Arc::new(arrow::array::Float64Array::from(vec![v])))
    }
    pub fn from_bool(v: bool) -> Self {
        ScalarValue(Arc::new(arrow::array::BooleanArray::from(vec![v])))
    }
    pub fn from_str(v: &str) -> Self {
        ScalarValue(Arc::new(arrow::array::StringArray::from(vec![v])))
    }
    pub fn data_type(&self) -> &DataType {
        self.0.data_type()
    }
    pub fn is_null(&self) -> bool {
        // a NullArray has no validity buffer: its value is NULL all the same
        self.0.data_type() == &DataType::Null || self.0.is_null(0)
    }
    /// The value as an i64 when it is a non-null integer.
    pub fn as_i64(&self) -> Option<i64> {
        if self.is_null() || !is_integer(self.data_type()) {
            return None;
        }
        let c = arrow::compute::cast(&self.0, &DataType::Int64).ok()?;
        c.as_any()
            .downcast_ref::<arrow::array::Int64Array>()
            .map(|a| a.value(0))
    }
    /// The value as an f64 when it is a non-null number.
    pub fn as_f64(&self) -> Option<f64> {
        if self.is_null() || !is_numeric(self.data_type()) {
            return None;
        }
        let c = arrow::compute::cast(&self.0, &DataType::Float64).ok()?;
        c.as_any()
            .downcast_ref::<arrow::array::Float64Array>()
            .map(|a| a.value(0))
    }
    /// The value when it is a non-null boolean.
    pub fn as_bool(&self) -> Option<bool> {
        if self.is_null() {
            return None;
        }
        self.0
            .as_any()
            .downcast_ref::<arrow::array::BooleanArray>()
            .map(|a| a.value(0))
    }
    /// The value as a string when it is a non-null string.
    pub fn as_str(&self) -> Option<&str> {
        if self.is_null() {
            return None;
        }
        self.0
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .map(|a| a.value(0))
    }
    /// Cast to another type (arrow's cast rules; NULL when the value does not fit).
    pub fn cast_to(&self, dt: &DataType) -> Result<ScalarValue> {
        Ok(ScalarValue(arrow::compute::cast(&self.0, dt)?))
    }
    /// The value repeated `n` times.
    pub fn to_array(&self, n: usize) -> Result<ArrayRef> {
        if n == 1 {
            return Ok(self.0.clone());
        }
        let idx = arrow::array::UInt32Array::from(vec![0u32; n]);
        Ok(arrow::compute::take(&self.0, &idx, None)?)
    }
}

impl PartialEq for ScalarValue {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_data() == other.0.to_data()
    }
}

impl std::fmt::Display for ScalarValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_null() {
            return write!(f, "NULL");
        }
        let s = crate::format::format_value(&self.0, 0);
        if is_string(self.data_type()) {
            write!(f, "'{}'", s.replace('\'', "\\'"))
        } else {
            if let Some(q) = crate::functions::interval::Qualifier::of_type(self.data_type()) {
                // the ANSI literal form, `INTERVAL '1 02:00:00' DAY TO SECOND`
                let text = crate::functions::interval::cast_from_interval(
                    &self.0,
                    q,
                    &DataType::Utf8,
                    false,
                )
                .ok()
                .and_then(|a| {
                    a.as_any()
                        .downcast_ref::<arrow::array::StringArray>()
                        .map(|a| a.value(0).to_string())
                })
                .unwrap_or(s);
                return write!(f, "{text}");
            }
            match self.data_type() {
                DataType::Date32 => write!(f, "DATE '{s}'"),
                DataType::Timestamp(_, _) => write!(f, "TIMESTAMP '{s}'"),
                _ => write!(f, "{s}"),
            }
        }
    }
}

/// arrow's formatter options used where Spark formatting is not needed.
pub fn plain_format_options() -> FormatOptions<'static> {
    FormatOptions::default().with_null("NULL")
}

/// Format one value of an array with arrow's formatter (used for partition values).
pub fn arrow_format(arr: &dyn Array, i: usize) -> String {
    match ArrayFormatter::try_new(arr, &plain_format_options()) {
        Ok(f) => f.value(i).to_string(),
        Err(_) => "?".into(),
    }
}
