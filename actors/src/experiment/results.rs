//! `GET …/experiments/{id}/results`: per metric and variation, the users exposed (first exposure decides the
//! variation), their conversions or per-user values after exposure, and the comparison with the baseline.
//!
//! Arms are the flag's variations that have exposures, plus the baseline always; a variation seen in the data
//! but since removed from the flag still shows. `enoughData` needs the baseline and at least one other arm, each
//! with [`MIN_PER_ARM`] users. The winner, only with enough data: the significant treatment with the best lift
//! in the metric's direction; or the baseline when every treatment is significantly worse; else none.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement, TransactionTrait};
use serde::Serialize;
use uuid::Uuid;
use vane_schema::wire::message::FLAG_VALUE_EVENT;

use super::model::{ExperimentView, Metric, MetricKind, SuccessCriterion};
use super::stats::{self, Arm, Comparison};
use super::{ExperimentError, Experiments, sql};

/// Users per arm below which results are "not enough data".
pub const MIN_PER_ARM: i64 = 30;

/// The results of every metric.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentResults {
    /// The experiment.
    pub experiment_id: Uuid,
    /// Window start.
    #[serde(with = "vane_schema::wire::time::millis")]
    pub from: DateTime<Utc>,
    /// Window end (the experiment's end, or now while it runs).
    #[serde(with = "vane_schema::wire::time::millis")]
    pub to: DateTime<Utc>,
    /// One entry per metric, in the experiment's order.
    pub metrics: Vec<MetricResult>,
}

/// One metric's results.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricResult {
    /// The custom event.
    pub event: String,
    /// `binomial` or `numeric`.
    #[serde(rename = "type")]
    pub kind: MetricKind,
    /// Per arm, by variation id (the baseline first).
    pub variations: Vec<VariationResult>,
    /// The winning variation, if any.
    pub winner: Option<String>,
    /// Every compared arm has at least [`MIN_PER_ARM`] users.
    pub enough_data: bool,
}

/// One arm of one metric.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VariationResult {
    /// The variation.
    pub variation_id: String,
    /// Users whose first exposure was this variation.
    pub exposed: i64,
    /// Users with the event after exposure (binomial only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversions: Option<i64>,
    /// Mean per-user value (the conversion rate for binomial metrics); `null` without users.
    pub mean: Option<f64>,
    /// Sample variance of the per-user values; `null` below two users.
    pub variance: Option<f64>,
    /// Conversion rate (binomial only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Relative lift over the baseline (0 for the baseline; `null` when undefined).
    pub lift: Option<f64>,
    /// Confidence interval of the lift at `1 − alpha`.
    pub ci: Option<[f64; 2]>,
    /// Two-sided p-value (none for the baseline).
    pub p_value: Option<f64>,
    /// `pValue < alpha`.
    pub significant: bool,
}

/// One row of [`sql::metric_arms`].
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub(super) struct ArmRow {
    variation_id: String,
    exposed: i64,
    converted: i64,
    total: f64,
    total_sq: f64,
}

impl Experiments {
    /// The results of experiment `id` of `env_id`, with `variations` the flag's variation ids (in the flag's
    /// order; empty when the flag is gone).
    pub async fn results(
        &self,
        env_id: Uuid,
        id: Uuid,
        variations: &[String],
    ) -> Result<ExperimentResults, ExperimentError> {
        let experiment = self.get(env_id, id).await?;
        let (from, to) = (experiment.start, experiment.end.unwrap_or_else(Utc::now));
        // One query per event name: it yields both the binomial and the numeric per-user values.
        let mut arms: HashMap<&str, Vec<ArmRow>> = HashMap::new();
        let mut metrics = Vec::with_capacity(experiment.metrics.len());
        for metric in &experiment.metrics {
            if !arms.contains_key(metric.event.as_str()) {
                arms.insert(&metric.event, self.arms(&experiment, metric, from, to).await?);
            }
            let rows = arms.get(metric.event.as_str()).cloned().unwrap_or_default();
            metrics.push(metric_result(&experiment, metric, variations, rows));
        }
        Ok(ExperimentResults { experiment_id: id, from, to, metrics })
    }

    async fn arms(
        &self,
        e: &ExperimentView,
        metric: &Metric,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ArmRow>, ExperimentError> {
        let backend = self.store.backend();
        let flag_id = format!("{}-{}", e.env_id.hyphenated(), e.flag_key);
        let w = sql::RollupWindow::new(from, to, true);
        let values = [
            e.env_id.into(),
            flag_id.into(),
            w.from.into(),
            w.to.into(),
            metric.event.clone().into(),
            FLAG_VALUE_EVENT.into(),
            w.lo.into(),
            w.hi.into(),
        ];
        let statement = Statement::from_sql_and_values(backend, sql::metric_arms(backend), values);
        // Read-only; a transaction only to scope the planner setting to this statement.
        let txn = self.store.connection().begin().await?;
        if backend == DbBackend::Postgres {
            // Every join here is on a user key over thousands to millions of rows. With the rollup tables not yet
            // analyzed (fresh rollup, bulk load) Postgres estimates one row per step and nests loops over users:
            // measured at 1M events, over 300 s (cancelled) instead of 0.9 s with hash joins (BENCHMARKS.md).
            txn.execute_unprepared("SET LOCAL enable_nestloop = off").await?;
        }
        let rows = ArmRow::find_by_statement(statement).all(&txn).await?;
        txn.commit().await?;
        Ok(rows)
    }
}

/// Assembles one metric from its per-variation rows.
pub(super) fn metric_result(
    e: &ExperimentView,
    metric: &Metric,
    flag_variations: &[String],
    rows: Vec<ArmRow>,
) -> MetricResult {
    let baseline_id = e.baseline_variation_id.as_str();
    let mut ids: Vec<&str> = vec![baseline_id];
    ids.extend(
        flag_variations
            .iter()
            .map(String::as_str)
            .filter(|v| *v != baseline_id && rows.iter().any(|r| r.variation_id == *v)),
    );
    ids.extend(
        rows.iter()
            .map(|r| r.variation_id.as_str())
            .filter(|v| !flag_variations.iter().any(|f| f == v) && *v != baseline_id),
    );
    let arm_of = |id: &str| rows.iter().find(|r| r.variation_id == id);
    let baseline = arm_of(baseline_id).and_then(|r| arm(metric.kind, r));
    let variations: Vec<VariationResult> = ids
        .iter()
        .map(|id| {
            let row = arm_of(id);
            let this = row.and_then(|r| arm(metric.kind, r));
            let comparison = if *id == baseline_id {
                None
            } else {
                baseline.zip(this).and_then(|(b, t)| stats::compare(b, t, e.alpha))
            };
            variation_result(id, metric.kind, row, this, comparison, *id == baseline_id)
        })
        .collect();
    let enough_data = variations.len() >= 2 && variations.iter().all(|v| v.exposed >= MIN_PER_ARM);
    let winner = if enough_data { winner(&variations, metric.success_criterion) } else { None };
    MetricResult { event: metric.event.clone(), kind: metric.kind, variations, winner, enough_data }
}

/// The per-user values of an arm: 0/1 for binomial metrics, the sum of values for numeric ones.
fn arm(kind: MetricKind, row: &ArmRow) -> Option<Arm> {
    let n = u64::try_from(row.exposed).ok()?;
    match kind {
        MetricKind::Binomial => Arm::from_sums(n, row.converted as f64, row.converted as f64),
        MetricKind::Numeric => Arm::from_sums(n, row.total, row.total_sq),
    }
}

fn variation_result(
    id: &str,
    kind: MetricKind,
    row: Option<&ArmRow>,
    arm: Option<Arm>,
    comparison: Option<Comparison>,
    is_baseline: bool,
) -> VariationResult {
    let binomial = kind == MetricKind::Binomial;
    let mean = arm.map(|a| a.mean);
    VariationResult {
        variation_id: id.to_owned(),
        exposed: row.map_or(0, |r| r.exposed),
        conversions: binomial.then(|| row.map_or(0, |r| r.converted)),
        mean,
        variance: arm.map(|a| a.variance).filter(|v| v.is_finite()),
        rate: if binomial { Some(mean.unwrap_or(0.0)) } else { None },
        lift: if is_baseline { Some(0.0) } else { comparison.map(|c| c.lift) },
        ci: comparison.map(|c| [c.ci.0, c.ci.1]),
        p_value: comparison.map(|c| c.p_value),
        significant: comparison.is_some_and(|c| c.significant),
    }
}

/// See the module docs: the first entry is the baseline.
fn winner(variations: &[VariationResult], criterion: SuccessCriterion) -> Option<String> {
    let sign = match criterion {
        SuccessCriterion::Higher => 1.0,
        SuccessCriterion::Lower => -1.0,
    };
    let treatments = &variations[1..];
    let better = treatments
        .iter()
        .filter(|v| v.significant && v.lift.is_some_and(|l| l * sign > 0.0))
        .max_by(|a, b| (a.lift.unwrap_or(0.0) * sign).total_cmp(&(b.lift.unwrap_or(0.0) * sign)));
    if let Some(best) = better {
        return Some(best.variation_id.clone());
    }
    let all_worse = treatments.iter().all(|v| v.significant && v.lift.is_some_and(|l| l * sign < 0.0));
    all_worse.then(|| variations[0].variation_id.clone())
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use uuid::Uuid;

    use super::*;

    fn experiment() -> ExperimentView {
        ExperimentView {
            id: Uuid::new_v4(),
            env_id: Uuid::new_v4(),
            name: "e".into(),
            flag_key: "f".into(),
            baseline_variation_id: "A".into(),
            metrics: Vec::new(),
            start: Utc::now(),
            end: None,
            alpha: 0.05,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn row(id: &str, exposed: i64, converted: i64) -> ArmRow {
        let c = converted as f64;
        ArmRow { variation_id: id.into(), exposed, converted, total: c, total_sq: c }
    }

    fn metric(criterion: SuccessCriterion) -> Metric {
        Metric { event: "checkout".into(), kind: MetricKind::Binomial, success_criterion: criterion }
    }

    fn flag_variations() -> Vec<String> {
        vec!["A".into(), "B".into(), "C".into()]
    }

    #[test]
    fn the_best_significant_lift_wins_in_the_criterion_direction() {
        let rows = || vec![row("A", 500, 100), row("B", 500, 180), row("C", 500, 40)];
        let higher = metric_result(&experiment(), &metric(SuccessCriterion::Higher), &flag_variations(), rows());
        assert_eq!((higher.winner.as_deref(), higher.enough_data), (Some("B"), true));
        let lower = metric_result(&experiment(), &metric(SuccessCriterion::Lower), &flag_variations(), rows());
        assert_eq!(lower.winner.as_deref(), Some("C"));
    }

    #[test]
    fn the_baseline_wins_when_every_other_arm_is_significantly_worse() {
        let rows = vec![row("A", 500, 200), row("B", 500, 60)];
        let result = metric_result(&experiment(), &metric(SuccessCriterion::Higher), &flag_variations(), rows);
        assert_eq!(result.winner.as_deref(), Some("A"));
        assert_eq!(result.variations.len(), 2, "C had no exposures and is not an arm");
    }

    #[test]
    fn small_arms_are_not_enough_data_and_have_no_winner() {
        let rows = vec![row("A", 29, 10), row("B", 500, 400)];
        let result = metric_result(&experiment(), &metric(SuccessCriterion::Higher), &flag_variations(), rows);
        assert!(!result.enough_data && result.winner.is_none());
        assert!(result.variations[1].significant, "statistics are still reported");
    }

    #[test]
    fn a_baseline_without_exposures_is_listed_with_zero_users() {
        let rows = vec![row("B", 100, 10), row("gone", 40, 4)];
        let result = metric_result(&experiment(), &metric(SuccessCriterion::Higher), &flag_variations(), rows);
        let ids: Vec<&str> = result.variations.iter().map(|v| v.variation_id.as_str()).collect();
        assert_eq!(ids, ["A", "B", "gone"], "a variation removed from the flag still shows");
        assert_eq!((result.variations[0].exposed, result.variations[0].mean), (0, None));
        assert!(result.variations[1].lift.is_none() && !result.enough_data);
    }
}
