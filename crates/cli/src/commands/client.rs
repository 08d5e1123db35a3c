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
    fn url(&self, path: &str) -> String {
        format!(
            "{}/v1/tenants/{}/{path}",
            self.url.trim_end_matches('/'),
            self.tenant
        )
    }

    /// POSTs `body` to `path` under the tenant; the answer, or the server's error message.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, String> {
        let url = self.url(path);
        let response = reqwest::Client::new()
            .post(&url)
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .map_err(|e| format!("cannot reach {url}: {e}"))?;
        answer(&url, response).await
    }

    /// POSTs raw `body` of `content_type` to `path` under the tenant.
    pub async fn post_bytes(
        &self,
        path: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<Value, String> {
        let url = self.url(path);
        let response = reqwest::Client::new()
            .post(&url)
            .bearer_auth(&self.token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| format!("cannot reach {url}: {e}"))?;
        answer(&url, response).await
    }

    /// GETs `path` under the tenant: the response, to read as it streams, if it succeeded.
    pub async fn get(&self, path: &str) -> Result<reqwest::Response, String> {
        let url = self.url(path);
        let response = reqwest::Client::new()
            .get(&url)
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| format!("cannot reach {url}: {e}"))?;
        if response.status().is_success() {
            Ok(response)
        } else {
            answer(&url, response)
                .await
                .and_then(|_| Err(format!("{url} answered with no body to read")))
        }
    }
}

/// The JSON answer of a response, or the server's error message.
/// The JSON answer of a response, or the server's error message with the field errors it
/// names, one a line.
async fn answer(url: &str, response: reqwest::Response) -> Result<Value, String> {
    let status = response.status();
    let answer: Value = response
        .json()
        .await
        .map_err(|e| format!("{url} answered {status} with no JSON: {e}"))?;
    if status.is_success() {
        return Ok(answer);
    }
    let code = answer["error"]["code"].as_str().unwrap_or("error");
    let message = answer["error"]["message"].as_str().unwrap_or("");
    let mut text = format!("{status} {code}: {message}");
    for detail in answer["error"]["details"].as_array().into_iter().flatten() {
        let field = detail["field"].as_str().unwrap_or("");
        let why = detail["message"].as_str().unwrap_or("");
        text.push_str(&format!("\n  {field}: {why}"));
    }
    Err(text)
}
