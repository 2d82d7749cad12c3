//! Files in and out of containers: `docker cp` (archive get/put/head) and `docker
//! export`. Archives are tar streams; the stat of the copied path rides in the
//! `X-Docker-Container-Path-Stat` header as base64 JSON.

use base64::Engine as _;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Method, Response, StatusCode};
use serde::{Deserialize, Serialize};

use super::query::{segment, Query};
use super::{Body, ByteStream, DockerClient, Error};

const STAT_HEADER: &str = "X-Docker-Container-Path-Stat";

/// What the daemon says about a path in a container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathStat {
    /// Base name.
    pub name: String,
    /// Size in bytes.
    pub size: i64,
    /// Go's `os.FileMode` bits (directory is bit 31).
    pub mode: u32,
    /// RFC 3339 modification time.
    #[serde(default)]
    pub mtime: String,
    /// Target, for a symlink.
    #[serde(default)]
    pub link_target: String,
}

impl PathStat {
    /// Whether the path is a directory (Go's `os.ModeDir`).
    pub fn is_dir(&self) -> bool {
        self.mode & (1 << 31) != 0
    }
}

fn path_stat(response: &Response<Incoming>, what: &str) -> Result<PathStat, Error> {
    let missing = || Error::Header {
        what: what.to_string(),
        header: STAT_HEADER,
    };
    let value = response.headers().get(STAT_HEADER).ok_or_else(missing)?;
    let json = base64::engine::general_purpose::STANDARD
        .decode(value.as_bytes())
        .map_err(|_| missing())?;
    serde_json::from_slice(&json).map_err(|source| Error::Decode {
        what: what.to_string(),
        source,
    })
}

impl DockerClient {
    /// `HEAD /containers/{id}/archive?path=`: the stat of `path`.
    pub async fn stat_container_path(&self, id: &str, path: &str) -> Result<PathStat, Error> {
        let mut query = Query::new();
        query.push("path", path);
        let target = query.on(&format!("/containers/{}/archive", segment(id)));
        let what = format!("HEAD {target}");
        let response = self
            .call(Method::HEAD, &target, None, &[], &[StatusCode::OK])
            .await?;
        path_stat(&response, &what)
    }

    /// `GET /containers/{id}/archive?path=`: `path` as a tar stream, with its stat.
    pub async fn get_archive(&self, id: &str, path: &str) -> Result<(PathStat, ByteStream), Error> {
        let mut query = Query::new();
        query.push("path", path);
        let target = query.on(&format!("/containers/{}/archive", segment(id)));
        let what = format!("GET {target}");
        let response = self
            .call(Method::GET, &target, None, &[], &[StatusCode::OK])
            .await?;
        let stat = path_stat(&response, &what)?;
        Ok((stat, ByteStream::new(response, what)))
    }

    /// `PUT /containers/{id}/archive?path=`: extracts `tar` into the directory `path`.
    pub async fn put_archive(
        &self,
        id: &str,
        path: &str,
        tar: Vec<u8>,
        copy_uid_gid: bool,
    ) -> Result<(), Error> {
        let mut query = Query::new();
        query
            .push("path", path)
            .push("noOverwriteDirNonDir", "true")
            .flag("copyUIDGID", copy_uid_gid);
        let target = query.on(&format!("/containers/{}/archive", segment(id)));
        let body = Body {
            bytes: Bytes::from(tar),
            content_type: "application/x-tar",
        };
        self.empty(Method::PUT, &target, Some(body), &[StatusCode::OK])
            .await
    }

    /// `GET /containers/{id}/export`: the container's file system as a tar stream.
    pub async fn export_container(&self, id: &str) -> Result<ByteStream, Error> {
        let target = format!("/containers/{}/export", segment(id));
        let response = self
            .call(Method::GET, &target, None, &[], &[StatusCode::OK])
            .await?;
        Ok(ByteStream::new(response, format!("GET {target}")))
    }
}
