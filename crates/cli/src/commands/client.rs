//! Talking to a running server: where it is and the token to use, from flags or the
//! environment, and one call that turns the server's error envelope into a message.

use clap::Args;
use serde_json::Value;

#[derive(Args, Debug, Clone)]
pub struct Remote {
    /// The server's base URL.
    #[arg(long, env = "GRANTD_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// A token of the tenant with the `check` scope (or the operator token).
    #[arg(long, env = "GRANTD_TOKEN", hide_env_values = true)]
    pub token: String,
    #[arg(long, env = "GRANTD_TENANT")]
    pub tenant: String,
}

impl Remote {
    /// POSTs `body` to `path` under the tenant; the answer, or the server's error message.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, String> {
        let url = format!(
            "{}/v1/tenants/{}/{path}",
            self.url.trim_end_matches('/'),
            self.tenant
        );
        let response = reqwest::Client::new()
            .post(&url)
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .map_err(|e| format!("cannot reach {url}: {e}"))?;
        let status = response.status();
        let answer: Value = response
            .json()
            .await
            .map_err(|e| format!("{url} answered {status} with no JSON: {e}"))?;
        if status.is_success() {
            Ok(answer)
        } else {
            let code = answer["error"]["code"].as_str().unwrap_or("error");
            let message = answer["error"]["message"].as_str().unwrap_or("");
            Err(format!("{status} {code}: {message}"))
        }
    }
}
