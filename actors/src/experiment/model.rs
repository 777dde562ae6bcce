//! The management API's experiment shapes: what clients send ([`ExperimentInput`]), what they get back
//! ([`ExperimentView`]), and the checks that turn the one into a stored row.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use vane_schema::entity::experiment;
use vane_schema::wire::FeatureFlag;
use vane_schema::wire::time::{millis, parse};

use super::ExperimentError;

/// Significance level when the request names none.
pub const DEFAULT_ALPHA: f64 = 0.05;
/// Most metrics per experiment (each is one query per results request).
pub const MAX_METRICS: usize = 20;
/// `experiments.name`, `flag_key` and `baseline_variation_id` are `varchar(128)`.
const NAME_MAX: usize = 128;

/// How a metric turns a user's custom events into one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MetricKind {
    /// 1 if the user sent the event after exposure, else 0.
    Binomial,
    /// The sum of the event's `numericValue` after exposure (0 without events).
    Numeric,
}

/// Which direction is good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SuccessCriterion {
    /// A larger value wins.
    Higher,
    /// A smaller value wins.
    Lower,
}

/// One metric of an experiment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metric {
    /// The custom event's name (what `track` was called with).
    pub event: String,
    /// `binomial` or `numeric`.
    #[serde(rename = "type")]
    pub kind: MetricKind,
    /// `higher` or `lower`.
    pub success_criterion: SuccessCriterion,
}

/// Body of `POST` and `PUT …/experiments`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExperimentInput {
    /// Display name.
    pub name: String,
    /// The flag whose variations are compared.
    pub flag_key: String,
    /// A variation id of that flag.
    pub baseline_variation_id: String,
    /// One or more metrics.
    pub metrics: Vec<Metric>,
    /// Start of the window, RFC 3339.
    pub start: String,
    /// End of the window (exclusive), RFC 3339; `null` while running.
    #[serde(default)]
    pub end: Option<String>,
    /// Significance level, 0 < alpha < 0.5 (default 0.05).
    #[serde(default)]
    pub alpha: Option<f64>,
}

/// An experiment as the management API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentView {
    /// Id.
    pub id: Uuid,
    /// Environment.
    pub env_id: Uuid,
    /// Display name.
    pub name: String,
    /// The flag.
    pub flag_key: String,
    /// The baseline variation.
    pub baseline_variation_id: String,
    /// The metrics.
    pub metrics: Vec<Metric>,
    /// Start of the window.
    #[serde(with = "millis")]
    pub start: DateTime<Utc>,
    /// End of the window, `null` while running.
    #[serde(with = "optional_millis")]
    #[schema(value_type = Option<String>)]
    pub end: Option<DateTime<Utc>>,
    /// Significance level.
    pub alpha: f64,
    /// Creation time.
    #[serde(with = "millis")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(with = "millis")]
    pub updated_at: DateTime<Utc>,
}

/// A checked input, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Checked {
    pub name: String,
    pub flag_key: String,
    pub baseline_variation_id: String,
    pub metrics: Vec<Metric>,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    pub alpha: f64,
}

fn invalid(code: &'static str, message: impl Into<String>) -> ExperimentError {
    ExperimentError::Invalid { code, message: message.into() }
}

fn instant(raw: &str, field: &str) -> Result<DateTime<Utc>, ExperimentError> {
    parse(raw).map_err(|_| invalid("invalid_time", format!("{field} must be an RFC 3339 timestamp")))
}

impl ExperimentInput {
    /// Checks every field against the flag it names (`None`: no such flag).
    pub(super) fn check(self, flag: Option<&FeatureFlag>) -> Result<Checked, ExperimentError> {
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > NAME_MAX {
            return Err(invalid("invalid_name", format!("name must be 1 to {NAME_MAX} characters")));
        }
        let flag =
            flag.ok_or_else(|| invalid("unknown_flag", format!("no flag {:?} in this environment", self.flag_key)))?;
        if flag.variation(&self.baseline_variation_id).is_none() {
            let message =
                format!("baselineVariationId {:?} is not a variation of {:?}", self.baseline_variation_id, flag.key);
            return Err(invalid("unknown_variation", message));
        }
        check_metrics(&self.metrics)?;
        let start = instant(&self.start, "start")?;
        let end = self.end.as_deref().map(|e| instant(e, "end")).transpose()?;
        if end.is_some_and(|e| e <= start) {
            return Err(invalid("invalid_window", "end must be after start"));
        }
        let alpha = self.alpha.unwrap_or(DEFAULT_ALPHA);
        if alpha.is_nan() || alpha <= 0.0 || alpha >= 0.5 {
            return Err(invalid("invalid_alpha", "alpha must be between 0 and 0.5 (exclusive)"));
        }
        Ok(Checked {
            name,
            flag_key: self.flag_key,
            baseline_variation_id: self.baseline_variation_id,
            metrics: self.metrics,
            start,
            end,
            alpha,
        })
    }
}

fn check_metrics(metrics: &[Metric]) -> Result<(), ExperimentError> {
    if metrics.is_empty() || metrics.len() > MAX_METRICS {
        return Err(invalid("invalid_metrics", format!("metrics must list 1 to {MAX_METRICS} metrics")));
    }
    for (i, m) in metrics.iter().enumerate() {
        if m.event.trim().is_empty() || m.event.chars().count() > 256 {
            return Err(invalid("invalid_metrics", format!("metrics[{i}].event must be 1 to 256 characters")));
        }
        if metrics[..i].iter().any(|o| o.event == m.event && o.kind == m.kind) {
            return Err(invalid("invalid_metrics", format!("metrics[{i}] repeats {:?} ({:?})", m.event, m.kind)));
        }
    }
    Ok(())
}

impl From<experiment::Model> for ExperimentView {
    fn from(m: experiment::Model) -> Self {
        Self {
            id: m.id,
            env_id: m.env_id,
            name: m.name,
            flag_key: m.flag_key,
            baseline_variation_id: m.baseline_variation_id,
            metrics: serde_json::from_value(m.metrics).unwrap_or_default(),
            start: m.start,
            end: m.end,
            alpha: m.alpha,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// `Option<DateTime>` in the same millisecond format as [`millis`], `null` when absent.
mod optional_millis {
    use chrono::{DateTime, Utc};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&vane_schema::wire::time::format(t)),
            None => s.serialize_none(),
        }
    }
}
