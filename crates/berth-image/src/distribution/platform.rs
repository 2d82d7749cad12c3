//! Platforms (`linux/amd64`) and their selection from an index.

use std::str::FromStr;

use super::wire::Descriptor;

/// The platform to select from an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// `linux`.
    pub os: String,
    /// `amd64`, `arm64`.
    pub architecture: String,
    /// `v8`, `v7`.
    pub variant: Option<String>,
}

impl Default for Platform {
    fn default() -> Self {
        Self {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl FromStr for Platform {
    type Err = String;
    /// `os/arch[/variant]`.
    fn from_str(s: &str) -> Result<Self, String> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [os, arch] | [os, arch, _] if !os.is_empty() && !arch.is_empty() => Ok(Self {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: parts.get(2).map(|v| v.to_string()),
            }),
            _ => Err(format!(
                "invalid platform `{s}`: expected os/arch[/variant]"
            )),
        }
    }
}

/// The index entry for `platform` (a missing variant matches any).
pub fn select_platform<'a>(
    manifests: &'a [Descriptor],
    platform: &Platform,
) -> Option<&'a Descriptor> {
    let matching = manifests.iter().filter(|m| {
        m.platform.as_ref().is_some_and(|p| {
            p.os == platform.os
                && p.architecture == platform.architecture
                && (platform.variant.is_none() || p.variant == platform.variant)
        })
    });
    // Prefer the exact variant, then no variant (arm64 images often say v8 or nothing).
    let mut best = None;
    for m in matching {
        let variant = m.platform.as_ref().and_then(|p| p.variant.clone());
        if variant == platform.variant {
            return Some(m);
        }
        best.get_or_insert(m);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(arch: &str, variant: Option<&str>, n: u8) -> Descriptor {
        serde_json::from_value(serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": crate::digest::Digest::sha256_of(&[n]).to_string(),
            "size": 1,
            "platform": {"os": "linux", "architecture": arch, "variant": variant},
        }))
        .unwrap()
    }

    #[test]
    fn selects_os_arch_and_variant() {
        let index = [
            entry("arm", Some("v7"), 1),
            entry("arm64", Some("v8"), 2),
            entry("amd64", None, 3),
        ];
        let pick = |p: &str| select_platform(&index, &p.parse().unwrap()).map(|d| d.digest.clone());
        assert_eq!(pick("linux/amd64"), Some(index[2].digest.clone()));
        assert_eq!(pick("linux/arm64"), Some(index[1].digest.clone()));
        assert_eq!(pick("linux/arm64/v8"), Some(index[1].digest.clone()));
        assert_eq!(pick("linux/arm/v6"), None);
        assert_eq!(pick("windows/amd64"), None);
        assert!("linux".parse::<Platform>().is_err());
        assert_eq!(Platform::default().to_string(), "linux/amd64");
    }
}
