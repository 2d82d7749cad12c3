//! Exec calls. Attached starts with stdin need a hijacked connection, which this client
//! does not do; output-only attached starts stream like logs.

use hyper::{Method, StatusCode};

use super::containers::FRAMING_HEADER_VERSION;
use super::query::segment;
use super::{json_body, DockerClient, Error, OutputStream};
use crate::types::containers::CreateResponse;
use crate::types::exec::{ExecConfig, ExecInspect, ExecStartConfig};

impl DockerClient {
    /// `POST /containers/{id}/exec`: returns the exec's ID.
    pub async fn create_exec(&self, container: &str, config: &ExecConfig) -> Result<String, Error> {
        let target = format!("/containers/{}/exec", segment(container));
        let body = json_body(config, &target)?;
        let created: CreateResponse = self
            .json(Method::POST, &target, Some(body), &[StatusCode::CREATED])
            .await?;
        Ok(created.id)
    }

    /// `POST /exec/{id}/start` detached: returns once the process started.
    pub async fn start_exec_detached(&self, id: &str) -> Result<(), Error> {
        let target = format!("/exec/{}/start", segment(id));
        let config = ExecStartConfig {
            detach: true,
            ..ExecStartConfig::default()
        };
        let body = json_body(&config, &target)?;
        self.empty(
            Method::POST,
            &target,
            Some(body),
            &[StatusCode::OK, StatusCode::NO_CONTENT],
        )
        .await
    }

    /// `POST /exec/{id}/start` attached, without stdin: the process's output until it
    /// exits.
    pub async fn start_exec(&self, id: &str, tty: bool) -> Result<OutputStream, Error> {
        let target = format!("/exec/{}/start", segment(id));
        let config = ExecStartConfig {
            detach: false,
            tty,
            console_size: None,
        };
        let body = json_body(&config, &target)?;
        let response = self
            .call(Method::POST, &target, Some(body), &[], &[StatusCode::OK])
            .await?;
        // Before API 1.42 only the TTY flag tells whether the output is framed.
        let framed_without_header = !tty && self.api_version().await? < FRAMING_HEADER_VERSION;
        Ok(OutputStream::new(response, target, framed_without_header))
    }

    /// `GET /exec/{id}/json`.
    pub async fn inspect_exec(&self, id: &str) -> Result<ExecInspect, Error> {
        let target = format!("/exec/{}/json", segment(id));
        self.json(Method::GET, &target, None, &[StatusCode::OK])
            .await
    }
}
