//! Talking to a running server: where it is, the token and the tenant, from flags, the
//! environment or a named profile (`grantd profile`), and calls that turn the server's
//! error envelope into a message.

use clap::Args;
use reqwest::Method;
use serde_json::Value;

use super::profiles::Profiles;

/// The server a command talks to. Each of URL, token and tenant comes from its flag, else
/// its environment variable, else the profile (`--profile`, or the current one).
#[derive(Args, Debug, Clone)]
pub struct Remote {
    /// The server's base URL [default: the profile's, else http://127.0.0.1:8080].
    #[arg(long, env = "GRANTD_URL")]
    pub url: Option<String>,
    /// A token of the tenant with the scope the command needs (or the operator token).
    #[arg(long, env = "GRANTD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    #[arg(long, env = "GRANTD_TENANT")]
    pub tenant: Option<String>,
    /// A profile saved with `grantd profile add` [default: the current profile].
    #[arg(long, env = "GRANTD_PROFILE")]
    pub profile: Option<String>,
}

/// A remote with everything it needs.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub url: String,
    pub token: String,
    pub tenant: String,
}

const DEFAULT_URL: &str = "http://127.0.0.1:8080";

impl Remote {
    /// The URL, token and tenant to use, or what is missing.
    pub fn resolve(&self) -> Result<Resolved, String> {
        let profiles = Profiles::load()?;
        let profile = match &self.profile {
            Some(name) => Some(
                profiles
                    .get(name)
                    .ok_or_else(|| format!("no profile {name:?} (see grantd profile list)"))?,
            ),
            None => profiles.current(),
        };
        let from_profile =
            |pick: fn(&super::profiles::Profile) -> Option<String>| profile.and_then(pick);
        // A profile's token goes to the profile's server only, never to another URL given
        // by a flag or the environment.
        if let (Some(url), Some(profile), None) = (&self.url, profile, &self.token) {
            if url.trim_end_matches('/') != profile.url.trim_end_matches('/') {
                return Err(format!(
                    "the profile's token is for {}, not {url}: give --token for {url}",
                    profile.url
                ));
            }
        }
        let url = self
            .url
            .clone()
            .or_else(|| from_profile(|p| Some(p.url.clone())))
            .unwrap_or_else(|| DEFAULT_URL.into());
        let token = self
            .token
            .clone()
            .or_else(|| from_profile(|p| Some(p.token.clone())))
            .ok_or("give --token (or GRANTD_TOKEN, or a profile: grantd profile add)")?;
        let tenant = self
            .tenant
            .clone()
            .or_else(|| from_profile(|p| p.tenant.clone()))
            .ok_or("give --tenant (or GRANTD_TENANT, or a profile with a tenant)")?;
        Ok(Resolved { url, token, tenant })
    }

    /// POSTs `body` to `path` under the tenant; the answer, or the server's error message.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, String> {
        self.resolve()?
            .call(Method::POST, path, Some(body), None)
            .await
            .map(|(answer, _)| answer)
    }

    /// POSTs raw `body` of `content_type` to `path` under the tenant.
    pub async fn post_bytes(
        &self,
        path: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<Value, String> {
        let remote = self.resolve()?;
        let url = remote.url(path);
        let response = reqwest::Client::new()
            .post(&url)
            .bearer_auth(&remote.token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .map_err(|e| format!("cannot reach {url}: {e}"))?;
        answer(&url, response).await.map(|(answer, _)| answer)
    }

    /// GETs `path` under the tenant: the response, to read as it streams, if it succeeded.
    pub async fn get(&self, path: &str) -> Result<reqwest::Response, String> {
        let remote = self.resolve()?;
        let url = remote.url(path);
        let response = reqwest::Client::new()
            .get(&url)
            .bearer_auth(&remote.token)
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

impl Resolved {
    pub fn url(&self, path: &str) -> String {
        format!(
            "{}/v1/tenants/{}/{path}",
            self.url.trim_end_matches('/'),
            self.tenant
        )
    }

    /// Sends `method` to `path` under the tenant, with a JSON body and an `If-Match`
    /// when given: the answer (`Null` for none) and its ETag, or the server's error.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        if_match: Option<&str>,
    ) -> Result<(Value, Option<String>), String> {
        let url = self.url(path);
        let mut request = reqwest::Client::new()
            .request(method, &url)
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(etag) = if_match {
            request = request.header("if-match", etag);
        }
        let response = request
            .send()
            .await
            .map_err(|e| format!("cannot reach {url}: {e}"))?;
        answer(&url, response).await
    }
}

/// The JSON answer of a response (`Null` when it has no body) and its ETag, or the
/// server's error message with the field errors it names, one a line.
async fn answer(url: &str, response: reqwest::Response) -> Result<(Value, Option<String>), String> {
    let status = response.status();
    let etag = response
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let text = response
        .text()
        .await
        .map_err(|e| format!("{url} answered {status}, and the body broke off: {e}"))?;
    let answer: Value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text)
            .map_err(|e| format!("{url} answered {status} with no JSON: {e}"))?
    };
    if status.is_success() {
        return Ok((answer, etag));
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
