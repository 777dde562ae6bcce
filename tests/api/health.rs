//! Health endpoints of an in-process node.

use crate::helpers::app::TestApp;
use crate::helpers::database::TestDb;

#[actix_web::test]
async fn liveness_and_readiness_answer_on_sqlite_and_postgres() {
    for db in [TestDb::sqlite(), TestDb::postgres().await] {
        let app = TestApp::spawn(db, &[]).await;
        let res = app.http.get(format!("{}/health/liveness", app.address)).send().await.expect("answers");
        assert_eq!(res.status(), 200);
        assert_eq!(res.text().await.expect("body"), "Healthy");
        let res = app.http.get(format!("{}/health/readiness", app.address)).send().await.expect("answers");
        assert_eq!(res.status(), 200);
        let body: serde_json::Value = res.json().await.expect("JSON");
        assert_eq!(body["status"], "ready", "{body}");
        assert_eq!(body["dependencies"]["database"]["state"], "up", "{body}");
        assert!(body["dependencies"]["database"]["since"].is_string(), "{body}");
        app.cleanup().await;
    }
}
