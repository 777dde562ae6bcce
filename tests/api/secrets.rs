//! Issue 11, secrets: validation from memory (a flood of unknown secrets reaches neither Redis nor the database),
//! rotation through the management API (embedded and across cluster nodes), and the admin token rules.

mod admin_token;
mod flood;
mod rotation;
mod rotation_cluster;

use serde_json::Value;

/// The environment's secret `value` of `kind` from a management API environment body.
fn secret_of(env: &Value, kind: &str) -> String {
    let secrets = env["secrets"].as_array().expect("secrets");
    let s = secrets.iter().find(|s| s["type"] == kind).expect("a secret of the type");
    s["value"].as_str().expect("value").to_owned()
}

/// `GET /api/public/sdk/server/latest-all` with `secret`; the status.
async fn poll(http: &reqwest::Client, base: &str, secret: &str) -> u16 {
    let url = format!("{base}/api/public/sdk/server/latest-all");
    http.get(url).header("Authorization", secret).send().await.expect("answers").status().as_u16()
}

/// The sum of every sample of the Prometheus metric `name` with `label` (`key="value"`).
async fn metric(http: &reqwest::Client, base: &str, name: &str, label: &str) -> f64 {
    let text = http.get(format!("{base}/metrics")).send().await.expect("answers").text().await.expect("body");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (metric, labels) = series.split_once('{').unwrap_or((series, ""));
            (metric == name && labels.contains(label)).then(|| value.parse::<f64>().ok())?
        })
        .sum()
}
