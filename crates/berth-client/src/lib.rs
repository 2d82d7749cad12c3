//! berth-client: the Docker Engine API as Rust types, its stream framings, and a typed
//! async client.
//!
//! # Brief overview
//! - [`types`]: the API's JSON bodies, one module per resource (containers and their
//!   `HostConfig`, images, networks, volumes, exec, system, events, stats, progress,
//!   errors) and [`types::version`] for API versions and `/v1.xx` path prefixes. The
//!   engine's server uses the same types, so client and server cannot drift apart.
//! - [`codec`]: the multiplexed stdout/stderr framing of attach/logs/exec and JSON
//!   streams (pull progress, events), sans-I/O so that both sides share them.
//! - [`DockerClient`]: talks to berth's daemon, or to dockerd, over a unix socket or TCP;
//!   negotiates the API version like the docker CLI.
#![deny(missing_docs)]

mod client;
pub mod codec;
pub mod types;

pub use client::{
    AttachOptions, BuildOptions, ByteStream, CreateOptions, DockerClient, Error, EventsOptions,
    Filters, Hijacked, HijackedReader, HijackedWriter, InPlaceContext, JsonStream,
    ListContainersOptions, LogsOptions, ObjectKind, OutputStream, PathStat, PullOptions,
    RemoveContainerOptions, StopOptions,
};
