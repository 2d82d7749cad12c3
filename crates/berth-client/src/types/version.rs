//! Engine API versions: parsing `1.47`, the `/v1.47/...` path prefix, and the range of
//! versions berth speaks.
//!
//! Docker clients negotiate: they ask `/_ping`, read the daemon's `API-Version` header and
//! then prefix every path with the lower of that and their own maximum. A daemon accepts
//! any version between its minimum and maximum and answers with that version's shapes.

use std::fmt;
use std::str::FromStr;

/// An Engine API version, `MAJOR.MINOR` (e.g. `1.47`). Ordered numerically, so that
/// `1.9 < 1.41`, unlike a string comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    /// The major number (1 for every released Engine API).
    pub major: u16,
    /// The minor number.
    pub minor: u16,
}

/// The oldest API version berth speaks (Docker 20.10).
pub const MIN_API_VERSION: ApiVersion = ApiVersion::new(1, 41);
/// The newest API version berth speaks (Docker 27.x; the docker 28 CLI still sends 1.47
/// when the daemon announces it).
pub const MAX_API_VERSION: ApiVersion = ApiVersion::new(1, 47);

/// A version string that is not `MAJOR.MINOR`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid API version `{0}`: expected MAJOR.MINOR, e.g. 1.47")]
pub struct InvalidVersion(pub String);

impl ApiVersion {
    /// The version `major.minor`.
    pub const fn new(major: u16, minor: u16) -> ApiVersion {
        ApiVersion { major, minor }
    }

    /// Whether berth speaks this version.
    pub fn is_supported(self) -> bool {
        (MIN_API_VERSION..=MAX_API_VERSION).contains(&self)
    }

    /// The version a client uses with a daemon announcing `server`: the lower of the two
    /// maxima. `None` if the daemon is older than [`MIN_API_VERSION`].
    pub fn negotiate(server: ApiVersion) -> Option<ApiVersion> {
        if server < MIN_API_VERSION {
            return None;
        }
        Some(server.min(MAX_API_VERSION))
    }

    /// The path prefix for this version, `/v1.47`.
    pub fn path_prefix(self) -> String {
        format!("/v{self}")
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for ApiVersion {
    type Err = InvalidVersion;

    fn from_str(s: &str) -> Result<ApiVersion, InvalidVersion> {
        let invalid = || InvalidVersion(s.to_string());
        let (major, minor) = s.trim().split_once('.').ok_or_else(invalid)?;
        // u16::from_str accepts a leading `+`; the API never does.
        let number = |part: &str| {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            part.parse::<u16>().map_err(|_| invalid())
        };
        Ok(ApiVersion::new(number(major)?, number(minor)?))
    }
}

/// Splits a request path into its version prefix and the rest:
/// `/v1.47/containers/json` gives `(Some(1.47), "/containers/json")`, an unversioned
/// `/containers/json` gives `(None, "/containers/json")`. A `/vX` segment that is not a
/// version (`/volumes`, `/v1.x/...`) is an error only when it looks like one (`/v1...`).
pub fn split_version_prefix(path: &str) -> Result<(Option<ApiVersion>, &str), InvalidVersion> {
    let Some(rest) = path.strip_prefix("/v") else {
        return Ok((None, path));
    };
    // Only `/v<digit>` is a version prefix; `/volumes` is a resource.
    if !rest.starts_with(|c: char| c.is_ascii_digit()) {
        return Ok((None, path));
    }
    let (version, tail) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    Ok((Some(version.parse()?), tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_numerically() {
        let v: ApiVersion = "1.9".parse().unwrap();
        assert!(v < "1.41".parse().unwrap());
        assert!(ApiVersion::new(2, 0) > MAX_API_VERSION);
        assert_eq!(ApiVersion::new(1, 47).to_string(), "1.47");
    }

    #[test]
    fn rejects_malformed_versions() {
        for bad in [
            "", "1", "1.", ".4", "1.4x", "+1.4", "1.-4", "v1.47", "1.99999",
        ] {
            assert!(bad.parse::<ApiVersion>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn negotiation_takes_the_lower_maximum() {
        assert_eq!(
            ApiVersion::negotiate(ApiVersion::new(1, 49)),
            Some(MAX_API_VERSION)
        );
        assert_eq!(
            ApiVersion::negotiate(ApiVersion::new(1, 43)),
            Some(ApiVersion::new(1, 43))
        );
        assert_eq!(ApiVersion::negotiate(ApiVersion::new(1, 40)), None);
        assert!(ApiVersion::new(1, 41).is_supported());
        assert!(!ApiVersion::new(1, 48).is_supported());
    }

    #[test]
    fn splits_path_prefixes() {
        assert_eq!(
            split_version_prefix("/v1.47/containers/json").unwrap(),
            (Some(ApiVersion::new(1, 47)), "/containers/json")
        );
        assert_eq!(
            split_version_prefix("/v1.41").unwrap(),
            (Some(ApiVersion::new(1, 41)), "/")
        );
        assert_eq!(
            split_version_prefix("/volumes").unwrap(),
            (None, "/volumes")
        );
        assert_eq!(split_version_prefix("/_ping").unwrap(), (None, "/_ping"));
        assert!(split_version_prefix("/v1.x/info").is_err());
    }
}
