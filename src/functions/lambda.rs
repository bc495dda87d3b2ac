//! Spark's higher-order functions over arrays, whose last arguments are lambda functions
//! ([`Expr::Lambda`]): `transform(a, x -> ...)`, `transform(a, (x, i) -> ...)`,
//! `filter(a, x -> ...)` (also with the index), `exists(a, x -> ...)`,
//! `forall(a, x -> ...)`, `aggregate(a, zero, (acc, x) -> ..., acc -> ...)` (also
//! named `reduce`), `zip_with(a, b, (x, y) -> ...)`, and over maps `map_filter(m, (k, v)
//! -> ...)`, `transform_values(m, (k, v) -> ...)` and `map_zip_with(m1, m2, (k, v1, v2) ->
//! ...)`; `array_sort(a, (l, r) -> cmp)`.
//!
//! Evaluation is vectorized over a batch: a lambda's body runs once over all the
//! batch's array elements together (one row per element: the element, its 0-based
//! index as an `int`, and the enclosing row's columns the body reads, repeated for each
//! element of that row). `aggregate` folds position by position: its merge runs once per
//! element position over the rows whose arrays are that long. Semantics as Spark's
//! (`ArrayTransform`, `ArrayFilter`, `ArrayExists`, `ArrayForAll`, `ArrayAggregate`): a
//! NULL array gives NULL; `exists` is three-valued (true if the predicate is true for
//! some element, else NULL if it is NULL for some, else false), `forall` likewise; a
//! NULL predicate drops the element in `filter`.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int32Array, ListArray, RecordBatch, RecordBatchOptions,
    UInt32Array,
};
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::{DataType, Field, Schema};

use crate::error::{QuarryError, Result};
use crate::physical::eval::{cast_array, evaluate, Layout};
use crate::plan::{Column, ColumnId, Expr};

/// A higher-order function (its name is Spark's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HigherOrderFunc {
    /// `transform(array, x -> f [, (x, i) -> f])`: an array of the body's values.
    Transform,
    /// `filter(array, x -> p)`: the elements whose predicate is true.
    Filter,
    /// `exists(array, x -> p)`.
    Exists,
    /// `forall(array, x -> p)`.
    Forall,
    /// `aggregate(array, zero, (acc, x) -> merge [, acc -> finish])`.
    Aggregate,
    /// `zip_with(a, b, (x, y) -> f)`: as long as the longer array, the shorter one's
    /// missing elements NULL.
    ZipWith,
    /// `map_filter(map, (k, v) -> p)`: the entries whose predicate is true.
    MapFilter,
    /// `transform_values(map, (k, v) -> f)`: the same keys, the body's values.
    TransformValues,
    /// `array_sort(array, (l, r) -> cmp)`: the elements in the order the comparator
    /// gives (an integer: negative, 0 or positive as `l` is before, level with or after
    /// `r`), stable; see `sort_with_comparator`.
    ArraySort,
    /// `map_zip_with(m1, m2, (k, v1, v2) -> f)`: a map with every key of either map (the
    /// first map's keys in order, then the second's new ones), each key's value the
    /// body's over its values in the two maps (NULL where a map lacks the key); NULL
    /// when either map is. See `map_zip_with`.
    MapZipWith,
}

impl HigherOrderFunc {
    /// The function of a (lower-case) name.
    pub fn lookup(name: &str) -> Option<HigherOrderFunc> {
        use HigherOrderFunc::*;
        Some(match name {
            "transform" => Transform,
            "filter" => Filter,
            "exists" => Exists,
            "forall" => Forall,
            "aggregate" | "reduce" => Aggregate,
            "zip_with" => ZipWith,
            "map_filter" => MapFilter,
            "transform_values" => TransformValues,
            "array_sort" => ArraySort,
            "map_zip_with" => MapZipWith,
            _ => return None,
        })
    }

    pub fn name(&self) -> &'static str {
        use HigherOrderFunc::*;
        match self {
            Transform => "transform",
            Filter => "filter",
            Exists => "exists",
            Forall => "forall",
            Aggregate => "aggregate",
            ZipWith => "zip_with",
            MapFilter => "map_filter",
            TransformValues => "transform_values",
            ArraySort => "array_sort",
            MapZipWith => "map_zip_with",
        }
    }
}

fn internal(what: &str) -> QuarryError {
    QuarryError::Internal(format!("higher-order function: {what}"))
}

/// A lambda argument's parameters and body.
fn lambda(e: Option<&Expr>) -> Result<(&[Column], &Expr)> {
    match e {
        Some(Expr::Lambda { params, body }) => Ok((params, body)),
        _ => Err(internal("a lambda argument expected")),
    }
}

/// Evaluate `body` with its parameters bound to `params` (arrays of one length `m`) and
/// the enclosing row's columns (from `batch`/`layout`) taken at `rows` (the enclosing
/// row of each of the `m` rows).
fn call(
    params: &[Column],
    values: &[ArrayRef],
    body: &Expr,
    rows: &UInt32Array,
    batch: &RecordBatch,
    layout: &Layout,
) -> Result<ArrayRef> {
    let mut ids: Vec<ColumnId> = params.iter().map(|c| c.id).collect();
    let mut cols: Vec<ArrayRef> = values.to_vec();
    for id in body.column_ids() {
        if ids.contains(&id) {
            continue;
        }
        let i = *layout
            .get(&id)
            .ok_or_else(|| internal(&format!("column #{id} not in the input")))?;
        cols.push(arrow::compute::take(batch.column(i), rows, None)?);
        ids.push(id);
    }
    let fields: Vec<Field> = cols
        .iter()
        .enumerate()
        .map(|(k, c)| Field::new(format!("c{k}"), c.data_type().clone(), true))
        .collect();
    let inner = RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        cols,
        &RecordBatchOptions::new().with_row_count(Some(rows.len())),
    )?;
    let layout = crate::physical::eval::layout_of(&ids);
    evaluate(body, &inner, &layout)
}

/// A list or map column's offsets rebased to start at 0, and the first one (where the
/// column's elements begin in its values).
fn rebased(all: &[i32]) -> (usize, Vec<i32>) {
    let first = all.first().copied().unwrap_or(0);
    (first as usize, all.iter().map(|o| o - first).collect())
}

/// The row of each element, for offsets from 0.
fn element_rows(offsets: &[i32]) -> UInt32Array {
    offsets
        .windows(2)
        .enumerate()
        .flat_map(|(r, w)| std::iter::repeat_n(r as u32, (w[1] - w[0]) as usize))
        .collect()
}

/// The array argument's elements: the list, its values from the first row's offset on,
/// the offsets rebased to them, and each element's row.
struct Elements {
    list: ListArray,
    values: ArrayRef,
    offsets: Vec<i32>,
    rows: UInt32Array,
}

impl Elements {
    fn of(a: &ArrayRef) -> Result<Elements> {
        let list = a
            .as_list_opt::<i32>()
            .ok_or_else(|| {
                internal(&format!(
                    "an array argument expected, got {}",
                    a.data_type()
                ))
            })?
            .clone();
        let (first, offsets) = rebased(list.value_offsets());
        let m = offsets.last().copied().unwrap_or(0) as usize;
        let values = list.values().slice(first, m);
        let rows = element_rows(&offsets);
        Ok(Elements {
            list,
            values,
            offsets,
            rows,
        })
    }

    /// The element array and, for a two-parameter lambda, each element's 0-based index
    /// in its array.
    fn params(&self, n: usize) -> Vec<ArrayRef> {
        let mut v: Vec<ArrayRef> = vec![self.values.clone()];
        if n > 1 {
            let index: Int32Array = self
                .offsets
                .windows(2)
                .flat_map(|w| 0..w[1] - w[0])
                .collect();
            v.push(Arc::new(index));
        }
        v
    }
}

/// Evaluate the higher-order call `func(args)` (array first, lambdas last) over
/// `batch`, into `data_type`.
pub fn evaluate_call(
    func: HigherOrderFunc,
    args: &[Expr],
    data_type: &DataType,
    batch: &RecordBatch,
    layout: &Layout,
) -> Result<ArrayRef> {
    let arr = evaluate(
        args.first().ok_or_else(|| internal("no array argument"))?,
        batch,
        layout,
    )?;
    use HigherOrderFunc::*;
    match func {
        ZipWith => return zip_with(&arr, args, data_type, batch, layout),
        MapFilter | TransformValues => return over_map(func, &arr, args, data_type, batch, layout),
        MapZipWith => return map_zip_with(&arr, args, data_type, batch, layout),
        _ => {}
    }
    let el = Elements::of(&arr)?;
    if func == Aggregate {
        return aggregate(args, data_type, &el, batch, layout);
    }
    if func == ArraySort {
        return sort_with_comparator(args, data_type, &el, batch, layout);
    }
    // transform, filter, exists, forall: the lambda over every element at once
    let (params, body) = lambda(args.get(1))?;
    let out = call(
        params,
        &el.params(params.len()),
        body,
        &el.rows,
        batch,
        layout,
    )?;
    match func {
        Transform => list_array(data_type, &out, el.offsets, el.list.nulls().cloned()),
        Filter => {
            let keep = out;
            let keep = kept(&keep)?;
            let offsets = kept_offsets(&el.offsets, &keep);
            let values = arrow::compute::filter(&el.values, &keep)?;
            list_array(
                el.list.data_type(),
                &values,
                offsets,
                el.list.nulls().cloned(),
            )
        }
        Exists | Forall => {
            let p = out;
            let p = p
                .as_boolean_opt()
                .ok_or_else(|| internal("the predicate is not boolean"))?;
            // exists: true wins, then NULL; forall: false wins, then NULL
            let decisive = func == Exists;
            let out: BooleanArray = el
                .offsets
                .windows(2)
                .enumerate()
                .map(|(r, w)| {
                    if el.list.is_null(r) {
                        return None;
                    }
                    let mut unknown = false;
                    for j in w[0]..w[1] {
                        let j = j as usize;
                        if p.is_null(j) {
                            unknown = true;
                        } else if p.value(j) == decisive {
                            return Some(decisive);
                        }
                    }
                    (!unknown).then_some(!decisive)
                })
                .collect();
            Ok(Arc::new(out))
        }
        Aggregate | ZipWith | MapFilter | TransformValues | ArraySort | MapZipWith => {
            Err(internal("dispatched above"))
        }
    }
}

/// A filter's predicate values as a mask: NULL drops the element, as false.
fn kept(p: &ArrayRef) -> Result<BooleanArray> {
    let p = p
        .as_boolean_opt()
        .ok_or_else(|| internal("a filter's predicate is not boolean"))?;
    Ok(match p.nulls() {
        Some(nulls) => BooleanArray::new(p.values() & nulls.inner(), None),
        None => p.clone(),
    })
}

/// The offsets of lists (`offsets`, from 0) after `keep` filtered their elements.
fn kept_offsets(offsets: &[i32], keep: &BooleanArray) -> Vec<i32> {
    let mut out = Vec::with_capacity(offsets.len());
    out.push(0i32);
    let mut total = 0i32;
    for w in offsets.windows(2) {
        total += (w[0]..w[1]).filter(|&j| keep.value(j as usize)).count() as i32;
        out.push(total);
    }
    out
}

/// `zip_with(a, b, (x, y) -> f)`: per row, positions up to the longer array's length,
/// the shorter array's missing elements NULL; NULL when either array is.
fn zip_with(
    a: &ArrayRef,
    args: &[Expr],
    data_type: &DataType,
    batch: &RecordBatch,
    layout: &Layout,
) -> Result<ArrayRef> {
    let b = evaluate(
        args.get(1)
            .ok_or_else(|| internal("zip_with's second array"))?,
        batch,
        layout,
    )?;
    let (params, body) = lambda(args.get(2))?;
    let lists = [a, &b]
        .into_iter()
        .map(|x| {
            x.as_list_opt::<i32>().ok_or_else(|| {
                internal(&format!(
                    "an array argument expected, got {}",
                    x.data_type()
                ))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let z = crate::functions::collections::zip_lists(&lists, "zip_with")?;
    let rows = element_rows(&z.offsets);
    let out = call(params, &z.values, body, &rows, batch, layout)?;
    list_array(data_type, &out, z.offsets, z.nulls)
}

/// `array_sort(a, (l, r) -> cmp)`: each row's elements in the comparator's order, as
/// Spark's ArraySort with a function (a stable sort; NULL elements go to the comparator
/// like any other). A bottom-up merge sort run in lockstep over all the batch's rows:
/// each step of a pass evaluates the comparator once, vectorized, over the heads of
/// every pending merge of every row, so a pass takes at most as many calls as its
/// longest merge has elements (about `2n` calls in all for arrays of at most `n`).
/// Errors: a comparator that returns NULL (Spark's `COMPARATOR_RETURNS_NULL`).
fn sort_with_comparator(
    args: &[Expr],
    data_type: &DataType,
    el: &Elements,
    batch: &RecordBatch,
    layout: &Layout,
) -> Result<ArrayRef> {
    let (params, body) = lambda(args.get(1))?;
    // perm[k]: the element at position k of the sorted order (positions stay within
    // their row's offsets)
    let mut perm: Vec<u32> = (0..el.values.len() as u32).collect();
    let longest = el
        .offsets
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or(0) as usize;
    let mut width = 1usize;
    while width < longest {
        // one merge per pair of adjacent runs: (left, left end, right, right end, out)
        let mut merges: Vec<[usize; 5]> = vec![];
        for w in el.offsets.windows(2) {
            let (s, e) = (w[0] as usize, w[1] as usize);
            let mut a = s;
            while a + width < e {
                let b = a + width;
                let end = (b + width).min(e);
                merges.push([a, b, b, end, a]);
                a = end;
            }
        }
        let mut next = perm.clone();
        loop {
            let active: Vec<usize> = (0..merges.len())
                .filter(|&m| merges[m][0] < merges[m][1] && merges[m][2] < merges[m][3])
                .collect();
            if active.is_empty() {
                break;
            }
            let left: UInt32Array = active.iter().map(|&m| perm[merges[m][0]]).collect();
            let right: UInt32Array = active.iter().map(|&m| perm[merges[m][2]]).collect();
            let rows = arrow::compute::take(&el.rows, &left, None)?;
            let rows = rows
                .as_primitive_opt::<arrow::datatypes::UInt32Type>()
                .ok_or_else(|| internal("element rows"))?;
            let values = [
                arrow::compute::take(&el.values, &left, None)?,
                arrow::compute::take(&el.values, &right, None)?,
            ];
            let cmp = call(params, &values, body, rows, batch, layout)?;
            let cmp = cast_array(&cmp, &DataType::Int64)?;
            let cmp = cmp
                .as_primitive_opt::<arrow::datatypes::Int64Type>()
                .ok_or_else(|| internal("the comparator's result"))?;
            for (k, &m) in active.iter().enumerate() {
                if cmp.is_null(k) {
                    return Err(QuarryError::Execution(
                        "[COMPARATOR_RETURNS_NULL] The comparator of array_sort returned NULL for a comparison; it should return a negative integer for \"less than\", 0 for \"equal\" and a positive integer for \"greater than\"".into(),
                    ));
                }
                let mg = &mut merges[m];
                // stable: the left run's element first when level
                let from = if cmp.value(k) <= 0 { 0 } else { 2 };
                next[mg[4]] = perm[mg[from]];
                mg[from] += 1;
                mg[4] += 1;
            }
        }
        for [l, le, r, re, mut out] in merges {
            for k in (l..le).chain(r..re) {
                next[out] = perm[k];
                out += 1;
            }
        }
        perm = next;
        width *= 2;
    }
    let order = UInt32Array::from(perm);
    let values = arrow::compute::take(&el.values, &order, None)?;
    list_array(
        data_type,
        &values,
        el.offsets.clone(),
        el.list.nulls().cloned(),
    )
}

/// A list column of type `t` (a `List`) from its elements (cast to the element type),
/// the rows' offsets into them and the rows' nulls.
fn list_array(
    t: &DataType,
    values: &ArrayRef,
    offsets: Vec<i32>,
    nulls: Option<arrow::buffer::NullBuffer>,
) -> Result<ArrayRef> {
    let DataType::List(field) = t else {
        return Err(internal("a list function's type"));
    };
    let values = cast_array(values, field.data_type())?;
    Ok(Arc::new(ListArray::try_new(
        field.clone(),
        OffsetBuffer::new(offsets.into()),
        values,
        nulls,
    )?))
}

/// `map_filter` and `transform_values`: the lambda over each entry's key and value.
fn over_map(
    func: HigherOrderFunc,
    m: &ArrayRef,
    args: &[Expr],
    data_type: &DataType,
    batch: &RecordBatch,
    layout: &Layout,
) -> Result<ArrayRef> {
    let map = m
        .as_map_opt()
        .ok_or_else(|| internal(&format!("a map argument expected, got {}", m.data_type())))?;
    let (params, body) = lambda(args.get(1))?;
    let (first, offsets) = rebased(map.value_offsets());
    let len = offsets.last().copied().unwrap_or(0) as usize;
    let keys = map.keys().slice(first, len);
    let values = map.values().slice(first, len);
    let out = call(
        params,
        &[keys.clone(), values.clone()],
        body,
        &element_rows(&offsets),
        batch,
        layout,
    )?;
    let (keys, values, offsets) = if func == HigherOrderFunc::MapFilter {
        let keep = kept(&out)?;
        (
            arrow::compute::filter(&keys, &keep)?,
            arrow::compute::filter(&values, &keep)?,
            kept_offsets(&offsets, &keep),
        )
    } else {
        (keys, out, offsets)
    };
    map_array(data_type, keys, &values, offsets, map.nulls().cloned())
}

/// A map column of type `t` (a `Map`) from its entries' keys and values (the values
/// cast to the value type), the rows' offsets into them and the rows' nulls.
fn map_array(
    t: &DataType,
    keys: ArrayRef,
    values: &ArrayRef,
    offsets: Vec<i32>,
    nulls: Option<arrow::buffer::NullBuffer>,
) -> Result<ArrayRef> {
    let DataType::Map(entries_field, sorted) = t else {
        return Err(internal("a map result type"));
    };
    let DataType::Struct(kv) = entries_field.data_type() else {
        return Err(internal("a map's entries type"));
    };
    let values = cast_array(values, kv[1].data_type())?;
    let entries = arrow::array::StructArray::try_new(kv.clone(), vec![keys, values], None)?;
    Ok(Arc::new(arrow::array::MapArray::try_new(
        entries_field.clone(),
        OffsetBuffer::new(offsets.into()),
        entries,
        nulls,
        *sorted,
    )?))
}

/// `map_zip_with(m1, m2, (k, v1, v2) -> f)` (Spark's MapZipWith): per row, the keys of
/// `m1` in order, then those of `m2` that `m1` lacks (keys compared in arrow's row
/// format, so equal values of any key type match); `v1`/`v2` are the key's value in
/// each map, NULL where the map lacks it. The body runs once over all the batch's
/// entries. NULL when either map is NULL. The binder gives both maps one key type.
fn map_zip_with(
    m1: &ArrayRef,
    args: &[Expr],
    data_type: &DataType,
    batch: &RecordBatch,
    layout: &Layout,
) -> Result<ArrayRef> {
    let m2 = evaluate(
        args.get(1).ok_or_else(|| internal("no second map"))?,
        batch,
        layout,
    )?;
    let (a, b) = match (m1.as_map_opt(), m2.as_map_opt()) {
        (Some(a), Some(b)) => (a, b),
        _ => return Err(internal("map_zip_with over non-maps")),
    };
    let (params, body) = lambda(args.get(2))?;
    let (fa, oa) = rebased(a.value_offsets());
    let (fb, ob) = rebased(b.value_offsets());
    let (na, nb) = (
        oa.last().copied().unwrap_or(0) as usize,
        ob.last().copied().unwrap_or(0) as usize,
    );
    let (ka, va) = (a.keys().slice(fa, na), a.values().slice(fa, na));
    let (kb, vb) = (b.keys().slice(fb, nb), b.values().slice(fb, nb));
    let conv =
        arrow::row::RowConverter::new(vec![arrow::row::SortField::new(ka.data_type().clone())])?;
    let (ra, rb) = (
        conv.convert_columns(std::slice::from_ref(&ka))?,
        conv.convert_columns(std::slice::from_ref(&kb))?,
    );
    // per entry of the result: its key (source 0 = m1, 1 = m2, and position), its
    // value positions in m1 and m2, its row
    let mut key_at: Vec<(usize, usize)> = vec![];
    let (mut in_a, mut in_b): (Vec<Option<u32>>, Vec<Option<u32>>) = (vec![], vec![]);
    let mut rows: Vec<u32> = vec![];
    let mut offsets: Vec<i32> = vec![0];
    let n = a.len();
    for r in 0..n {
        if a.is_valid(r) && b.is_valid(r) {
            let (sa, ea) = (oa[r] as usize, oa[r + 1] as usize);
            let (sb, eb) = (ob[r] as usize, ob[r + 1] as usize);
            let of_b: std::collections::HashMap<&[u8], usize> =
                (sb..eb).map(|j| (rb.row(j).data(), j)).collect();
            let mut taken = vec![false; eb - sb];
            for i in sa..ea {
                let j = of_b.get(ra.row(i).data()).copied();
                if let Some(j) = j {
                    taken[j - sb] = true;
                }
                key_at.push((0, i));
                in_a.push(Some(i as u32));
                in_b.push(j.map(|j| j as u32));
                rows.push(r as u32);
            }
            for j in sb..eb {
                if !taken[j - sb] {
                    key_at.push((1, j));
                    in_a.push(None);
                    in_b.push(Some(j as u32));
                    rows.push(r as u32);
                }
            }
        }
        offsets.push(key_at.len() as i32);
    }
    let keys = arrow::compute::interleave(&[ka.as_ref(), kb.as_ref()], &key_at)?;
    let v1 = arrow::compute::take(&va, &UInt32Array::from(in_a), None)?;
    let v2 = arrow::compute::take(&vb, &UInt32Array::from(in_b), None)?;
    let out = call(
        params,
        &[keys.clone(), v1, v2],
        body,
        &UInt32Array::from(rows),
        batch,
        layout,
    )?;
    let nulls = arrow::buffer::NullBuffer::union(a.nulls(), b.nulls());
    map_array(data_type, keys, &out, offsets, nulls)
}

/// `aggregate(array, zero, (acc, x) -> merge [, acc -> finish])`: the merge runs at each
/// element position k over the rows with more than k elements, their accumulators
/// replaced by its values; then the finish (if any) over every row's accumulator. The
/// rows are ordered longest first, so those still folding are a prefix that shrinks:
/// the work is the batch's element count (plus a sort of its rows), however long the
/// longest array.
fn aggregate(
    args: &[Expr],
    data_type: &DataType,
    el: &Elements,
    batch: &RecordBatch,
    layout: &Layout,
) -> Result<ArrayRef> {
    let zero = args
        .get(1)
        .ok_or_else(|| internal("aggregate without a start"))?;
    let (params, merge) = lambda(args.get(2))?;
    let acc_type = zero.data_type();
    let start = cast_array(&evaluate(zero, batch, layout)?, &acc_type)?;
    let n = el.list.len();
    let len = |r: u32| el.offsets[r as usize + 1] - el.offsets[r as usize];
    // rows by length, longest first: the rows still folding at position k are a prefix
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_by_key(|&r| std::cmp::Reverse(len(r)));
    let active = |k: i32| order.partition_point(|&r| len(r) > k);
    let mut acc = arrow::compute::take(&start, &UInt32Array::from(order.clone()), None)?;
    // accumulators of rows that are done, as slices of the sorted order from the back
    let mut done: Vec<ArrayRef> = vec![];
    let mut count = active(0);
    done.push(acc.slice(count, n - count));
    acc = acc.slice(0, count);
    let mut k = 0i32;
    while count > 0 {
        let rows = UInt32Array::from(order[..count].to_vec());
        let at = UInt32Array::from(
            order[..count]
                .iter()
                .map(|&r| (el.offsets[r as usize] + k) as u32)
                .collect::<Vec<_>>(),
        );
        let x_k = arrow::compute::take(&el.values, &at, None)?;
        let merged = cast_array(
            &call(params, &[acc, x_k], merge, &rows, batch, layout)?,
            &acc_type,
        )?;
        k += 1;
        let next = active(k);
        done.push(merged.slice(next, count - next));
        acc = merged.slice(0, next);
        count = next;
    }
    done.reverse();
    let refs: Vec<&dyn Array> = done.iter().map(|a| a.as_ref()).collect();
    let sorted = arrow::compute::concat(&refs)?;
    // back to the rows' order
    let mut place = vec![0u32; n];
    for (i, &r) in order.iter().enumerate() {
        place[r as usize] = i as u32;
    }
    let acc = arrow::compute::take(&sorted, &UInt32Array::from(place), None)?;
    let out = match args.get(3) {
        Some(finish) => {
            let (fp, fbody) = lambda(Some(finish))?;
            let all = UInt32Array::from((0..n as u32).collect::<Vec<_>>());
            call(fp, &[acc], fbody, &all, batch, layout)?
        }
        None => acc,
    };
    let out = cast_array(&out, data_type)?;
    // a NULL array gives NULL
    match el.list.nulls() {
        Some(nulls) if nulls.null_count() > 0 => {
            let is_null = BooleanArray::new(!nulls.inner(), None);
            Ok(arrow::compute::nullif(&out, &is_null)?)
        }
        _ => Ok(out),
    }
}
