//! Container calls.

use hyper::{Method, StatusCode};

use super::query::{segment, Filters, Query};
use super::{json_body, DockerClient, Error, OutputStream};
use crate::types::containers::{
    ContainerCreateRequest, ContainerInspect, ContainerSummary, ContainerWaitResponse,
    CreateResponse, WaitCondition,
};
use crate::types::stats::ContainerStats;
use crate::types::version::ApiVersion;

/// Options of [`DockerClient::list_containers`].
#[derive(Debug, Clone, Default)]
pub struct ListContainersOptions {
    /// Stopped containers too (`docker ps -a`).
    pub all: bool,
    /// Only the newest N.
    pub limit: Option<u32>,
    /// Compute sizes.
    pub size: bool,
    /// Filters (`status`, `label`, `name`, `ancestor`, ...).
    pub filters: Filters,
}

/// Options of [`DockerClient::remove_container`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RemoveContainerOptions {
    /// Kill it first if it runs.
    pub force: bool,
    /// Remove its anonymous volumes.
    pub volumes: bool,
}

/// Options of [`DockerClient::logs`].
#[derive(Debug, Clone, Default)]
pub struct LogsOptions {
    /// Include stdout.
    pub stdout: bool,
    /// Include stderr.
    pub stderr: bool,
    /// Keep streaming new output.
    pub follow: bool,
    /// Prefix lines with RFC 3339 timestamps.
    pub timestamps: bool,
    /// Only output after this Unix time (seconds, fractions allowed).
    pub since: Option<String>,
    /// Only output before this Unix time.
    pub until: Option<String>,
    /// Only the last N lines (`all` if absent).
    pub tail: Option<String>,
}

impl LogsOptions {
    /// Both streams, everything so far, no following.
    pub fn all_output() -> LogsOptions {
        LogsOptions {
            stdout: true,
            stderr: true,
            ..LogsOptions::default()
        }
    }
}

/// The first API version whose output answers say in `Content-Type` whether they are
/// framed.
pub(crate) const FRAMING_HEADER_VERSION: ApiVersion = ApiVersion::new(1, 42);

const OK: &[StatusCode] = &[StatusCode::OK];
const NO_CONTENT: &[StatusCode] = &[StatusCode::NO_CONTENT];
/// Start and stop answer 304 when the container already is in the wanted state; that is
/// success for the caller.
const NO_CONTENT_OR_NOT_MODIFIED: &[StatusCode] =
    &[StatusCode::NO_CONTENT, StatusCode::NOT_MODIFIED];

impl DockerClient {
    /// `POST /containers/create`.
    pub async fn create_container(
        &self,
        name: Option<&str>,
        request: &ContainerCreateRequest,
    ) -> Result<CreateResponse, Error> {
        let mut query = Query::new();
        query.opt("name", name);
        let target = query.on("/containers/create");
        let body = json_body(request, &target)?;
        self.json(Method::POST, &target, Some(body), &[StatusCode::CREATED])
            .await
    }

    /// `POST /containers/{id}/start`.
    pub async fn start_container(&self, id: &str) -> Result<(), Error> {
        let target = format!("/containers/{}/start", segment(id));
        self.empty(Method::POST, &target, None, NO_CONTENT_OR_NOT_MODIFIED)
            .await
    }

    /// `POST /containers/{id}/stop`: its stop signal, then SIGKILL after `timeout`
    /// seconds (the container's own default if `None`).
    pub async fn stop_container(&self, id: &str, timeout: Option<i64>) -> Result<(), Error> {
        let mut query = Query::new();
        query.opt("t", timeout);
        let target = query.on(&format!("/containers/{}/stop", segment(id)));
        self.empty(Method::POST, &target, None, NO_CONTENT_OR_NOT_MODIFIED)
            .await
    }

    /// `POST /containers/{id}/kill` with `signal` (SIGKILL if `None`).
    pub async fn kill_container(&self, id: &str, signal: Option<&str>) -> Result<(), Error> {
        let mut query = Query::new();
        query.opt("signal", signal);
        let target = query.on(&format!("/containers/{}/kill", segment(id)));
        self.empty(Method::POST, &target, None, NO_CONTENT).await
    }

    /// `POST /containers/{id}/wait`: blocks until `condition` holds.
    pub async fn wait_container(
        &self,
        id: &str,
        condition: WaitCondition,
    ) -> Result<ContainerWaitResponse, Error> {
        let mut query = Query::new();
        query.push("condition", condition.as_str());
        let target = query.on(&format!("/containers/{}/wait", segment(id)));
        self.json(Method::POST, &target, None, OK).await
    }

    /// `DELETE /containers/{id}`.
    pub async fn remove_container(
        &self,
        id: &str,
        options: RemoveContainerOptions,
    ) -> Result<(), Error> {
        let mut query = Query::new();
        query
            .flag("force", options.force)
            .flag("v", options.volumes);
        let target = query.on(&format!("/containers/{}", segment(id)));
        self.empty(Method::DELETE, &target, None, NO_CONTENT).await
    }

    /// `GET /containers/{id}/json`.
    pub async fn inspect_container(&self, id: &str) -> Result<ContainerInspect, Error> {
        let target = format!("/containers/{}/json", segment(id));
        self.json(Method::GET, &target, None, OK).await
    }

    /// `GET /containers/json`.
    pub async fn list_containers(
        &self,
        options: &ListContainersOptions,
    ) -> Result<Vec<ContainerSummary>, Error> {
        let mut query = Query::new();
        query
            .flag("all", options.all)
            .opt("limit", options.limit)
            .flag("size", options.size)
            .filters(&options.filters);
        self.json(Method::GET, &query.on("/containers/json"), None, OK)
            .await
    }

    /// `GET /containers/{id}/stats?stream=false`: one sample.
    pub async fn stats_once(&self, id: &str) -> Result<ContainerStats, Error> {
        let target = format!("/containers/{}/stats?stream=false", segment(id));
        self.json(Method::GET, &target, None, OK).await
    }

    /// `GET /containers/{id}/logs`, streamed.
    pub async fn logs(&self, id: &str, options: &LogsOptions) -> Result<OutputStream, Error> {
        let mut query = Query::new();
        query
            .flag("stdout", options.stdout)
            .flag("stderr", options.stderr)
            .flag("follow", options.follow)
            .flag("timestamps", options.timestamps)
            .opt("since", options.since.as_ref())
            .opt("until", options.until.as_ref())
            .opt("tail", options.tail.as_ref());
        let target = query.on(&format!("/containers/{}/logs", segment(id)));
        // Before 1.42 the answer does not say whether it is framed: ask about the TTY.
        let framed_without_header = if self.api_version().await? < FRAMING_HEADER_VERSION {
            let config = self.inspect_container(id).await?.config;
            !config.and_then(|c| c.tty).unwrap_or(false)
        } else {
            false
        };
        let response = self.call(Method::GET, &target, None, &[], OK).await?;
        Ok(OutputStream::new(response, target, framed_without_header))
    }
}
