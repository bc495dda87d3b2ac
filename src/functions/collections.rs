//! Spark's collection functions over arrays (arrow `List`), maps (arrow `Map`) and
//! structs: constructors (`array`, `map`, `struct`/`named_struct`), access (`a[i]`,
//! `m[k]`, `s.f`, `element_at`), and `size`, `array_contains`, `array_position`,
//! `sort_array`/`array_sort`, `array_distinct`, `array_min`/`array_max`, `array_join`,
//! `slice`, `flatten`, `array_repeat`, `sequence`, `split`, `map_keys`/`map_values`,
//! `map_from_arrays`. Semantics are Spark's non-ANSI mode: an index out of bounds or a
//! missing map key is NULL; NULL arguments give NULL (except `size`, which is -1 for a
//! NULL collection, Spark's `spark.sql.legacy.sizeOfNull` default).
//!
//! Values are compared (`array_contains`, map lookup, `array_distinct`) through
//! arrow-row encodings, so every element type that arrow-row supports works.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::*;
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::compute::{interleave, take, SortOptions};
use arrow::datatypes::*;
use arrow::row::{RowConverter, SortField};

use super::check_arity;
use crate::error::{QuarryError, Result};
use crate::types::{element_type, is_integer, list_type, map_key_value, type_name};

/// A collection function (see the module docs). Names follow Spark SQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CollectionFunc {
    /// `array(a, b, ...)`, `[a, b]`.
    MakeArray,
    /// `map(k1, v1, k2, v2, ...)`.
    MakeMap,
    /// `struct(a, b AS n)` / `named_struct('n', a, ...)`: field names come from the
    /// call's result type (set by the binder).
    MakeStruct,
    /// `s.f`: the struct's field at this position.
    GetField(usize),
    /// `a[i]`: 0-based; `m[k]`: the value for key `k`.
    Subscript,
    /// `element_at(a, i)`: 1-based, negative from the end; `element_at(m, k)`.
    ElementAt,
    Size,
    ArrayContains,
    ArrayPosition,
    /// `sort_array(a[, asc])`: NULLs first ascending, last descending.
    SortArray,
    /// `array_sort(a)`: ascending, NULLs last.
    ArraySort,
    ArrayDistinct,
    /// `reverse(a)` of an array: its elements in reverse order (the binder picks it for
    /// an array argument; `reverse` of a string is [`super::scalar::ScalarFunc::Reverse`]).
    ArrayReverse,
    ArrayMin,
    ArrayMax,
    ArrayJoin,
    Slice,
    Flatten,
    ArrayRepeat,
    Sequence,
    /// `split(str, regex[, limit])`.
    Split,
    MapKeys,
    MapValues,
    MapFromArrays,
    /// `map_from_entries(array<struct<k, v>>)`: the map of the entries' first and second
    /// fields; NULL if the array or any entry is NULL (Spark's MapFromEntries); NULL and
    /// repeated keys are errors, as `map`.
    MapFromEntries,
    /// `str_to_map(text[, pair_delim[, key_value_delim]])`: a map<string,string> from
    /// `text` split into pairs at the regex `pair_delim` (default `,`), each split once at
    /// `key_value_delim` (default `:`); a pair without it maps to NULL; a repeated key
    /// is an error, as Spark's default `mapKeyDedupPolicy`.
    StrToMap,
    /// `concat(a1, a2, ...)` over arrays: their elements in turn; NULL if any is NULL (as
    /// Spark's `Concat` of arrays).
    ArrayConcat,
    /// `map_entries(m)`: the entries as an array of `struct<key, value>`.
    MapEntries,
    /// `arrays_zip(a, b, ...)`: an array of structs, the i-th holding each array's i-th
    /// element (NULL past a shorter array's end); NULL if any array is NULL. Fields are
    /// named `0`, `1`, ... here; the binder names them after column arguments, as Spark.
    ArraysZip,
    /// `to_json(struct | array | map)`: JSON text ([`super::json::to_json`]).
    ToJson,
    /// `from_json(text, schema)`: the value of the schema's type, bound by the binder
    /// (the type comes from the schema string; [`super::json_read::from_json`]).
    FromJson,
    /// `to_csv(struct[, options])`.
    ToCsv,
    /// `from_csv(text, schema[, options])` (typed by the binder, which passes the options
    /// on as constant arguments: delimiter, dateFormat, timestampFormat).
    FromCsv,
}

impl CollectionFunc {
    pub fn name(&self) -> &'static str {
        use CollectionFunc::*;
        match self {
            MakeArray => "array",
            MakeMap => "map",
            MakeStruct => "struct",
            GetField(_) => "get_field",
            Subscript => "subscript",
            ElementAt => "element_at",
            Size => "size",
            ArrayContains => "array_contains",
            ArrayPosition => "array_position",
            SortArray => "sort_array",
            ArraySort => "array_sort",
            ArrayDistinct => "array_distinct",
            ArrayReverse => "reverse",
            ArrayMin => "array_min",
            ArrayMax => "array_max",
            ArrayJoin => "array_join",
            Slice => "slice",
            Flatten => "flatten",
            ArrayRepeat => "array_repeat",
            Sequence => "sequence",
            Split => "split",
            MapKeys => "map_keys",
            MapValues => "map_values",
            MapFromArrays => "map_from_arrays",
            MapFromEntries => "map_from_entries",
            StrToMap => "str_to_map",
            ToJson => "to_json",
            ArrayConcat => "concat",
            MapEntries => "map_entries",
            ArraysZip => "arrays_zip",
            FromJson => "from_json",
            ToCsv => "to_csv",
            FromCsv => "from_csv",
        }
    }

    /// Look up a function by (lower-case) name; `struct`/`named_struct` and field
    /// access are bound by the binder itself (their result type needs names).
    pub fn lookup(name: &str) -> Option<CollectionFunc> {
        use CollectionFunc::*;
        Some(match name {
            "array" | "make_array" => MakeArray,
            "map" => MakeMap,
            "element_at" | "array_extract" | "list_extract" | "list_element" => ElementAt,
            "size" | "cardinality" | "array_length" => Size,
            "array_contains" => ArrayContains,
            "array_position" => ArrayPosition,
            "sort_array" => SortArray,
            "array_sort" => ArraySort,
            "array_distinct" => ArrayDistinct,
            "array_min" => ArrayMin,
            "array_max" => ArrayMax,
            "array_join" => ArrayJoin,
            "slice" => Slice,
            "flatten" => Flatten,
            "array_repeat" => ArrayRepeat,
            "sequence" => Sequence,
            "split" => Split,
            "map_keys" => MapKeys,
            "map_values" => MapValues,
            "map_from_arrays" => MapFromArrays,
            "map_from_entries" => MapFromEntries,
            "str_to_map" => StrToMap,
            "to_json" => ToJson,
            "to_csv" => ToCsv,
            "map_entries" => MapEntries,
            "arrays_zip" => ArraysZip,
            _ => return None,
        })
    }

    /// Argument types to cast to and the result type. `common` is the binder's
    /// common-supertype function.
    pub fn signature(
        &self,
        args: &[DataType],
        common: &dyn Fn(&[DataType]) -> Result<DataType>,
    ) -> Result<(Vec<DataType>, DataType)> {
        use CollectionFunc::*;
        let n = args.len();
        let arity = |lo: usize, hi: usize| check_arity(self.name(), n, lo, hi);
        let i32t = DataType::Int32;
        let s = DataType::Utf8;
        // the array argument: NULL counts as an array of NULLs
        let array_arg = |t: &DataType| -> Result<DataType> {
            match t {
                DataType::Null => Ok(list_type(DataType::Null)),
                t if element_type(t).is_some() => Ok(t.clone()),
                t => Err(self.mismatch("ARRAY", t)),
            }
        };
        let elem = |t: &DataType| element_type(t).cloned().unwrap_or(DataType::Null);
        Ok(match self {
            MakeArray => {
                let t = common(args)?;
                (vec![t.clone(); n], list_type(t))
            }
            MakeMap => {
                if !n.is_multiple_of(2) {
                    return Err(QuarryError::Analysis(format!(
                        "[WRONG_NUM_ARGS] The `map` requires an even number of parameters but the actual number is {n}"
                    )));
                }
                let k = common(&args.iter().step_by(2).cloned().collect::<Vec<_>>())?;
                let v = common(&args.iter().skip(1).step_by(2).cloned().collect::<Vec<_>>())?;
                let types = (0..n)
                    .map(|i| if i % 2 == 0 { k.clone() } else { v.clone() })
                    .collect();
                (types, crate::types::map_type(k, v))
            }
            MakeStruct | GetField(_) => {
                return Err(QuarryError::Internal(format!(
                    "{} is bound by the binder",
                    self.name()
                )))
            }
            Subscript | ElementAt => {
                arity(2, 2)?;
                match &args[0] {
                    DataType::Map(..) => {
                        let (k, v) = map_key_value(&args[0])
                            .ok_or_else(|| QuarryError::Internal("map type".into()))?;
                        (vec![args[0].clone(), k.clone()], v.clone())
                    }
                    t => {
                        let t = array_arg(t)?;
                        if !is_integer(&args[1]) && args[1] != DataType::Null {
                            return Err(self.mismatch("INT", &args[1]));
                        }
                        let e = elem(&t);
                        (vec![t, i32t], e)
                    }
                }
            }
            Size => {
                arity(1, 1)?;
                let t = match &args[0] {
                    t @ DataType::Map(..) => t.clone(),
                    t => array_arg(t)?,
                };
                (vec![t], i32t)
            }
            ArrayContains | ArrayPosition => {
                arity(2, 2)?;
                let t = array_arg(&args[0])?;
                // array_contains(array(1), '1') is an error, not a string comparison
                let el = elem(&t);
                if string_against_other(&el, &args[1]) {
                    return Err(array_function_diff_types(
                        self.name(),
                        self.name(),
                        &t,
                        &args[1],
                    ));
                }
                let e = common(&[el, args[1].clone()])?;
                let ret = if *self == ArrayContains {
                    DataType::Boolean
                } else {
                    DataType::Int64
                };
                (vec![list_type(e.clone()), e], ret)
            }
            SortArray => {
                arity(1, 2)?;
                let t = array_arg(&args[0])?;
                // the order is a boolean, never a string cast to one (Spark's
                // SortArray.checkInputDataTypes)
                if let Some(o) = args.get(1) {
                    if !matches!(o, DataType::Boolean | DataType::Null) {
                        return Err(self.mismatch("BOOLEAN", o));
                    }
                }
                (vec![t.clone(), DataType::Boolean][..n].to_vec(), t)
            }
            ArraySort | ArrayDistinct | ArrayReverse => {
                arity(1, 1)?;
                let t = array_arg(&args[0])?;
                (vec![t.clone()], t)
            }
            ArrayMin | ArrayMax => {
                arity(1, 1)?;
                let t = array_arg(&args[0])?;
                let e = elem(&t);
                (vec![t], e)
            }
            ArrayJoin => {
                arity(2, 3)?;
                let t = array_arg(&args[0])?;
                (vec![t, s.clone(), s.clone()][..n].to_vec(), s)
            }
            Slice => {
                arity(3, 3)?;
                let t = array_arg(&args[0])?;
                (vec![t.clone(), i32t.clone(), i32t], t)
            }
            Flatten => {
                arity(1, 1)?;
                let t = array_arg(&args[0])?;
                match elem(&t) {
                    inner if element_type(&inner).is_some() => (vec![t], inner),
                    DataType::Null => (vec![t], list_type(DataType::Null)),
                    _ => return Err(self.mismatch("ARRAY<ARRAY>", &t)),
                }
            }
            ArrayRepeat => {
                arity(2, 2)?;
                (vec![args[0].clone(), i32t], list_type(args[0].clone()))
            }
            Sequence => {
                arity(2, 3)?;
                let t = common(args)?;
                let t = match t {
                    DataType::Null | DataType::Int8 | DataType::Int16 | DataType::Int32 => {
                        DataType::Int32
                    }
                    DataType::Int64 => DataType::Int64,
                    DataType::Date32 if n == 2 => DataType::Date32,
                    t => {
                        return Err(QuarryError::NotSupported(format!(
                            "sequence over {} (integers, and dates with the default one-day step, are supported)",
                            type_name(&t)
                        )))
                    }
                };
                let step = if t == DataType::Date32 {
                    i32t
                } else {
                    t.clone()
                };
                (vec![t.clone(), t.clone(), step][..n].to_vec(), list_type(t))
            }
            Split => {
                arity(2, 3)?;
                (vec![s.clone(), s.clone(), i32t][..n].to_vec(), list_type(s))
            }
            MapKeys | MapValues => {
                arity(1, 1)?;
                let (k, v) =
                    map_key_value(&args[0]).ok_or_else(|| self.mismatch("MAP", &args[0]))?;
                let e = if *self == MapKeys { k } else { v };
                (vec![args[0].clone()], list_type(e.clone()))
            }
            MapFromArrays => {
                arity(2, 2)?;
                let k = array_arg(&args[0])?;
                let v = array_arg(&args[1])?;
                let m = crate::types::map_type(elem(&k), elem(&v));
                (vec![k, v], m)
            }
            MapFromEntries => {
                arity(1, 1)?;
                let t = array_arg(&args[0])?;
                let m = match elem(&t) {
                    DataType::Struct(fs) if fs.len() == 2 => {
                        crate::types::map_type(fs[0].data_type().clone(), fs[1].data_type().clone())
                    }
                    DataType::Null => crate::types::map_type(DataType::Null, DataType::Null),
                    _ => return Err(self.mismatch("ARRAY<STRUCT<KEY, VALUE>>", &args[0])),
                };
                (vec![t], m)
            }
            ArrayConcat => {
                arity(1, usize::MAX)?;
                let ts = args.iter().map(array_arg).collect::<Result<Vec<_>>>()?;
                let t = common(&ts)?;
                (vec![t.clone(); n], t)
            }
            ArraysZip => {
                arity(1, usize::MAX)?;
                let ts = args.iter().map(array_arg).collect::<Result<Vec<_>>>()?;
                let fields: Vec<Field> = ts
                    .iter()
                    .enumerate()
                    .map(|(i, t)| Field::new(i.to_string(), elem(t), true))
                    .collect();
                (ts, list_type(DataType::Struct(fields.into())))
            }
            MapEntries => {
                arity(1, 1)?;
                let (k, v) =
                    map_key_value(&args[0]).ok_or_else(|| self.mismatch("MAP", &args[0]))?;
                let entry = DataType::Struct(
                    vec![
                        Field::new("key", k.clone(), false),
                        Field::new("value", v.clone(), true),
                    ]
                    .into(),
                );
                (vec![args[0].clone()], list_type(entry))
            }
            ToJson => {
                arity(1, 2)?;
                match &args[0] {
                    DataType::Struct(_)
                    | DataType::List(_)
                    | DataType::Map(..)
                    | DataType::Null => {}
                    t => return Err(self.mismatch("STRUCT, ARRAY or MAP", t)),
                }
                if let Some(o) = args.get(1) {
                    super::json::check_options_type("to_json", o)?;
                }
                (args.to_vec(), s)
            }
            FromJson | FromCsv => {
                return Err(QuarryError::Internal(format!(
                    "{} is typed by the binder",
                    self.name()
                )))
            }
            ToCsv => {
                arity(1, 2)?;
                if !matches!(&args[0], DataType::Struct(_) | DataType::Null) {
                    return Err(self.mismatch("STRUCT", &args[0]));
                }
                if let Some(o) = args.get(1) {
                    super::json::check_options_type("to_csv", o)?;
                }
                (args.to_vec(), s)
            }
            StrToMap => {
                arity(1, 3)?;
                let s = DataType::Utf8;
                (
                    vec![s.clone(); args.len()],
                    crate::types::map_type(s.clone(), s),
                )
            }
        })
    }

    fn mismatch(&self, want: &str, got: &DataType) -> QuarryError {
        QuarryError::Analysis(format!(
            "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve \"{}\": the parameter requires the \"{want}\" type, however it has the type \"{}\"",
            self.name(),
            type_name(got).to_uppercase()
        ))
    }
}

/// The most elements `sequence` and `array_repeat` make for one batch of rows (2^27:
/// about 1 GiB of 8-byte values), so a huge count is an error, not an allocation that
/// takes the machine's memory.
pub const MAX_GENERATED_ELEMENTS: usize = 1 << 27;

/// Whether `a` and `b` are a string and a value of another type (neither NULL): Spark's
/// findWiderTypeWithoutStringPromotion finds no common type for them, so the array
/// functions that compare elements refuse them.
pub fn string_against_other(a: &DataType, b: &DataType) -> bool {
    *a != DataType::Null
        && *b != DataType::Null
        && crate::types::is_string(a) != crate::types::is_string(b)
}

/// Spark's `DATATYPE_MISMATCH.ARRAY_FUNCTION_DIFF_TYPES` for `name` (shown as `call`)
/// given an array of type `array` and a value of type `value`.
pub fn array_function_diff_types(
    call: &str,
    name: &str,
    array: &DataType,
    value: &DataType,
) -> QuarryError {
    QuarryError::Analysis(format!(
        "[DATATYPE_MISMATCH.ARRAY_FUNCTION_DIFF_TYPES] Cannot resolve \"{call}\" due to data type mismatch: Input to `{name}` should have been \"ARRAY\" followed by a value with same element type, but it's [\"{}\", \"{}\"]",
        type_name(array).to_uppercase(),
        type_name(value).to_uppercase()
    ))
}

fn too_many(f: &str, n: usize) -> QuarryError {
    exec(
        f,
        format!("[COLLECTION_SIZE_LIMIT_EXCEEDED] cannot create an array of {n} elements (at most {MAX_GENERATED_ELEMENTS} per batch)"),
    )
}

fn exec(f: &str, msg: impl std::fmt::Display) -> QuarryError {
    QuarryError::Execution(format!("{f}: {msg}"))
}

fn as_list(a: &ArrayRef) -> Result<&ListArray> {
    a.as_any()
        .downcast_ref::<ListArray>()
        .ok_or_else(|| QuarryError::Internal(format!("expected an array, got {}", a.data_type())))
}

fn as_map(a: &ArrayRef) -> Result<&MapArray> {
    a.as_any()
        .downcast_ref::<MapArray>()
        .ok_or_else(|| QuarryError::Internal(format!("expected a map, got {}", a.data_type())))
}

fn int_values(a: &ArrayRef) -> Result<Int64Array> {
    Ok(arrow::compute::cast(a, &DataType::Int64)?
        .as_primitive::<Int64Type>()
        .clone())
}

/// Arrays walked side by side, position by position (`arrays_zip`, `zip_with`): per
/// row as many positions as its longest array has elements, NULL where an array is
/// shorter; a row is NULL (no positions) where any array is NULL.
pub(crate) struct Zipped {
    /// Each array's element at every position (NULL past its end).
    pub values: Vec<ArrayRef>,
    /// The positions' offsets per row, from 0.
    pub offsets: Vec<i32>,
    pub nulls: Option<NullBuffer>,
}

/// [`Zipped`] positions of `lists` (of one length). Errors: more than 2^31 positions
/// (`what` names the function).
pub(crate) fn zip_lists(lists: &[&ListArray], what: &str) -> Result<Zipped> {
    let n = lists.first().map_or(0, |l| l.len());
    let mut picks: Vec<Vec<Option<u32>>> = vec![vec![]; lists.len()];
    let mut offsets = Vec::with_capacity(n + 1);
    offsets.push(0i32);
    let mut valid = Vec::with_capacity(n);
    let mut total = 0usize;
    for r in 0..n {
        let ok = lists.iter().all(|l| l.is_valid(r));
        valid.push(ok);
        if ok {
            let longest = lists.iter().map(|l| l.value_length(r)).max().unwrap_or(0);
            for (l, pick) in lists.iter().zip(&mut picks) {
                let (start, len) = (l.value_offsets()[r], l.value_length(r));
                pick.extend((0..longest).map(|k| (k < len).then_some((start + k) as u32)));
            }
            total += longest as usize;
        }
        offsets.push(
            i32::try_from(total)
                .map_err(|_| QuarryError::Execution(format!("{what}: more than 2^31 elements")))?,
        );
    }
    let values = lists
        .iter()
        .zip(picks)
        .map(|(l, pick)| Ok(take(l.values().as_ref(), &UInt32Array::from(pick), None)?))
        .collect::<Result<Vec<_>>>()?;
    let nulls = NullBuffer::from(valid);
    Ok(Zipped {
        values,
        offsets,
        nulls: (nulls.null_count() > 0).then_some(nulls),
    })
}

/// Lists of type `result` made of `l`'s elements at `order` (positions in `l.values()`),
/// cut into lists of `lengths` (one per row of `l`), with `l`'s NULL rows.
fn taken_lists(
    l: &ListArray,
    order: &UInt64Array,
    lengths: impl IntoIterator<Item = usize>,
    result: &DataType,
) -> Result<ArrayRef> {
    let values = take(l.values().as_ref(), order, None)?;
    Ok(Arc::new(ListArray::try_new(
        list_field(result)?,
        OffsetBuffer::from_lengths(lengths),
        values,
        l.nulls().cloned(),
    )?))
}

/// The list field of a result type.
fn list_field(dt: &DataType) -> Result<FieldRef> {
    match dt {
        DataType::List(f) => Ok(f.clone()),
        other => Err(QuarryError::Internal(format!(
            "expected an array type, got {other}"
        ))),
    }
}

/// Build a list column from one optional piece per row (None: a NULL row).
pub fn build_list(result: &DataType, pieces: Vec<Option<ArrayRef>>) -> Result<ArrayRef> {
    let field = list_field(result)?;
    let lengths: Vec<usize> = pieces
        .iter()
        .map(|p| p.as_ref().map_or(0, |a| a.len()))
        .collect();
    let nulls: NullBuffer = pieces.iter().map(|p| p.is_some()).collect();
    let parts: Vec<&dyn Array> = pieces.iter().flatten().map(|a| a.as_ref()).collect();
    let values = if parts.is_empty() {
        new_empty_array(field.data_type())
    } else {
        let v = arrow::compute::concat(&parts)?;
        if v.data_type() != field.data_type() {
            crate::physical::eval::cast_array(&v, field.data_type())?
        } else {
            v
        }
    };
    let nulls = (nulls.null_count() > 0).then_some(nulls);
    Ok(Arc::new(ListArray::try_new(
        field,
        OffsetBuffer::from_lengths(lengths),
        values,
        nulls,
    )?))
}

/// A list column of type `result` from its flattened `values`, the number of values per
/// row and which rows are valid (not NULL).
fn list_from_parts(
    result: &DataType,
    lengths: Vec<usize>,
    values: ArrayRef,
    valid: Vec<bool>,
) -> Result<ArrayRef> {
    let nulls = NullBuffer::from(valid);
    Ok(Arc::new(ListArray::try_new(
        list_field(result)?,
        OffsetBuffer::from_lengths(lengths),
        values,
        (nulls.null_count() > 0).then_some(nulls),
    )?))
}

/// Evaluate `func` over argument columns of `n` rows; `result` is the call's type.
pub fn evaluate(
    func: CollectionFunc,
    args: &[ArrayRef],
    n: usize,
    result: &DataType,
) -> Result<ArrayRef> {
    use CollectionFunc::*;
    Ok(match func {
        MakeArray => {
            let field = list_field(result)?;
            let k = args.len();
            let values = if k == 0 || n == 0 {
                new_empty_array(field.data_type())
            } else {
                let refs: Vec<&dyn Array> = args.iter().map(|a| a.as_ref()).collect();
                let idx: Vec<(usize, usize)> =
                    (0..n).flat_map(|i| (0..k).map(move |j| (j, i))).collect();
                interleave(&refs, &idx)?
            };
            Arc::new(ListArray::try_new(
                field,
                OffsetBuffer::from_lengths(std::iter::repeat_n(k, n)),
                values,
                None,
            )?)
        }
        MakeMap => {
            let keys: Vec<ArrayRef> = args.iter().step_by(2).cloned().collect();
            let vals: Vec<ArrayRef> = args.iter().skip(1).step_by(2).cloned().collect();
            build_map(result, &keys, &vals, n)?
        }
        MakeStruct => {
            let fields = match result {
                DataType::Struct(f) => f.clone(),
                other => return Err(QuarryError::Internal(format!("struct type {other}"))),
            };
            if fields.is_empty() {
                return Ok(Arc::new(StructArray::new_empty_fields(n, None)));
            }
            let cols = args
                .iter()
                .zip(fields.iter())
                .map(|(a, f)| {
                    if a.data_type() != f.data_type() {
                        crate::physical::eval::cast_array(a, f.data_type())
                    } else {
                        Ok(a.clone())
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            Arc::new(StructArray::try_new(fields, cols, None)?)
        }
        GetField(i) => {
            let s = args[0]
                .as_any()
                .downcast_ref::<StructArray>()
                .ok_or_else(|| QuarryError::Internal("expected a struct".into()))?;
            let c = s.column(i).clone();
            match s.nulls() {
                None => c,
                Some(outer) => {
                    let nulls = NullBuffer::union(Some(outer), c.nulls());
                    make_array(c.to_data().into_builder().nulls(nulls).build()?)
                }
            }
        }
        Subscript | ElementAt => match args[0].data_type() {
            DataType::Map(..) => map_lookup(as_map(&args[0])?, &args[1])?,
            _ => {
                let l = as_list(&args[0])?;
                let idx = int_values(&args[1])?;
                let offsets = l.value_offsets();
                let mut take_idx: Vec<Option<u64>> = Vec::with_capacity(n);
                for i in 0..n {
                    if l.is_null(i) || idx.is_null(i) {
                        take_idx.push(None);
                        continue;
                    }
                    let (s, e) = (offsets[i] as i64, offsets[i + 1] as i64);
                    let len = e - s;
                    let k = idx.value(i);
                    let pos = if func == Subscript {
                        k
                    } else if k == 0 {
                        return Err(exec(
                            "element_at",
                            "[INVALID_INDEX_OF_ZERO] The index 0 is invalid. An index shall be either < 0 or > 0 (the first element has index 1)",
                        ));
                    } else if k > 0 {
                        k - 1
                    } else {
                        len + k
                    };
                    take_idx.push((0..len).contains(&pos).then(|| (s + pos) as u64));
                }
                take(l.values().as_ref(), &UInt64Array::from(take_idx), None)?
            }
        },
        Size => {
            let lens: Vec<i32> = match args[0].data_type() {
                DataType::Map(..) => {
                    let m = as_map(&args[0])?;
                    (0..n)
                        .map(|i| if m.is_null(i) { -1 } else { m.value_length(i) })
                        .collect()
                }
                _ => {
                    let l = as_list(&args[0])?;
                    (0..n)
                        .map(|i| if l.is_null(i) { -1 } else { l.value_length(i) })
                        .collect()
                }
            };
            Arc::new(Int32Array::from(lens))
        }
        ArrayContains | ArrayPosition => {
            let l = as_list(&args[0])?;
            let e = l.values();
            let conv = RowConverter::new(vec![SortField::new(e.data_type().clone())])?;
            let er = conv.convert_columns(std::slice::from_ref(e))?;
            let vr = conv.convert_columns(&args[1..2])?;
            let offsets = l.value_offsets();
            let mut contains = BooleanBuilder::with_capacity(n);
            let mut position = Int64Builder::with_capacity(n);
            for i in 0..n {
                if l.is_null(i) || args[1].is_null(i) {
                    contains.append_null();
                    position.append_null();
                    continue;
                }
                let (s, end) = (offsets[i] as usize, offsets[i + 1] as usize);
                let found = (s..end).find(|&j| e.is_valid(j) && er.row(j) == vr.row(i));
                match found {
                    Some(j) => {
                        contains.append_value(true);
                        position.append_value((j - s + 1) as i64);
                    }
                    None => {
                        // not found, but a NULL element might have been equal: unknown
                        if (s..end).any(|j| e.is_null(j)) {
                            contains.append_null();
                        } else {
                            contains.append_value(false);
                        }
                        position.append_value(0);
                    }
                }
            }
            if func == ArrayContains {
                Arc::new(contains.finish())
            } else {
                Arc::new(position.finish())
            }
        }
        SortArray | ArraySort | ArrayMin | ArrayMax => {
            let l = as_list(&args[0])?;
            let asc_arg = args.get(1).map(|a| a.as_boolean().clone());
            let mut pieces = Vec::with_capacity(n);
            for i in 0..n {
                if l.is_null(i) {
                    pieces.push(None);
                    continue;
                }
                let asc = match (&asc_arg, func) {
                    (Some(b), _) if b.is_valid(i) => b.value(i),
                    (Some(_), _) => {
                        return Err(exec(
                            "sort_array",
                            "the sort order argument must not be NULL",
                        ))
                    }
                    (None, ArrayMax) => false,
                    _ => true,
                };
                let opts = SortOptions {
                    descending: !asc,
                    // sort_array: NULLs first ascending, last descending; the others last
                    nulls_first: func == SortArray && asc,
                };
                let v = l.value(i);
                let idx = arrow::compute::sort_to_indices(&v, Some(opts), None)?;
                let sorted = take(v.as_ref(), &idx, None)?;
                pieces.push(Some(sorted));
            }
            match func {
                SortArray | ArraySort => build_list(result, pieces)?,
                _ => {
                    // the first of the sorted values (NULLs sort last): min or max
                    let firsts: Vec<ArrayRef> = pieces
                        .into_iter()
                        .map(|p| match p {
                            Some(a) if !a.is_empty() => a.slice(0, 1),
                            _ => new_null_array(result, 1),
                        })
                        .collect();
                    concat_arrays(&firsts, result)?
                }
            }
        }
        ArrayReverse => {
            let l = as_list(&args[0])?;
            let offsets = l.value_offsets();
            let order: UInt64Array = (0..n)
                .flat_map(|i| (offsets[i] as u64..offsets[i + 1] as u64).rev())
                .collect();
            let lengths = (0..n).map(|i| (offsets[i + 1] - offsets[i]) as usize);
            taken_lists(l, &order, lengths, result)?
        }
        ArrayDistinct => {
            let l = as_list(&args[0])?;
            let e = l.values();
            let conv = RowConverter::new(vec![SortField::new(e.data_type().clone())])?;
            let er = conv.convert_columns(std::slice::from_ref(e))?;
            let offsets = l.value_offsets();
            let mut keep: Vec<u64> = vec![];
            let mut lengths = Vec::with_capacity(n);
            for i in 0..n {
                let (s, end) = (offsets[i] as usize, offsets[i + 1] as usize);
                let mut seen = HashSet::new();
                let before = keep.len();
                for j in s..end {
                    if seen.insert(er.row(j)) {
                        keep.push(j as u64);
                    }
                }
                lengths.push(keep.len() - before);
            }
            taken_lists(l, &UInt64Array::from(keep), lengths, result)?
        }
        ArrayJoin => {
            let l = as_list(&args[0])?;
            let text = crate::physical::eval::cast_array(l.values(), &DataType::Utf8)?;
            let text = text.as_string::<i32>();
            let sep = args[1].as_string::<i32>();
            let null_rep = args.get(2).map(|a| a.as_string::<i32>());
            let offsets = l.value_offsets();
            let mut b = StringBuilder::with_capacity(n, 0);
            let mut buf = String::new();
            for i in 0..n {
                if l.is_null(i) || sep.is_null(i) || null_rep.is_some_and(|r| r.is_null(i)) {
                    b.append_null();
                    continue;
                }
                buf.clear();
                let mut first = true;
                for j in offsets[i] as usize..offsets[i + 1] as usize {
                    let v = if text.is_valid(j) {
                        text.value(j)
                    } else if let Some(r) = null_rep {
                        r.value(i)
                    } else {
                        continue;
                    };
                    if !first {
                        buf.push_str(sep.value(i));
                    }
                    first = false;
                    buf.push_str(v);
                }
                super::append_checked(&mut b, "array_join", &buf)?;
            }
            Arc::new(b.finish())
        }
        Slice => {
            let l = as_list(&args[0])?;
            let start = int_values(&args[1])?;
            let len = int_values(&args[2])?;
            let mut pieces = Vec::with_capacity(n);
            for i in 0..n {
                if l.is_null(i) || start.is_null(i) || len.is_null(i) {
                    pieces.push(None);
                    continue;
                }
                let (st, ln) = (start.value(i), len.value(i));
                if st == 0 {
                    return Err(exec("slice", "[INVALID_PARAMETER_VALUE.START] the start index must not be 0: SQL array indices start at 1"));
                }
                if ln < 0 {
                    return Err(exec("slice", format!("[INVALID_PARAMETER_VALUE.LENGTH] the length must be greater than or equal to 0, got {ln}")));
                }
                let size = l.value_length(i) as i64;
                let from = if st > 0 { st - 1 } else { size + st };
                let v = l.value(i);
                if from < 0 || from >= size {
                    pieces.push(Some(v.slice(0, 0)));
                } else {
                    let cnt = ln.min(size - from);
                    pieces.push(Some(v.slice(from as usize, cnt as usize)));
                }
            }
            build_list(result, pieces)?
        }
        Flatten => {
            let l = as_list(&args[0])?;
            let mut pieces = Vec::with_capacity(n);
            for i in 0..n {
                if l.is_null(i) {
                    pieces.push(None);
                    continue;
                }
                let inner = l.value(i);
                let inner = as_list(&inner)?;
                if inner.null_count() > 0 {
                    pieces.push(None);
                    continue;
                }
                pieces.push(Some(inner.values().slice(
                    inner.value_offsets()[0] as usize,
                    (inner.value_offsets()[inner.len()] - inner.value_offsets()[0]) as usize,
                )));
            }
            build_list(result, pieces)?
        }
        ArrayRepeat => {
            let count = int_values(&args[1])?;
            let mut idx: Vec<u64> = vec![];
            let mut lengths = Vec::with_capacity(n);
            let mut nulls = Vec::with_capacity(n);
            for i in 0..n {
                if count.is_null(i) {
                    lengths.push(0);
                    nulls.push(false);
                    continue;
                }
                let c = count.value(i).max(0) as usize;
                if idx.len().saturating_add(c) > MAX_GENERATED_ELEMENTS {
                    return Err(too_many("array_repeat", c));
                }
                idx.extend(std::iter::repeat_n(i as u64, c));
                lengths.push(c);
                nulls.push(true);
            }
            let values = take(args[0].as_ref(), &UInt64Array::from(idx), None)?;
            list_from_parts(result, lengths, values, nulls)?
        }
        Sequence => sequence(args, n, result)?,
        Split => split(args, n, result)?,
        MapEntries => {
            // a map's entries are a list of struct<key, value> already
            let m = as_map(&args[0])?;
            let field = list_field(result)?;
            let DataType::Struct(fields) = field.data_type() else {
                return Err(QuarryError::Internal("map_entries' type".into()));
            };
            let entries = StructArray::try_new(
                fields.clone(),
                vec![m.keys().clone(), m.values().clone()],
                None,
            )?;
            Arc::new(ListArray::try_new(
                field,
                m.offsets().clone(),
                Arc::new(entries),
                m.nulls().cloned(),
            )?)
        }
        ArraysZip => {
            let lists = args.iter().map(as_list).collect::<Result<Vec<_>>>()?;
            let field = list_field(result)?;
            let DataType::Struct(fields) = field.data_type() else {
                return Err(QuarryError::Internal("arrays_zip's type".into()));
            };
            let z = zip_lists(&lists, "arrays_zip")?;
            let columns = z
                .values
                .into_iter()
                .zip(fields.iter())
                .map(|(v, f)| crate::physical::eval::cast_array(&v, f.data_type()))
                .collect::<Result<Vec<_>>>()?;
            let entries = StructArray::try_new(fields.clone(), columns, None)?;
            Arc::new(ListArray::try_new(
                field,
                OffsetBuffer::new(z.offsets.into()),
                Arc::new(entries),
                z.nulls,
            )?)
        }
        ArrayConcat => {
            let lists = args.iter().map(as_list).collect::<Result<Vec<_>>>()?;
            let field = list_field(result)?;
            let values: Vec<ArrayRef> = lists.iter().map(|l| l.values().clone()).collect();
            let refs: Vec<&dyn Array> = values.iter().map(|v| v.as_ref()).collect();
            let mut pick: Vec<(usize, usize)> = vec![];
            let mut offsets = Vec::with_capacity(n + 1);
            offsets.push(0i32);
            let mut valid = Vec::with_capacity(n);
            for r in 0..n {
                let ok = lists.iter().all(|l| l.is_valid(r));
                if ok {
                    for (j, l) in lists.iter().enumerate() {
                        let o = l.value_offsets();
                        pick.extend((o[r] as usize..o[r + 1] as usize).map(|k| (j, k)));
                    }
                }
                valid.push(ok);
                let len = i32::try_from(pick.len()).map_err(|_| {
                    QuarryError::Execution("concat: the arrays hold more than 2^31 elements".into())
                })?;
                offsets.push(len);
            }
            let values = if refs.is_empty() || pick.is_empty() {
                new_empty_array(field.data_type())
            } else {
                interleave(&refs, &pick)?
            };
            let values = if values.data_type() != field.data_type() {
                crate::physical::eval::cast_array(&values, field.data_type())?
            } else {
                values
            };
            let nulls = NullBuffer::from(valid);
            Arc::new(ListArray::try_new(
                field,
                OffsetBuffer::new(offsets.into()),
                values,
                (nulls.null_count() > 0).then_some(nulls),
            )?)
        }
        MapKeys | MapValues => {
            let m = as_map(&args[0])?;
            let col = if func == MapKeys {
                m.keys()
            } else {
                m.values()
            };
            Arc::new(ListArray::try_new(
                list_field(result)?,
                m.offsets().clone(),
                col.clone(),
                m.nulls().cloned(),
            )?)
        }
        MapFromArrays => {
            let k = as_list(&args[0])?;
            let v = as_list(&args[1])?;
            for i in 0..n {
                if k.is_valid(i) && v.is_valid(i) && k.value_length(i) != v.value_length(i) {
                    return Err(exec("map_from_arrays", "[INVALID_PARAMETER_VALUE] the key array and the value array must have the same length"));
                }
            }
            // rows where either side is NULL become NULL maps of no entries
            let mut kidx: Vec<u64> = vec![];
            let mut vidx: Vec<u64> = vec![];
            let mut lengths = Vec::with_capacity(n);
            let mut valid = Vec::with_capacity(n);
            for i in 0..n {
                if k.is_null(i) || v.is_null(i) {
                    lengths.push(0);
                    valid.push(false);
                    continue;
                }
                let (ks, vs) = (k.value_offsets()[i] as u64, v.value_offsets()[i] as u64);
                let len = k.value_length(i) as u64;
                kidx.extend(ks..ks + len);
                vidx.extend(vs..vs + len);
                lengths.push(len as usize);
                valid.push(true);
            }
            let keys = take(k.values().as_ref(), &UInt64Array::from(kidx), None)?;
            let vals = take(v.values().as_ref(), &UInt64Array::from(vidx), None)?;
            map_from_parts(result, keys, vals, lengths, NullBuffer::from(valid))?
        }
        MapFromEntries => {
            let l = as_list(&args[0])?;
            let (kt, vt) =
                map_key_value(result).ok_or_else(|| QuarryError::Internal("map type".into()))?;
            let (keys, vals) = match l.values().as_struct_opt() {
                Some(st) => (st.column(0).clone(), st.column(1).clone()),
                // array(NULL, ...): every entry NULL, so every non-empty row is NULL
                None => (
                    new_null_array(kt, l.values().len()),
                    new_null_array(vt, l.values().len()),
                ),
            };
            let entry_valid = |j: usize| l.values().is_valid(j);
            let mut idx: Vec<u64> = vec![];
            let mut lengths = Vec::with_capacity(n);
            let mut valid = Vec::with_capacity(n);
            for i in 0..n {
                let (s, e) = (
                    l.value_offsets()[i] as usize,
                    l.value_offsets()[i + 1] as usize,
                );
                if l.is_null(i) || !(s..e).all(entry_valid) {
                    lengths.push(0);
                    valid.push(false);
                    continue;
                }
                idx.extend(s as u64..e as u64);
                lengths.push(e - s);
                valid.push(true);
            }
            let idx = UInt64Array::from(idx);
            let keys = take(keys.as_ref(), &idx, None)?;
            let vals = take(vals.as_ref(), &idx, None)?;
            map_from_parts(result, keys, vals, lengths, NullBuffer::from(valid))?
        }
        ToJson => {
            let opts = match args.get(1) {
                Some(o) => super::json::JsonFormats::from_options(o)?,
                None => super::json::JsonFormats::default(),
            };
            super::json::to_json(&args[0], &opts)?
        }
        ToCsv => {
            let o = match args.get(1) {
                Some(o) => super::csv_text::CsvOptions::from_pairs(&super::json::option_pairs(o)?)?,
                None => super::csv_text::CsvOptions::default(),
            };
            if args[0].data_type() == &DataType::Null {
                Arc::new(StringArray::new_null(args[0].len()))
            } else {
                super::csv_text::to_csv(&args[0], &o)?
            }
        }
        FromCsv => {
            let constant = |i: usize| constant_text_arg(args, i);
            let o = super::csv_text::CsvOptions {
                delimiter: constant(1)?.and_then(|d| d.bytes().next()).unwrap_or(b','),
                formats: super::json::JsonFormats {
                    date_format: constant(2)?,
                    timestamp_format: constant(3)?,
                },
            };
            super::csv_text::from_csv(super::scalar::strings(&args[0])?, result, &o)?
        }
        FromJson => {
            // the binder appends the dateFormat / timestampFormat options (NULL: none)
            let fmt = |i: usize| constant_text_arg(args, i);
            let opts = super::json::JsonFormats {
                date_format: fmt(1)?,
                timestamp_format: fmt(2)?,
            };
            super::json_read::from_json(super::scalar::strings(&args[0])?, result, &opts)?
        }
        StrToMap => {
            let text = super::scalar::strings(&args[0])?;
            let pair = args.get(1).map(super::scalar::strings).transpose()?;
            let kv = args.get(2).map(super::scalar::strings).transpose()?;
            let mut pair_re = super::strings::RegexCache::new("str_to_map");
            let mut kv_re = super::strings::RegexCache::new("str_to_map");
            let (mut keys, mut vals) = (StringBuilder::new(), StringBuilder::new());
            let mut lengths = Vec::with_capacity(n);
            let mut valid = Vec::with_capacity(n);
            for i in 0..n {
                fn delim<'a>(
                    d: Option<&'a StringArray>,
                    i: usize,
                    default: &'static str,
                ) -> Option<&'a str> {
                    match d {
                        None => Some(default),
                        Some(a) => a.is_valid(i).then(|| a.value(i)),
                    }
                }
                let (Some(t), Some(pd), Some(kd)) = (
                    text.is_valid(i).then(|| text.value(i)),
                    delim(pair, i, ","),
                    delim(kv, i, ":"),
                ) else {
                    lengths.push(0);
                    valid.push(false);
                    continue;
                };
                let mut len = 0;
                let kre = kv_re.get(kd)?;
                for p in pair_re.get(pd)?.split(t) {
                    let mut it = kre.splitn(p, 2);
                    keys.append_value(it.next().unwrap_or_default());
                    match it.next() {
                        Some(v) => vals.append_value(v),
                        None => vals.append_null(),
                    }
                    len += 1;
                }
                lengths.push(len);
                valid.push(true);
            }
            map_from_parts(
                result,
                Arc::new(keys.finish()),
                Arc::new(vals.finish()),
                lengths,
                NullBuffer::from(valid),
            )?
        }
    })
}

/// `parts` as one array of type `dt` (an empty one when there are no parts).
pub(crate) fn concat_arrays(parts: &[ArrayRef], dt: &DataType) -> Result<ArrayRef> {
    if parts.is_empty() {
        return Ok(new_empty_array(dt));
    }
    let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
    Ok(arrow::compute::concat(&refs)?)
}

/// `map(k1, v1, ...)` over `n` rows: Spark rejects a NULL key and a key given twice
/// (its default `spark.sql.mapKeyDedupPolicy=EXCEPTION`).
fn build_map(
    result: &DataType,
    keys: &[ArrayRef],
    vals: &[ArrayRef],
    n: usize,
) -> Result<ArrayRef> {
    let k = keys.len();
    let (kt, vt) = map_key_value(result).ok_or_else(|| QuarryError::Internal("map type".into()))?;
    let idx: Vec<(usize, usize)> = (0..n).flat_map(|i| (0..k).map(move |j| (j, i))).collect();
    let (key_col, val_col) = if k == 0 || n == 0 {
        (new_empty_array(kt), new_empty_array(vt))
    } else {
        let kr: Vec<&dyn Array> = keys.iter().map(|a| a.as_ref()).collect();
        let vr: Vec<&dyn Array> = vals.iter().map(|a| a.as_ref()).collect();
        (interleave(&kr, &idx)?, interleave(&vr, &idx)?)
    };
    map_from_parts(
        result,
        key_col,
        val_col,
        std::iter::repeat_n(k, n).collect(),
        NullBuffer::new_valid(n),
    )
}

/// A map column from its flattened keys and values and the number of entries per row;
/// checks for NULL and duplicate keys within a row.
fn map_from_parts(
    result: &DataType,
    keys: ArrayRef,
    vals: ArrayRef,
    lengths: Vec<usize>,
    valid: NullBuffer,
) -> Result<ArrayRef> {
    let (entries_field, sorted) = match result {
        DataType::Map(f, s) => (f.clone(), *s),
        other => return Err(QuarryError::Internal(format!("map type {other}"))),
    };
    if keys.logical_null_count() > 0 {
        return Err(exec("map", "[NULL_MAP_KEY] Cannot use null as map key"));
    }
    let conv = RowConverter::new(vec![SortField::new(keys.data_type().clone())])?;
    let rows = conv.convert_columns(std::slice::from_ref(&keys))?;
    let mut start = 0;
    for &len in &lengths {
        let mut seen = HashSet::new();
        for j in start..start + len {
            if !seen.insert(rows.row(j)) {
                return Err(exec(
                    "map",
                    format!(
                        "[DUPLICATED_MAP_KEY] Duplicate map key {} was found, please check the input data",
                        crate::format::format_value(keys.as_ref(), j)
                    ),
                ));
            }
        }
        start += len;
    }
    let kv_fields = match entries_field.data_type() {
        DataType::Struct(f) => f.clone(),
        other => return Err(QuarryError::Internal(format!("map entries {other}"))),
    };
    let entries = StructArray::try_new(kv_fields, vec![keys, vals], None)?;
    Ok(Arc::new(MapArray::try_new(
        entries_field,
        OffsetBuffer::from_lengths(lengths),
        entries,
        (valid.null_count() > 0).then_some(valid),
        sorted,
    )?))
}

/// `m[k]` / `element_at(m, k)`: the value of the first entry whose key equals `k`.
fn map_lookup(m: &MapArray, key: &ArrayRef) -> Result<ArrayRef> {
    let keys = m.keys();
    let conv = RowConverter::new(vec![SortField::new(keys.data_type().clone())])?;
    let kr = conv.convert_columns(std::slice::from_ref(keys))?;
    let key = if key.data_type() != keys.data_type() {
        crate::physical::eval::cast_array(key, keys.data_type())?
    } else {
        key.clone()
    };
    let lr = conv.convert_columns(std::slice::from_ref(&key))?;
    let offsets = m.value_offsets();
    let idx: Vec<Option<u64>> = (0..m.len())
        .map(|i| {
            if m.is_null(i) || key.is_null(i) {
                return None;
            }
            (offsets[i] as usize..offsets[i + 1] as usize)
                .find(|&j| kr.row(j) == lr.row(i))
                .map(|j| j as u64)
        })
        .collect();
    Ok(take(m.values().as_ref(), &UInt64Array::from(idx), None)?)
}

/// `sequence(start, stop[, step])`: integers (step 1 or -1 by default) or dates (one day).
fn sequence(args: &[ArrayRef], n: usize, result: &DataType) -> Result<ArrayRef> {
    let start = int_values(&args[0])?;
    let stop = int_values(&args[1])?;
    let step = args.get(2).map(int_values).transpose()?;
    let mut values: Vec<i64> = vec![];
    let mut lengths = Vec::with_capacity(n);
    let mut valid = Vec::with_capacity(n);
    for i in 0..n {
        if start.is_null(i) || stop.is_null(i) || step.as_ref().is_some_and(|s| s.is_null(i)) {
            lengths.push(0);
            valid.push(false);
            continue;
        }
        let (a, b) = (start.value(i), stop.value(i));
        let st = match &step {
            Some(s) => s.value(i),
            None if a <= b => 1,
            None => -1,
        };
        if st == 0 && a != b || (st > 0 && a > b) || (st < 0 && a < b) {
            return Err(exec(
                "sequence",
                format!("Illegal sequence boundaries: {a} to {b} by {st}"),
            ));
        }
        let count = if st == 0 {
            1
        } else {
            ((b as i128 - a as i128) / st as i128 + 1) as usize
        };
        if values.len() + count > i32::MAX as usize {
            return Err(exec(
                "sequence",
                format!(
                    "[COLLECTION_SIZE_LIMIT_EXCEEDED] cannot create an array of {count} elements"
                ),
            ));
        }
        let mut v = a as i128;
        for _ in 0..count {
            values.push(v as i64);
            v += st as i128;
        }
        lengths.push(count);
        valid.push(true);
    }
    let field = list_field(result)?;
    let values: ArrayRef = Arc::new(Int64Array::from(values));
    let values = crate::physical::eval::cast_array(&values, field.data_type())?;
    list_from_parts(result, lengths, values, valid)
}

/// `split(str, regex[, limit])` as Java's `String.split(regex, limit)` with Spark's
/// default limit -1: all pieces, trailing empty strings kept; `limit > 0` keeps at most
/// `limit` pieces, the last holding the rest. An empty pattern splits between characters.
fn split(args: &[ArrayRef], n: usize, result: &DataType) -> Result<ArrayRef> {
    let s = args[0].as_string::<i32>();
    let p = args[1].as_string::<i32>();
    let limit = args.get(2).map(int_values).transpose()?;
    let mut cache = super::strings::RegexCache::new("split");
    let mut values = StringBuilder::new();
    let mut lengths = Vec::with_capacity(n);
    let mut valid = Vec::with_capacity(n);
    for i in 0..n {
        if s.is_null(i) || p.is_null(i) || limit.as_ref().is_some_and(|l| l.is_null(i)) {
            lengths.push(0);
            valid.push(false);
            continue;
        }
        let text = s.value(i);
        let lim = limit.as_ref().map_or(-1, |l| l.value(i));
        let pieces: Vec<&str> = if p.value(i).is_empty() {
            // Java splits "abc" by "" into a, b, c
            let mut v: Vec<&str> = text
                .char_indices()
                .map(|(k, c)| &text[k..k + c.len_utf8()])
                .collect();
            if lim > 0 && v.len() > lim as usize {
                let cut = v[..lim as usize - 1].iter().map(|x| x.len()).sum::<usize>();
                v.truncate(lim as usize - 1);
                v.push(&text[cut..]);
            }
            if v.is_empty() {
                v.push("");
            }
            v
        } else {
            let re = cache.get(p.value(i))?;
            if lim > 0 {
                re.splitn(text, lim as usize).collect()
            } else {
                re.split(text).collect()
            }
        };
        for x in &pieces {
            super::check_column_bytes("split", values.values_slice().len() + x.len())?;
            values.append_value(x);
        }
        lengths.push(pieces.len());
        valid.push(true);
    }
    list_from_parts(result, lengths, Arc::new(values.finish()), valid)
}

/// The constant string the binder passed as argument `i` (an option of from_json /
/// from_csv; its first row), None when absent or NULL.
fn constant_text_arg(args: &[ArrayRef], i: usize) -> Result<Option<String>> {
    Ok(match args.get(i) {
        Some(a) if a.is_valid(0) => Some(super::scalar::strings(a)?.value(0).to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(v: &[Option<i32>]) -> ArrayRef {
        Arc::new(Int32Array::from(v.to_vec()))
    }

    #[test]
    fn make_array_and_subscripts() {
        let t = list_type(DataType::Int32);
        let a = evaluate(
            CollectionFunc::MakeArray,
            &[ints(&[Some(1), Some(4)]), ints(&[Some(2), None])],
            2,
            &t,
        )
        .unwrap();
        assert_eq!(crate::format::format_value(a.as_ref(), 1), "[4,null]");
        let got = evaluate(
            CollectionFunc::ElementAt,
            &[a.clone(), ints(&[Some(-1), Some(3)])],
            2,
            &DataType::Int32,
        )
        .unwrap();
        let got = got.as_primitive::<Int32Type>();
        assert_eq!((got.value(0), got.is_null(1)), (2, true));
        let got = evaluate(
            CollectionFunc::Subscript,
            &[a, ints(&[Some(0), Some(1)])],
            2,
            &DataType::Int32,
        )
        .unwrap();
        assert_eq!(got.as_primitive::<Int32Type>().value(0), 1);
        assert!(got.is_null(1));
    }

    #[test]
    fn split_as_java() {
        let t = list_type(DataType::Utf8);
        let s: ArrayRef = Arc::new(StringArray::from(vec!["aa1cc2ee3", "hello"]));
        let p: ArrayRef = Arc::new(StringArray::from(vec!["[1-9]+", ""]));
        let got = split(&[s, p], 2, &t).unwrap();
        assert_eq!(
            crate::format::format_value(got.as_ref(), 0),
            r#"["aa","cc","ee",""]"#
        );
        assert_eq!(
            crate::format::format_value(got.as_ref(), 1),
            r#"["h","e","l","l","o"]"#
        );
    }

    #[test]
    fn duplicate_map_keys_are_an_error() {
        let t = crate::types::map_type(DataType::Int32, DataType::Int32);
        let k = ints(&[Some(1)]);
        let err = evaluate(
            CollectionFunc::MakeMap,
            &[k.clone(), k.clone(), k.clone(), k],
            1,
            &t,
        )
        .unwrap_err();
        assert!(err.to_string().contains("DUPLICATED_MAP_KEY"), "{err}");
    }
}
