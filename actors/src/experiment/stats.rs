//! The statistics of experiment results: Student's t distribution (through the regularized incomplete beta
//! function) and the comparison of a treatment arm with the baseline.
//!
//! The comparison is a Welch t-test on the *relative* difference `lift = mean_t / mean_b - 1`, whose variance
//! comes from the delta method,
//! `Var(lift) ≈ var_t / (n_t · mean_b²) + var_b · mean_t² / (n_b · mean_b⁴)`,
//! with Welch–Satterthwaite degrees of freedom
//! `df = (var_b/n_b + var_t/n_t)² / ((var_b/n_b)²/(n_b−1) + (var_t/n_t)²/(n_t−1))`.
//! The p-value is two-sided and the confidence interval is `lift ± t(1−α/2, df) · √Var(lift)`. Binomial metrics
//! use the same test on 0/1 per-user values (sample variance `p(1−p)·n/(n−1)`).
//!
//! Pure functions, no I/O; checked against scipy in `tests/sdk/experiment_stats.py`.

/// Iterations of the continued fraction before giving up; it needs about `√max(a, b)`, so this covers
/// degrees of freedom far beyond any experiment's user count.
const MAX_ITERATIONS: usize = 200_000;
/// Relative precision of the continued fraction.
const EPSILON: f64 = 1e-15;
/// Guards divisions in Lentz's algorithm.
const TINY: f64 = 1e-300;

/// One arm's per-user values, summarized.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arm {
    /// Users.
    pub n: u64,
    /// Mean per-user value.
    pub mean: f64,
    /// Sample variance (n − 1 in the denominator).
    pub variance: f64,
}

/// A treatment compared with the baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// `mean_t / mean_b − 1`.
    pub lift: f64,
    /// Confidence interval of the lift at `1 − alpha`.
    pub ci: (f64, f64),
    /// Two-sided p-value.
    pub p_value: f64,
    /// `p_value < alpha`.
    pub significant: bool,
}

impl Arm {
    /// An arm from the count, sum and sum of squares of its per-user values; `None` without users.
    pub fn from_sums(n: u64, sum: f64, sum_sq: f64) -> Option<Self> {
        if n == 0 {
            return None;
        }
        let nf = n as f64;
        let mean = sum / nf;
        let variance = if n > 1 { ((sum_sq - sum * mean) / (nf - 1.0)).max(0.0) } else { f64::NAN };
        Some(Self { n, mean, variance })
    }
}

/// Compares `treatment` with `baseline`. `None` when the test is undefined: fewer than two users in an arm, a
/// baseline mean of zero (no relative lift) or no variance at all.
pub fn compare(baseline: Arm, treatment: Arm, alpha: f64) -> Option<Comparison> {
    if baseline.n < 2 || treatment.n < 2 || baseline.mean == 0.0 {
        return None;
    }
    let (nb, nt) = (baseline.n as f64, treatment.n as f64);
    let (mb, mt) = (baseline.mean, treatment.mean);
    let lift = mt / mb - 1.0;
    let var_lift = treatment.variance / (nt * mb * mb) + baseline.variance * mt * mt / (nb * mb.powi(4));
    let (sb, st) = (baseline.variance / nb, treatment.variance / nt);
    let df = (sb + st).powi(2) / (sb * sb / (nb - 1.0) + st * st / (nt - 1.0));
    if var_lift.is_nan() || var_lift <= 0.0 || !df.is_finite() {
        return None;
    }
    let se = var_lift.sqrt();
    let p_value = (2.0 * t_sf((lift / se).abs(), df)).min(1.0);
    let margin = t_quantile_upper(alpha / 2.0, df) * se;
    Some(Comparison { lift, ci: (lift - margin, lift + margin), p_value, significant: p_value < alpha })
}

/// `P(T > t)` for Student's t with `df` degrees of freedom, `t ≥ 0`.
pub fn t_sf(t: f64, df: f64) -> f64 {
    0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
}

/// The `t` with `P(T > t) = p` (0 < p ≤ 0.5), by bisection on [`t_sf`] (monotone, so this cannot diverge).
pub fn t_quantile_upper(p: f64, df: f64) -> f64 {
    let mut hi = 1.0;
    while t_sf(hi, df) > p && hi < 1e12 {
        hi *= 2.0;
    }
    let mut lo = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_sf(mid, df) > p {
            lo = mid
        } else {
            hi = mid
        }
        if hi - lo <= 1e-13 * hi {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// The regularized incomplete beta function `I_x(a, b)`.
pub fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = a * x.ln() + b * (1.0 - x).ln() - ln_beta(a, b);
    // The continued fraction converges fast below the mean of the distribution; use symmetry above it.
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_fraction(a, b, x) / a
    } else {
        1.0 - ln_front.exp() * beta_fraction(b, a, 1.0 - x) / b
    }
}

/// The continued fraction of `I_x(a, b)` (modified Lentz).
fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    let guard = |v: f64| if v.abs() < TINY { TINY } else { v };
    let mut c = 1.0;
    let mut d = 1.0 / guard(1.0 - (a + b) * x / (a + 1.0));
    let mut h = d;
    for m in 1..=MAX_ITERATIONS {
        let m = m as f64;
        let even = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        d = 1.0 / guard(1.0 + even * d);
        c = guard(1.0 + even / c);
        h *= d * c;
        let odd = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        d = 1.0 / guard(1.0 + odd * d);
        c = guard(1.0 + odd / c);
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() < EPSILON {
            break;
        }
    }
    h
}

/// `ln B(a, b)`.
fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, n = 9: about 15 significant digits).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEFFICIENTS: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + G + 0.5;
    let series =
        COEFFICIENTS[1..].iter().enumerate().fold(COEFFICIENTS[0], |acc, (i, c)| acc + c / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

#[cfg(test)]
mod tests;
