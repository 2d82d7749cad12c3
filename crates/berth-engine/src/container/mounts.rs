//! A container's mounts: `-v` (Binds), `--mount`, the image's and `-v /path` anonymous
//! volumes, and `--volumes-from`, resolved once at create into inspect's mount points; at
//! each start into the host paths the spec binds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_client::types::containers::{ContainerConfig, MountPoint};
use berth_client::types::host_config::{HostConfig, Mount, MountType};

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::spec::ResolvedMount;
use crate::volumes::CreateVolume;

/// What create decided.
#[derive(Debug, Default)]
pub struct Planned {
    /// Mount points, as inspect shows them.
    pub mounts: Vec<MountPoint>,
    /// Volumes made for this container alone.
    pub anonymous: Vec<String>,
}

fn invalid(message: String) -> EngineError {
    EngineError::Invalid(message)
}

/// One `-v` entry: `src:dst[:opts]` or `dst`.
fn parse_bind(spec: &str) -> Result<(Option<String>, String, Vec<String>)> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, destination, options) = match parts.as_slice() {
        [dst] => (None, *dst, ""),
        [src, dst] => (Some(*src), *dst, ""),
        [src, dst, opts] => (Some(*src), *dst, *opts),
        _ => return Err(invalid(format!("invalid volume specification: '{spec}'"))),
    };
    if !destination.starts_with('/') {
        return Err(invalid(format!(
            "invalid volume specification: '{spec}': invalid mount config for type \"bind\": invalid mount path: '{destination}' mount path must be absolute"
        )));
    }
    if source.is_some_and(str::is_empty) {
        return Err(invalid(format!("invalid volume specification: '{spec}'")));
    }
    let options = options
        .split(',')
        .filter(|o| !o.is_empty())
        .map(str::to_string)
        .collect::<Vec<_>>();
    for o in &options {
        let known = matches!(
            o.as_str(),
            "ro" | "rw"
                | "z"
                | "Z"
                | "nocopy"
                | "shared"
                | "rshared"
                | "slave"
                | "rslave"
                | "private"
                | "rprivate"
                | "consistent"
                | "cached"
                | "delegated"
        );
        if !known {
            return Err(invalid(format!("invalid mode: {o}")));
        }
    }
    Ok((source.map(str::to_string), clean(destination), options))
}

/// A container path without a trailing slash (except `/`).
fn clean(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else {
        trimmed.to_string()
    }
}

fn propagation_of(options: &[String]) -> String {
    options
        .iter()
        .find(|o| o.contains("shared") || o.contains("slave") || o.contains("private"))
        .cloned()
        .unwrap_or_else(|| "rprivate".to_string())
}

/// Resolves every mount of a new container. Named volumes are created on first use.
pub fn plan(
    engine: &Engine,
    container_id: &str,
    config: &ContainerConfig,
    host: &HostConfig,
) -> Result<Planned> {
    let mut by_destination: BTreeMap<String, MountPoint> = BTreeMap::new();
    let mut anonymous = Vec::new();
    let labels_for_anonymous = BTreeMap::new();
    let mut volume = |name: Option<&str>,
                      labels: &BTreeMap<String, String>,
                      driver: Option<String>,
                      driver_opts: BTreeMap<String, String>|
     -> Result<String> {
        let created = engine.volumes().create(CreateVolume {
            name: name.map(str::to_string),
            driver,
            driver_opts,
            labels: labels.clone(),
        })?;
        if name.is_none() {
            anonymous.push(created.name.clone());
        }
        Ok(created.name)
    };

    // --volumes-from first: explicit mounts override what they bring.
    for entry in host.volumes_from.iter().flatten() {
        let (source_name, mode) = match entry.rsplit_once(':') {
            Some((c, m)) if m == "ro" || m == "rw" => (c, Some(m)),
            _ => (entry.as_str(), None),
        };
        let source = engine.containers.get(source_name)?;
        for mut mp in source.with(|r| r.mounts.clone()) {
            if let Some(mode) = mode {
                mp.rw = mode == "rw";
                mp.mode = mode.to_string();
            }
            by_destination.insert(mp.destination.clone(), mp);
        }
    }

    for spec in host.binds.iter().flatten() {
        let (source, destination, options) = parse_bind(spec)?;
        let read_only = options.iter().any(|o| o == "ro");
        let mode = options.join(",");
        let Some(source) = source else {
            let name = volume(None, &labels_for_anonymous, None, BTreeMap::new())?;
            by_destination.insert(
                destination.clone(),
                volume_point(engine, &name, &destination, read_only, mode),
            );
            continue;
        };
        if source.starts_with('/') {
            let path = PathBuf::from(&source);
            if !path.exists() {
                // `-v` makes a missing host directory, as Docker does.
                std::fs::create_dir_all(&path).map_err(|e| EngineError::io("create", &path, e))?;
            }
            by_destination.insert(
                destination.clone(),
                MountPoint {
                    r#type: "bind".into(),
                    name: None,
                    source,
                    destination,
                    driver: None,
                    mode,
                    rw: !read_only,
                    propagation: propagation_of(&options),
                },
            );
        } else {
            let name = volume(Some(&source), &BTreeMap::new(), None, BTreeMap::new())?;
            let mut mp = volume_point(engine, &name, &destination, read_only, mode);
            if options.iter().any(|o| o == "nocopy") {
                mp.mode = join_mode(&mp.mode, "nocopy");
            }
            by_destination.insert(destination, mp);
        }
    }

    for mount in host.mounts.iter().flatten() {
        let (destination, mp) = plan_mount(engine, mount, &mut volume)?;
        if let Some(mp) = mp {
            by_destination.insert(destination, mp);
        } else {
            by_destination.remove(&destination);
        }
    }

    // The image's VOLUMEs and `-v /path`: anonymous volumes where nothing else is mounted.
    let tmpfs: Vec<String> = host
        .tmpfs
        .iter()
        .flatten()
        .map(|(k, _)| clean(k))
        .chain(
            host.mounts
                .iter()
                .flatten()
                .filter(|m| m.r#type == MountType::Tmpfs)
                .map(|m| clean(&m.target)),
        )
        .collect();
    for destination in config.volumes.iter().flatten().map(|(k, _)| clean(k)) {
        if by_destination.contains_key(&destination) || tmpfs.contains(&destination) {
            continue;
        }
        let name = volume(None, &labels_for_anonymous, None, BTreeMap::new())?;
        by_destination.insert(
            destination.clone(),
            volume_point(engine, &name, &destination, false, String::new()),
        );
    }
    let _ = container_id;
    let mut mounts: Vec<MountPoint> = by_destination.into_values().collect();
    // Parents before children.
    mounts.sort_by_key(|m| m.destination.matches('/').count());
    Ok(Planned { mounts, anonymous })
}

fn join_mode(mode: &str, extra: &str) -> String {
    if mode.is_empty() {
        extra.to_string()
    } else {
        format!("{mode},{extra}")
    }
}

fn volume_point(
    engine: &Engine,
    name: &str,
    destination: &str,
    read_only: bool,
    mode: String,
) -> MountPoint {
    MountPoint {
        r#type: "volume".into(),
        name: Some(name.to_string()),
        source: engine
            .volumes()
            .data_path(name)
            .to_string_lossy()
            .into_owned(),
        destination: destination.to_string(),
        driver: Some("local".into()),
        mode: if mode.is_empty() { "z".into() } else { mode },
        rw: !read_only,
        propagation: String::new(),
    }
}

type VolumeMaker<'a> = dyn FnMut(
        Option<&str>,
        &BTreeMap<String, String>,
        Option<String>,
        BTreeMap<String, String>,
    ) -> Result<String>
    + 'a;

/// One `--mount`. Returns the destination and its mount point (None for tmpfs, which the
/// spec takes from the HostConfig at each start).
fn plan_mount(
    engine: &Engine,
    mount: &Mount,
    volume: &mut VolumeMaker<'_>,
) -> Result<(String, Option<MountPoint>)> {
    let kind = match mount.r#type {
        MountType::Bind => "bind",
        MountType::Volume => "volume",
        MountType::Tmpfs => "tmpfs",
        _ => {
            return Err(invalid(format!(
                "mount type {:?} is not supported by berth",
                mount.r#type
            )))
        }
    };
    if !mount.target.starts_with('/') {
        return Err(invalid(format!(
            "invalid mount config for type \"{kind}\": invalid mount path: '{}' mount path must be absolute",
            mount.target
        )));
    }
    let destination = clean(&mount.target);
    let read_only = mount.read_only.unwrap_or(false);
    match mount.r#type {
        MountType::Bind => {
            let source = mount
                .source
                .clone()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    invalid(
                        "invalid mount config for type \"bind\": field Source must not be empty"
                            .into(),
                    )
                })?;
            let options = mount.bind_options.clone().unwrap_or_default();
            if !Path::new(&source).exists() {
                if options.create_mountpoint.unwrap_or(false) {
                    std::fs::create_dir_all(&source)
                        .map_err(|e| EngineError::io("create", &source, e))?;
                } else {
                    return Err(invalid(format!(
                        "invalid mount config for type \"bind\": bind source path does not exist: {source}"
                    )));
                }
            }
            let propagation = options.propagation.unwrap_or_else(|| "rprivate".into());
            let mut mode = String::new();
            if options.non_recursive.unwrap_or(false) {
                mode = "nonrecursive".into();
            }
            Ok((
                destination.clone(),
                Some(MountPoint {
                    r#type: "bind".into(),
                    name: None,
                    source,
                    destination,
                    driver: None,
                    mode,
                    rw: !read_only,
                    propagation,
                }),
            ))
        }
        MountType::Volume => {
            let options = mount.volume_options.clone().unwrap_or_default();
            let labels = options.labels.clone().unwrap_or_default();
            let (driver, driver_opts) = match &options.driver_config {
                Some(d) => (
                    Some(d.name.clone()).filter(|n| !n.is_empty()),
                    d.options.clone().unwrap_or_default(),
                ),
                None => (None, BTreeMap::new()),
            };
            let name = volume(
                mount.source.as_deref().filter(|s| !s.is_empty()),
                &labels,
                driver,
                driver_opts,
            )?;
            let mut mp = volume_point(engine, &name, &destination, read_only, String::new());
            if options.no_copy.unwrap_or(false) {
                mp.mode = "nocopy".into();
            }
            Ok((destination, Some(mp)))
        }
        // Shown in inspect like Docker; mounted from the HostConfig at each start.
        _ => Ok((
            destination.clone(),
            Some(MountPoint {
                r#type: "tmpfs".into(),
                name: None,
                source: String::new(),
                destination,
                driver: None,
                mode: String::new(),
                rw: !read_only,
                propagation: String::new(),
            }),
        )),
    }
}

/// Docker's tmpfs options for a `--mount type=tmpfs`.
fn tmpfs_options(mount: &Mount) -> String {
    let mut options = Vec::new();
    if let Some(t) = &mount.tmpfs_options {
        if let Some(size) = t.size_bytes.filter(|s| *s > 0) {
            options.push(format!("size={size}"));
        }
        if let Some(mode) = t.mode {
            options.push(format!("mode={mode:o}"));
        }
        for o in t.options.iter().flatten() {
            options.push(o.join("="));
        }
    }
    if mount.read_only.unwrap_or(false) {
        options.push("ro".into());
    }
    options.join(",")
}

/// The mounts of one start, as host paths; seeds volumes that are new and empty from the
/// image's content at their destination.
pub fn resolve(
    engine: &Engine,
    rootfs: &Path,
    mounts: &[MountPoint],
    host: &HostConfig,
) -> Result<Vec<ResolvedMount>> {
    let mut out = Vec::new();
    for mp in mounts {
        match mp.r#type.as_str() {
            "volume" => {
                let name = mp.name.clone().unwrap_or_default();
                let source = engine.volumes().mount_if_needed(&name)?;
                let no_copy = mp.mode.split(',').any(|o| o == "nocopy");
                if !no_copy {
                    // The image's content at the destination, resolved inside the rootfs.
                    if let Ok(inside) = crate::archive::resolve(rootfs, &mp.destination) {
                        engine.volumes().seed(&name, &inside)?;
                    }
                }
                out.push(ResolvedMount::Bind {
                    source,
                    destination: mp.destination.clone(),
                    read_only: !mp.rw,
                    propagation: None,
                    non_recursive: false,
                });
            }
            "bind" => out.push(ResolvedMount::Bind {
                source: PathBuf::from(&mp.source),
                destination: mp.destination.clone(),
                read_only: !mp.rw,
                propagation: Some(mp.propagation.clone()).filter(|p| !p.is_empty()),
                non_recursive: mp.mode.split(',').any(|o| o == "nonrecursive"),
            }),
            _ => {}
        }
    }
    for mount in host.mounts.iter().flatten() {
        if mount.r#type == MountType::Tmpfs {
            out.push(ResolvedMount::Tmpfs {
                destination: clean(&mount.target),
                options: tmpfs_options(mount),
            });
        }
    }
    Ok(out)
}

/// Releases the volumes a run mounted (the last user of a volume with mount options
/// unmounts it).
pub fn release(engine: &Engine, mounts: &[MountPoint]) {
    for mp in mounts.iter().filter(|m| m.r#type == "volume") {
        if let Some(name) = &mp.name {
            if let Err(e) = engine.volumes().release(name) {
                tracing::warn!(volume = %name, error = %e, "release a volume");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_parse_like_docker() {
        let (s, d, o) = parse_bind("/host:/ctr:ro").unwrap();
        assert_eq!(
            (s.as_deref(), d.as_str(), o),
            (Some("/host"), "/ctr", vec!["ro".to_string()])
        );
        let (s, d, _) = parse_bind("/anon/").unwrap();
        assert_eq!((s, d.as_str()), (None, "/anon"));
        assert!(parse_bind("rel:ative").is_err());
        assert!(parse_bind("/a:/b:bogus").is_err());
    }
}
