//! The container's process: its arguments, environment, working directory and limits.

use std::path::{Component, Path};

use berth_client::types::containers::ContainerConfig;
use berth_client::types::host_config::{HostConfig, Ulimit};
use oci_spec::runtime::{PosixRlimit, PosixRlimitBuilder, PosixRlimitType};

use super::merge::env_name;
use super::mounts::INIT_PATH;
use super::{internal, SpecError};

/// `PATH` when the image and the user give none (Docker's, for Linux containers).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// `RLIMIT_NOFILE` (soft and hard) when no `--ulimit nofile` is given, as far as the
/// daemon's own hard limit allows. dockerd lets containers inherit the limit of
/// containerd, whose systemd unit raises it to 1048576; berth sets that value
/// explicitly, so that a container does not depend on how the daemon was started,
/// capped by the daemon's hard limit, which an unprivileged-for-rlimits daemon (no
/// `CAP_SYS_RESOURCE`) could not raise.
pub const DEFAULT_NOFILE: u64 = 1_048_576;

/// `Entrypoint` + `Cmd`, prefixed by the init when `--init` is on. An entrypoint of
/// `[""]` is Docker's "reset" and counts as none.
pub fn args(config: &ContainerConfig, init: bool) -> Result<Vec<String>, SpecError> {
    let entrypoint = config
        .entrypoint
        .as_deref()
        .filter(|e| !(e.len() == 1 && e[0].is_empty()))
        .unwrap_or_default();
    let mut args: Vec<String> = entrypoint.to_vec();
    args.extend(config.cmd.iter().flatten().cloned());
    if args.is_empty() {
        return Err(SpecError::Invalid("No command specified".into()));
    }
    if init {
        let mut with_init = vec![INIT_PATH.to_string(), "--".to_string()];
        with_init.extend(args);
        args = with_init;
    }
    Ok(args)
}

/// Docker's runtime environment: `PATH` (default), `HOSTNAME`, `TERM=xterm` with a TTY,
/// then the config's variables, each replacing a variable of the same name or appended;
/// a bare `NAME` (no `=`) removes `NAME`.
pub fn environment(config: &ContainerConfig, hostname: &str) -> Vec<String> {
    let mut env = vec![
        format!("PATH={DEFAULT_PATH}"),
        format!("HOSTNAME={hostname}"),
    ];
    if config.tty.unwrap_or(false) {
        env.push("TERM=xterm".to_string());
    }
    for var in config.env.iter().flatten() {
        let name = env_name(var);
        let existing = env.iter().position(|e| env_name(e) == name);
        match (existing, var.contains('=')) {
            (Some(i), true) => env[i] = var.clone(),
            (None, true) => env.push(var.clone()),
            (Some(i), false) => {
                env.remove(i);
            }
            (None, false) => {}
        }
    }
    env
}

/// The working directory: the config's (absolute, cleaned) or `/`.
pub fn cwd(config: &ContainerConfig) -> Result<String, SpecError> {
    let Some(dir) = config.working_dir.as_deref().filter(|d| !d.is_empty()) else {
        return Ok("/".to_string());
    };
    if !dir.starts_with('/') {
        return Err(SpecError::Invalid(format!(
            "the working directory '{dir}' is invalid, it needs to be an absolute path"
        )));
    }
    let mut clean = std::path::PathBuf::from("/");
    for c in Path::new(dir).components() {
        match c {
            Component::Normal(n) => clean.push(n),
            Component::ParentDir => {
                clean.pop();
            }
            _ => {}
        }
    }
    Ok(clean.to_string_lossy().into_owned())
}

/// `--ulimit`s, plus the default `nofile` (at most `nofile_cap`) when not given.
pub fn rlimits(host: &HostConfig, nofile_cap: u64) -> Result<Vec<PosixRlimit>, SpecError> {
    let mut limits = Vec::new();
    for ulimit in host.ulimits.iter().flatten() {
        limits.push(rlimit(ulimit)?);
    }
    if !limits
        .iter()
        .any(|l| l.typ() == PosixRlimitType::RlimitNofile)
    {
        limits.push(
            PosixRlimitBuilder::default()
                .typ(PosixRlimitType::RlimitNofile)
                .soft(DEFAULT_NOFILE.min(nofile_cap))
                .hard(DEFAULT_NOFILE.min(nofile_cap))
                .build()
                .map_err(internal)?,
        );
    }
    Ok(limits)
}

/// The names go-units (Docker's `--ulimit` parser) accepts.
const ULIMIT_NAMES: [&str; 16] = [
    "as",
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

fn rlimit(ulimit: &Ulimit) -> Result<PosixRlimit, SpecError> {
    let name = ulimit.name.to_ascii_lowercase();
    let typ: PosixRlimitType = ULIMIT_NAMES
        .contains(&name.as_str())
        .then(|| format!("RLIMIT_{}", name.to_ascii_uppercase()).parse().ok())
        .flatten()
        .ok_or_else(|| SpecError::Invalid(format!("invalid ulimit type: {}", ulimit.name)))?;
    if ulimit.hard != -1 && ulimit.soft > ulimit.hard {
        return Err(SpecError::Invalid(format!(
            "ulimit soft limit must be less than or equal to hard limit: {} > {}",
            ulimit.soft, ulimit.hard
        )));
    }
    // -1 is "unlimited", RLIM_INFINITY: all ones, as Go's uint64(-1) gives.
    let value = |v: i64| u64::try_from(v).unwrap_or(u64::MAX);
    PosixRlimitBuilder::default()
        .typ(typ)
        .soft(value(ulimit.soft))
        .hard(value(ulimit.hard))
        .build()
        .map_err(internal)
}

/// `--oom-score-adj`, validated.
pub fn oom_score_adj(host: &HostConfig) -> Result<Option<i32>, SpecError> {
    match host.oom_score_adj {
        None | Some(0) => Ok(None),
        Some(adj) if (-1000..=1000).contains(&adj) => Ok(i32::try_from(adj).ok()),
        Some(adj) => Err(SpecError::Invalid(format!(
            "Invalid value {adj}, range for oom score adj is [-1000, 1000]"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn args_join_entrypoint_and_cmd() {
        let config = ContainerConfig {
            entrypoint: Some(s(&["/entry", "-x"])),
            cmd: Some(s(&["run"])),
            ..Default::default()
        };
        assert_eq!(args(&config, false).unwrap(), s(&["/entry", "-x", "run"]));
        assert_eq!(
            args(&config, true).unwrap(),
            s(&["/sbin/docker-init", "--", "/entry", "-x", "run"])
        );
        let reset = ContainerConfig {
            entrypoint: Some(s(&[""])),
            cmd: Some(s(&["ls"])),
            ..Default::default()
        };
        assert_eq!(args(&reset, false).unwrap(), s(&["ls"]));
        assert_eq!(
            args(&ContainerConfig::default(), false),
            Err(SpecError::Invalid("No command specified".into()))
        );
    }

    #[test]
    fn environment_defaults_and_overrides() {
        let config = ContainerConfig {
            env: Some(s(&["FOO=1", "PATH=/bin", "HOSTNAME"])),
            tty: Some(true),
            ..Default::default()
        };
        assert_eq!(
            environment(&config, "abc"),
            s(&["PATH=/bin", "TERM=xterm", "FOO=1"])
        );
        assert_eq!(
            environment(&ContainerConfig::default(), "abc"),
            s(&[&format!("PATH={DEFAULT_PATH}"), "HOSTNAME=abc"])
        );
    }

    #[test]
    fn cwd_default_clean_and_relative() {
        assert_eq!(cwd(&ContainerConfig::default()).unwrap(), "/");
        let config = ContainerConfig {
            working_dir: Some("/srv/./app/../data/".into()),
            ..Default::default()
        };
        assert_eq!(cwd(&config).unwrap(), "/srv/data");
        let relative = ContainerConfig {
            working_dir: Some("srv".into()),
            ..Default::default()
        };
        assert_eq!(
            cwd(&relative),
            Err(SpecError::Invalid(
                "the working directory 'srv' is invalid, it needs to be an absolute path".into()
            ))
        );
    }

    fn ulimit(name: &str, soft: i64, hard: i64) -> Ulimit {
        Ulimit {
            name: name.into(),
            soft,
            hard,
        }
    }

    #[test]
    fn rlimits_from_ulimits_with_default_nofile() {
        let host = HostConfig {
            ulimits: Some(vec![ulimit("nproc", 100, 200), ulimit("core", -1, -1)]),
            ..Default::default()
        };
        let limits = rlimits(&host, u64::MAX).unwrap();
        assert_eq!(limits.len(), 3);
        assert_eq!(limits[0].typ(), PosixRlimitType::RlimitNproc);
        assert_eq!((limits[0].soft(), limits[0].hard()), (100, 200));
        assert_eq!(limits[1].hard(), u64::MAX);
        assert_eq!(limits[2].typ(), PosixRlimitType::RlimitNofile);
        assert_eq!(limits[2].soft(), DEFAULT_NOFILE);

        let own_nofile = HostConfig {
            ulimits: Some(vec![ulimit("nofile", 1024, 2048)]),
            ..Default::default()
        };
        let limits = rlimits(&own_nofile, u64::MAX).unwrap();
        assert_eq!(limits.len(), 1);
        assert_eq!(limits[0].soft(), 1024);

        let capped = rlimits(&HostConfig::default(), 20_000).unwrap();
        assert_eq!((capped[0].soft(), capped[0].hard()), (20_000, 20_000));
    }

    #[test]
    fn bad_ulimits_are_invalid() {
        let unknown = HostConfig {
            ulimits: Some(vec![ulimit("files", 1, 1)]),
            ..Default::default()
        };
        assert_eq!(
            rlimits(&unknown, u64::MAX),
            Err(SpecError::Invalid("invalid ulimit type: files".into()))
        );
        let inverted = HostConfig {
            ulimits: Some(vec![ulimit("nofile", 10, 5)]),
            ..Default::default()
        };
        assert_eq!(
            rlimits(&inverted, u64::MAX),
            Err(SpecError::Invalid(
                "ulimit soft limit must be less than or equal to hard limit: 10 > 5".into()
            ))
        );
    }

    #[test]
    fn oom_score_adj_range() {
        let host = |adj| HostConfig {
            oom_score_adj: Some(adj),
            ..Default::default()
        };
        assert_eq!(oom_score_adj(&host(500)), Ok(Some(500)));
        assert_eq!(oom_score_adj(&host(0)), Ok(None));
        assert!(oom_score_adj(&host(1001)).is_err());
    }
}
