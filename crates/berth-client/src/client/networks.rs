//! Network calls.

use hyper::{Method, StatusCode};

use super::query::{segment, Filters, Query};
use super::{json_body, DockerClient, Error};
use crate::types::networks::{
    EndpointSettings, Network, NetworkConnectRequest, NetworkCreateRequest, NetworkCreateResponse,
    NetworkDisconnectRequest,
};

const OK: &[StatusCode] = &[StatusCode::OK];

impl DockerClient {
    /// `GET /networks`.
    pub async fn list_networks(&self, filters: &Filters) -> Result<Vec<Network>, Error> {
        let mut query = Query::new();
        query.filters(filters);
        self.json(Method::GET, &query.on("/networks"), None, OK)
            .await
    }

    /// `GET /networks/{id}`.
    pub async fn inspect_network(&self, id: &str) -> Result<Network, Error> {
        let target = format!("/networks/{}", segment(id));
        self.json(Method::GET, &target, None, OK).await
    }

    /// `POST /networks/create`.
    pub async fn create_network(
        &self,
        request: &NetworkCreateRequest,
    ) -> Result<NetworkCreateResponse, Error> {
        let target = "/networks/create";
        let body = json_body(request, target)?;
        self.json(
            Method::POST,
            target,
            Some(body),
            &[StatusCode::CREATED, StatusCode::OK],
        )
        .await
    }

    /// `DELETE /networks/{id}`.
    pub async fn remove_network(&self, id: &str) -> Result<(), Error> {
        let target = format!("/networks/{}", segment(id));
        self.empty(
            Method::DELETE,
            &target,
            None,
            &[StatusCode::NO_CONTENT, StatusCode::OK],
        )
        .await
    }

    /// `POST /networks/{id}/connect`.
    pub async fn connect_network(
        &self,
        id: &str,
        container: &str,
        endpoint: Option<EndpointSettings>,
    ) -> Result<(), Error> {
        let target = format!("/networks/{}/connect", segment(id));
        let request = NetworkConnectRequest {
            container: container.to_string(),
            endpoint_config: endpoint,
        };
        let body = json_body(&request, &target)?;
        self.empty(
            Method::POST,
            &target,
            Some(body),
            &[StatusCode::OK, StatusCode::NO_CONTENT],
        )
        .await
    }

    /// `POST /networks/{id}/disconnect`.
    pub async fn disconnect_network(
        &self,
        id: &str,
        container: &str,
        force: bool,
    ) -> Result<(), Error> {
        let target = format!("/networks/{}/disconnect", segment(id));
        let request = NetworkDisconnectRequest {
            container: container.to_string(),
            force: Some(force),
        };
        let body = json_body(&request, &target)?;
        self.empty(
            Method::POST,
            &target,
            Some(body),
            &[StatusCode::OK, StatusCode::NO_CONTENT],
        )
        .await
    }
}
