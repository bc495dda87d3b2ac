//! Statistical aggregates over doubles: the co-moment family (`covar_pop`, `covar_samp`,
//! `corr`, `regr_*`) and the higher central moments (`skewness`, `kurtosis`).
//!
//! Both keep per-group running moments updated one value at a time and merged pairwise
//! (Welford's update and Chan et al.'s pairwise merge; the third and fourth moments by
//! Terriberry's extension), as Spark's `Covariance` and `CentralMomentAgg` do, so a
//! group split across threads gives what one pass gives (up to rounding). Results
//! follow Spark 3.5 with `spark.sql.legacy.statisticalAggregate=false`: a division by a
//! zero count or variance gives NULL, not NaN.

use std::any::Any;
use std::sync::Arc;

use arrow::array::*;
use arrow::datatypes::*;

use super::aggregate::{downcast, Accumulator};
use crate::error::Result;

/// What a [`CoMomentAcc`] finishes to. The `regr_*` functions take `(y, x)`: their
/// first argument is the dependent variable.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CoMoment {
    /// `covar_pop(a, b)`: `Σ(a-ā)(b-b̄) / n`.
    CovarPop,
    /// `covar_samp(a, b)`: `Σ(a-ā)(b-b̄) / (n-1)`; NULL for one pair.
    CovarSamp,
    /// `corr(a, b)`: Pearson's coefficient; NULL for one pair and when a variable is
    /// constant (Spark's division by zero gives NULL).
    Corr,
    /// `regr_count(y, x)`: pairs with both non-NULL (a bigint, 0 for none).
    RegrCount,
    /// `regr_avgx(y, x)`: the mean of x over the pairs.
    RegrAvgX,
    /// `regr_avgy(y, x)`: the mean of y over the pairs.
    RegrAvgY,
    /// `regr_sxx(y, x)`: `Σ(x-x̄)²`.
    RegrSxx,
    /// `regr_syy(y, x)`: `Σ(y-ȳ)²`.
    RegrSyy,
    /// `regr_sxy(y, x)`: `Σ(x-x̄)(y-ȳ)`.
    RegrSxy,
    /// `regr_slope(y, x)`: least-squares slope; NULL when x is constant.
    RegrSlope,
    /// `regr_intercept(y, x)`: least-squares intercept; NULL when x is constant.
    RegrIntercept,
    /// `regr_r2(y, x)`: the coefficient of determination; NULL when x is constant, 1
    /// when y is (PostgreSQL's and Spark's rule).
    RegrR2,
}

impl CoMoment {
    /// The function for an aggregate name, if it is one of this family.
    pub fn from_name(name: &str) -> Option<CoMoment> {
        Some(match name {
            "covar_pop" => CoMoment::CovarPop,
            "covar_samp" => CoMoment::CovarSamp,
            "corr" => CoMoment::Corr,
            "regr_count" => CoMoment::RegrCount,
            "regr_avgx" => CoMoment::RegrAvgX,
            "regr_avgy" => CoMoment::RegrAvgY,
            "regr_sxx" => CoMoment::RegrSxx,
            "regr_syy" => CoMoment::RegrSyy,
            "regr_sxy" => CoMoment::RegrSxy,
            "regr_slope" => CoMoment::RegrSlope,
            "regr_intercept" => CoMoment::RegrIntercept,
            "regr_r2" => CoMoment::RegrR2,
            _ => return None,
        })
    }

    /// The Spark name of the function.
    pub fn name(self) -> &'static str {
        match self {
            CoMoment::CovarPop => "covar_pop",
            CoMoment::CovarSamp => "covar_samp",
            CoMoment::Corr => "corr",
            CoMoment::RegrCount => "regr_count",
            CoMoment::RegrAvgX => "regr_avgx",
            CoMoment::RegrAvgY => "regr_avgy",
            CoMoment::RegrSxx => "regr_sxx",
            CoMoment::RegrSyy => "regr_syy",
            CoMoment::RegrSxy => "regr_sxy",
            CoMoment::RegrSlope => "regr_slope",
            CoMoment::RegrIntercept => "regr_intercept",
            CoMoment::RegrR2 => "regr_r2",
        }
    }

    /// The result type: a bigint for `regr_count`, a double otherwise.
    pub fn result_type(self) -> DataType {
        if self == CoMoment::RegrCount {
            DataType::Int64
        } else {
            DataType::Float64
        }
    }
}

/// Running co-moments of one group's pairs `(a, b)`: count, means, and the sums of
/// squared and crossed deviations from the means.
#[derive(Clone, Copy, Default)]
struct Pairs {
    n: f64,
    mean_a: f64,
    mean_b: f64,
    /// `Σ(a-ā)(b-b̄)`.
    c_ab: f64,
    /// `Σ(a-ā)²`.
    m_a: f64,
    /// `Σ(b-b̄)²`.
    m_b: f64,
}

impl Pairs {
    fn add(&mut self, a: f64, b: f64) {
        self.n += 1.0;
        let da = a - self.mean_a;
        let db = b - self.mean_b;
        self.mean_a += da / self.n;
        self.mean_b += db / self.n;
        self.c_ab += da * (b - self.mean_b);
        self.m_a += da * (a - self.mean_a);
        self.m_b += db * (b - self.mean_b);
    }

    fn merge(&mut self, o: &Pairs) {
        if o.n == 0.0 {
            return;
        }
        if self.n == 0.0 {
            *self = *o;
            return;
        }
        let n = self.n + o.n;
        let da = o.mean_a - self.mean_a;
        let db = o.mean_b - self.mean_b;
        let w = self.n * o.n / n;
        self.c_ab += o.c_ab + da * db * w;
        self.m_a += o.m_a + da * da * w;
        self.m_b += o.m_b + db * db * w;
        self.mean_a += da * o.n / n;
        self.mean_b += db * o.n / n;
        self.n = n;
    }

    /// The function's value; `a` is y and `b` is x for the `regr_*` functions.
    fn finish(&self, f: CoMoment) -> Option<f64> {
        let n = self.n;
        if n == 0.0 {
            return None;
        }
        let (sxx, syy, sxy) = (self.m_b, self.m_a, self.c_ab);
        match f {
            CoMoment::CovarPop => Some(self.c_ab / n),
            CoMoment::CovarSamp => (n > 1.0).then(|| self.c_ab / (n - 1.0)),
            CoMoment::Corr => {
                let d = (self.m_a * self.m_b).sqrt();
                (n > 1.0 && d != 0.0).then(|| self.c_ab / d)
            }
            CoMoment::RegrCount => Some(n),
            CoMoment::RegrAvgX => Some(self.mean_b),
            CoMoment::RegrAvgY => Some(self.mean_a),
            CoMoment::RegrSxx => Some(sxx),
            CoMoment::RegrSyy => Some(syy),
            CoMoment::RegrSxy => Some(sxy),
            CoMoment::RegrSlope => (sxx != 0.0).then(|| sxy / sxx),
            CoMoment::RegrIntercept => (sxx != 0.0).then(|| self.mean_a - sxy / sxx * self.mean_b),
            CoMoment::RegrR2 => match (sxx, syy) {
                (x, _) if x == 0.0 => None,
                (_, y) if y == 0.0 => Some(1.0),
                _ => Some(sxy * sxy / (sxx * syy)),
            },
        }
    }
}

/// The co-moment family over two double arguments; a row counts when both are non-NULL.
pub struct CoMomentAcc {
    func: CoMoment,
    state: Vec<Pairs>,
}

impl CoMomentAcc {
    pub fn new(func: CoMoment) -> Self {
        CoMomentAcc {
            func,
            state: vec![],
        }
    }
}

impl Accumulator for CoMomentAcc {
    fn update(&mut self, args: &[ArrayRef], groups: &[usize], n: usize) -> Result<()> {
        self.state.resize(n, Pairs::default());
        let a = args[0].as_primitive::<Float64Type>();
        let b = args[1].as_primitive::<Float64Type>();
        for (i, &g) in groups.iter().enumerate() {
            if a.is_valid(i) && b.is_valid(i) {
                self.state[g].add(a.value(i), b.value(i));
            }
        }
        Ok(())
    }
    fn merge(&mut self, other: Box<dyn Accumulator>, mapping: &[usize], n: usize) -> Result<()> {
        let o = downcast::<CoMomentAcc>(other)?;
        self.state.resize(n, Pairs::default());
        for (g, p) in o.state.iter().enumerate() {
            self.state[mapping[g]].merge(p);
        }
        Ok(())
    }
    fn finish(&mut self, n: usize) -> Result<ArrayRef> {
        self.state.resize(n, Pairs::default());
        if self.func == CoMoment::RegrCount {
            let out: Int64Array = self.state.iter().map(|p| Some(p.n as i64)).collect();
            return Ok(Arc::new(out));
        }
        let out: Float64Array = self.state.iter().map(|p| p.finish(self.func)).collect();
        Ok(Arc::new(out))
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// Running central moments of one group's values: count, mean and `Σ(x-x̄)^k` for k = 2,
/// 3, 4.
#[derive(Clone, Copy, Default)]
struct Moments {
    n: f64,
    mean: f64,
    m2: f64,
    m3: f64,
    m4: f64,
}

impl Moments {
    fn add(&mut self, x: f64) {
        let n1 = self.n;
        self.n += 1.0;
        let n = self.n;
        let delta = x - self.mean;
        let dn = delta / n;
        let dn2 = dn * dn;
        let term1 = delta * dn * n1;
        self.mean += dn;
        self.m4 += term1 * dn2 * (n * n - 3.0 * n + 3.0) + 6.0 * dn2 * self.m2 - 4.0 * dn * self.m3;
        self.m3 += term1 * dn * (n - 2.0) - 3.0 * dn * self.m2;
        self.m2 += term1;
    }

    fn merge(&mut self, o: &Moments) {
        if o.n == 0.0 {
            return;
        }
        if self.n == 0.0 {
            *self = *o;
            return;
        }
        let (na, nb) = (self.n, o.n);
        let n = na + nb;
        let d = o.mean - self.mean;
        let d2 = d * d;
        let m4 = self.m4
            + o.m4
            + d2 * d2 * na * nb * (na * na - na * nb + nb * nb) / (n * n * n)
            + 6.0 * d2 * (na * na * o.m2 + nb * nb * self.m2) / (n * n)
            + 4.0 * d * (na * o.m3 - nb * self.m3) / n;
        let m3 = self.m3
            + o.m3
            + d * d2 * na * nb * (na - nb) / (n * n)
            + 3.0 * d * (na * o.m2 - nb * self.m2) / n;
        self.m2 += o.m2 + d2 * na * nb / n;
        self.m3 = m3;
        self.m4 = m4;
        self.mean += d * nb / n;
        self.n = n;
    }
}

/// `skewness(x)` (`√n·m3 / m2^1.5`) or `kurtosis(x)` (excess: `n·m4 / m2² - 3`), as
/// Spark's `Skewness`/`Kurtosis`: NULL for no values or when every value is equal.
pub struct MomentsAcc {
    kurtosis: bool,
    state: Vec<Moments>,
}

impl MomentsAcc {
    pub fn new(kurtosis: bool) -> Self {
        MomentsAcc {
            kurtosis,
            state: vec![],
        }
    }
}

impl Accumulator for MomentsAcc {
    fn update(&mut self, args: &[ArrayRef], groups: &[usize], n: usize) -> Result<()> {
        self.state.resize(n, Moments::default());
        let a = args[0].as_primitive::<Float64Type>();
        for (i, &g) in groups.iter().enumerate() {
            if a.is_valid(i) {
                self.state[g].add(a.value(i));
            }
        }
        Ok(())
    }
    fn merge(&mut self, other: Box<dyn Accumulator>, mapping: &[usize], n: usize) -> Result<()> {
        let o = downcast::<MomentsAcc>(other)?;
        self.state.resize(n, Moments::default());
        for (g, m) in o.state.iter().enumerate() {
            self.state[mapping[g]].merge(m);
        }
        Ok(())
    }
    fn finish(&mut self, n: usize) -> Result<ArrayRef> {
        self.state.resize(n, Moments::default());
        let out: Float64Array = self
            .state
            .iter()
            .map(|m| {
                if m.n == 0.0 || m.m2 == 0.0 {
                    None
                } else if self.kurtosis {
                    Some(m.n * m.m4 / (m.m2 * m.m2) - 3.0)
                } else {
                    Some(m.n.sqrt() * m.m3 / (m.m2 * m.m2 * m.m2).sqrt())
                }
            })
            .collect();
        Ok(Arc::new(out))
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(acc: &mut dyn Accumulator, cols: Vec<Vec<Option<f64>>>, groups: &[usize]) {
        let arrays: Vec<ArrayRef> = cols
            .into_iter()
            .map(|c| Arc::new(Float64Array::from(c)) as ArrayRef)
            .collect();
        acc.update(&arrays, groups, 1).unwrap();
    }

    /// Splitting the values between two accumulators and merging gives the one-pass
    /// moments, and the values match the closed forms.
    #[test]
    fn merged_moments_match_one_pass() {
        let xs = [2.0, 7.0, 1.0, 8.0, 2.5, 9.0, -3.0, 4.0];
        let ys = [1.0, 3.0, 0.5, 6.0, 2.0, 7.5, -1.0, 2.0];
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let m = |k: i32| xs.iter().map(|x| (x - mean).powi(k)).sum::<f64>();
        let skew = n.sqrt() * m(3) / m(2).powf(1.5);
        let kurt = n * m(4) / (m(2) * m(2)) - 3.0;
        for kurtosis in [false, true] {
            let mut one = MomentsAcc::new(kurtosis);
            run(
                &mut one,
                vec![xs.iter().map(|&x| Some(x)).collect()],
                &[0; 8],
            );
            let mut a = MomentsAcc::new(kurtosis);
            let mut b = MomentsAcc::new(kurtosis);
            run(
                &mut a,
                vec![xs[..3].iter().map(|&x| Some(x)).collect()],
                &[0; 3],
            );
            run(
                &mut b,
                vec![xs[3..].iter().map(|&x| Some(x)).collect()],
                &[0; 5],
            );
            a.merge(Box::new(b), &[0], 1).unwrap();
            let want = if kurtosis { kurt } else { skew };
            for acc in [&mut one, &mut a] {
                let got = acc.finish(1).unwrap();
                let got = got.as_primitive::<Float64Type>().value(0);
                assert!((got - want).abs() < 1e-12, "{got} vs {want}");
            }
        }
        let mx = mean;
        let my = ys.iter().sum::<f64>() / n;
        let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
        let sxx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
        let syy: f64 = ys.iter().map(|y| (y - my).powi(2)).sum();
        // regr_*(y, x): the first argument is y
        for (f, want) in [
            (CoMoment::CovarSamp, sxy / (n - 1.0)),
            (CoMoment::Corr, sxy / (sxx * syy).sqrt()),
            (CoMoment::RegrSlope, sxy / sxx),
            (CoMoment::RegrIntercept, my - sxy / sxx * mx),
            (CoMoment::RegrR2, sxy * sxy / (sxx * syy)),
            (CoMoment::RegrSxx, sxx),
        ] {
            let col = |v: &[f64]| v.iter().map(|&x| Some(x)).collect::<Vec<_>>();
            let mut a = CoMomentAcc::new(f);
            let mut b = CoMomentAcc::new(f);
            run(&mut a, vec![col(&ys[..5]), col(&xs[..5])], &[0; 5]);
            run(&mut b, vec![col(&ys[5..]), col(&xs[5..])], &[0; 3]);
            a.merge(Box::new(b), &[0], 1).unwrap();
            let got = a.finish(1).unwrap();
            let got = got.as_primitive::<Float64Type>().value(0);
            assert!((got - want).abs() < 1e-12, "{f:?}: {got} vs {want}");
        }
    }

    /// A pair with a NULL side does not count; one pair gives NULL for the sample forms.
    #[test]
    fn null_pairs_are_skipped() {
        let mut acc = CoMomentAcc::new(CoMoment::CovarSamp);
        run(
            &mut acc,
            vec![
                vec![Some(1.0), None, Some(3.0)],
                vec![Some(2.0), Some(5.0), None],
            ],
            &[0, 0, 0],
        );
        assert!(acc.finish(1).unwrap().is_null(0));
        let mut acc = CoMomentAcc::new(CoMoment::RegrCount);
        run(
            &mut acc,
            vec![
                vec![Some(1.0), None, Some(3.0)],
                vec![Some(2.0), Some(5.0), Some(1.0)],
            ],
            &[0, 0, 0],
        );
        assert_eq!(
            acc.finish(1).unwrap().as_primitive::<Int64Type>().value(0),
            2
        );
    }
}
