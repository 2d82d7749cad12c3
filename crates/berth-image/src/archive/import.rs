//! `import`: a one-layer image from a root filesystem tarball, the offline way to make a
//! base image (`tar -C rootfs -c . | berth import - base:1`).

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::time::SystemTime;

use flate2::write::GzEncoder;
use oci_spec::image::{
    Arch, Config, Descriptor, HistoryBuilder, ImageConfiguration, ImageConfigurationBuilder,
    MediaType, Os,
};

use super::{io_err, ArchiveError};
use crate::content::BlobWriter;
use crate::digest::Hasher;
use crate::manifest::{self, Platform};
use crate::reference::Reference;
use crate::store::{Image, ImageStore};

/// Config settings for an imported image: the Dockerfile instructions docker's
/// `import --change` takes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigChanges {
    /// `CMD`.
    pub cmd: Option<Vec<String>>,
    /// `ENTRYPOINT`.
    pub entrypoint: Option<Vec<String>>,
    /// `ENV` (`KEY=value`), in order.
    pub env: Vec<String>,
    /// `EXPOSE` (`80/tcp`).
    pub exposed_ports: Vec<String>,
    /// `LABEL`.
    pub labels: HashMap<String, String>,
    /// `USER`.
    pub user: Option<String>,
    /// `VOLUME`.
    pub volumes: Vec<String>,
    /// `WORKDIR`.
    pub working_dir: Option<String>,
    /// `STOPSIGNAL`.
    pub stop_signal: Option<String>,
    /// A comment for the history entry (docker's `--message`).
    pub message: Option<String>,
}

impl ConfigChanges {
    /// Parses `--change` lines: `CMD ["sh"]`, `CMD sh -c x` (shell form), `ENV A=1 B=2`,
    /// `ENV A 1`, `EXPOSE 80 443/udp`, `LABEL k=v`, `USER u`, `VOLUME /data`,
    /// `WORKDIR /app`, `STOPSIGNAL SIGTERM`, `ENTRYPOINT [...]`.
    pub fn parse(lines: &[&str]) -> Result<Self, ArchiveError> {
        let mut changes = Self::default();
        for line in lines {
            let bad = || ArchiveError::Change(line.to_string());
            let (keyword, value) = line
                .trim()
                .split_once(char::is_whitespace)
                .ok_or_else(bad)?;
            let value = value.trim();
            if value.is_empty() {
                return Err(bad());
            }
            match keyword.to_ascii_uppercase().as_str() {
                "CMD" => changes.cmd = Some(command(value)),
                "ENTRYPOINT" => changes.entrypoint = Some(command(value)),
                "ENV" => changes.env.extend(
                    pairs(value)
                        .ok_or_else(bad)?
                        .into_iter()
                        .map(|(k, v)| format!("{k}={v}")),
                ),
                "LABEL" => changes.labels.extend(pairs(value).ok_or_else(bad)?),
                "EXPOSE" => changes
                    .exposed_ports
                    .extend(value.split_whitespace().map(|p| {
                        if p.contains('/') {
                            p.to_string()
                        } else {
                            format!("{p}/tcp")
                        }
                    })),
                "USER" => changes.user = Some(value.to_string()),
                "VOLUME" => match serde_json::from_str::<Vec<String>>(value) {
                    Ok(list) => changes.volumes.extend(list),
                    Err(_) => changes
                        .volumes
                        .extend(value.split_whitespace().map(String::from)),
                },
                "WORKDIR" => changes.working_dir = Some(value.to_string()),
                "STOPSIGNAL" => changes.stop_signal = Some(value.to_string()),
                _ => return Err(bad()),
            }
        }
        Ok(changes)
    }

    fn to_config(&self) -> Config {
        let mut config = Config::default();
        let some_vec = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        config.set_cmd(self.cmd.clone());
        config.set_entrypoint(self.entrypoint.clone());
        config.set_env(some_vec(&self.env));
        config.set_exposed_ports(some_vec(&self.exposed_ports));
        config.set_labels((!self.labels.is_empty()).then(|| self.labels.clone()));
        config.set_user(self.user.clone());
        config.set_volumes(some_vec(&self.volumes));
        config.set_working_dir(self.working_dir.clone());
        config.set_stop_signal(self.stop_signal.clone());
        config
    }
}

/// A JSON array, or shell form run by `/bin/sh -c`.
fn command(value: &str) -> Vec<String> {
    serde_json::from_str::<Vec<String>>(value)
        .unwrap_or_else(|_| vec!["/bin/sh".into(), "-c".into(), value.to_string()])
}

/// `K=V K2=V2` or the old `K V` form; double quotes around values are removed.
fn pairs(value: &str) -> Option<Vec<(String, String)>> {
    let unquote = |v: &str| v.trim_matches('"').to_string();
    if !value.split_whitespace().next()?.contains('=') {
        let (k, v) = value.split_once(char::is_whitespace)?;
        return Some(vec![(k.to_string(), unquote(v.trim()))]);
    }
    value
        .split_whitespace()
        .map(|pair| {
            pair.split_once('=')
                .map(|(k, v)| (k.to_string(), unquote(v)))
        })
        .collect()
}

/// Reads through the uncompressed tar once: hashing it (the diff id) and gzipping it into
/// the content store in the same pass.
struct Tee<R> {
    inner: R,
    diff: Hasher,
    out: GzEncoder<BlobWriter>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.diff.update(&buf[..n]);
        self.out.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// Makes a one-layer image of the root filesystem tar `rootfs` (plain, gzip or zstd),
/// with `changes` applied to its config, tagged `reference` if given. The layer is
/// stored gzipped; the tar is checked to be one while it streams through.
pub fn import(
    store: &ImageStore,
    rootfs: impl Read,
    reference: Option<&Reference>,
    changes: &ConfigChanges,
) -> Result<Image, ArchiveError> {
    let mut input = BufReader::new(rootfs);
    let head = input
        .fill_buf()
        .map_err(io_err("read the rootfs tarball"))?;
    let uncompressed: Box<dyn Read> = match head {
        [0x1f, 0x8b, ..] => Box::new(flate2::read::MultiGzDecoder::new(input)),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Box::new(
            zstd::stream::read::Decoder::with_buffer(input)
                .map_err(io_err("read the zstd rootfs tarball"))?,
        ),
        [0xfd, b'7', b'z', b'X', b'Z', ..] | [b'B', b'Z', b'h', ..] => {
            return Err(ArchiveError::Invalid {
                member: "rootfs".into(),
                problem: "xz and bzip2 tarballs are not supported: decompress it first or use gzip or zstd".into(),
            })
        }
        _ => Box::new(input),
    };
    let writer = store
        .content()
        .writer(&format!("import-{}", uuid::Uuid::new_v4()))?;
    let mut tee = Tee {
        inner: uncompressed,
        diff: Hasher::new(),
        out: GzEncoder::new(writer, flate2::Compression::default()),
    };
    let scanned = (|| -> io::Result<usize> {
        let mut entries = 0;
        for entry in tar::Archive::new(&mut tee).entries()? {
            let entry = entry?;
            // A member that climbs out with `..` could never be unpacked: refuse it now
            // rather than store an image that no pull can use.
            let path = entry.path()?;
            if path
                .components()
                .any(|c| c == std::path::Component::ParentDir)
            {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "member `{}` climbs out of the root with `..`",
                        path.display()
                    ),
                ));
            }
            entries += 1;
        }
        // The end-of-archive blocks and padding belong to the layer too.
        io::copy(&mut tee, &mut io::sink())?;
        Ok(entries)
    })();
    let Tee { diff, out, .. } = tee;
    let writer = out.finish().map_err(io_err("compress the layer"))?;
    let entries = match scanned {
        Ok(entries) => entries,
        Err(e) => {
            writer.discard();
            let what = if e.kind() == io::ErrorKind::InvalidData {
                "refuse the rootfs tarball"
            } else {
                "read the rootfs tarball (is it a tar?)"
            };
            return Err(io_err(what)(e));
        }
    };
    if entries == 0 {
        writer.discard();
        return Err(ArchiveError::Invalid {
            member: "rootfs".into(),
            problem: "the tarball is empty".into(),
        });
    }
    let diff_id = diff.finish();
    let digest = writer.commit(None, None)?;
    let size = store.content().size(&digest).unwrap_or(0);
    let layer = Descriptor::new(
        MediaType::ImageLayerGzip,
        size,
        manifest::oci_digest(&digest).map_err(|source| ArchiveError::Manifest {
            member: "layer".into(),
            source,
        })?,
    );
    let config = import_config(changes, &diff_id)?;
    Ok(store.commit_image(config, vec![(layer, diff_id)], reference)?)
}

fn import_config(
    changes: &ConfigChanges,
    diff_id: &crate::digest::Digest,
) -> Result<ImageConfiguration, ArchiveError> {
    let created = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let platform = Platform::host();
    let history = HistoryBuilder::default()
        .created(created.clone())
        .created_by("berth import".to_string())
        .comment(
            changes
                .message
                .clone()
                .unwrap_or_else(|| "Imported from -".to_string()),
        )
        .build();
    let invalid = |e: oci_spec::OciSpecError| ArchiveError::Invalid {
        member: "config".into(),
        problem: e.to_string(),
    };
    let mut builder = ImageConfigurationBuilder::default()
        .created(created)
        .architecture(Arch::from(platform.architecture.as_str()))
        .os(Os::from(platform.os.as_str()))
        .config(changes.to_config())
        .history(vec![history.map_err(invalid)?]);
    if let Some(variant) = platform.variant {
        builder = builder.variant(variant);
    }
    let mut config = builder.build().map_err(invalid)?;
    config.rootfs_mut().set_diff_ids(vec![diff_id.to_string()]);
    Ok(config)
}
