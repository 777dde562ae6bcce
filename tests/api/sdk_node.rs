//! The pinned, unmodified npm `@featbit/node-server-sdk` (driven by `tests/sdk/node_server.mjs`) against a real
//! `vane` process, on embedded (SQLite) and cluster (Postgres) storage: it connects over `type=server`, becomes ready,
//! evaluates every flag for every user as FeatBit would, and the insights it POSTs land in the database.

use std::time::Duration;

use crate::helpers::database::TestDb;
use crate::helpers::sdk_fixtures::{Vane, driver, driver_input, expected_insights, expected_values, insights};
use crate::helpers::sdk_fixtures::{seed_environment, user_keys};

/// Ready within 5 s, a few ms of evaluation, then flush and close (about 2 s).
const DRIVER_DEADLINE: Duration = Duration::from_secs(45);

async fn node_server_sdk_is_ready_evaluates_and_reports_insights(db: TestDb) {
    // Arrange
    let (env, store) = seed_environment(&db.url).await;
    let vane = Vane::start(&db);

    // Act
    let input = driver_input(&vane.url, &env.server);
    let result = driver::run(driver::node("node_server.mjs"), &input, DRIVER_DEADLINE);

    // Assert
    assert_eq!(result["ready"], true, "the SDK never became ready: {result}");
    assert_eq!(result["values"], expected_values(), "{result}");
    insights::wait_for_exactly(&store, env.id, &expected_insights(user_keys()[0])).await;
    drop(vane);
    store.connection().clone().close().await.ok();
    db.cleanup().await;
}

#[tokio::test]
async fn node_server_sdk_works_unmodified_on_sqlite() {
    node_server_sdk_is_ready_evaluates_and_reports_insights(TestDb::sqlite()).await;
}

#[tokio::test]
async fn node_server_sdk_works_unmodified_on_postgres() {
    node_server_sdk_is_ready_evaluates_and_reports_insights(TestDb::postgres().await).await;
}
