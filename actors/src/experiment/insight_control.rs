//! Per-flag insight control: evaluation events of flags with `insightsEnabled: false` are dropped at intake
//! (counted in `vane.ingest.insights_dropped`); custom events and the users themselves are kept, so experiments
//! on other flags and the end-user list are unaffected.

use std::collections::HashSet;

use vane_schema::wire::Insight;

use crate::metrics::metrics;
use crate::snapshot::EnvSnapshot;

/// Removes from `items` the evaluations of the environment's muted flags; returns how many were removed.
pub fn drop_muted_evaluations(items: &mut [Insight], snapshot: &EnvSnapshot) -> usize {
    let muted: HashSet<&str> =
        snapshot.flags().map(|f| f.flag()).filter(|f| !f.insights_enabled.0).map(|f| f.key.as_str()).collect();
    if muted.is_empty() {
        return 0;
    }
    let mut dropped = 0;
    for item in items.iter_mut() {
        let before = item.variations.len();
        item.variations.retain(|v| !muted.contains(v.feature_flag_key.as_str()));
        dropped += before - item.variations.len();
    }
    if dropped > 0 {
        metrics().insights_dropped.add(dropped as u64, &[]);
    }
    dropped
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;
    use vane_schema::wire::flag::OnByDefault;
    use vane_schema::wire::{EndUser, FeatureFlag, InsightVariation, MetricInsight, VariationInsight};

    use super::*;

    fn flag(key: &str, insights: bool) -> FeatureFlag {
        FeatureFlag {
            id: Uuid::new_v4(),
            key: key.into(),
            insights_enabled: OnByDefault(insights),
            ..Default::default()
        }
    }

    fn evaluation(key: &str) -> VariationInsight {
        VariationInsight {
            feature_flag_key: key.into(),
            variation: Some(InsightVariation { id: "v".into(), value: "x".into() }),
            ..Default::default()
        }
    }

    #[test]
    fn only_evaluations_of_muted_flags_are_dropped_and_metrics_kept() {
        let snapshot = EnvSnapshot::new(Uuid::new_v4(), &[flag("quiet", false), flag("loud", true)], &[]);
        let mut items = vec![Insight {
            user: Some(EndUser::with_key("u1")),
            variations: vec![evaluation("quiet"), evaluation("loud"), evaluation("quiet"), evaluation("unknown")],
            metrics: vec![MetricInsight { event_name: "purchase".into(), ..Default::default() }],
        }];
        assert_eq!(drop_muted_evaluations(&mut items, &snapshot), 2);
        let keys: Vec<&str> = items[0].variations.iter().map(|v| v.feature_flag_key.as_str()).collect();
        assert_eq!(keys, ["loud", "unknown"]);
        assert_eq!(items[0].metrics.len(), 1);
    }

    #[test]
    fn nothing_is_dropped_when_every_flag_keeps_insights() {
        let snapshot = EnvSnapshot::new(Uuid::new_v4(), &[flag("loud", true)], &[]);
        let mut items = vec![Insight { variations: vec![evaluation("loud")], ..Default::default() }];
        assert_eq!(drop_muted_evaluations(&mut items, &snapshot), 0);
        assert_eq!(items[0].variations.len(), 1);
    }
}
