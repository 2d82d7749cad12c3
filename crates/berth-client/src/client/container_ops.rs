//! Container calls beyond the lifecycle basics: restart, pause, rename, update, top,
//! stats, resize, prune, and create and stop with all their options.

use hyper::{Method, StatusCode};

use super::query::{segment, Filters, Query};
use super::{json_body, DockerClient, Error, JsonStream};
use crate::types::containers::{
    ContainerCreateRequest, ContainerTopResponse, ContainerUpdateRequest, ContainerUpdateResponse,
    CreateResponse,
};
use crate::types::stats::ContainerStats;
use crate::types::system::PruneResponse;

/// Options of [`DockerClient::create_container_with`].
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// `--name`.
    pub name: Option<String>,
    /// `--platform` (`linux/amd64`).
    pub platform: Option<String>,
}

/// Options of [`DockerClient::stop_container_with`] and
/// [`DockerClient::restart_container`].
#[derive(Debug, Clone, Default)]
pub struct StopOptions {
    /// Seconds before SIGKILL (the container's own default if `None`).
    pub timeout: Option<i64>,
    /// The signal to stop with (the container's stop signal if `None`).
    pub signal: Option<String>,
}

const OK: &[StatusCode] = &[StatusCode::OK];
const NO_CONTENT: &[StatusCode] = &[StatusCode::NO_CONTENT];

impl StopOptions {
    fn target(&self, id: &str, verb: &str) -> String {
        let mut query = Query::new();
        query
            .opt("t", self.timeout)
            .opt("signal", self.signal.as_ref());
        query.on(&format!("/containers/{}/{verb}", segment(id)))
    }
}

impl DockerClient {
    /// `POST /containers/create?name=&platform=`.
    pub async fn create_container_with(
        &self,
        options: &CreateOptions,
        request: &ContainerCreateRequest,
    ) -> Result<CreateResponse, Error> {
        let mut query = Query::new();
        query
            .opt("name", options.name.as_ref())
            .opt("platform", options.platform.as_ref());
        let target = query.on("/containers/create");
        let body = json_body(request, &target)?;
        self.json(Method::POST, &target, Some(body), &[StatusCode::CREATED])
            .await
    }

    /// `POST /containers/{id}/stop?t=&signal=`.
    pub async fn stop_container_with(&self, id: &str, options: &StopOptions) -> Result<(), Error> {
        let target = options.target(id, "stop");
        self.empty(
            Method::POST,
            &target,
            None,
            &[StatusCode::NO_CONTENT, StatusCode::NOT_MODIFIED],
        )
        .await
    }

    /// `POST /containers/{id}/restart?t=&signal=`.
    pub async fn restart_container(&self, id: &str, options: &StopOptions) -> Result<(), Error> {
        let target = options.target(id, "restart");
        self.empty(Method::POST, &target, None, NO_CONTENT).await
    }

    /// `POST /containers/{id}/pause`.
    pub async fn pause_container(&self, id: &str) -> Result<(), Error> {
        let target = format!("/containers/{}/pause", segment(id));
        self.empty(Method::POST, &target, None, NO_CONTENT).await
    }

    /// `POST /containers/{id}/unpause`.
    pub async fn unpause_container(&self, id: &str) -> Result<(), Error> {
        let target = format!("/containers/{}/unpause", segment(id));
        self.empty(Method::POST, &target, None, NO_CONTENT).await
    }

    /// `POST /containers/{id}/rename?name=`.
    pub async fn rename_container(&self, id: &str, new_name: &str) -> Result<(), Error> {
        let mut query = Query::new();
        query.push("name", new_name);
        let target = query.on(&format!("/containers/{}/rename", segment(id)));
        self.empty(Method::POST, &target, None, NO_CONTENT).await
    }

    /// `POST /containers/{id}/update`: returns the daemon's warnings.
    pub async fn update_container(
        &self,
        id: &str,
        update: &ContainerUpdateRequest,
    ) -> Result<ContainerUpdateResponse, Error> {
        let target = format!("/containers/{}/update", segment(id));
        let body = json_body(update, &target)?;
        self.json(Method::POST, &target, Some(body), OK).await
    }

    /// `GET /containers/{id}/top?ps_args=`.
    pub async fn top_container(
        &self,
        id: &str,
        ps_args: Option<&str>,
    ) -> Result<ContainerTopResponse, Error> {
        let mut query = Query::new();
        query.opt("ps_args", ps_args);
        let target = query.on(&format!("/containers/{}/top", segment(id)));
        self.json(Method::GET, &target, None, OK).await
    }

    /// `GET /containers/{id}/stats?stream=true`: a sample about every second.
    pub async fn stats_stream(&self, id: &str) -> Result<JsonStream<ContainerStats>, Error> {
        let target = format!("/containers/{}/stats?stream=true", segment(id));
        let response = self.call(Method::GET, &target, None, &[], OK).await?;
        Ok(JsonStream::new(response, target))
    }

    /// `POST /containers/{id}/resize?h=&w=`: the container's TTY size.
    pub async fn resize_container(&self, id: &str, height: u16, width: u16) -> Result<(), Error> {
        let target = format!("/containers/{}/resize?h={height}&w={width}", segment(id));
        self.empty(
            Method::POST,
            &target,
            None,
            &[StatusCode::OK, StatusCode::NO_CONTENT],
        )
        .await
    }

    /// `POST /exec/{id}/resize?h=&w=`: an exec's TTY size.
    pub async fn resize_exec(&self, id: &str, height: u16, width: u16) -> Result<(), Error> {
        let target = format!("/exec/{}/resize?h={height}&w={width}", segment(id));
        self.empty(
            Method::POST,
            &target,
            None,
            &[StatusCode::OK, StatusCode::CREATED],
        )
        .await
    }

    /// `POST /containers/prune`: removes stopped containers.
    pub async fn prune_containers(&self, filters: &Filters) -> Result<PruneResponse, Error> {
        let mut query = Query::new();
        query.filters(filters);
        self.json(Method::POST, &query.on("/containers/prune"), None, OK)
            .await
    }
}
