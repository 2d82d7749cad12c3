//! Volume calls.

use hyper::{Method, StatusCode};

use super::query::{segment, Filters, Query};
use super::{json_body, DockerClient, Error};
use crate::types::volumes::{Volume, VolumeCreateRequest, VolumeListResponse};

const OK: &[StatusCode] = &[StatusCode::OK];

impl DockerClient {
    /// `GET /volumes`.
    pub async fn list_volumes(&self, filters: &Filters) -> Result<VolumeListResponse, Error> {
        let mut query = Query::new();
        query.filters(filters);
        self.json(Method::GET, &query.on("/volumes"), None, OK)
            .await
    }

    /// `POST /volumes/create`.
    pub async fn create_volume(&self, request: &VolumeCreateRequest) -> Result<Volume, Error> {
        let target = "/volumes/create";
        let body = json_body(request, target)?;
        self.json(
            Method::POST,
            target,
            Some(body),
            &[StatusCode::CREATED, StatusCode::OK],
        )
        .await
    }

    /// `GET /volumes/{name}`.
    pub async fn inspect_volume(&self, name: &str) -> Result<Volume, Error> {
        let target = format!("/volumes/{}", segment(name));
        self.json(Method::GET, &target, None, OK).await
    }

    /// `DELETE /volumes/{name}`.
    pub async fn remove_volume(&self, name: &str, force: bool) -> Result<(), Error> {
        let mut query = Query::new();
        query.flag("force", force);
        let target = query.on(&format!("/volumes/{}", segment(name)));
        self.empty(Method::DELETE, &target, None, &[StatusCode::NO_CONTENT])
            .await
    }
}
