//! Health endpoints of an in-process node.

use crate::helpers::app::TestApp;
use crate::helpers::database::TestDb;

#[actix_web::test]
async fn liveness_and_readiness_answer_on_sqlite_and_postgres() {
    for db in [TestDb::sqlite(), TestDb::postgres().await] {
        let app = TestApp::spawn(db, &[]).await;
        for path in ["/health/liveness", "/health/readiness"] {
            let res = app.http.get(format!("{}{path}", app.address)).send().await.expect("answers");
            assert_eq!(res.status(), 200, "{path}");
            assert_eq!(res.text().await.expect("body"), "Healthy");
        }
        app.cleanup().await;
    }
}
