//! Bearer tokens: HS256 JWTs in the shape of distribution's token spec (`access` lists of
//! `{type, name, actions}`), and the token endpoint that issues them.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::auth::{basic_identity, AuthMode};
use crate::error::{ApiError, ErrorCode, RegistryError};
use crate::fsutil::{io_err, write_atomic};
use crate::names::check_name;
use crate::routes::App;

/// The issuer name in tokens.
const ISSUER: &str = "berth-registry";

/// One granted resource.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ResourceActions {
    /// `repository` or `registry`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The repository name (or `catalog`).
    pub name: String,
    /// Granted actions (`pull`, `push`, `*`).
    pub actions: Vec<String>,
}

/// A token's claims.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// The user ("" for anonymous).
    pub sub: String,
    /// The service (audience).
    pub aud: String,
    /// Expiry (seconds since the epoch).
    pub exp: u64,
    /// Not before.
    pub nbf: u64,
    /// Issued at.
    pub iat: u64,
    /// Unique id.
    pub jti: String,
    /// Granted access.
    pub access: Vec<ResourceActions>,
}

impl Claims {
    /// Whether the token grants `action` on repository `name`.
    pub fn grants(&self, name: &str, action: &str) -> bool {
        self.access.iter().any(|a| {
            a.kind == "repository"
                && a.name == name
                && a.actions.iter().any(|x| x == action || x == "*")
        })
    }
}

/// Signs and verifies tokens.
pub struct TokenIssuer {
    /// The realm (the token endpoint's URL); None: `<scheme>://<Host>/token` per request.
    pub realm: Option<String>,
    /// The service name clients echo back.
    pub service: String,
    /// How long a token lives.
    pub ttl: Duration,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("realm", &self.realm)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl TokenIssuer {
    /// An issuer signing with the key in `key_file`, or, if None, with a random key kept
    /// in `<root>/token.key` (made on first start, so tokens survive restarts).
    pub fn new(
        key_file: Option<&Path>,
        root: &Path,
        realm: Option<String>,
        service: String,
    ) -> Result<Self, RegistryError> {
        let key = match key_file {
            Some(path) => std::fs::read(path).map_err(io_err("read token key", path))?,
            None => {
                let path = root.join("token.key");
                match std::fs::read(&path) {
                    Ok(k) if k.len() >= 32 => k,
                    _ => {
                        let key: [u8; 32] = rand::random();
                        write_atomic(&path, &key)?;
                        key.to_vec()
                    }
                }
            }
        };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[&service]);
        validation.set_issuer(&[ISSUER]);
        validation.leeway = 5;
        Ok(Self {
            realm,
            service,
            ttl: Duration::from_secs(300),
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
            validation,
        })
    }

    /// The realm to announce for a request arriving at `base` (`scheme://host`).
    pub fn realm(&self, base: &str) -> String {
        self.realm
            .clone()
            .unwrap_or_else(|| format!("{base}/token"))
    }

    /// Verifies a token's signature, issuer, audience and expiry.
    pub fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map(|d| d.claims)
    }

    /// Signs a token for `user` granting `access`.
    pub fn issue(
        &self,
        user: Option<&str>,
        access: Vec<ResourceActions>,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let claims = Claims {
            iss: ISSUER.to_string(),
            sub: user.unwrap_or_default().to_string(),
            aud: self.service.clone(),
            exp: now + self.ttl.as_secs(),
            nbf: now.saturating_sub(1),
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
            access,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }
}

/// `GET /token?service=...&scope=repository:<name>:pull,push[&scope=...]`: checks the basic
/// credentials (none: anonymous) and issues a token for the allowed part of each scope.
pub(crate) async fn token_endpoint(
    State(app): State<App>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    match issue_for_request(&app, &headers, &params) {
        Ok(body) => ([("Content-Type", "application/json")], body).into_response(),
        Err(e) => e.into_response(),
    }
}

fn issue_for_request(
    app: &App,
    headers: &HeaderMap,
    params: &[(String, String)],
) -> Result<String, ApiError> {
    let AuthMode::Token(htpasswd, issuer) = &app.auth.mode else {
        return Err(ApiError::new(
            ErrorCode::Unsupported,
            "this registry does not issue tokens",
        ));
    };
    let user = basic_identity(htpasswd, headers)?;
    let mut access = Vec::new();
    for (_, scope) in params.iter().filter(|(k, _)| k == "scope") {
        // A scope param may hold several space-separated scopes.
        for one in scope.split(' ') {
            if let Some(granted) = grant(app, user.as_deref(), one) {
                access.push(granted);
            }
        }
    }
    let token = issuer
        .issue(user.as_deref(), access)
        .map_err(ApiError::internal)?;
    let issued_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    Ok(serde_json::json!({
        "token": token,
        "access_token": token,
        "expires_in": issuer.ttl.as_secs(),
        "issued_at": issued_at,
    })
    .to_string())
}

/// The part of `scope` (`repository:<name>:<actions>`) that `user` may have.
fn grant(app: &App, user: Option<&str>, scope: &str) -> Option<ResourceActions> {
    let (kind, rest) = scope.split_once(':')?;
    let (name, actions) = rest.rsplit_once(':')?;
    if kind == "registry" && name == "catalog" {
        return user.map(|_| ResourceActions {
            kind: kind.to_string(),
            name: name.to_string(),
            actions: vec!["*".to_string()],
        });
    }
    if kind != "repository" || check_name(name).is_err() {
        return None;
    }
    let access = app.auth.policy.access(user, name);
    let granted: Vec<String> = actions
        .split(',')
        .filter(|a| match *a {
            "pull" => access.pull,
            "push" | "delete" | "*" => access.push,
            _ => false,
        })
        .map(str::to_string)
        .collect();
    Some(ResourceActions {
        kind: kind.to_string(),
        name: name.to_string(),
        actions: granted,
    })
}
