//! Compact group keys: one byte string per row for hashing and equality (GROUP BY), not
//! for ordering. arrow-row's encoding sorts, which costs: a string becomes 32-byte blocks
//! with continuation markers (a one-letter flag takes 34 bytes), and a key of two flags
//! 68 bytes to write, hash and compare. Here a string takes its bytes plus a length byte.
//!
//! Per column, each value is prefix-free, so a row's key (the columns' encodings one
//! after another) is equal for two rows exactly when every column is equal, NULLs equal
//! to each other:
//! - NULL: `0`.
//! - fixed width (integers, dates, times, timestamps, decimals): `1`, then the value's
//!   little-endian bytes.
//! - strings and binary: `1`, the length (one byte below 255, else `255` and four bytes
//!   LE), then the bytes.
//! - booleans: `1` for false, `2` for true.
//!
//! Floating-point keys stay on arrow-row ([`CompactKeys::try_new`] declines them), so
//! `-0.0` and NaN group as they did.

use std::sync::Arc;

use arrow::array::{
    make_array, Array, ArrayData, ArrayRef, AsArray, BooleanArray, OffsetSizeTrait,
};
use arrow::buffer::{Buffer, MutableBuffer, NullBuffer};
use arrow::datatypes::DataType;

use crate::error::{QuarryError, Result};

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// A primitive of this many bytes.
    Fixed(usize),
    /// Strings or binaries with i32 offsets (Utf8, Binary).
    Bytes32,
    /// Strings or binaries with i64 offsets (LargeUtf8, LargeBinary).
    Bytes64,
    Boolean,
}

/// The encoding of one list of GROUP BY key types.
pub struct CompactKeys {
    kinds: Vec<Kind>,
    types: Vec<DataType>,
}

impl CompactKeys {
    /// The encoding for these key types, or `None` when one of them is not covered
    /// (floats, nested types, dictionaries, ...).
    pub fn try_new(types: &[DataType]) -> Option<CompactKeys> {
        use DataType::*;
        let kinds = types
            .iter()
            .map(|t| {
                Some(match t {
                    Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Date32
                    | Date64 | Time32(_) | Time64(_) | Timestamp(..) | Decimal128(..)
                    | Decimal256(..) => Kind::Fixed(t.primitive_width()?),
                    Utf8 | Binary => Kind::Bytes32,
                    LargeUtf8 | LargeBinary => Kind::Bytes64,
                    Boolean => Kind::Boolean,
                    _ => return None,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(CompactKeys {
            kinds,
            types: types.to_vec(),
        })
    }

    /// Encode the rows of `cols` (one array per key, all of one length `n`): row `i`'s
    /// key is `data[offsets[i]..offsets[i + 1]]` afterwards (both buffers are cleared
    /// first and reused, so a caller keeps them across batches).
    pub fn encode(
        &self,
        cols: &[ArrayRef],
        data: &mut Vec<u8>,
        offsets: &mut Vec<usize>,
    ) -> Result<()> {
        let n = cols.first().map_or(0, |c| c.len());
        let cols = self.cast(cols)?;
        // sizes first, then one pass per column writing at each row's cursor
        let mut lens = vec![0usize; n];
        for (c, k) in cols.iter().zip(&self.kinds) {
            match k {
                Kind::Fixed(w) => add_fixed(&mut lens, c.nulls(), *w),
                Kind::Boolean => lens.iter_mut().for_each(|l| *l += 1),
                Kind::Bytes32 => {
                    with_bytes::<i32, _>(c, |offs, _| add_bytes(&mut lens, offs, c.nulls()))
                }
                Kind::Bytes64 => {
                    with_bytes::<i64, _>(c, |offs, _| add_bytes(&mut lens, offs, c.nulls()))
                }
            }
        }
        offsets.clear();
        offsets.reserve(n + 1);
        offsets.push(0);
        let mut total = 0;
        for l in &lens {
            total += l;
            offsets.push(total);
        }
        data.clear();
        data.resize(total, 0);
        // lens becomes each row's write cursor
        lens.copy_from_slice(&offsets[..n]);
        let pos = &mut lens;
        for (c, k) in cols.iter().zip(&self.kinds) {
            match k {
                Kind::Fixed(w) => {
                    let d = c.to_data();
                    let values = &d.buffers()[0].as_slice()[d.offset() * w..];
                    write_fixed(data, pos, values, *w, c.nulls());
                }
                Kind::Boolean => {
                    let a = c.as_boolean();
                    for (i, p) in pos.iter_mut().enumerate() {
                        data[*p] = if a.is_null(i) {
                            0
                        } else {
                            1 + a.value(i) as u8
                        };
                        *p += 1;
                    }
                }
                Kind::Bytes32 => with_bytes::<i32, _>(c, |offs, values| {
                    write_bytes(data, pos, offs, values, c.nulls())
                }),
                Kind::Bytes64 => with_bytes::<i64, _>(c, |offs, values| {
                    write_bytes(data, pos, offs, values, c.nulls())
                }),
            }
        }
        Ok(())
    }

    /// `cols` as the key types (a key expression may come out of another width).
    fn cast(&self, cols: &[ArrayRef]) -> Result<Vec<ArrayRef>> {
        cols.iter()
            .zip(&self.types)
            .map(|(c, t)| {
                if c.data_type() == t {
                    Ok(c.clone())
                } else {
                    super::eval::cast_array(c, t)
                }
            })
            .collect()
    }

    /// Whether keys of these types can fit in 8 bytes (fixed widths and strings of up to
    /// one byte with their tags and lengths), so [`CompactKeys::pack`] is worth trying:
    /// two one-letter flags (TPC-H Q01's `l_returnflag, l_linestatus`) take 6 bytes.
    pub fn packable(&self) -> bool {
        self.kinds
            .iter()
            .map(|k| match k {
                Kind::Fixed(w) => 1 + w,
                Kind::Boolean => 1,
                Kind::Bytes32 | Kind::Bytes64 => 3,
            })
            .sum::<usize>()
            <= 8
    }

    /// Each row's encoding (as [`CompactKeys::encode`] writes it) zero-padded to 8 bytes
    /// and read as a little-endian `u64`, one per row into `out` (cleared first), so the
    /// keys group as integers: no byte strings to write, hash and compare. Encodings are
    /// prefix-free, so padding keeps distinct keys distinct. Returns false, with `out`
    /// unspecified, when some row of this batch needs more than 8 bytes.
    pub fn pack(&self, cols: &[ArrayRef], out: &mut Vec<u64>) -> Result<bool> {
        let n = cols.first().map_or(0, |c| c.len());
        let cols = self.cast(cols)?;
        // the widest row each column can give in this batch, summed: the fit, checked
        // before anything is written
        let mut widest = 0;
        // and whether every row's encoding is as wide (no NULLs, strings of one length):
        // then each column sits at one bit position in every key
        let mut uniform = true;
        let mut widths = Vec::with_capacity(cols.len());
        for (c, k) in cols.iter().zip(&self.kinds) {
            uniform &= c.null_count() == 0;
            let width = match k {
                Kind::Fixed(w) => 1 + w,
                Kind::Boolean => 1,
                Kind::Bytes32 | Kind::Bytes64 => {
                    let (lo, hi) = match k {
                        Kind::Bytes32 => with_bytes::<i32, _>(c, |offs, _| len_range(&offs[..=n])),
                        _ => with_bytes::<i64, _>(c, |offs, _| len_range(&offs[..=n])),
                    };
                    uniform &= lo == hi;
                    2 + hi
                }
            };
            widths.push(width as u32);
            widest += width;
            if widest > 8 {
                return Ok(false);
            }
        }
        out.clear();
        out.resize(n, 0);
        if uniform {
            let mut at = Uniform(0);
            for ((c, k), w) in cols.iter().zip(&self.kinds).zip(widths) {
                match k {
                    // strings of one length, no NULLs: the values lie back to back
                    Kind::Bytes32 => with_bytes::<i32, _>(c, |offs, values| {
                        pack_bytes_uniform(out, at.0, offs, values, w as usize - 2)
                    }),
                    Kind::Bytes64 => with_bytes::<i64, _>(c, |offs, values| {
                        pack_bytes_uniform(out, at.0, offs, values, w as usize - 2)
                    }),
                    _ => pack_column(c, *k, out, &mut at)?,
                }
                at.0 += 8 * w;
            }
        } else {
            let mut at = PerRow(vec![0u32; n]);
            for (c, k) in cols.iter().zip(&self.kinds) {
                pack_column(c, *k, out, &mut at)?;
            }
        }
        Ok(true)
    }

    /// The length of the encoding at the start of `key` (which may go on, e.g. with the
    /// zero padding of [`CompactKeys::pack`]); `None` when `key` is cut short.
    pub fn encoded_len(&self, key: &[u8]) -> Option<usize> {
        let mut p = 0;
        for k in &self.kinds {
            let tag = *key.get(p)?;
            p += 1;
            if tag == 0 {
                continue;
            }
            match k {
                Kind::Fixed(w) => p += w,
                Kind::Boolean => {}
                Kind::Bytes32 | Kind::Bytes64 => {
                    let l = *key.get(p)? as usize;
                    p += if l < 255 {
                        1 + l
                    } else {
                        let b = key.get(p + 1..p + 5)?;
                        5 + u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
                    };
                }
            }
        }
        (p <= key.len()).then_some(p)
    }

    /// The key columns of `keys` (each one row's encoding, as [`CompactKeys::encode`]
    /// wrote it), one array per key type. Errors on a key this encoding did not write.
    pub fn decode(&self, keys: &[&[u8]]) -> Result<Vec<ArrayRef>> {
        let bad = || QuarryError::Internal("malformed group key".into());
        let n = keys.len();
        let mut pos = vec![0usize; n];
        let mut out = vec![];
        for (k, t) in self.kinds.iter().zip(&self.types) {
            let mut valid = Vec::with_capacity(n);
            let array: ArrayRef = match k {
                Kind::Fixed(w) => {
                    // arrow's buffer allocation: aligned for any primitive (a Vec<u8>
                    // is not, and arrays of wider types reject it)
                    let mut values = MutableBuffer::from_len_zeroed(n * w);
                    let out = values.as_slice_mut();
                    for (i, key) in keys.iter().enumerate() {
                        let tag = *key.get(pos[i]).ok_or_else(bad)?;
                        pos[i] += 1;
                        valid.push(tag != 0);
                        if tag != 0 {
                            let v = key.get(pos[i]..pos[i] + w).ok_or_else(bad)?;
                            out[i * w..(i + 1) * w].copy_from_slice(v);
                            pos[i] += w;
                        }
                    }
                    let d = ArrayData::builder(t.clone())
                        .len(n)
                        .add_buffer(values.into())
                        .nulls(Some(NullBuffer::from(valid)))
                        .build()?;
                    make_array(d)
                }
                Kind::Boolean => {
                    let mut vals = Vec::with_capacity(n);
                    for (i, key) in keys.iter().enumerate() {
                        let tag = *key.get(pos[i]).ok_or_else(bad)?;
                        pos[i] += 1;
                        vals.push((tag != 0).then_some(tag == 2));
                    }
                    Arc::new(BooleanArray::from(vals))
                }
                Kind::Bytes32 => decode_bytes::<i32>(keys, &mut pos, t)?,
                Kind::Bytes64 => decode_bytes::<i64>(keys, &mut pos, t)?,
            };
            out.push(array);
        }
        Ok(out)
    }
}

/// `f` over a string or binary column's offsets (from its own offset on) and value
/// bytes: strings and binaries share this layout, and the encoding only reads bytes.
fn with_bytes<O: OffsetSizeTrait, R>(c: &ArrayRef, f: impl FnOnce(&[O], &[u8]) -> R) -> R {
    let d = c.to_data();
    f(d.buffer::<O>(0), d.buffers()[1].as_slice())
}

/// The shortest and longest value of a string column with these offsets (0, 0 when
/// it has no rows).
fn len_range<O: OffsetSizeTrait>(offs: &[O]) -> (usize, usize) {
    offs.windows(2)
        .map(|w| (w[1] - w[0]).as_usize())
        .fold(None, |r: Option<(usize, usize)>, l| {
            Some(r.map_or((l, l), |(lo, hi)| (lo.min(l), hi.max(l))))
        })
        .unwrap_or((0, 0))
}

/// Where each row's next byte goes in its packed key (a bit position).
trait Cursor {
    fn at(&self, i: usize) -> u32;
    /// Row `i`'s encoding of the current column took `bits`.
    fn advance(&mut self, i: usize, bits: u32);
}

/// One position for every row: the caller moves it past each column.
struct Uniform(u32);
impl Cursor for Uniform {
    #[inline(always)]
    fn at(&self, _: usize) -> u32 {
        self.0
    }
    #[inline(always)]
    fn advance(&mut self, _: usize, _: u32) {}
}

/// One position per row.
struct PerRow(Vec<u32>);
impl Cursor for PerRow {
    #[inline(always)]
    fn at(&self, i: usize) -> u32 {
        self.0[i]
    }
    #[inline(always)]
    fn advance(&mut self, i: usize, bits: u32) {
        self.0[i] += bits;
    }
}

/// One column of [`CompactKeys::pack`] (false never: the widths were checked).
fn pack_column(c: &ArrayRef, k: Kind, out: &mut [u64], at: &mut impl Cursor) -> Result<()> {
    let nulls = c.nulls();
    match k {
        Kind::Fixed(w) => {
            let d = c.to_data();
            let values = &d.buffers()[0].as_slice()[d.offset() * w..];
            match w {
                1 => pack_fixed::<1>(out, at, values, nulls),
                2 => pack_fixed::<2>(out, at, values, nulls),
                4 => pack_fixed::<4>(out, at, values, nulls),
                _ => return Err(QuarryError::Internal("a packed key too wide".into())),
            }
        }
        Kind::Boolean => {
            let a = c.as_boolean();
            for (i, key) in out.iter_mut().enumerate() {
                let tag = if a.is_null(i) {
                    0
                } else {
                    1 + a.value(i) as u64
                };
                *key |= tag << at.at(i);
                at.advance(i, 8);
            }
        }
        Kind::Bytes32 => {
            with_bytes::<i32, _>(c, |offs, values| pack_bytes(out, at, offs, values, nulls))
        }
        Kind::Bytes64 => {
            with_bytes::<i64, _>(c, |offs, values| pack_bytes(out, at, offs, values, nulls))
        }
    }
    Ok(())
}

/// [`CompactKeys::pack`] for a primitive of `W` bytes (`1 + W <= 8`).
fn pack_fixed<const W: usize>(
    out: &mut [u64],
    at: &mut impl Cursor,
    values: &[u8],
    nulls: Option<&NullBuffer>,
) {
    let value = |i: usize| {
        let mut b = [0u8; 8];
        b[..W].copy_from_slice(&values[i * W..(i + 1) * W]);
        u64::from_le_bytes(b)
    };
    for (i, key) in out.iter_mut().enumerate() {
        if nulls.is_some_and(|nb| nb.is_null(i)) {
            at.advance(i, 8);
        } else {
            *key |= (1 | value(i) << 8) << at.at(i);
            at.advance(i, 8 * (1 + W as u32));
        }
    }
}

/// [`CompactKeys::pack`] for strings or binaries all `len` bytes long (at most 6) with
/// no NULLs, at bit `shift` of every key: row `i`'s bytes are `len` bytes at
/// `offs[0] + i * len`, so no offset is read per row (TPC-H Q01's one-letter flags).
fn pack_bytes_uniform<O: OffsetSizeTrait>(
    out: &mut [u64],
    shift: u32,
    offs: &[O],
    values: &[u8],
    len: usize,
) {
    let n = out.len();
    let start = offs.first().map_or(0, |o| o.as_usize());
    let vals = &values[start..start + n * len];
    let head = (1 | (len as u64) << 8) << shift;
    match len {
        0 => out.iter_mut().for_each(|k| *k |= head),
        1 => {
            for (k, &b) in out.iter_mut().zip(vals) {
                *k |= head | (b as u64) << (16 + shift);
            }
        }
        _ => {
            for (k, v) in out.iter_mut().zip(vals.chunks_exact(len)) {
                let bytes = v.iter().rev().fold(0u64, |acc, &x| acc << 8 | x as u64);
                *k |= head | bytes << (16 + shift);
            }
        }
    }
}

/// [`CompactKeys::pack`] for strings or binaries (each at most 6 bytes long here).
fn pack_bytes<O: OffsetSizeTrait>(
    out: &mut [u64],
    at: &mut impl Cursor,
    offs: &[O],
    values: &[u8],
    nulls: Option<&NullBuffer>,
) {
    for (i, key) in out.iter_mut().enumerate() {
        if nulls.is_some_and(|nb| nb.is_null(i)) {
            at.advance(i, 8);
            continue;
        }
        let (start, end) = (offs[i].as_usize(), offs[i + 1].as_usize());
        let len = end - start;
        // one 8-byte load, masked to the value (a byte-wise copy to a stack buffer and a
        // load of it stalls on store forwarding); the last values byte by byte
        let bytes = match values.get(start..start + 8) {
            Some(b) => {
                let mut w = [0u8; 8];
                w.copy_from_slice(b);
                u64::from_le_bytes(w) & ((1u64 << (8 * len)) - 1)
            }
            None => values[start..end]
                .iter()
                .rev()
                .fold(0u64, |acc, &x| acc << 8 | x as u64),
        };
        *key |= (1 | (len as u64) << 8 | bytes << 16) << at.at(i);
        at.advance(i, 8 * (2 + len as u32));
    }
}

fn add_fixed(lens: &mut [usize], nulls: Option<&NullBuffer>, w: usize) {
    match nulls {
        None => lens.iter_mut().for_each(|l| *l += 1 + w),
        Some(nb) => lens
            .iter_mut()
            .enumerate()
            .for_each(|(i, l)| *l += if nb.is_valid(i) { 1 + w } else { 1 }),
    }
}

/// The encoded size of a string of `len` bytes (tag, length prefix, bytes).
#[inline]
fn bytes_size(len: usize) -> usize {
    if len < 255 {
        2 + len
    } else {
        6 + len
    }
}

fn add_bytes<O: OffsetSizeTrait>(lens: &mut [usize], offs: &[O], nulls: Option<&NullBuffer>) {
    for (i, l) in lens.iter_mut().enumerate() {
        *l += match nulls {
            Some(nb) if nb.is_null(i) => 1,
            _ => bytes_size((offs[i + 1] - offs[i]).as_usize()),
        };
    }
}

fn write_fixed(
    data: &mut [u8],
    pos: &mut [usize],
    values: &[u8],
    w: usize,
    nulls: Option<&NullBuffer>,
) {
    for (i, p) in pos.iter_mut().enumerate() {
        if nulls.is_some_and(|nb| nb.is_null(i)) {
            data[*p] = 0;
            *p += 1;
        } else {
            data[*p] = 1;
            data[*p + 1..*p + 1 + w].copy_from_slice(&values[i * w..(i + 1) * w]);
            *p += 1 + w;
        }
    }
}

fn write_bytes<O: OffsetSizeTrait>(
    data: &mut [u8],
    pos: &mut [usize],
    offs: &[O],
    values: &[u8],
    nulls: Option<&NullBuffer>,
) {
    for (i, p) in pos.iter_mut().enumerate() {
        if nulls.is_some_and(|nb| nb.is_null(i)) {
            data[*p] = 0;
            *p += 1;
            continue;
        }
        let (s, e) = (offs[i].as_usize(), offs[i + 1].as_usize());
        let len = e - s;
        data[*p] = 1;
        let mut q = *p + 1;
        if len < 255 {
            data[q] = len as u8;
            q += 1;
        } else {
            data[q] = 255;
            data[q + 1..q + 5].copy_from_slice(&(len as u32).to_le_bytes());
            q += 5;
        }
        copy_small(&mut data[q..q + len], &values[s..e]);
        *p = q + len;
    }
}

/// `dst.copy_from_slice(src)` without a `memcpy` call for up to 16 bytes: two fixed-size
/// copies that overlap to cover the length exactly (group keys mostly are short).
#[inline(always)]
pub fn copy_small(dst: &mut [u8], src: &[u8]) {
    let n = src.len().min(dst.len());
    match n {
        0 => {}
        1 => dst[0] = src[0],
        2..=3 => {
            dst[..2].copy_from_slice(&src[..2]);
            dst[n - 2..n].copy_from_slice(&src[n - 2..n]);
        }
        4..=7 => {
            dst[..4].copy_from_slice(&src[..4]);
            dst[n - 4..n].copy_from_slice(&src[n - 4..n]);
        }
        8..=16 => {
            dst[..8].copy_from_slice(&src[..8]);
            dst[n - 8..n].copy_from_slice(&src[n - 8..n]);
        }
        _ => dst[..n].copy_from_slice(&src[..n]),
    }
}

/// `a == b` for byte strings, by a byte loop when short: group keys mostly are (flags,
/// codes, dates), and a `memcmp` call costs more than the comparison below 16 bytes.
#[inline]
pub fn eq_short(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && if a.len() <= 16 {
            a.iter().zip(b).all(|(x, y)| x == y)
        } else {
            a == b
        }
}

fn decode_bytes<O: OffsetSizeTrait>(
    keys: &[&[u8]],
    pos: &mut [usize],
    t: &DataType,
) -> Result<ArrayRef> {
    let bad = || QuarryError::Internal("malformed group key".into());
    let mut offsets: Vec<O> = Vec::with_capacity(keys.len() + 1);
    offsets.push(O::usize_as(0));
    let mut values: Vec<u8> = vec![];
    let mut valid = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        let tag = *key.get(pos[i]).ok_or_else(bad)?;
        pos[i] += 1;
        valid.push(tag != 0);
        if tag != 0 {
            let first = *key.get(pos[i]).ok_or_else(bad)?;
            pos[i] += 1;
            let len = if first < 255 {
                first as usize
            } else {
                let b = key.get(pos[i]..pos[i] + 4).ok_or_else(bad)?;
                pos[i] += 4;
                u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
            };
            values.extend_from_slice(key.get(pos[i]..pos[i] + len).ok_or_else(bad)?);
            pos[i] += len;
        }
        offsets.push(O::usize_as(values.len()));
    }
    // build() checks the offsets and, for strings, that the bytes are UTF-8
    let d = ArrayData::builder(t.clone())
        .len(keys.len())
        .add_buffer(Buffer::from_vec(offsets))
        .add_buffer(Buffer::from_vec(values))
        .nulls(Some(NullBuffer::from(valid)))
        .build()?;
    Ok(make_array(d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        Date32Array, Decimal128Array, Int16Array, Int32Array, Int64Array, Int8Array,
        LargeStringArray, StringArray,
    };

    #[test]
    fn keys_round_trip_and_equal_exactly_when_rows_are() {
        let long = "x".repeat(300);
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![
                Some("a"),
                Some(""),
                None,
                Some("a"),
                Some(long.as_str()),
                Some("ab"),
            ])),
            Arc::new(Int64Array::from(vec![
                Some(1),
                Some(1),
                Some(1),
                Some(1),
                None,
                Some(0),
            ])),
            Arc::new(BooleanArray::from(vec![
                Some(true),
                None,
                Some(false),
                Some(true),
                Some(true),
                Some(true),
            ])),
            Arc::new(
                Decimal128Array::from(vec![Some(5), Some(5), None, Some(5), Some(-7), Some(5)])
                    .with_precision_and_scale(15, 2)
                    .unwrap(),
            ),
            Arc::new(Date32Array::from(vec![1, 2, 3, 1, 5, 6])),
            Arc::new(LargeStringArray::from(vec!["", "b", "", "", "q", "bb"])),
            Arc::new(Int32Array::from(vec![
                Some(7),
                Some(8),
                None,
                Some(7),
                Some(9),
                Some(1),
            ])),
            Arc::new(Int16Array::from(vec![1, 2, 3, 1, 5, 6])),
        ];
        let types: Vec<DataType> = cols.iter().map(|c| c.data_type().clone()).collect();
        let enc = CompactKeys::try_new(&types).unwrap();
        let (mut data, mut offsets) = (vec![], vec![]);
        enc.encode(&cols, &mut data, &mut offsets).unwrap();
        let keys: Vec<&[u8]> = (0..6).map(|i| &data[offsets[i]..offsets[i + 1]]).collect();
        // rows 0 and 3 are equal; no other two are
        for i in 0..6 {
            for j in 0..6 {
                let same = i == j || (i.min(j), i.max(j)) == (0, 3);
                assert_eq!(keys[i] == keys[j], same, "rows {i} and {j}");
            }
        }
        // a sliced batch (array offsets past 0) encodes its rows as the whole one did
        let sliced: Vec<ArrayRef> = cols.iter().map(|c| c.slice(1, 5)).collect();
        let (mut sd, mut so) = (vec![], vec![]);
        enc.encode(&sliced, &mut sd, &mut so).unwrap();
        for i in 0..5 {
            assert_eq!(&sd[so[i]..so[i + 1]], keys[i + 1], "sliced row {i}");
        }
        let back = enc.decode(&keys).unwrap();
        for (a, b) in back.iter().zip(&cols) {
            assert_eq!(a.to_data(), b.to_data());
        }
        // "a" + "" must not equal "" + "a" across columns (prefix-free values)
        let two = |x: &str, y: &str| -> Vec<u8> {
            let c: Vec<ArrayRef> = vec![
                Arc::new(StringArray::from(vec![x])),
                Arc::new(StringArray::from(vec![y])),
            ];
            let e = CompactKeys::try_new(&[DataType::Utf8, DataType::Utf8]).unwrap();
            let (mut d, mut o) = (vec![], vec![]);
            e.encode(&c, &mut d, &mut o).unwrap();
            d
        };
        assert_ne!(two("a", ""), two("", "a"));
        assert!(CompactKeys::try_new(&[DataType::Float64]).is_none());
    }

    /// Packed keys: equal exactly when the encoded keys are, each the encoding padded
    /// with zeros, and decoded back to the rows; a batch with a longer key declines.
    #[test]
    fn packed_keys_are_the_encodings_padded() {
        let check = |cols: Vec<ArrayRef>| {
            let types: Vec<DataType> = cols.iter().map(|c| c.data_type().clone()).collect();
            let enc = CompactKeys::try_new(&types).unwrap();
            assert!(enc.packable());
            let n = cols[0].len();
            let (mut data, mut offsets, mut packed) = (vec![], vec![], vec![]);
            enc.encode(&cols, &mut data, &mut offsets).unwrap();
            assert!(enc.pack(&cols, &mut packed).unwrap());
            let bytes: Vec<[u8; 8]> = packed.iter().map(|p| p.to_le_bytes()).collect();
            for i in 0..n {
                let key = &data[offsets[i]..offsets[i + 1]];
                assert_eq!(&bytes[i][..key.len()], key, "row {i}");
                assert!(bytes[i][key.len()..].iter().all(|&b| b == 0), "row {i}");
                assert_eq!(enc.encoded_len(&bytes[i]), Some(key.len()), "row {i}");
                for j in 0..n {
                    let other = &data[offsets[j]..offsets[j + 1]];
                    assert_eq!(packed[i] == packed[j], key == other, "rows {i}, {j}");
                }
            }
            let keys: Vec<&[u8]> = bytes.iter().map(|b| b.as_slice()).collect();
            for (a, b) in enc.decode(&keys).unwrap().iter().zip(&cols) {
                assert_eq!(a.to_data(), b.to_data());
            }
        };
        // NULLs and strings of several lengths: a position per row
        check(vec![
            Arc::new(StringArray::from(vec![
                Some("A"),
                Some("N"),
                None,
                Some("A"),
                Some(""),
                Some("R"),
            ])),
            Arc::new(BooleanArray::from(vec![
                Some(true),
                Some(true),
                Some(false),
                Some(true),
                None,
                Some(true),
            ])),
            Arc::new(Int16Array::from(vec![
                Some(1),
                Some(-1),
                Some(1),
                Some(1),
                Some(0),
                None,
            ])),
        ]);
        // two one-letter flags (TPC-H Q01) and a sliced batch: one position for all rows
        let flags: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["x", "A", "N", "A", "R", "A", "N"])),
            Arc::new(StringArray::from(vec!["yy", "F", "O", "F", "F", "O", "O"])),
        ];
        check(flags.iter().map(|c| c.slice(1, 6)).collect());
        // uniform two-byte and empty strings (one position, values back to back)
        check(vec![
            Arc::new(StringArray::from(vec!["AB", "CD", "AB", "EF"])),
            Arc::new(StringArray::from(vec!["Q", "R", "Q", "Q"])),
        ]);
        check(vec![
            Arc::new(StringArray::from(vec!["", "", ""])),
            Arc::new(StringArray::from(vec!["A", "B", "A"])),
        ]);
        // "AB" + "" against "A" + "B", and an int with a date
        check(vec![
            Arc::new(StringArray::from(vec!["AB", "A", "", "AB"])),
            Arc::new(StringArray::from(vec!["", "B", "AB", ""])),
        ]);
        check(vec![
            Arc::new(Int32Array::from(vec![Some(7), None, Some(7), Some(-7)])),
            Arc::new(Int8Array::from(vec![Some(1), Some(1), Some(1), None])),
        ]);
        // a string of 5 bytes with a flag takes 7 + 3 bytes: not packed
        let long: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["A", "ABCDE"])),
            Arc::new(StringArray::from(vec!["F", "O"])),
        ];
        let enc = CompactKeys::try_new(&[DataType::Utf8, DataType::Utf8]).unwrap();
        assert!(!enc.pack(&long, &mut vec![]).unwrap());
        assert!(!CompactKeys::try_new(&[DataType::Int64]).unwrap().packable());
    }

    #[test]
    fn copy_small_copies_every_length_exactly() {
        let src: Vec<u8> = (1..=40).collect();
        for n in 0..=40 {
            let mut dst = vec![0u8; n + 2];
            super::copy_small(&mut dst[1..n + 1], &src[..n]);
            assert_eq!(&dst[1..n + 1], &src[..n], "{n}");
            assert_eq!((dst[0], dst[n + 1]), (0, 0), "{n}");
        }
    }
}
