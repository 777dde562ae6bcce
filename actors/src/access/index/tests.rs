use std::time::Instant;

use chrono::Duration;
use uuid::Uuid;
use vane_schema::secret::{EnvSecret, SecretType, generate};
use vane_schema::wire::time::now_ms;

use super::{Lookup, SecretIndex};

fn env_with(index: &SecretIndex) -> (Uuid, EnvSecret, EnvSecret) {
    let env = Uuid::new_v4();
    let (server, client) = (EnvSecret::generate(env, SecretType::Server), EnvSecret::generate(env, SecretType::Client));
    index.apply(env, now_ms(), vec![server.clone(), client.clone()]);
    (env, server, client)
}

#[test]
fn known_secrets_are_found_and_unknown_environments_never_ask_for_a_refresh() {
    let index = SecretIndex::default();
    let (env, server, _) = env_with(&index);
    assert!(matches!(index.lookup(&server.value), Lookup::Found(i) if i.env_id == env && i.kind == SecretType::Server));
    for _ in 0..1000 {
        assert_eq!(index.lookup(&generate(Uuid::new_v4())), Lookup::Unknown);
    }
    assert_eq!(index.lookup("not a secret"), Lookup::Unknown);
}

#[test]
fn an_unknown_secret_of_a_known_environment_asks_for_one_refresh_per_window() {
    let index = SecretIndex::default();
    let (env, _, _) = env_with(&index);
    assert_eq!(index.lookup(&generate(env)), Lookup::Refresh(env));
    for _ in 0..1000 {
        assert_eq!(index.lookup(&generate(env)), Lookup::Unknown);
    }
}

#[test]
fn a_newer_list_revokes_and_an_older_one_is_ignored() {
    let index = SecretIndex::default();
    let (env, server, client) = env_with(&index);
    let added = EnvSecret::generate(env, SecretType::Server);
    let later = now_ms() + Duration::seconds(1);
    let revoked = index.apply(env, later, vec![added.clone(), client.clone()]).expect("newer applies");
    assert_eq!(revoked, vec![server.id]);
    assert_eq!(index.lookup(&server.value), Lookup::Refresh(env));
    assert!(matches!(index.lookup(&added.value), Lookup::Found(_)));
    // A late message carrying the old list must not bring the revoked secret back.
    assert!(index.apply(env, later - Duration::seconds(1), vec![server.clone(), client]).is_none());
    assert!(!matches!(index.lookup(&server.value), Lookup::Found(_)));
}

#[test]
fn only_environments_written_before_a_read_began_count_as_missing() {
    let index = SecretIndex::default();
    let (old, _, _) = env_with(&index);
    let began = Instant::now();
    let (fresh, _, _) = env_with(&index);
    assert_eq!(index.missing_since(began, &[]), vec![old]);
    index.remove(old);
    assert!(index.missing_since(Instant::now(), &[fresh]).is_empty());
    assert_eq!(index.len(), 2);
}
