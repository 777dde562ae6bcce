//! [`EvalUser`]: a user prepared for evaluation, so a condition on a custom property is one lookup, not a scan of
//! the user's properties.
//!
//! Built once per evaluation pass (one sync, one push, one evaluate call) and shared by every flag and segment of
//! the pass. Few properties are scanned in place (comparing a handful of short strings is cheaper than hashing
//! them and allocating a map); from [`MAP_FROM`] properties on, a map is built once and every condition pays one
//! lookup, whatever the user sent.

use foldhash::HashMap;
use vane_schema::wire::{CustomizedProperty, EndUser};

/// From this many custom properties on, lookups go through a map.
const MAP_FROM: usize = 16;

/// A user and an index of its custom properties. FeatBit's `valueOf` takes the **first** property of a name, and
/// so does the index.
#[derive(Debug)]
pub struct EvalUser<'u> {
    /// The user as sent.
    user: &'u EndUser,
    /// How custom properties are found.
    properties: Properties<'u>,
}

/// The two lookup strategies.
#[derive(Debug)]
enum Properties<'u> {
    /// Fewer than [`MAP_FROM`]: scanned in place.
    Few(&'u [CustomizedProperty]),
    /// Name → value of the first property with that name.
    Map(HashMap<&'u str, &'u str>),
}

impl<'u> EvalUser<'u> {
    /// Prepares `user` (builds the map when it has many properties).
    pub fn new(user: &'u EndUser) -> Self {
        let list = user.customized_properties.as_slice();
        let properties = if list.len() < MAP_FROM {
            Properties::Few(list)
        } else {
            let mut map = HashMap::with_capacity_and_hasher(list.len(), Default::default());
            for p in list {
                map.entry(p.name.as_str()).or_insert(p.value.as_str());
            }
            Properties::Map(map)
        };
        Self { user, properties }
    }

    /// The user as sent.
    pub fn user(&self) -> &'u EndUser {
        self.user
    }

    /// The value of custom property `name`, `""` when the user has none (§5.2).
    pub fn custom(&self, name: &str) -> &'u str {
        match &self.properties {
            Properties::Few(list) => list.iter().find(|p| p.name == name).map_or("", |p| p.value.as_str()),
            Properties::Map(map) => map.get(name).copied().unwrap_or(""),
        }
    }
}

impl<'u> From<&'u EndUser> for EvalUser<'u> {
    fn from(user: &'u EndUser) -> Self {
        Self::new(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_with(n: usize) -> EndUser {
        let mut user = EndUser::with_key("u");
        for i in 0..n {
            user = user.with_property(format!("p{i}"), format!("v{i}"));
        }
        user.with_property("p0", "second")
    }

    #[test]
    fn both_strategies_find_the_first_property_of_a_name_and_blank_for_none() {
        for n in [1, MAP_FROM - 2, MAP_FROM, 10_000] {
            let user = user_with(n);
            let eval = EvalUser::new(&user);
            assert_eq!(matches!(eval.properties, Properties::Map(_)), n + 1 >= MAP_FROM, "{n}");
            assert_eq!((eval.custom("p0"), eval.custom(&format!("p{}", n - 1))), ("v0", &*format!("v{}", n - 1)));
            assert_eq!(eval.custom("missing"), "");
        }
    }
}
