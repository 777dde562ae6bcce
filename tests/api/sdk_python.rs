//! The pinned, unmodified PyPI `fb-python-sdk` (driven by `tests/sdk/python_server.py` in the `tests/sdk/.venv`
//! venv) against a real `vane` process, on embedded (SQLite) and cluster (Postgres) storage: it connects over
//! `type=server` (query order and JSON spacing differ from node), becomes ready, evaluates every flag for every
//! user as FeatBit would, and the insights it POSTs (it requires exactly 200) land in the database.

use std::time::Duration;

use crate::helpers::database::TestDb;
use crate::helpers::sdk_fixtures::{Vane, driver, driver_input, expected_insights, expected_values, insights};
use crate::helpers::sdk_fixtures::{seed_environment, user_keys};

/// The constructor waits up to 10 s for the first data-sync; `stop()` drains the event queue, and now and then
/// waits 6 s for its streaming thread (an SDK race, sdk-behaviour.md §8): about 1.5 s, sometimes 7.5 s.
const DRIVER_DEADLINE: Duration = Duration::from_secs(45);

async fn python_server_sdk_is_ready_evaluates_and_reports_insights(db: TestDb) {
    // Arrange
    let (env, store) = seed_environment(&db.url).await;
    let vane = Vane::start(&db);

    // Act
    let input = driver_input(&vane.url, &env.server);
    let result = driver::run(driver::python("python_server.py"), &input, DRIVER_DEADLINE);

    // Assert
    assert_eq!(result["ready"], true, "the SDK never became ready: {result}");
    assert_eq!(result["values"], expected_values(), "{result}");
    insights::wait_for_exactly(&store, env.id, &expected_insights(user_keys()[0])).await;
    drop(vane);
    store.connection().clone().close().await.ok();
    db.cleanup().await;
}

#[tokio::test]
async fn python_server_sdk_works_unmodified_on_sqlite() {
    python_server_sdk_is_ready_evaluates_and_reports_insights(TestDb::sqlite()).await;
}

#[tokio::test]
async fn python_server_sdk_works_unmodified_on_postgres() {
    python_server_sdk_is_ready_evaluates_and_reports_insights(TestDb::postgres().await).await;
}
