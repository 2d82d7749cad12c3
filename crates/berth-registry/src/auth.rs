//! Authentication and authorisation: htpasswd basic auth, bearer tokens, the policy.
//!
//! Three modes: no auth (everything allowed; the server then listens only on loopback),
//! basic (every request carries `Authorization: Basic`, checked against htpasswd), and
//! token (the docker/skopeo flow: a 401 with `WWW-Authenticate: Bearer realm=...` sends
//! the client to the token endpoint, which checks its basic credentials, if any, and
//! issues an HS256 JWT granting only what the policy allows; requests then carry
//! `Authorization: Bearer <jwt>`). Basic credentials are accepted in token mode too.
//!
//! Outcomes: no or wrong credentials where they are needed -> UNAUTHORIZED (401 with a
//! challenge); a known identity without permission -> DENIED (403).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;

use axum::http::HeaderMap;
use base64::Engine as _;
use sha2::Digest as _;

use crate::error::{ApiError, ErrorCode, RegistryError};
use crate::policy::Policy;
use crate::token::{Claims, TokenIssuer};

/// What a request wants to do with a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read manifests, blobs, tags, referrers.
    Pull,
    /// Upload, put manifests, delete.
    Push,
}

impl Action {
    /// The token scope actions a client should ask for.
    fn scope_actions(self) -> &'static str {
        match self {
            Action::Pull => "pull",
            Action::Push => "pull,push",
        }
    }

    /// The action's name in a token's `access` list.
    pub fn name(self) -> &'static str {
        match self {
            Action::Pull => "pull",
            Action::Push => "push",
        }
    }
}

/// An htpasswd file of bcrypt entries (`htpasswd -B`).
#[derive(Debug)]
pub struct Htpasswd {
    users: HashMap<String, String>,
    /// Digests of (user, password, hash) already verified: bcrypt is deliberately slow
    /// (tens of ms), and basic auth sends the password with every request.
    verified: Mutex<HashSet<[u8; 32]>>,
}

impl Htpasswd {
    /// Reads an htpasswd file; only bcrypt (`$2y$`, `$2b$`, `$2a$`) entries are accepted.
    pub fn load(path: &Path) -> Result<Self, RegistryError> {
        let text = std::fs::read_to_string(path).map_err(|source| RegistryError::Io {
            what: "read htpasswd",
            path: path.to_path_buf(),
            source,
        })?;
        let mut users = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let invalid = |reason: &str| RegistryError::InvalidConfig {
                what: "htpasswd",
                path: path.to_path_buf(),
                reason: format!("line {}: {reason}", n + 1),
            };
            let (user, hash) = line
                .split_once(':')
                .ok_or_else(|| invalid("expected `user:hash`"))?;
            if !["$2y$", "$2b$", "$2a$"].iter().any(|p| hash.starts_with(p)) {
                return Err(invalid("only bcrypt entries are supported (htpasswd -B)"));
            }
            users.insert(user.to_string(), hash.to_string());
        }
        Ok(Self {
            users,
            verified: Mutex::new(HashSet::new()),
        })
    }

    /// An htpasswd with no users (token mode without one: anonymous tokens only).
    pub fn empty() -> Self {
        Self {
            users: HashMap::new(),
            verified: Mutex::new(HashSet::new()),
        }
    }

    /// Whether `password` is `user`'s.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        let Some(hash) = self.users.get(user) else {
            return false;
        };
        let key: [u8; 32] = sha2::Sha256::new()
            .chain_update(user)
            .chain_update([0])
            .chain_update(password)
            .chain_update([0])
            .chain_update(hash)
            .finalize()
            .into();
        let mut cache = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if cache.contains(&key) {
            return true;
        }
        let ok = bcrypt::verify(password, hash).unwrap_or(false);
        if ok {
            cache.insert(key);
        }
        ok
    }
}

/// The authentication mode.
#[derive(Debug)]
pub enum AuthMode {
    /// No authentication: every request may do everything.
    None,
    /// htpasswd basic auth on every request.
    Basic(Htpasswd),
    /// Bearer tokens from the token endpoint, which checks htpasswd (or none: anonymous).
    Token(Htpasswd, Box<TokenIssuer>),
}

/// Decides what each request may do.
#[derive(Debug)]
pub struct Authorizer {
    /// The mode.
    pub mode: AuthMode,
    /// The per-repository policy.
    pub policy: Policy,
}

/// Who made a request, as far as the credentials show.
enum Credentials {
    None,
    Basic(String, String),
    Bearer(String),
}

fn credentials(headers: &HeaderMap) -> Result<Credentials, ApiError> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(Credentials::None);
    };
    let bad = || ApiError::new(ErrorCode::Unauthorized, "malformed Authorization header");
    let value = value.to_str().map_err(|_| bad())?;
    let (scheme, rest) = value.split_once(' ').ok_or_else(bad)?;
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest.trim())
                .map_err(|_| bad())?;
            let text = String::from_utf8(decoded).map_err(|_| bad())?;
            let (user, password) = text.split_once(':').ok_or_else(bad)?;
            Ok(Credentials::Basic(user.to_string(), password.to_string()))
        }
        "bearer" => Ok(Credentials::Bearer(rest.trim().to_string())),
        _ => Err(bad()),
    }
}

/// Checks basic credentials against htpasswd: Some(user), or None when absent; an error
/// when they are wrong.
pub(crate) fn basic_identity(
    htpasswd: &Htpasswd,
    headers: &HeaderMap,
) -> Result<Option<String>, ApiError> {
    match credentials(headers)? {
        Credentials::Basic(user, password) if htpasswd.verify(&user, &password) => Ok(Some(user)),
        Credentials::Basic(..) => Err(ApiError::new(
            ErrorCode::Unauthorized,
            "invalid username or password",
        )),
        _ => Ok(None),
    }
}

impl Authorizer {
    /// Whether any authentication is configured.
    pub fn enabled(&self) -> bool {
        !matches!(self.mode, AuthMode::None)
    }

    fn challenge(&self, realm_base: &str, scope: Option<String>) -> String {
        match &self.mode {
            AuthMode::Token(_, issuer) => {
                let realm = issuer.realm(realm_base);
                let mut c = format!("Bearer realm=\"{realm}\",service=\"{}\"", issuer.service);
                if let Some(scope) = scope {
                    c.push_str(&format!(",scope=\"{scope}\""));
                }
                c
            }
            _ => "Basic realm=\"berth-registry\"".to_string(),
        }
    }

    fn unauthorized(&self, realm_base: &str, scope: Option<String>, message: &str) -> ApiError {
        let mut e = ApiError::new(ErrorCode::Unauthorized, message);
        e.challenge = Some(self.challenge(realm_base, scope));
        e
    }

    /// The identity behind a request's credentials. `Ok(None)` is anonymous; a bearer
    /// token's claims come back too. Wrong credentials are UNAUTHORIZED.
    fn identify(
        &self,
        headers: &HeaderMap,
        realm_base: &str,
        scope: Option<String>,
    ) -> Result<(Option<String>, Option<Claims>), ApiError> {
        let (htpasswd, issuer) = match &self.mode {
            AuthMode::None => return Ok((None, None)),
            AuthMode::Basic(h) => (h, None),
            AuthMode::Token(h, i) => (h, Some(i)),
        };
        let creds = credentials(headers)
            .map_err(|e| self.unauthorized(realm_base, scope.clone(), &e.message))?;
        match creds {
            Credentials::None => Ok((None, None)),
            Credentials::Basic(..) => basic_identity(htpasswd, headers)
                .map(|u| (u, None))
                .map_err(|e| self.unauthorized(realm_base, scope, &e.message)),
            Credentials::Bearer(token) => {
                let Some(issuer) = issuer else {
                    return Err(self.unauthorized(
                        realm_base,
                        scope,
                        "bearer tokens are not enabled",
                    ));
                };
                let claims = issuer.verify(&token).map_err(|e| {
                    self.unauthorized(realm_base, scope, &format!("invalid token: {e}"))
                })?;
                let user = Some(claims.sub.clone()).filter(|s| !s.is_empty());
                Ok((user, Some(claims)))
            }
        }
    }

    /// Authorises `action` on `repository`.
    pub fn check(
        &self,
        headers: &HeaderMap,
        realm_base: &str,
        repository: &str,
        action: Action,
    ) -> Result<(), ApiError> {
        if !self.enabled() {
            return Ok(());
        }
        let scope = format!("repository:{repository}:{}", action.scope_actions());
        let (user, claims) = self.identify(headers, realm_base, Some(scope.clone()))?;
        let access = self.policy.access(user.as_deref(), repository);
        let allowed = match action {
            Action::Pull => access.pull,
            Action::Push => access.push,
        };
        let granted = match &claims {
            // A token grants only what it lists (its scopes were cut to the policy).
            Some(c) => c.grants(repository, action.name()) && allowed,
            None => allowed,
        };
        if granted {
            return Ok(());
        }
        if user.is_some() && !allowed {
            return Err(ApiError::new(
                ErrorCode::Denied,
                format!(
                    "`{}` may not {} `{repository}`",
                    user.as_deref().unwrap_or_default(),
                    action.name()
                ),
            ));
        }
        let message = if user.is_some() || claims.is_some() {
            "the token does not grant this scope"
        } else {
            "authentication required"
        };
        Err(self.unauthorized(realm_base, Some(scope), message))
    }

    /// Authorises `/v2/` (any valid identity) and `/v2/_catalog` (an authenticated one).
    /// Returns the user, if any.
    pub fn check_base(
        &self,
        headers: &HeaderMap,
        realm_base: &str,
        need_user: bool,
    ) -> Result<Option<String>, ApiError> {
        if !self.enabled() {
            return Ok(None);
        }
        let scope = need_user.then(|| "registry:catalog:*".to_string());
        let (user, claims) = self.identify(headers, realm_base, scope.clone())?;
        let ok = if need_user {
            user.is_some()
        } else {
            user.is_some() || claims.is_some()
        };
        if ok {
            Ok(user)
        } else {
            Err(self.unauthorized(realm_base, scope, "authentication required"))
        }
    }
}
