//! Registry authentication: `WWW-Authenticate` challenges and the token flow.
//!
//! A registry that wants credentials answers `401` with a challenge. `Basic realm=…` asks
//! for `Authorization: Basic base64(user:pass)` on every request. `Bearer realm=…,
//! service=…,scope=…` sends the client to a token server: `GET realm?service=…&scope=…`
//! (with basic credentials when known, anonymous otherwise) answers
//! `{"token"|"access_token": …, "expires_in": …}`, and the request is retried with
//! `Authorization: Bearer <token>`. Tokens are cached per scope until they expire.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;

use super::credentials::Credentials;
use super::error::{DistributionError, Result};

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// `Basic realm="…"`.
    Basic {
        /// The realm (informational).
        realm: String,
    },
    /// `Bearer realm="…",service="…",scope="…"`.
    Bearer {
        /// The token server URL.
        realm: String,
        /// The service to name in the token request.
        service: Option<String>,
        /// The scope the registry asked for, if it said.
        scope: Option<String>,
    },
}

impl Challenge {
    /// Parses a `WWW-Authenticate` header value; `None` for unknown schemes.
    pub fn parse(header: &str) -> Option<Self> {
        let header = header.trim();
        let (scheme, rest) = header
            .split_once(char::is_whitespace)
            .unwrap_or((header, ""));
        let params = parse_params(rest);
        let get = |k: &str| params.get(k).cloned();
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => Some(Challenge::Basic {
                realm: get("realm").unwrap_or_default(),
            }),
            "bearer" => Some(Challenge::Bearer {
                realm: get("realm")?,
                service: get("service"),
                scope: get("scope"),
            }),
            _ => None,
        }
    }
}

/// `k=v, k="v, with comma", …` with lower-cased keys.
fn parse_params(text: &str) -> HashMap<String, String> {
    let mut params = HashMap::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
            value = value.trim().to_string();
        }
        params.insert(key.trim().to_ascii_lowercase(), value);
    }
    params
}

/// `repository:<repo>:pull` or `…:pull,push`.
pub fn repository_scope(repository: &str, push: bool) -> String {
    let actions = if push { "pull,push" } else { "pull" };
    format!("repository:{repository}:{actions}")
}

/// The `Authorization: Basic` value for `credentials`.
pub fn basic_header(credentials: &Credentials) -> String {
    let raw = format!("{}:{}", credentials.username, credentials.password);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// Tokens are renewed this long before the registry says they expire.
const EXPIRY_MARGIN: Duration = Duration::from_secs(10);
/// The spec's default when the token server gives no `expires_in`.
const DEFAULT_EXPIRY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
struct CachedToken {
    token: String,
    expires: Instant,
}

/// What the client knows about a registry's authentication: the scheme it asked for and
/// the tokens it holds.
#[derive(Debug, Default)]
pub struct AuthState {
    scheme: Mutex<Option<Challenge>>,
    tokens: Mutex<HashMap<String, CachedToken>>,
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl AuthState {
    /// The `Authorization` value to send for `scope`, if one is known (a cached, unexpired
    /// token, or basic credentials once the registry asked for Basic).
    pub fn header_for(&self, scope: &str, credentials: Option<&Credentials>) -> Option<String> {
        let scheme = self.scheme.lock().ok()?.clone();
        match scheme? {
            Challenge::Basic { .. } => credentials.map(basic_header),
            Challenge::Bearer { .. } => {
                let tokens = self.tokens.lock().ok()?;
                let cached = tokens.get(scope)?;
                (cached.expires > Instant::now()).then(|| format!("Bearer {}", cached.token))
            }
        }
    }

    /// Remembers a token for `scope` (also used by tests).
    pub fn store_token(&self, scope: &str, token: String, expires_in: Duration) {
        let expires = Instant::now() + expires_in.saturating_sub(EXPIRY_MARGIN);
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.insert(scope.to_string(), CachedToken { token, expires });
        }
    }

    /// Answers `challenge` for `scope`: for Basic, remembers the scheme (the caller then
    /// retries with credentials); for Bearer, fetches and caches a token. Returns whether a
    /// retry can succeed.
    pub async fn answer(
        &self,
        http: &reqwest::Client,
        registry: &str,
        challenge: Challenge,
        scope: &str,
        credentials: Option<&Credentials>,
    ) -> Result<bool> {
        if let Ok(mut scheme) = self.scheme.lock() {
            *scheme = Some(challenge.clone());
        }
        match challenge {
            Challenge::Basic { .. } => Ok(credentials.is_some()),
            Challenge::Bearer { realm, service, .. } => {
                let (token, expires_in) = fetch_token(
                    http,
                    registry,
                    &realm,
                    service.as_deref(),
                    scope,
                    credentials,
                )
                .await?;
                self.store_token(scope, token, expires_in);
                Ok(true)
            }
        }
    }
}

/// GETs a token from `realm` for `scope` (which may hold several space-separated scopes).
pub async fn fetch_token(
    http: &reqwest::Client,
    registry: &str,
    realm: &str,
    service: Option<&str>,
    scope: &str,
    credentials: Option<&Credentials>,
) -> Result<(String, Duration)> {
    let fail = |reason: String| DistributionError::Token {
        realm: realm.to_string(),
        reason,
    };
    let mut query: Vec<(&str, &str)> = Vec::new();
    if let Some(service) = service {
        query.push(("service", service));
    }
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        query.push(("scope", s));
    }
    let mut request = http.get(realm).query(&query);
    if let Some(credentials) = credentials {
        request = request.header(reqwest::header::AUTHORIZATION, basic_header(credentials));
    }
    let response = request.send().await.map_err(|e| fail(e.to_string()))?;
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        // The token server refused the credentials (or wants some).
        return Err(DistributionError::Unauthorized {
            registry: registry.to_string(),
        });
    }
    if !status.is_success() {
        return Err(fail(format!("token server answered {status}")));
    }
    let body = response.bytes().await.map_err(|e| fail(e.to_string()))?;
    let parsed: TokenResponse =
        serde_json::from_slice(&body).map_err(|e| fail(format!("bad token response: {e}")))?;
    let token = parsed
        .token
        .filter(|t| !t.is_empty())
        .or(parsed.access_token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| fail("the response has no token".to_string()))?;
    let expires_in = parsed
        .expires_in
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_EXPIRY);
    Ok((token, expires_in))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_with_quoted_commas() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/busybox:pull,push".into()),
            })
        );
    }

    #[test]
    fn parses_basic_and_refuses_unknown() {
        assert_eq!(
            Challenge::parse(r#"basic realm="Registry Realm""#),
            Some(Challenge::Basic {
                realm: "Registry Realm".into()
            })
        );
        assert_eq!(Challenge::parse("Negotiate abc"), None);
        // A Bearer challenge without a realm cannot be answered.
        assert_eq!(Challenge::parse(r#"Bearer service="x""#), None);
    }

    #[test]
    fn unquoted_values_and_spaces() {
        let c = Challenge::parse("Bearer realm=http://127.0.0.1:1/token , service=reg").unwrap();
        assert_eq!(
            c,
            Challenge::Bearer {
                realm: "http://127.0.0.1:1/token".into(),
                service: Some("reg".into()),
                scope: None
            }
        );
    }

    #[test]
    fn cached_tokens_are_per_scope_and_expire() {
        let state = AuthState::default();
        *state.scheme.lock().unwrap() = Some(Challenge::Bearer {
            realm: "r".into(),
            service: None,
            scope: None,
        });
        state.store_token("repository:a:pull", "t1".into(), Duration::from_secs(300));
        state.store_token("repository:b:pull", "t2".into(), Duration::from_secs(5));
        assert_eq!(
            state.header_for("repository:a:pull", None).as_deref(),
            Some("Bearer t1")
        );
        // Within the renewal margin: treated as expired.
        assert_eq!(state.header_for("repository:b:pull", None), None);
        assert_eq!(state.header_for("repository:a:pull,push", None), None);
    }
}
