//! System calls: ping, version, info, events.

use hyper::{Method, StatusCode};

use super::query::{Filters, Query};
use super::{DockerClient, Error, JsonStream};
use crate::types::events::EventMessage;
use crate::types::system::{PingInfo, SystemInfo, SystemVersion};

/// Options of [`DockerClient::events`].
#[derive(Debug, Clone, Default)]
pub struct EventsOptions {
    /// Past events from this Unix time (seconds, fractions allowed).
    pub since: Option<String>,
    /// Stop at this Unix time; without it the stream stays open.
    pub until: Option<String>,
    /// Filters (`type`, `container`, `event`, `label`, ...).
    pub filters: Filters,
}

const OK: &[StatusCode] = &[StatusCode::OK];

impl DockerClient {
    /// `GET /_ping` (unversioned): the daemon's headers. Does not negotiate.
    pub async fn ping(&self) -> Result<PingInfo, Error> {
        let what = "GET /_ping";
        let response = self.send(Method::GET, "/_ping", None, &[]).await?;
        let status = response.status();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let info = PingInfo {
            api_version: header("API-Version"),
            os_type: header("OSType"),
            experimental: header("Docker-Experimental").is_some_and(|v| v == "true"),
            builder_version: header("Builder-Version"),
            server: header("Server"),
        };
        let body = self.read_body(response, what).await?;
        if status != StatusCode::OK {
            return Err(Error::from_status(status.as_u16(), what, &body));
        }
        Ok(info)
    }

    /// `GET /version`.
    pub async fn version(&self) -> Result<SystemVersion, Error> {
        self.json(Method::GET, "/version", None, OK).await
    }

    /// `GET /info`.
    pub async fn info(&self) -> Result<SystemInfo, Error> {
        self.json(Method::GET, "/info", None, OK).await
    }

    /// `GET /events`, streamed.
    pub async fn events(&self, options: &EventsOptions) -> Result<JsonStream<EventMessage>, Error> {
        let mut query = Query::new();
        query
            .opt("since", options.since.as_ref())
            .opt("until", options.until.as_ref())
            .filters(&options.filters);
        let target = query.on("/events");
        let response = self.call(Method::GET, &target, None, &[], OK).await?;
        Ok(JsonStream::new(response, target))
    }
}

impl DockerClient {
    /// `GET /system/df`.
    pub async fn system_df(&self) -> Result<crate::types::system::SystemDf, Error> {
        self.json(Method::GET, "/system/df", None, OK).await
    }

    /// `POST /images/prune`: dangling images, or all unused ones with `dangling=false`
    /// in `filters`.
    pub async fn prune_images(
        &self,
        filters: &Filters,
    ) -> Result<crate::types::system::PruneResponse, Error> {
        let mut query = Query::new();
        query.filters(filters);
        self.json(Method::POST, &query.on("/images/prune"), None, OK)
            .await
    }

    /// `POST /networks/prune`: networks no container uses.
    pub async fn prune_networks(
        &self,
        filters: &Filters,
    ) -> Result<crate::types::system::PruneResponse, Error> {
        let mut query = Query::new();
        query.filters(filters);
        self.json(Method::POST, &query.on("/networks/prune"), None, OK)
            .await
    }

    /// `POST /volumes/prune`: volumes no container uses (anonymous ones only, unless
    /// `all=true` is in `filters`).
    pub async fn prune_volumes(
        &self,
        filters: &Filters,
    ) -> Result<crate::types::system::PruneResponse, Error> {
        let mut query = Query::new();
        query.filters(filters);
        self.json(Method::POST, &query.on("/volumes/prune"), None, OK)
            .await
    }
}
