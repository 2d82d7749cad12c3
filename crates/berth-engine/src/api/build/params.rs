//! `POST /build`'s query, parsed into what the builder needs.
//!
//! Accepted and ignored, as the legacy builder's resource flags mean nothing to berth's
//! RUN containers yet: `rm`, `forcerm`, `cachefrom`, `cpu*`, `memory`, `memswap`,
//! `shmsize`, `ulimits`, `extrahosts`, `squash`, `session`, `outputs`.

use std::collections::BTreeMap;
use std::path::Path;

use berth_build::executor::BuildRequest;
use berth_image::reference::Reference;

use crate::api::images::{param, params_all, Params};
use crate::api::query::flag;
use crate::error::EngineError;

/// A parsed `POST /build` query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildParams {
    /// `t`, normalised (`name:tag`).
    pub tags: Vec<String>,
    /// `dockerfile` (default `Dockerfile`).
    pub dockerfile: String,
    /// `buildargs`.
    pub build_args: BTreeMap<String, Option<String>>,
    /// `labels`.
    pub labels: BTreeMap<String, String>,
    /// `target`.
    pub target: Option<String>,
    /// `nocache`.
    pub no_cache: bool,
    /// `pull`.
    pub pull: bool,
    /// `q`.
    pub quiet: bool,
    /// `networkmode`: `default`, `none` or `host`.
    pub network: String,
    /// `platform`.
    pub platform: Option<String>,
    /// A berth extension for clients on the daemon's host: `x-berth-context-dir` (a
    /// directory read in place; the body is ignored) and `x-berth-context-id` (its
    /// `<device>:<inode>` as the client sees it).
    pub context_dir: Option<(String, String)>,
}

impl BuildParams {
    /// Parses the query; a bad value is a 400 in dockerd's words.
    pub fn parse(params: &Params) -> Result<BuildParams, EngineError> {
        if param(params, "remote").is_some_and(|r| !r.is_empty()) {
            return Err(EngineError::NotImplemented(
                "remote build contexts (git, URLs) are not supported by berth: send the context as a tar".into(),
            ));
        }
        if param(params, "version").is_some_and(|v| v == "2") {
            return Err(EngineError::NotImplemented(
                "berth speaks the legacy builder's API only: set DOCKER_BUILDKIT=0".into(),
            ));
        }
        let mut tags = Vec::new();
        for tag in params_all(params, "t") {
            let reference = Reference::parse(tag)
                .map_err(|e| EngineError::Invalid(format!("invalid tag \"{tag}\": {e}")))?;
            if reference.digest().is_some() {
                return Err(EngineError::Invalid(format!(
                    "invalid tag \"{tag}\": a build cannot be tagged with a digest"
                )));
            }
            tags.push(reference.familiar());
        }
        let build_args: BTreeMap<String, Option<String>> = json_param(params, "buildargs")?;
        let labels: BTreeMap<String, String> = json_param(params, "labels")?;
        let network = match param(params, "networkmode").map(String::as_str) {
            None | Some("") | Some("default") | Some("bridge") => "default".to_string(),
            Some(mode @ ("host" | "none")) => mode.to_string(),
            Some(other) => {
                return Err(EngineError::Invalid(format!(
                    "network mode \"{other}\" is not supported by berth's builder: use default, host or none"
                )))
            }
        };
        Ok(BuildParams {
            tags,
            dockerfile: param(params, "dockerfile")
                .filter(|d| !d.is_empty())
                .cloned()
                .unwrap_or_else(|| "Dockerfile".into()),
            build_args,
            labels,
            target: param(params, "target").filter(|t| !t.is_empty()).cloned(),
            no_cache: flag(param(params, "nocache")),
            pull: flag(param(params, "pull")),
            quiet: flag(param(params, "q")),
            network,
            platform: param(params, "platform")
                .map(|p| p.trim())
                .filter(|p| !p.is_empty())
                .map(str::to_string),
            context_dir: match (
                param(params, "x-berth-context-dir").filter(|d| !d.is_empty()),
                param(params, "x-berth-context-id"),
            ) {
                (None, _) => None,
                (Some(dir), Some(id)) => Some((dir.clone(), id.clone())),
                (Some(_), None) => {
                    return Err(EngineError::Invalid(
                        "x-berth-context-dir needs x-berth-context-id".into(),
                    ))
                }
            },
        })
    }

    /// The builder's request over the unpacked `context`.
    pub fn into_request(
        self,
        context: &Path,
        live_context: bool,
        dockerfile_name: String,
        dockerfile: String,
    ) -> BuildRequest {
        // BuildKit's convention, which the legacy builder lacks: SOURCE_DATE_EPOCH as a
        // build arg makes the build reproducible.
        let source_date_epoch = self
            .build_args
            .get("SOURCE_DATE_EPOCH")
            .and_then(|v| v.as_deref())
            .and_then(|v| v.trim().parse().ok());
        BuildRequest {
            context: context.to_path_buf(),
            live_context,
            stable_context: false,
            dockerfile,
            dockerfile_name,
            tags: self.tags,
            build_args: self.build_args,
            labels: self.labels,
            target: self.target,
            no_cache: self.no_cache,
            pull: self.pull,
            platform: self.platform,
            source_date_epoch,
            network: self.network,
        }
    }
}

/// A JSON-object query value (`buildargs`, `labels`); absent or empty is empty.
fn json_param<T: serde::de::DeserializeOwned + Default>(
    params: &Params,
    key: &str,
) -> Result<T, EngineError> {
    match param(params, key)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
    {
        None => Ok(T::default()),
        Some(text) => serde_json::from_str(text).map_err(|e| {
            EngineError::Invalid(format!("invalid JSON in the `{key}` parameter: {e}"))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn queries_parse_as_the_docker_cli_sends_them() {
        let parsed = BuildParams::parse(&query(&[
            ("t", "app"),
            ("t", "localhost:5000/team/app:1.0"),
            ("buildargs", r#"{"A":"1","B":null}"#),
            ("labels", r#"{"l":"v"}"#),
            ("nocache", "1"),
            ("q", "1"),
            ("rm", "1"),
            ("networkmode", "host"),
        ]))
        .unwrap();
        assert_eq!(parsed.tags, ["app:latest", "localhost:5000/team/app:1.0"]);
        assert_eq!(parsed.build_args["A"].as_deref(), Some("1"));
        assert_eq!(parsed.build_args["B"], None);
        assert_eq!(parsed.labels["l"], "v");
        assert!(parsed.no_cache && parsed.quiet && !parsed.pull);
        assert_eq!(parsed.network, "host");
        assert_eq!(parsed.dockerfile, "Dockerfile");
    }

    #[test]
    fn bad_values_are_refused() {
        let err = BuildParams::parse(&query(&[("buildargs", "{not json")])).unwrap_err();
        assert!(err.to_string().contains("buildargs"), "{err}");
        assert!(BuildParams::parse(&query(&[("t", "UPPER")])).is_err());
        assert!(BuildParams::parse(&query(&[("networkmode", "mynet")])).is_err());
        assert!(BuildParams::parse(&query(&[("version", "2")])).is_err());
    }

    #[test]
    fn source_date_epoch_comes_from_the_build_args() {
        let parsed = BuildParams::parse(&query(&[(
            "buildargs",
            r#"{"SOURCE_DATE_EPOCH":"1700000000"}"#,
        )]))
        .unwrap();
        let request =
            parsed.into_request(Path::new("/ctx"), false, "Dockerfile".into(), String::new());
        assert_eq!(request.source_date_epoch, Some(1_700_000_000));
    }
}
