//! An in-process node on port 0, built exactly as `vane serve` builds one.

use std::collections::HashMap;
use std::path::Path;

use vane::settings::Settings;
use vane::startup::Application;

use super::database::TestDb;

/// The management token every test node is started with.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdefghij";

/// A running node and what a test needs to talk to it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// The node's database.
    pub db: TestDb,
    /// HTTP client.
    pub http: reqwest::Client,
}

/// Settings from `config/test.toml` plus overrides given as `VANE__…` pairs.
pub fn test_settings(overrides: &[(&str, &str)]) -> Settings {
    let file = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config/test.toml"));
    let env: HashMap<String, String> = overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Settings::load_from(Some(file), Some(env)).expect("test settings load")
}

impl TestApp {
    /// Starts a node on `db`.
    pub async fn spawn(db: TestDb, overrides: &[(&str, &str)]) -> Self {
        let mut all = vec![("VANE__DATABASE__URL", db.url.as_str()), ("VANE__ADMIN__TOKEN", ADMIN_TOKEN)];
        all.extend_from_slice(overrides);
        let app = Application::build(test_settings(&all)).await.expect("app builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        actix_web::rt::spawn(app.run_until_stopped());
        Self { address, db, http: reqwest::Client::new() }
    }

    /// A management API request with the admin token; returns the status and the JSON body (`null` if none).
    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut req = self.http.request(method, format!("{}/api/v1{path}", self.address)).bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.expect("management API answers");
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
    }

    /// Drops the test database.
    pub async fn cleanup(self) {
        self.db.cleanup().await;
    }
}
