//! Spark's math and bit functions beyond the basic ones in [`super::scalar`]:
//! logarithms with a base, trigonometry, `pi()`/`e()`, `bround`/`rint`, `factorial`,
//! shifts, `bin`/`hex`/`conv`, `width_bucket`, `rand`. Semantics are Spark's non-ANSI
//! mode: a domain error (log of a non-positive number) is NULL, not an error.

use std::sync::Arc;

use arrow::array::*;
use arrow::datatypes::*;

use super::random::XorShiftRandom;
use super::scalar::{ints, strings};
use crate::error::{QuarryError, Result};
use crate::types::{is_integer, is_numeric, is_string};

/// A math function (see the module docs). Names follow Spark SQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MathFunc {
    /// `log(base, x)`; `log(x)` is `ln`.
    Log,
    Log2,
    Log1p,
    Expm1,
    Cbrt,
    Sin,
    Cos,
    Tan,
    Cot,
    Sec,
    Csc,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Asinh,
    Acosh,
    Atanh,
    Degrees,
    Radians,
    Atan2,
    Hypot,
    Pi,
    E,
    /// Round half to even, to a double.
    Rint,
    /// `bround(x[, d])`: HALF_EVEN rounding to `d` decimal places.
    Bround,
    IsNan,
    Nanvl,
    Factorial,
    /// `gcd(a, b)` / `greatest_common_divisor` (DuckDB's): over bigints, never negative.
    Gcd,
    /// `lcm(a, b)` / `least_common_multiple` (DuckDB's); overflow is an error.
    Lcm,
    ShiftLeft,
    ShiftRight,
    ShiftRightUnsigned,
    /// `bin(n)`: Java's `Long.toBinaryString`.
    Bin,
    /// `hex(n)`: Java's `Long.toHexString`, upper case (strings and binaries: their bytes).
    Hex,
    /// `conv(num, from_base, to_base)`: Spark's NumberConverter.
    Conv,
    /// `width_bucket(v, min, max, n)`: the equi-width bucket of v, 0 below, n + 1 above.
    WidthBucket,
    /// `rand([seed])`/`random`: uniform in [0, 1); `randn([seed])` (`gaussian`): the
    /// standard normal distribution (mean 0, standard deviation 1). Not deterministic
    /// without a seed; a seed gives one sequence per call site and statement, drawn
    /// from Spark's XORShiftRandom (see [`XorShiftRandom`]), so rows read by one thread
    /// get the values Spark gives one partition.
    Rand {
        gaussian: bool,
    },
    /// `bit_count(x)`: set bits of an integer widened to bigint (Spark's
    /// `Long.bitCount`, so a negative int counts its sign extension: -1 gives 64), or of
    /// a boolean (0 or 1).
    BitCount,
    /// `bitwise_not(x)` (Spark's `~x`): the complement, of x's integer type.
    BitwiseNot,
    /// `bit_get(x, pos)`/`getbit`: bit `pos` (0 = least significant) as a tinyint; a
    /// position outside the type's width is an error, as in Spark.
    BitGet,
    /// `a & b`, `a | b`, `a ^ b` (Spark's BitwiseAnd/Or/Xor operators; no function
    /// names): both sides widened to their common integral type, which is the result's.
    BitwiseAnd,
    BitwiseOr,
    BitwiseXor,
    /// Integer `+`, `-` and `*` that fail on overflow (where the operators wrap, as
    /// Spark's non-ANSI mode): `try_add`, `try_subtract` and `try_multiply` run them
    /// under `try()`, so an overflow is NULL. Both arguments and the result of one
    /// integer type; not callable by name.
    CheckedAdd,
    CheckedSubtract,
    CheckedMultiply,
}

impl MathFunc {
    /// The Spark name.
    pub fn name(&self) -> &'static str {
        use MathFunc::*;
        match self {
            Log => "log",
            Log2 => "log2",
            Log1p => "log1p",
            Expm1 => "expm1",
            Cbrt => "cbrt",
            Sin => "sin",
            Cos => "cos",
            Tan => "tan",
            Cot => "cot",
            Sec => "sec",
            Csc => "csc",
            Asin => "asin",
            Acos => "acos",
            Atan => "atan",
            Sinh => "sinh",
            Cosh => "cosh",
            Tanh => "tanh",
            Asinh => "asinh",
            Acosh => "acosh",
            Atanh => "atanh",
            Degrees => "degrees",
            Radians => "radians",
            Atan2 => "atan2",
            Hypot => "hypot",
            Pi => "pi",
            E => "e",
            Rint => "rint",
            Bround => "bround",
            IsNan => "isnan",
            Nanvl => "nanvl",
            Factorial => "factorial",
            Gcd => "gcd",
            Lcm => "lcm",
            ShiftLeft => "shiftleft",
            ShiftRight => "shiftright",
            ShiftRightUnsigned => "shiftrightunsigned",
            Bin => "bin",
            Hex => "hex",
            Conv => "conv",
            WidthBucket => "width_bucket",
            Rand { gaussian: false } => "rand",
            Rand { gaussian: true } => "randn",
            BitCount => "bit_count",
            BitwiseNot => "bitwise_not",
            BitGet => "bit_get",
            BitwiseAnd => "&",
            BitwiseOr => "|",
            BitwiseXor => "^",
            CheckedAdd => "try_add",
            CheckedSubtract => "try_subtract",
            CheckedMultiply => "try_multiply",
        }
    }

    /// Look up a function by (lower-case) name.
    pub fn lookup(name: &str) -> Option<MathFunc> {
        use MathFunc::*;
        Some(match name {
            "log" => Log,
            "log2" => Log2,
            "log1p" => Log1p,
            "expm1" => Expm1,
            "cbrt" => Cbrt,
            "sin" => Sin,
            "cos" => Cos,
            "tan" => Tan,
            "cot" => Cot,
            "sec" => Sec,
            "csc" => Csc,
            "asin" => Asin,
            "acos" => Acos,
            "atan" => Atan,
            "sinh" => Sinh,
            "cosh" => Cosh,
            "tanh" => Tanh,
            "asinh" => Asinh,
            "acosh" => Acosh,
            "atanh" => Atanh,
            "degrees" => Degrees,
            "radians" => Radians,
            "atan2" => Atan2,
            "hypot" => Hypot,
            "pi" => Pi,
            "e" => E,
            "rint" => Rint,
            "bround" => Bround,
            "isnan" => IsNan,
            "nanvl" => Nanvl,
            "factorial" => Factorial,
            "gcd" | "greatest_common_divisor" => Gcd,
            "lcm" | "least_common_multiple" => Lcm,
            "shiftleft" => ShiftLeft,
            "shiftright" => ShiftRight,
            "shiftrightunsigned" => ShiftRightUnsigned,
            "bin" => Bin,
            // `to_hex` is DuckDB's name
            "hex" | "to_hex" => Hex,
            "conv" => Conv,
            "width_bucket" => WidthBucket,
            "rand" | "random" => Rand { gaussian: false },
            "randn" => Rand { gaussian: true },
            "bit_count" => BitCount,
            "bitwise_not" => BitwiseNot,
            "bit_get" | "getbit" => BitGet,
            _ => return None,
        })
    }

    /// `rand()` without a seed differs on every call.
    pub fn is_deterministic(&self) -> bool {
        !matches!(self, MathFunc::Rand { .. })
    }

    /// Argument types to cast to and the result type (see [`super::scalar::ScalarFunc::signature`]).
    pub fn signature(&self, args: &[DataType]) -> Result<(Vec<DataType>, DataType)> {
        use MathFunc::*;
        let n = args.len();
        let d = DataType::Float64;
        let l = DataType::Int64;
        let s = DataType::Utf8;
        let want = |lo: usize, hi: usize| super::check_arity(self.name(), n, lo, hi);
        Ok(match self {
            CheckedAdd | CheckedSubtract | CheckedMultiply => {
                want(2, 2)?;
                (vec![args[0].clone(); 2], args[0].clone())
            }
            Log => {
                want(1, 2)?;
                (vec![d.clone(); n], d)
            }
            Log2 | Log1p | Expm1 | Cbrt | Sin | Cos | Tan | Cot | Sec | Csc | Asin | Acos
            | Atan | Sinh | Cosh | Tanh | Asinh | Acosh | Atanh | Degrees | Radians | Rint => {
                want(1, 1)?;
                (vec![d.clone()], d)
            }
            Atan2 | Hypot | Nanvl => {
                want(2, 2)?;
                (vec![d.clone(), d.clone()], d)
            }
            Pi | E => {
                want(0, 0)?;
                (vec![], d)
            }
            Bround => {
                want(1, 2)?;
                let t = match &args[0] {
                    t @ DataType::Decimal128(..) => t.clone(),
                    t if is_integer(t) => t.clone(),
                    _ => d,
                };
                let mut v = vec![t.clone()];
                if n == 2 {
                    v.push(DataType::Int32);
                }
                (v, t)
            }
            IsNan => {
                want(1, 1)?;
                (vec![d], DataType::Boolean)
            }
            Factorial => {
                want(1, 1)?;
                (vec![DataType::Int32], l)
            }
            Gcd | Lcm => {
                want(2, 2)?;
                (vec![l.clone(), l.clone()], l)
            }
            ShiftLeft | ShiftRight | ShiftRightUnsigned => {
                want(2, 2)?;
                let t = if args[0] == DataType::Int64 {
                    l
                } else {
                    DataType::Int32
                };
                (vec![t.clone(), DataType::Int32], t)
            }
            Bin => {
                want(1, 1)?;
                (vec![l], s)
            }
            Hex => {
                want(1, 1)?;
                let t = if is_string(&args[0]) || args[0] == DataType::Binary {
                    DataType::Binary
                } else if is_numeric(&args[0]) || args[0] == DataType::Null {
                    l
                } else {
                    return Err(type_error(self, &args[0]));
                };
                (vec![t], s)
            }
            Conv => {
                want(3, 3)?;
                (vec![s.clone(), DataType::Int32, DataType::Int32], s)
            }
            WidthBucket => {
                want(4, 4)?;
                (vec![d.clone(), d.clone(), d, l.clone()], l)
            }
            Rand { .. } => {
                // (a seeded call's second argument is its stream id, added by the binder;
                // a third marks a seed the binder chose, see Binder::cte_rand_site)
                want(0, 3)?;
                (vec![l; n], DataType::Float64)
            }
            BitCount => {
                want(1, 1)?;
                let t = &args[0];
                // decimal(20,0) holds an unsigned 64-bit integer (see normalize_type)
                if !(is_integer(t)
                    || matches!(
                        t,
                        DataType::Boolean | DataType::Null | DataType::Decimal128(20, 0)
                    ))
                {
                    return Err(integral_error(self, t));
                }
                (vec![t.clone()], DataType::Int32)
            }
            BitwiseAnd | BitwiseOr | BitwiseXor => {
                want(2, 2)?;
                // an untyped NULL is an int, as in Spark
                let integral = |t: &DataType| {
                    match t {
                    DataType::Null => Ok(DataType::Int32),
                    t if is_integer(t) => Ok(t.clone()),
                    t => Err(QuarryError::Analysis(format!(
                        "[DATATYPE_MISMATCH.BINARY_OP_WRONG_TYPE] the binary operator `{}` requires integral operands, not \"{}\"",
                        self.name(),
                        crate::types::type_name(t)
                    ))),
                }
                };
                let (a, b) = (integral(&args[0])?, integral(&args[1])?);
                let t = crate::binder::coerce::wider_type(&a, &b)?;
                (vec![t.clone(), t.clone()], t)
            }
            BitwiseNot | BitGet => {
                let arity = if *self == BitGet { 2 } else { 1 };
                want(arity, arity)?;
                // an untyped NULL is an int, as in Spark
                let t = match &args[0] {
                    DataType::Null => DataType::Int32,
                    t if is_integer(t) => t.clone(),
                    t => return Err(integral_error(self, t)),
                };
                if *self == BitGet {
                    (vec![t, DataType::Int32], DataType::Int8)
                } else {
                    (vec![t.clone()], t)
                }
            }
        })
    }
}

fn type_error(f: &MathFunc, t: &DataType) -> QuarryError {
    QuarryError::Analysis(format!(
        "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve \"{}\": the argument requires a numeric, string or binary type, not \"{}\"",
        f.name(),
        crate::types::type_name(t)
    ))
}

fn integral_error(f: &MathFunc, t: &DataType) -> QuarryError {
    QuarryError::Analysis(format!(
        "[DATATYPE_MISMATCH.UNEXPECTED_INPUT_TYPE] Cannot resolve \"{}\": the argument requires an integral type, not \"{}\"",
        f.name(),
        crate::types::type_name(t)
    ))
}

/// `x`'s values as the 64 bits Spark's bit functions see: signed integers sign-extended
/// (Java widening), unsigned ones zero-extended.
fn bits64(x: &ArrayRef) -> Result<Vec<Option<u64>>> {
    Ok(match x.data_type() {
        DataType::UInt64 => x.as_primitive::<UInt64Type>().iter().collect(),
        DataType::Boolean => x.as_boolean().iter().map(|v| v.map(u64::from)).collect(),
        // an unsigned 64-bit value held as decimal(20,0); negatives as their i64 bits
        DataType::Decimal128(_, 0) => x
            .as_primitive::<Decimal128Type>()
            .iter()
            .map(|v| {
                let v = v?;
                u64::try_from(v)
                    .ok()
                    .or_else(|| i64::try_from(v).ok().map(|v| v as u64))
            })
            .collect(),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 => {
            let c = arrow::compute::cast(x, &DataType::UInt64)?;
            c.as_primitive::<UInt64Type>().iter().collect()
        }
        _ => {
            let c = arrow::compute::cast(x, &DataType::Int64)?;
            c.as_primitive::<Int64Type>()
                .iter()
                .map(|v| v.map(|v| v as u64))
                .collect()
        }
    })
}

/// The width in bits of an integer type (64 for the others).
fn bit_width(t: &DataType) -> i64 {
    t.primitive_width().map_or(64, |w| 8 * w as i64)
}

fn f64s(a: &ArrayRef) -> &Float64Array {
    a.as_primitive::<Float64Type>()
}

fn unary(a: &ArrayRef, f: impl Fn(f64) -> Option<f64>) -> ArrayRef {
    Arc::new(
        f64s(a)
            .iter()
            .map(|v| v.and_then(&f))
            .collect::<Float64Array>(),
    )
}

fn binary(a: &ArrayRef, b: &ArrayRef, f: impl Fn(f64, f64) -> Option<f64>) -> ArrayRef {
    let (a, b) = (f64s(a), f64s(b));
    Arc::new(
        a.iter()
            .zip(b.iter())
            .map(|(x, y)| match (x, y) {
                (Some(x), Some(y)) => f(x, y),
                _ => None,
            })
            .collect::<Float64Array>(),
    )
}

/// Spark's logarithms are NULL at and below their asymptote.
fn positive(x: f64) -> Option<f64> {
    (x > 0.0).then_some(x)
}

/// Round `x` half to even at `d` decimal places (negative `d`: to tens, hundreds...).
fn round_half_even(x: f64, d: i32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let m = 10f64.powi(d);
    let y = x * m;
    if !y.is_finite() {
        return x;
    }
    let r = y.round();
    let r = if (y - y.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - y.signum()
    } else {
        r
    };
    r / m
}

/// `v / m` rounded half to even (`m` > 0), for rounding an unscaled decimal or an
/// integer to `m`'s power of ten.
fn half_even_quotient(v: i128, m: i128) -> i128 {
    let (q, r) = (v / m, v % m);
    let half = m / 2;
    if r.abs() > half || (r.abs() == half && q % 2 != 0) {
        q + v.signum()
    } else {
        q
    }
}

/// Rounds an integer column (tinyint .. bigint) to `digits(i)` decimal places, HALF_EVEN when
/// `half_even` (bround) else HALF_UP (round); places >= 0 keep the value. The result has the input's
/// type and wraps as Spark's non-ANSI `RoundBase` does (`BigDecimal.setScale(d).byteValue` keeps the
/// low-order bits: `round(127y, -1)` is -126, `round(9223372036854775807L, -1)` is
/// -9223372036854775806). A NULL value or NULL places gives NULL.
pub(crate) fn round_integers(
    a: &ArrayRef,
    digits: impl Fn(usize) -> Option<i32>,
    half_even: bool,
) -> Result<ArrayRef> {
    let x = arrow::compute::cast(a, &DataType::Int64)?;
    let x = x.as_primitive::<Int64Type>();
    let rounded = (0..x.len()).map(|i| {
        let k = digits(i)?;
        if !x.is_valid(i) {
            return None;
        }
        let v = i128::from(x.value(i));
        if k >= 0 {
            return Some(v);
        }
        // past 10^38 every bigint rounds to 0
        let Some(m) = 10i128.checked_pow(k.unsigned_abs()) else {
            return Some(0);
        };
        let q = if half_even {
            half_even_quotient(v, m)
        } else {
            let (q, r) = (v / m, (v % m).abs());
            if r >= m - r {
                q + v.signum()
            } else {
                q
            }
        };
        q.checked_mul(m)
    });
    // `as` keeps the low-order bits, Java's narrowing conversion
    Ok(match a.data_type() {
        DataType::Int8 => Arc::new(rounded.map(|r| r.map(|r| r as i8)).collect::<Int8Array>()),
        DataType::Int16 => Arc::new(rounded.map(|r| r.map(|r| r as i16)).collect::<Int16Array>()),
        DataType::Int32 => Arc::new(rounded.map(|r| r.map(|r| r as i32)).collect::<Int32Array>()),
        DataType::Int64 => Arc::new(rounded.map(|r| r.map(|r| r as i64)).collect::<Int64Array>()),
        t => return Err(QuarryError::Internal(format!("integer rounding of {t}"))),
    })
}

/// Java's `Long.toHexString`/`toBinaryString`: two's complement for negatives.
fn unsigned_radix(v: i64, radix: u32) -> String {
    let mut u = v as u64;
    if u == 0 {
        return "0".into();
    }
    let mut digits = vec![];
    while u > 0 {
        let d = (u % radix as u64) as u32;
        digits.push(std::char::from_digit(d, radix).unwrap_or('0'));
        u /= radix as u64;
    }
    digits.iter().rev().collect::<String>().to_ascii_uppercase()
}

/// Spark's `conv`: the longest prefix of valid digits in `from` base (a leading '-'
/// negates), as unsigned 64 bits; printed in `to` base, signed when `to` is negative.
/// NULL for a base outside 2..=36 or no digits.
fn conv(s: &str, from: i32, to: i32) -> Option<String> {
    let tb = to.unsigned_abs();
    if !(2..=36).contains(&from) || !(2..=36).contains(&tb) {
        return None;
    }
    let fb = from as u32;
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let mut v: u64 = 0;
    let mut any = false;
    for c in digits.chars() {
        let Some(d) = c.to_digit(fb) else { break };
        any = true;
        // overflow gives all ones (-1), as Spark's NumberConverter.encode
        v = v
            .checked_mul(fb as u64)
            .and_then(|x| x.checked_add(d as u64))
            .unwrap_or(u64::MAX);
    }
    if !any {
        return None;
    }
    // NumberConverter.convert: a negative input negates before an unsigned target base (a value
    // past i64::MAX becomes -1); a signed target base prints the sign instead
    let mut v = v as i64;
    if neg && to > 0 {
        v = if v < 0 { -1 } else { -v };
    }
    let mut neg_out = neg && to < 0;
    if to < 0 && v < 0 {
        v = v.wrapping_neg();
        neg_out = true;
    }
    let mut u = v as u64;
    let mut out = vec![];
    if u == 0 {
        out.push('0');
    }
    while u > 0 {
        out.push(std::char::from_digit((u % tb as u64) as u32, tb).unwrap_or('0'));
        u /= tb as u64;
    }
    if neg_out {
        out.push('-');
    }
    Some(out.iter().rev().collect::<String>().to_ascii_uppercase())
}

/// Evaluate over arguments cast to the signature's types; `n` rows.
/// Per `rand(seed)` call (its stream id): its generator, as the batches it has filled
/// since the statement began left it (see [`reset_random_streams`]).
static RAND_STATES: std::sync::Mutex<std::collections::BTreeMap<u64, XorShiftRandom>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// Stream ids of `rand(seed)` calls (one per call the binder sees).
static RAND_STREAMS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A new stream id for a `rand(seed)` call.
pub fn new_random_stream() -> u64 {
    RAND_STREAMS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Start `rand(seed)`'s streams again (once per statement): with one thread a statement
/// then gives the same values on every run; with several, a call's batches may be filled
/// in another order, so which row gets which value can differ between runs (as Spark's
/// rand(seed) depends on the partitioning).
pub fn reset_random_streams() {
    if let Ok(mut m) = RAND_STATES.lock() {
        m.clear();
    }
}

pub fn evaluate(func: MathFunc, args: &[ArrayRef], n: usize) -> Result<ArrayRef> {
    use MathFunc::*;
    Ok(match func {
        CheckedAdd => arrow::compute::kernels::numeric::add(&args[0], &args[1])?,
        CheckedSubtract => arrow::compute::kernels::numeric::sub(&args[0], &args[1])?,
        CheckedMultiply => arrow::compute::kernels::numeric::mul(&args[0], &args[1])?,
        Log if args.len() == 1 => unary(&args[0], |x| positive(x).map(f64::ln)),
        Log => binary(&args[0], &args[1], |b, x| {
            Some(positive(x)?.ln() / positive(b)?.ln())
        }),
        Log2 => unary(&args[0], |x| positive(x).map(f64::log2)),
        Log1p => unary(&args[0], |x| (x > -1.0).then(|| x.ln_1p())),
        Expm1 => unary(&args[0], |x| Some(x.exp_m1())),
        Cbrt => unary(&args[0], |x| Some(x.cbrt())),
        Sin => unary(&args[0], |x| Some(x.sin())),
        Cos => unary(&args[0], |x| Some(x.cos())),
        Tan => unary(&args[0], |x| Some(x.tan())),
        Cot => unary(&args[0], |x| Some(1.0 / x.tan())),
        Sec => unary(&args[0], |x| Some(1.0 / x.cos())),
        Csc => unary(&args[0], |x| Some(1.0 / x.sin())),
        Asin => unary(&args[0], |x| Some(x.asin())),
        Acos => unary(&args[0], |x| Some(x.acos())),
        Atan => unary(&args[0], |x| Some(x.atan())),
        Sinh => unary(&args[0], |x| Some(x.sinh())),
        Cosh => unary(&args[0], |x| Some(x.cosh())),
        Tanh => unary(&args[0], |x| Some(x.tanh())),
        // Spark's Asinh, Acosh and Atanh formulas (not the C library's), for the same
        // last digit: asinh(1) = 0.8813735870195429
        Asinh => unary(&args[0], |x| {
            Some(if x == f64::NEG_INFINITY {
                x
            } else {
                (x + (x * x + 1.0).sqrt()).ln()
            })
        }),
        Acosh => unary(&args[0], |x| Some((x + (x * x - 1.0).sqrt()).ln())),
        Atanh => unary(&args[0], |x| Some(0.5 * (x.ln_1p() - (-x).ln_1p()))),
        Degrees => unary(&args[0], |x| Some(x.to_degrees())),
        Radians => unary(&args[0], |x| Some(x.to_radians())),
        Rint => unary(&args[0], |x| Some(round_half_even(x, 0))),
        Atan2 => binary(&args[0], &args[1], |y, x| Some(y.atan2(x))),
        Hypot => binary(&args[0], &args[1], |a, b| Some(a.hypot(b))),
        Nanvl => {
            let (a, b) = (f64s(&args[0]), f64s(&args[1]));
            Arc::new(
                (0..a.len())
                    .map(|i| match a.is_valid(i).then(|| a.value(i)) {
                        Some(x) if x.is_nan() => b.is_valid(i).then(|| b.value(i)),
                        other => other,
                    })
                    .collect::<Float64Array>(),
            )
        }
        Pi => Arc::new(Float64Array::from(vec![std::f64::consts::PI; n])),
        E => Arc::new(Float64Array::from(vec![std::f64::consts::E; n])),
        Bround => {
            let d = match args.get(1) {
                Some(a) => Some(ints(a)?),
                None => None,
            };
            let digits = |i: usize| d.map_or(Some(0), |d| d.is_valid(i).then(|| d.value(i)));
            match args[0].data_type() {
                DataType::Float64 => {
                    let a = f64s(&args[0]);
                    Arc::new(
                        (0..a.len())
                            .map(|i| {
                                let k = digits(i)?;
                                a.is_valid(i).then(|| round_half_even(a.value(i), k))
                            })
                            .collect::<Float64Array>(),
                    )
                }
                DataType::Decimal128(p, s) => {
                    let (p, s) = (*p, *s);
                    let a = args[0].as_primitive::<Decimal128Type>();
                    let out: Decimal128Array = (0..a.len())
                        .map(|i| {
                            let k = digits(i)?;
                            if !a.is_valid(i) {
                                return None;
                            }
                            let v = a.value(i);
                            let drop = i32::from(s) - k;
                            if drop <= 0 {
                                return Some(v);
                            }
                            // past 10^38 every decimal rounds to 0
                            let Some(m) = 10i128.checked_pow(drop as u32) else {
                                return Some(0);
                            };
                            half_even_quotient(v, m).checked_mul(m)
                        })
                        .collect();
                    Arc::new(out.with_precision_and_scale(p, s)?)
                }
                // integers: rounding to a negative number of places
                _ => round_integers(&args[0], digits, true)?,
            }
        }
        IsNan => Arc::new(
            f64s(&args[0])
                .iter()
                .map(|v| Some(v.is_some_and(f64::is_nan)))
                .collect::<BooleanArray>(),
        ),
        Factorial => Arc::new(
            ints(&args[0])?
                .iter()
                .map(|v| {
                    let v = v?;
                    (0..=20)
                        .contains(&v)
                        .then(|| (1..=v as i64).product::<i64>())
                })
                .collect::<Int64Array>(),
        ),
        Gcd | Lcm => {
            let (a, b) = (
                args[0].as_primitive::<Int64Type>(),
                args[1].as_primitive::<Int64Type>(),
            );
            fn gcd(mut x: i128, mut y: i128) -> i128 {
                while y != 0 {
                    (x, y) = (y, x % y);
                }
                x.abs()
            }
            let mut out = Int64Builder::with_capacity(a.len());
            for r in 0..a.len() {
                if a.is_null(r) || b.is_null(r) {
                    out.append_null();
                    continue;
                }
                let (x, y) = (a.value(r) as i128, b.value(r) as i128);
                let g = gcd(x, y);
                let v = if func == Gcd {
                    g
                } else if g == 0 {
                    0
                } else {
                    (x / g * y).abs()
                };
                out.append_value(i64::try_from(v).map_err(|_| {
                    QuarryError::Execution(format!(
                        "[ARITHMETIC_OVERFLOW] {}({x}, {y}) is out of the bigint range",
                        func.name()
                    ))
                })?);
            }
            Arc::new(out.finish())
        }
        ShiftLeft | ShiftRight | ShiftRightUnsigned => {
            use arrow::compute::kernels::arity::binary;
            let k = ints(&args[1])?;
            // Java masks the shift distance: 5 bits for int, 6 for long
            if args[0].data_type() == &DataType::Int64 {
                let a = args[0].as_primitive::<Int64Type>();
                Arc::new(binary::<_, _, _, Int64Type>(a, k, |v: i64, s: i32| {
                    let s = (s & 63) as u32;
                    match func {
                        ShiftLeft => v.wrapping_shl(s),
                        ShiftRight => v >> s,
                        _ => ((v as u64) >> s) as i64,
                    }
                })?)
            } else {
                Arc::new(binary::<_, _, _, Int32Type>(
                    ints(&args[0])?,
                    k,
                    |v: i32, s: i32| {
                        let s = (s & 31) as u32;
                        match func {
                            ShiftLeft => v.wrapping_shl(s),
                            ShiftRight => v >> s,
                            _ => ((v as u32) >> s) as i32,
                        }
                    },
                )?)
            }
        }
        BitCount => Arc::new(
            bits64(&args[0])?
                .into_iter()
                .map(|v| v.map(|v| v.count_ones() as i32))
                .collect::<Int32Array>(),
        ),
        BitwiseNot => {
            // the complement of the sign- or zero-extended value, cast back: exact, as
            // the complement of an n-bit value extends to the complement of its extension
            let t = args[0].data_type().clone();
            let signed = !matches!(
                t,
                DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64
            );
            let out: ArrayRef = if signed {
                Arc::new(
                    bits64(&args[0])?
                        .into_iter()
                        .map(|v| v.map(|v| !(v as i64)))
                        .collect::<Int64Array>(),
                )
            } else {
                let mask = if bit_width(&t) == 64 {
                    u64::MAX
                } else {
                    (1u64 << bit_width(&t)) - 1
                };
                Arc::new(
                    bits64(&args[0])?
                        .into_iter()
                        .map(|v| v.map(|v| !v & mask))
                        .collect::<UInt64Array>(),
                )
            };
            arrow::compute::cast(&out, &t)?
        }
        BitwiseAnd | BitwiseOr | BitwiseXor => {
            use arrow::compute::kernels::bitwise;
            macro_rules! bitwise_op {
                ($t:ty) => {{
                    let (a, b) = (args[0].as_primitive::<$t>(), args[1].as_primitive::<$t>());
                    Arc::new(match func {
                        BitwiseAnd => bitwise::bitwise_and(a, b)?,
                        BitwiseOr => bitwise::bitwise_or(a, b)?,
                        _ => bitwise::bitwise_xor(a, b)?,
                    }) as ArrayRef
                }};
            }
            match args[0].data_type() {
                DataType::Int8 => bitwise_op!(Int8Type),
                DataType::Int16 => bitwise_op!(Int16Type),
                DataType::Int32 => bitwise_op!(Int32Type),
                DataType::Int64 => bitwise_op!(Int64Type),
                DataType::UInt8 => bitwise_op!(UInt8Type),
                DataType::UInt16 => bitwise_op!(UInt16Type),
                DataType::UInt32 => bitwise_op!(UInt32Type),
                DataType::UInt64 => bitwise_op!(UInt64Type),
                t => return Err(QuarryError::Internal(format!("{} over {t}", func.name()))),
            }
        }
        BitGet => {
            let width = bit_width(args[0].data_type());
            let pos = arrow::compute::cast(&args[1], &DataType::Int64)?;
            let pos = pos.as_primitive::<Int64Type>();
            let vals = bits64(&args[0])?;
            let mut out = Vec::with_capacity(vals.len());
            for (v, p) in vals.into_iter().zip(pos.iter()) {
                out.push(match (v, p) {
                    (_, Some(p)) if !(0..width).contains(&p) => {
                        return Err(QuarryError::Execution(format!(
                            "[INVALID_PARAMETER_VALUE.BIT_POSITION_RANGE] The value of parameter(s) `pos` in `bit_get` is invalid: expects an integer value in [0, {width}), but got {p}."
                        )))
                    }
                    (Some(v), Some(p)) => Some(((v >> p) & 1) as i8),
                    _ => None,
                });
            }
            Arc::new(Int8Array::from(out))
        }
        Bin => Arc::new(
            args[0]
                .as_primitive::<Int64Type>()
                .iter()
                .map(|v| v.map(|v| unsigned_radix(v, 2)))
                .collect::<StringArray>(),
        ),
        Hex => match args[0].data_type() {
            DataType::Binary => Arc::new(
                args[0]
                    .as_binary::<i32>()
                    .iter()
                    .map(|v| v.map(|b| hex::encode_upper(b)))
                    .collect::<StringArray>(),
            ),
            _ => Arc::new(
                args[0]
                    .as_primitive::<Int64Type>()
                    .iter()
                    .map(|v| v.map(|v| unsigned_radix(v, 16)))
                    .collect::<StringArray>(),
            ),
        },
        Conv => {
            let (s, f, t) = (strings(&args[0])?, ints(&args[1])?, ints(&args[2])?);
            Arc::new(
                (0..s.len())
                    .map(|i| {
                        if s.is_null(i) || f.is_null(i) || t.is_null(i) {
                            return None;
                        }
                        conv(s.value(i), f.value(i), t.value(i))
                    })
                    .collect::<StringArray>(),
            )
        }
        WidthBucket => {
            let (v, lo, hi) = (f64s(&args[0]), f64s(&args[1]), f64s(&args[2]));
            let k = args[3].as_primitive::<Int64Type>();
            Arc::new(
                (0..v.len())
                    .map(|i| {
                        if v.is_null(i) || lo.is_null(i) || hi.is_null(i) || k.is_null(i) {
                            return None;
                        }
                        let (v, lo, hi, k) = (v.value(i), lo.value(i), hi.value(i), k.value(i));
                        // Spark: NULL for no buckets, an empty range or a non-finite value
                        if k <= 0
                            || k == i64::MAX
                            || lo == hi
                            || !v.is_finite()
                            || !lo.is_finite()
                            || !hi.is_finite()
                        {
                            return None;
                        }
                        let b = if lo < hi {
                            if v < lo {
                                0
                            } else if v >= hi {
                                k + 1
                            } else {
                                ((k as f64) * (v - lo) / (hi - lo)) as i64 + 1
                            }
                        } else if v > lo {
                            0
                        } else if v <= hi {
                            k + 1
                        } else {
                            ((k as f64) * (lo - v) / (lo - hi)) as i64 + 1
                        };
                        Some(b)
                    })
                    .collect::<Int64Array>(),
            )
        }
        Rand { gaussian } => {
            let draw = |rng: &mut XorShiftRandom| -> ArrayRef {
                if gaussian {
                    Arc::new(Float64Array::from_iter_values(
                        (0..n).map(|_| rng.next_gaussian()),
                    ))
                } else {
                    Arc::new(Float64Array::from_iter_values(
                        (0..n).map(|_| rng.next_double()),
                    ))
                }
            };
            match args.first() {
                Some(a) => {
                    let a = a.as_primitive::<Int64Type>();
                    // rand(NULL) is seeded with 0, as Spark
                    let seed = if a.is_empty() || a.is_null(0) {
                        0
                    } else {
                        a.value(0)
                    };
                    // the call's generator goes on from batch to batch: with one thread
                    // the rows get Spark's sequence for one partition
                    let stream = args
                        .get(1)
                        .map(|s| s.as_primitive::<Int64Type>())
                        .filter(|s| !s.is_empty() && !s.is_null(0))
                        .map(|s| s.value(0) as u64)
                        .unwrap_or(0);
                    let mut states = RAND_STATES.lock().unwrap_or_else(|e| e.into_inner());
                    draw(
                        states
                            .entry(stream)
                            .or_insert_with(|| XorShiftRandom::new(seed)),
                    )
                }
                None => draw(&mut XorShiftRandom::new(rand::random::<i64>())),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_radix_strings() {
        assert_eq!(unsigned_radix(17, 16), "11");
        assert_eq!(unsigned_radix(-1, 16), "FFFFFFFFFFFFFFFF");
        assert_eq!(unsigned_radix(5, 2), "101");
        assert_eq!(unsigned_radix(0, 2), "0");
    }

    #[test]
    fn conv_like_spark() {
        assert_eq!(conv("100", 2, 10).as_deref(), Some("4"));
        assert_eq!(conv("-10", 16, -10).as_deref(), Some("-16"));
        assert_eq!(conv("-10", 16, 10).as_deref(), Some("18446744073709551600"));
        assert_eq!(conv("12x", 10, 16).as_deref(), Some("C"));
        assert_eq!(conv("x", 10, 16), None);
        assert_eq!(conv("1", 1, 10), None);
        assert_eq!(conv("10", -16, 10), None);
        // overflow is all ones; a negative overflow before a signed base prints -1
        assert_eq!(
            conv("92233720368547758070", 10, 16).as_deref(),
            Some("FFFFFFFFFFFFFFFF")
        );
        assert_eq!(
            conv("-9223372036854775807", 36, 10).as_deref(),
            Some("18446744073709551615")
        );
        assert_eq!(conv("-9223372036854775807", 36, -10).as_deref(), Some("-1"));
    }

    #[test]
    fn half_even() {
        assert_eq!(round_half_even(2.5, 0), 2.0);
        assert_eq!(round_half_even(3.5, 0), 4.0);
        assert_eq!(round_half_even(-2.5, 0), -2.0);
        assert_eq!(round_half_even(2.25, 1), 2.2);
    }
}
