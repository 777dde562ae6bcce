//! The demo environment's sample flags: a plain switch, a rule with a percentage split, and a disabled flag.

use uuid::Uuid;
use vane_schema::wire::time::now_ms;
use vane_schema::wire::{Condition, Fallthrough, FeatureFlag, RolloutVariation, TargetRule, TargetUser, Variation};

fn variation(name: &str, value: &str) -> Variation {
    Variation { id: Uuid::new_v4().to_string(), name: name.into(), value: value.into() }
}

fn serve(id: &str, from: f64, to: f64) -> RolloutVariation {
    RolloutVariation { id: id.into(), rollout: vec![from, to], expt_rollout: Some(1.0) }
}

fn flag(env_id: Uuid, key: &str, kind: &str, variations: Vec<Variation>) -> FeatureFlag {
    let now = now_ms();
    let first = variations[0].id.clone();
    FeatureFlag {
        id: Uuid::new_v4(),
        env_id,
        revision: Uuid::new_v4(),
        name: key.replace('-', " "),
        key: key.into(),
        variation_type: kind.into(),
        disabled_variation_id: variations.last().map(|v| v.id.clone()).unwrap_or_default(),
        fallthrough: Fallthrough {
            dispatch_key: None,
            included_in_expt: true,
            variations: vec![serve(&first, 0.0, 1.0)],
        },
        variations,
        is_enabled: true,
        expt_include_all_targets: true,
        created_at: now,
        updated_at: now,
        ..FeatureFlag::default()
    }
}

/// The demo flags of a new environment.
pub fn flags(env_id: Uuid) -> Vec<FeatureFlag> {
    let banner = flag(env_id, "welcome-banner", "boolean", vec![variation("On", "true"), variation("Off", "false")]);

    let mut checkout = flag(
        env_id,
        "checkout-flow",
        "string",
        vec![variation("Classic", "classic"), variation("One page", "one-page")],
    );
    let (classic, one_page) = (checkout.variations[0].id.clone(), checkout.variations[1].id.clone());
    checkout.target_users = vec![TargetUser { key_ids: vec!["qa-user".into()], variation_id: one_page.clone() }];
    checkout.rules = vec![TargetRule {
        id: Uuid::new_v4().to_string(),
        name: "North America, half on one page".into(),
        dispatch_key: Some("keyId".into()),
        included_in_expt: true,
        conditions: vec![Condition {
            id: Some(Uuid::new_v4().to_string()),
            property: "country".into(),
            op: Some("IsOneOf".into()),
            value: Some(r#"["us","ca"]"#.into()),
        }],
        variations: vec![serve(&classic, 0.0, 0.5), serve(&one_page, 0.5, 1.0)],
    }];

    let mut pricing = flag(env_id, "new-pricing", "boolean", vec![variation("On", "true"), variation("Off", "false")]);
    pricing.is_enabled = false;
    vec![banner, checkout, pricing]
}
