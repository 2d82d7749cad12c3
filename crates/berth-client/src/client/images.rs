//! Image calls.

use base64::Engine as _;
use bytes::Bytes;
use hyper::{Method, StatusCode};

use super::query::{segment, Filters, Query};
use super::{Body, DockerClient, Error, JsonStream};
use crate::types::images::{ImageDeleteResponseItem, ImageInspect, ImageSummary};
use crate::types::progress::JsonMessage;
use crate::types::system::AuthConfig;

/// Options of [`DockerClient::pull_image`].
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// `os/arch[/variant]`; the daemon's own platform if absent.
    pub platform: Option<String>,
    /// Registry credentials.
    pub auth: Option<AuthConfig>,
}

/// Options of [`DockerClient::build_image`]: the query of `POST /build`.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// `-t` names.
    pub tags: Vec<String>,
    /// `-f`: the Dockerfile's path in the context.
    pub dockerfile: Option<String>,
    /// `--build-arg`: a None value is declared without one.
    pub build_args: std::collections::BTreeMap<String, Option<String>>,
    /// `--label`.
    pub labels: std::collections::BTreeMap<String, String>,
    /// `--target`.
    pub target: Option<String>,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--pull`.
    pub pull: bool,
    /// `-q`.
    pub quiet: bool,
    /// `--network` of RUN steps.
    pub network: Option<String>,
    /// `--platform`.
    pub platform: Option<String>,
    /// A berth extension: the context is this directory on the daemon's host, read in
    /// place (the body is then empty). Only for a berth daemon on the same host.
    pub in_place: Option<InPlaceContext>,
}

/// A context the daemon reads in place: `x-berth-context-dir` and `x-berth-context-id`
/// on `POST /build`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InPlaceContext {
    /// The directory, absolute.
    pub dir: String,
    /// `<device>:<inode>` of the directory as the client sees it: the daemon refuses a
    /// directory that is another one from where it stands (another mount namespace).
    pub id: String,
}

const OK: &[StatusCode] = &[StatusCode::OK];

impl DockerClient {
    /// `GET /images/json`.
    pub async fn list_images(
        &self,
        all: bool,
        filters: &Filters,
    ) -> Result<Vec<ImageSummary>, Error> {
        let mut query = Query::new();
        query.flag("all", all).filters(filters);
        self.json(Method::GET, &query.on("/images/json"), None, OK)
            .await
    }

    /// `GET /images/{name}/json`.
    pub async fn inspect_image(&self, name: &str) -> Result<ImageInspect, Error> {
        let target = format!("/images/{}/json", segment(name));
        self.json(Method::GET, &target, None, OK).await
    }

    /// `DELETE /images/{name}`: what was untagged and deleted.
    pub async fn remove_image(
        &self,
        name: &str,
        force: bool,
        no_prune: bool,
    ) -> Result<Vec<ImageDeleteResponseItem>, Error> {
        let mut query = Query::new();
        query.flag("force", force).flag("noprune", no_prune);
        let target = query.on(&format!("/images/{}", segment(name)));
        self.json(Method::DELETE, &target, None, OK).await
    }

    /// `POST /images/{name}/tag`: gives `name` the reference `repo[:tag]`.
    pub async fn tag_image(&self, name: &str, repo: &str, tag: Option<&str>) -> Result<(), Error> {
        let mut query = Query::new();
        query.push("repo", repo).opt("tag", tag);
        let target = query.on(&format!("/images/{}/tag", segment(name)));
        self.empty(
            Method::POST,
            &target,
            None,
            &[StatusCode::CREATED, StatusCode::OK],
        )
        .await
    }

    /// `POST /images/create?fromImage=...`: pulls `image` (`name[:tag]` or
    /// `name@digest`), answering with the progress stream. Read it to the end (or call
    /// [`JsonStream::finish`]): a failure comes as its last message.
    pub async fn pull_image(
        &self,
        image: &str,
        options: &PullOptions,
    ) -> Result<JsonStream<JsonMessage>, Error> {
        let mut query = Query::new();
        query
            .push("fromImage", image)
            .opt("platform", options.platform.as_ref());
        let target = query.on("/images/create");
        let mut headers = Vec::new();
        if let Some(auth) = &options.auth {
            headers.push(("X-Registry-Auth", registry_auth_header(auth, &target)?));
        }
        let response = self.call(Method::POST, &target, None, &headers, OK).await?;
        Ok(JsonStream::new(response, target))
    }

    /// `POST /images/{name}/push`: pushes `name` (all its tags in that repository if
    /// `tag` is `None`), answering with the progress stream. The credentials header is
    /// always sent, empty without `auth`, as the docker CLI does.
    pub async fn push_image(
        &self,
        name: &str,
        tag: Option<&str>,
        auth: Option<&AuthConfig>,
    ) -> Result<JsonStream<JsonMessage>, Error> {
        let mut query = Query::new();
        query.opt("tag", tag);
        let target = query.on(&format!("/images/{}/push", segment(name)));
        let empty = AuthConfig::default();
        let header = registry_auth_header(auth.unwrap_or(&empty), &target)?;
        let response = self
            .call(
                Method::POST,
                &target,
                None,
                &[("X-Registry-Auth", header)],
                OK,
            )
            .await?;
        Ok(JsonStream::new(response, target))
    }

    /// `POST /images/create?fromSrc=-`: imports a root file system tar (`docker import`)
    /// as `repo[:tag]`, answering with the progress stream.
    pub async fn import_image(
        &self,
        tar: Bytes,
        repo: &str,
        tag: Option<&str>,
    ) -> Result<JsonStream<JsonMessage>, Error> {
        let mut query = Query::new();
        query
            .push("fromSrc", "-")
            .push("repo", repo)
            .opt("tag", tag);
        let target = query.on("/images/create");
        let body = Body {
            bytes: tar,
            content_type: "application/x-tar",
        };
        let response = self
            .call(Method::POST, &target, Some(body), &[], OK)
            .await?;
        Ok(JsonStream::new(response, target))
    }

    /// `POST /build` (the legacy builder): builds the context `tar`, answering with the
    /// build's message stream (`stream`, `aux` with the image id, `errorDetail`).
    pub async fn build_image(
        &self,
        tar: Bytes,
        options: &BuildOptions,
    ) -> Result<JsonStream<JsonMessage>, Error> {
        let encode = |source| Error::Encode {
            what: "POST /build".to_string(),
            source,
        };
        let mut query = Query::new();
        for tag in &options.tags {
            query.push("t", tag);
        }
        query
            .opt("dockerfile", options.dockerfile.as_ref())
            .opt("target", options.target.as_ref())
            .opt("networkmode", options.network.as_ref())
            .opt("platform", options.platform.as_ref())
            .flag("nocache", options.no_cache)
            .flag("pull", options.pull)
            .flag("q", options.quiet)
            .push("rm", "1")
            .push("version", "1");
        if let Some(in_place) = &options.in_place {
            query
                .push("x-berth-context-dir", &in_place.dir)
                .push("x-berth-context-id", &in_place.id);
        }
        if !options.build_args.is_empty() {
            query.push(
                "buildargs",
                serde_json::to_string(&options.build_args).map_err(encode)?,
            );
        }
        if !options.labels.is_empty() {
            query.push(
                "labels",
                serde_json::to_string(&options.labels).map_err(encode)?,
            );
        }
        let target = query.on("/build");
        let body = Body {
            bytes: tar,
            content_type: "application/x-tar",
        };
        let response = self
            .call(Method::POST, &target, Some(body), &[], OK)
            .await?;
        Ok(JsonStream::new(response, target))
    }
}

/// `X-Registry-Auth`: the credentials as JSON, base64url-encoded, as the docker CLI
/// sends them.
fn registry_auth_header(auth: &AuthConfig, what: &str) -> Result<String, Error> {
    let json = serde_json::to_vec(auth).map_err(|source| Error::Encode {
        what: what.to_string(),
        source,
    })?;
    Ok(base64::engine::general_purpose::URL_SAFE.encode(json))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_auth_is_base64url_json_with_lower_case_names() {
        let auth = AuthConfig {
            username: Some("u".into()),
            password: Some("p?>".into()),
            serveraddress: Some("localhost:5000".into()),
            ..AuthConfig::default()
        };
        let header = registry_auth_header(&auth, "test").unwrap();
        assert!(!header.contains('+') && !header.contains('/'), "{header}");
        let json = base64::engine::general_purpose::URL_SAFE
            .decode(header)
            .unwrap();
        assert_eq!(
            String::from_utf8(json).unwrap(),
            r#"{"username":"u","password":"p?>","serveraddress":"localhost:5000"}"#
        );
        assert!(
            !format!("{auth:?}").contains("p?>"),
            "Debug shows the password"
        );
    }
}
