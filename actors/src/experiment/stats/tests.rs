//! Published values of the t distribution (e.g. the tables in any statistics text) and edge cases; the
//! comparison itself is checked against scipy by `tests/sdk/experiment_stats.py`.

use super::*;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1e-300)
}

#[test]
fn t_quantiles_match_the_published_tables() {
    for (df, q975) in [(1.0, 12.706_204_736), (2.0, 4.302_652_730), (10.0, 2.228_138_852), (30.0, 2.042_272_456)] {
        assert!(close(t_quantile_upper(0.025, df), q975, 1e-8), "df {df}: {}", t_quantile_upper(0.025, df));
    }
    // Large df tends to the normal quantile.
    assert!(close(t_quantile_upper(0.025, 1e7), 1.959_964_1, 1e-6));
}

#[test]
fn t_tail_is_a_half_at_zero_and_matches_cauchy_at_df_one() {
    assert!(close(t_sf(0.0, 7.3), 0.5, 1e-14));
    // df = 1 is Cauchy: P(T > t) = 1/2 − atan(t)/π.
    for t in [0.1f64, 1.0, 3.0, 50.0] {
        let cauchy = 0.5 - t.atan() / std::f64::consts::PI;
        assert!(close(t_sf(t, 1.0), cauchy, 1e-10), "t {t}");
    }
}

#[test]
fn incomplete_beta_has_closed_forms_at_small_parameters() {
    // I_x(1, b) = 1 − (1 − x)^b and I_x(a, 1) = x^a.
    assert!(close(incomplete_beta(1.0, 3.0, 0.2), 1.0 - 0.8f64.powi(3), 1e-13));
    assert!(close(incomplete_beta(2.5, 1.0, 0.7), 0.7f64.powf(2.5), 1e-13));
    assert_eq!(incomplete_beta(2.0, 2.0, 0.0), 0.0);
    assert_eq!(incomplete_beta(2.0, 2.0, 1.0), 1.0);
}

#[test]
fn arms_from_sums_use_the_sample_variance() {
    // Values 1, 2, 3, 4: mean 2.5, sample variance 5/3.
    let arm = Arm::from_sums(4, 10.0, 30.0).expect("arm");
    assert!(close(arm.mean, 2.5, 1e-15) && close(arm.variance, 5.0 / 3.0, 1e-14));
    assert!(Arm::from_sums(0, 0.0, 0.0).is_none());
    assert!(Arm::from_sums(1, 3.0, 9.0).expect("arm").variance.is_nan());
}

#[test]
fn comparison_is_undefined_without_a_baseline_rate_or_users() {
    let zero = Arm { n: 100, mean: 0.0, variance: 0.0 };
    let some = Arm { n: 100, mean: 0.1, variance: 0.09 };
    assert!(compare(zero, some, 0.05).is_none(), "no relative lift over a zero baseline");
    assert!(compare(some, Arm { n: 1, mean: 1.0, variance: f64::NAN }, 0.05).is_none());
    let flat = Arm { n: 50, mean: 1.0, variance: 0.0 };
    assert!(compare(flat, flat, 0.05).is_none(), "no variance, no test");
}

#[test]
fn a_large_lift_on_large_arms_is_significant_and_identical_arms_are_not() {
    let base = Arm { n: 1000, mean: 0.10, variance: 0.09 };
    let better = Arm { n: 1000, mean: 0.20, variance: 0.16 };
    let c = compare(base, better, 0.05).expect("defined");
    assert!(close(c.lift, 1.0, 1e-12) && c.significant && c.ci.0 > 0.0);
    let same = compare(base, base, 0.05).expect("defined");
    assert!(same.lift.abs() < 1e-15 && !same.significant && close(same.p_value, 1.0, 1e-12));
}
