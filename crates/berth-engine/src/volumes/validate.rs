//! Checks of what `docker volume create` is given, with Docker's error texts.

use std::collections::BTreeMap;

use super::VolumeError;

/// Docker's `names.RestrictedNameChars`.
const NAME_CHARS: &str = "[a-zA-Z0-9][a-zA-Z0-9_.-]";

/// The local driver's options (`size` needs project quotas, which berth does not set up).
const KNOWN_OPTIONS: [&str; 4] = ["type", "device", "o", "size"];

/// A name the local driver accepts: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub(super) fn name(name: &str) -> Result<(), VolumeError> {
    if name.len() == 1 {
        return Err(VolumeError::Invalid(format!(
            "create {name}: volume name is too short, names should be at least two alphanumeric characters"
        )));
    }
    if !is_valid(name) {
        return Err(VolumeError::Invalid(format!(
            "create {name}: {name:?} includes invalid characters for a local volume name, only \
             {NAME_CHARS:?} are allowed. If you intended to pass a host directory, use absolute path"
        )));
    }
    Ok(())
}

/// A name looked up: one that could never have been created (`../x`) does not exist.
pub(super) fn known_name(name: &str) -> Result<(), VolumeError> {
    if is_valid(name) {
        Ok(())
    } else {
        Err(VolumeError::NotFound(name.to_string()))
    }
}

fn is_valid(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    first.is_ascii_alphanumeric()
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Only the built-in `local` driver exists.
pub(super) fn driver(driver: Option<&str>) -> Result<(), VolumeError> {
    match driver {
        None | Some("") | Some("local") => Ok(()),
        Some(other) => Err(VolumeError::Invalid(format!(
            "error looking up volume plugin {other}: plugin {other:?} not found"
        ))),
    }
}

/// The local driver's option check: known keys, and `type` with `device` (or neither).
pub(super) fn options(name: &str, opts: &BTreeMap<String, String>) -> Result<(), VolumeError> {
    for key in opts.keys() {
        if !KNOWN_OPTIONS.contains(&key.as_str()) {
            return Err(VolumeError::Invalid(format!(
                "create {name}: invalid option: {key:?}"
            )));
        }
    }
    if opts.contains_key("size") {
        return Err(VolumeError::Invalid(format!(
            "create {name}: quota size requested but no quota support"
        )));
    }
    if opts.is_empty() {
        return Ok(());
    }
    for required in ["type", "device"] {
        if opts.get(required).is_none_or(|v| v.is_empty()) {
            return Err(VolumeError::Invalid(format!(
                "create {name}: missing required option: {required:?}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_dockers_rule() {
        for good in ["ab", "a1", "A_b.c-d", "0x"] {
            assert!(is_valid(good), "{good}");
        }
        for bad in ["", "a", "_a", ".a", "-a", "a/b", "../x", "a b", "é1"] {
            assert!(!is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn a_type_needs_a_device() {
        let opts = BTreeMap::from([("type".to_string(), "tmpfs".to_string())]);
        let err = options("v1", &opts).unwrap_err().to_string();
        assert_eq!(err, "create v1: missing required option: \"device\"");
    }
}
