//! Registry credentials: the `X-Registry-Auth` header of pulls and pushes, `POST /auth`
//! (docker login's check), and `GET /images/search` (which berth does not do).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use base64::Engine as _;
use berth_client::types::system::{AuthConfig, AuthResponse};
use berth_image::distribution::{ClientOptions, Credentials, DistributionError, RegistryClient};
use berth_image::reference::DOCKER_HUB;
use hyper::StatusCode;

use super::errors::chain;
use crate::api::{error_response, json, parse_body, ApiResult, AppState};
use crate::error::EngineError;

/// The credentials an `AuthConfig` carries: user and password, or `auth`
/// (`base64(user:password)`). An empty config is anonymous.
fn credentials(config: &AuthConfig) -> Option<Credentials> {
    if let (Some(username), Some(password)) = (&config.username, &config.password) {
        if !username.is_empty() {
            return Some(Credentials {
                username: username.clone(),
                password: password.clone(),
            });
        }
    }
    let raw = config.auth.as_deref().filter(|a| !a.is_empty())?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(raw).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (username, password) = text.split_once(':')?;
    Some(Credentials {
        username: username.to_string(),
        password: password.to_string(),
    })
}

/// The credentials of the `X-Registry-Auth` header (base64url JSON `AuthConfig`, padded
/// or not); absent or empty: anonymous.
pub(crate) fn registry_auth(headers: &HeaderMap) -> Result<Option<Credentials>, EngineError> {
    let Some(value) = headers.get("X-Registry-Auth") else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text.is_empty() {
        return Ok(None);
    }
    let bad = || EngineError::Invalid("invalid X-Registry-Auth header: not base64url JSON".into());
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(text))
        .map_err(|_| bad())?;
    let config: AuthConfig = serde_json::from_slice(&json).map_err(|_| bad())?;
    Ok(credentials(&config))
}

/// A registry client for `registry` with `credentials`.
pub(crate) fn client(
    registry: &str,
    credentials: Option<Credentials>,
) -> Result<RegistryClient, DistributionError> {
    RegistryClient::new(
        registry,
        ClientOptions {
            credentials,
            ..ClientOptions::default()
        },
    )
}

/// The registry host of docker's `serveraddress` (`https://index.docker.io/v1/`,
/// `localhost:5000`, `http://127.0.0.1:5000/v2/`).
fn registry_host(address: Option<&str>) -> String {
    let address = address.map(str::trim).filter(|a| !a.is_empty());
    let Some(address) = address else {
        return DOCKER_HUB.to_string();
    };
    let without_scheme = address
        .strip_prefix("https://")
        .or_else(|| address.strip_prefix("http://"))
        .unwrap_or(address);
    let host = without_scheme.split('/').next().unwrap_or(without_scheme);
    match host {
        "index.docker.io" | "registry-1.docker.io" | "" => DOCKER_HUB.to_string(),
        other => other.to_string(),
    }
}

/// `POST /auth`: checks the credentials with the registry (nothing is stored: the
/// client keeps them, as with dockerd).
pub(crate) async fn login(State(_engine): State<AppState>, body: Bytes) -> ApiResult<Response> {
    let config: AuthConfig = parse_body(&body)?;
    let registry = registry_host(config.serveraddress.as_deref());
    let Some(credentials) = credentials(&config) else {
        return Err(EngineError::Invalid("a username and a password are required".into()).into());
    };
    let client =
        client(&registry, Some(credentials)).map_err(|e| EngineError::Invalid(chain(&e)))?;
    match client.check_login().await {
        Ok(()) => Ok(json(&AuthResponse {
            status: "Login Succeeded".to_string(),
            identity_token: Some(String::new()),
        })),
        Err(DistributionError::LoginRefused { .. } | DistributionError::Unauthorized { .. }) => {
            Ok(error_response(
                StatusCode::UNAUTHORIZED,
                &format!(
                    "login attempt to {}v2/ failed with status: 401 Unauthorized",
                    client.base_url()
                ),
            ))
        }
        Err(err) => Ok(error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &chain(&err),
        )),
    }
}

/// `GET /images/search`: registries berth talks to have no search API.
pub(crate) async fn search() -> ApiResult<Response> {
    Err(EngineError::NotImplemented(
        "berth: image search is not supported; registries speaking the OCI distribution API have no search endpoint (list a registry's repositories with GET /v2/_catalog)"
            .to_string(),
    )
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses_name_registries() {
        assert_eq!(registry_host(None), "docker.io");
        assert_eq!(
            registry_host(Some("https://index.docker.io/v1/")),
            "docker.io"
        );
        assert_eq!(registry_host(Some("localhost:5000")), "localhost:5000");
        assert_eq!(
            registry_host(Some("http://127.0.0.1:5000/v2/")),
            "127.0.0.1:5000"
        );
    }

    #[test]
    fn the_header_decodes_padded_or_not() {
        let json = r#"{"username":"u","password":"p"}"#;
        for engine in [
            base64::engine::general_purpose::URL_SAFE,
            base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ] {
            let mut headers = HeaderMap::new();
            headers.insert("X-Registry-Auth", engine.encode(json).parse().unwrap());
            let found = registry_auth(&headers).unwrap().unwrap();
            assert_eq!(
                (found.username.as_str(), found.password.as_str()),
                ("u", "p")
            );
        }
        let mut headers = HeaderMap::new();
        headers.insert("X-Registry-Auth", "e30=".parse().unwrap()); // {}
        assert!(registry_auth(&headers).unwrap().is_none());
        headers.insert("X-Registry-Auth", "!!".parse().unwrap());
        assert!(registry_auth(&headers).is_err());
    }
}
