//! Percentage rollout and experiment inclusion (featbit-protocol.md §5.4).
//!
//! A user's bucket is `abs(int32_le(md5(flagKey + dispatchValue)[0..4]) / -2^31)`, in `[0, 1]`. The key parts are
//! fed to MD5 one after the other, so no key string is ever built; the hash is computed at most once per dispatch
//! and only if some range actually needs it (the `[0, 1]` shortcut needs none).

use md5::{Digest, Md5};
use vane_schema::wire::{RolloutVariation, Variation};

use super::condition::Attr;
use super::user::EvalUser;

/// Prefix of the experiment key: a second, independent bucket for the same user.
const EXPT_PREFIX: &str = "expt";

/// `rolloutOfKey` of the FeatBit SDKs and server: the bucket of `key` in `[0, 1]`.
pub fn rollout_of_key(key: &str) -> f64 {
    rollout_of(&[key])
}

/// [`rollout_of_key`] of the concatenation of `parts`.
fn rollout_of(parts: &[&str]) -> f64 {
    let mut md5 = Md5::new();
    parts.iter().for_each(|p| md5.update(p.as_bytes()));
    let h = md5.finalize();
    let n = i32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    (f64::from(n) / -2_147_483_648.0).abs()
}

/// `isInRollout`: the `[0, ≈1]` shortcut, the `[0, 0]` exclusion, else inclusive at both ends. `bucket` is only
/// called when needed.
pub(super) fn in_rollout(min: f64, max: f64, bucket: impl FnOnce() -> f64) -> bool {
    if min == 0.0 && 1.0 - max < 1e-5 {
        return true;
    }
    if min == 0.0 && max == 0.0 {
        return false;
    }
    let p = bucket();
    min <= p && p <= max
}

/// Whose value buckets the user.
#[derive(Debug)]
pub(crate) enum DispatchKey {
    /// `dispatchKey` null, absent, empty or white space: the user key.
    KeyId,
    /// `valueOf(dispatchKey)`; an absent `name` contributes nothing.
    Attr(Attr),
}

/// One range of a split.
#[derive(Debug)]
pub(crate) struct Rollout {
    min: f64,
    max: f64,
    /// Index into the flag's variations; `None` if the id names no variation (served as null).
    variation: Option<usize>,
    /// Share sent to experiments; `None` (absent/null in JSON) sends nobody.
    expt: Option<f64>,
}

/// A compiled percentage split (a rule's or the fallthrough's).
#[derive(Debug)]
pub(crate) struct Dispatch {
    key: DispatchKey,
    included_in_expt: bool,
    /// Ranges in array order; ranges with fewer than two bounds cannot match and are left out.
    rollouts: Box<[Rollout]>,
}

/// The outcome of a dispatch.
pub(crate) enum Dispatched {
    /// No range matched: FeatBit serves the empty variation `{id: "", value: ""}`.
    Nothing,
    /// A range matched; its variation index (`None` if dangling) and whether the user goes to the experiment.
    Chosen { variation: Option<usize>, send_to_experiment: bool },
}

impl Dispatch {
    /// Compiles a split; `variations` are the flag's, to resolve ids once.
    pub(crate) fn compile(
        dispatch_key: Option<&str>,
        included_in_expt: bool,
        rollouts: &[RolloutVariation],
        variations: &[Variation],
    ) -> Self {
        let key = match dispatch_key {
            Some(k) if !k.trim().is_empty() => DispatchKey::Attr(Attr::of(k)),
            _ => DispatchKey::KeyId,
        };
        let rollouts = rollouts
            .iter()
            .filter(|r| r.rollout.len() >= 2)
            .map(|r| Rollout {
                min: r.rollout[0],
                max: r.rollout[1],
                variation: variations.iter().position(|v| v.id == r.id),
                expt: r.expt_rollout,
            })
            .collect();
        Self { key, included_in_expt, rollouts }
    }

    /// Picks the first range containing the user's bucket and decides experiment inclusion.
    pub(crate) fn dispatch(&self, flag_key: &str, user: &EvalUser<'_>, expt_include_all_targets: bool) -> Dispatched {
        let value = match &self.key {
            DispatchKey::KeyId => user.user().key_id.as_str(),
            DispatchKey::Attr(attr) => attr.value(user).unwrap_or(""),
        };
        let mut bucket = None;
        let mut bucket_of = || *bucket.get_or_insert_with(|| rollout_of(&[flag_key, value]));
        let Some(chosen) = self.rollouts.iter().find(|r| in_rollout(r.min, r.max, &mut bucket_of)) else {
            return Dispatched::Nothing;
        };
        let send_to_experiment =
            expt_include_all_targets || (self.included_in_expt && chosen.in_experiment(flag_key, value));
        Dispatched::Chosen { variation: chosen.variation, send_to_experiment }
    }
}

impl Rollout {
    /// The experiment share of this range is `exptRollout / width`, capped at 1, drawn with the `"expt"` key.
    fn in_experiment(&self, flag_key: &str, value: &str) -> bool {
        let width = self.max - self.min;
        match self.expt {
            Some(e) if e != 0.0 && width != 0.0 => {
                let upper = (e / width).min(1.0);
                in_rollout(0.0, upper, || rollout_of(&[EXPT_PREFIX, flag_key, value]))
            }
            _ => false,
        }
    }
}
