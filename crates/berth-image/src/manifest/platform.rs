//! Platforms (`linux/amd64`, `linux/arm64/v8`) and choosing a manifest from an index.

use std::fmt;
use std::str::FromStr;

use oci_spec::image::{Descriptor, ImageIndex};

use super::{
    DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_REFERENCE_TYPE, OCI_INDEX, OCI_MANIFEST,
};

/// A platform string that could not be parsed.
#[derive(Debug, thiserror::Error)]
#[error("invalid platform `{0}`: expected os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8")]
pub struct PlatformError(pub String);

/// An operating system, CPU architecture and variant, in OCI's (Go's) names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    /// `linux`, `windows`, ...
    pub os: String,
    /// `amd64`, `arm64`, `arm`, `386`, `ppc64le`, `s390x`, `riscv64`, ...
    pub architecture: String,
    /// `v8` for arm64, `v7`/`v6`/`v5` for arm, `v2`/`v3` for amd64; `None` when unset.
    pub variant: Option<String>,
}

impl Platform {
    /// A platform from parts, normalised (`aarch64` becomes `arm64/v8`, `x86_64` `amd64`).
    pub fn new(os: &str, architecture: &str, variant: Option<&str>) -> Self {
        let os = os.to_ascii_lowercase();
        let (architecture, variant) = normalize_arch(
            &architecture.to_ascii_lowercase(),
            variant
                .map(str::to_ascii_lowercase)
                .filter(|v| !v.is_empty()),
        );
        Self {
            os,
            architecture,
            variant,
        }
    }

    /// The platform this program was built for (the host's, for a native build).
    pub fn host() -> Self {
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "x86" => "386",
            "aarch64" => "arm64",
            "arm" => "arm",
            "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
            "powerpc64" => "ppc64",
            "loongarch64" => "loong64",
            "mips64" if cfg!(target_endian = "little") => "mips64le",
            other => other,
        };
        Self::new(std::env::consts::OS, arch, None)
    }

    /// The platform of a descriptor in an index, if it has one.
    pub fn of_descriptor(descriptor: &Descriptor) -> Option<Self> {
        descriptor.platform().as_ref().map(|p| {
            Self::new(
                &p.os().to_string(),
                &p.architecture().to_string(),
                p.variant().as_deref(),
            )
        })
    }

    /// Whether an image built for `other` runs here: same OS and architecture, and a
    /// variant this platform can run (arm v7 runs v6 and v5 too).
    pub fn matches(&self, other: &Platform) -> bool {
        self.preference(other).is_some()
    }

    /// Lower is better; `None` when `other` cannot run on `self`.
    fn preference(&self, other: &Platform) -> Option<usize> {
        if self.os != other.os || self.architecture != other.architecture {
            return None;
        }
        match (&self.variant, &other.variant) {
            (a, b) if a == b => Some(0),
            // An image that names no variant runs on any.
            (_, None) => Some(1),
            (Some(mine), Some(theirs)) if self.architecture == "arm" => {
                let version = |v: &str| v.strip_prefix('v').and_then(|n| n.parse::<u32>().ok());
                match (version(mine), version(theirs)) {
                    (Some(m), Some(t)) if t <= m => Some(1 + (m - t) as usize),
                    _ => None,
                }
            }
            // amd64 v2/v3 images run on a host whose level berth does not probe: accept
            // them after exact matches.
            (None, Some(_)) if self.architecture == "amd64" => Some(10),
            _ => None,
        }
    }
}

/// OCI's names for architectures, and the default variants (arm64 is v8, arm is v7).
fn normalize_arch(arch: &str, variant: Option<String>) -> (String, Option<String>) {
    match arch {
        "x86_64" | "x86-64" | "amd64" => ("amd64".into(), variant.filter(|v| v != "v1")),
        "i386" | "i486" | "i586" | "i686" | "386" => ("386".into(), variant),
        "aarch64" | "arm64" => (
            "arm64".into(),
            Some(match variant.as_deref() {
                None | Some("8") => "v8".into(),
                Some(_) => variant.unwrap_or_default(),
            }),
        ),
        "armhf" => ("arm".into(), Some("v7".into())),
        "armel" => ("arm".into(), Some("v6".into())),
        "arm" => (
            "arm".into(),
            Some(match variant.as_deref() {
                None => "v7".into(),
                Some(v) if !v.starts_with('v') => format!("v{v}"),
                Some(_) => variant.unwrap_or_default(),
            }),
        ),
        other => (other.to_string(), variant),
    }
}

impl FromStr for Platform {
    type Err = PlatformError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = text.split('/').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(PlatformError(text.to_string()));
        }
        match parts[..] {
            [os, arch] => Ok(Self::new(os, arch, None)),
            [os, arch, variant] => Ok(Self::new(os, arch, Some(variant))),
            _ => Err(PlatformError(text.to_string())),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// Whether an index entry is an attestation or other non-image entry to skip.
fn is_attestation(descriptor: &Descriptor) -> bool {
    let annotated = descriptor
        .annotations()
        .as_ref()
        .is_some_and(|a| a.contains_key(DOCKER_REFERENCE_TYPE));
    let unknown = descriptor.platform().as_ref().is_some_and(|p| {
        p.os().to_string() == "unknown" && p.architecture().to_string() == "unknown"
    });
    annotated || unknown
}

/// The best manifest of `index` for `platform`: an exact match first, then compatible
/// variants; attestation manifests and unknown/unknown entries are skipped; entries
/// without a platform are taken only when nothing matches better. `None` when no entry
/// runs on `platform`.
pub fn select(index: &ImageIndex, platform: &Platform) -> Option<Descriptor> {
    index
        .manifests()
        .iter()
        .filter(|d| {
            matches!(
                d.media_type().to_string().as_str(),
                OCI_MANIFEST | DOCKER_MANIFEST | OCI_INDEX | DOCKER_MANIFEST_LIST
            ) && !is_attestation(d)
        })
        .filter_map(|d| {
            let rank = match Platform::of_descriptor(d) {
                Some(p) => platform.preference(&p)?,
                None => 100,
            };
            Some((rank, d))
        })
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, d)| d.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        let p: Platform = "linux/arm64".parse().unwrap();
        assert_eq!(p.to_string(), "linux/arm64/v8");
        assert_eq!("linux/aarch64".parse::<Platform>().unwrap(), p);
        assert_eq!("linux/arm64/v8".parse::<Platform>().unwrap(), p);
        assert_eq!(
            "linux/x86_64".parse::<Platform>().unwrap().to_string(),
            "linux/amd64"
        );
        assert_eq!(
            "linux/arm".parse::<Platform>().unwrap().to_string(),
            "linux/arm/v7"
        );
        assert!("linux".parse::<Platform>().is_err());
        assert!("linux//v7".parse::<Platform>().is_err());
        assert!("a/b/c/d".parse::<Platform>().is_err());
    }

    #[test]
    fn host_is_linux_amd64_here() {
        if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
            assert_eq!(Platform::host().to_string(), "linux/amd64");
        }
    }

    #[test]
    fn arm_v7_runs_v6_but_not_v8() {
        let v7: Platform = "linux/arm/v7".parse().unwrap();
        assert!(v7.matches(&"linux/arm/v6".parse().unwrap()));
        assert!(!v7.matches(&"linux/arm/v8".parse().unwrap()));
        assert!(!v7.matches(&"linux/arm64".parse().unwrap()));
    }
}
