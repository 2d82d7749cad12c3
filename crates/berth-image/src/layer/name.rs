//! Entry names: a tar's names made relative and checked before any filesystem call.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Why a name was refused.
pub(crate) type Refusal = &'static str;

/// Makes a tar name relative to the target: strips leading `/` (as docker does), drops empty
/// and `.` components; refuses `..` components and NUL bytes. An empty result is the target
/// itself.
pub(crate) fn normalize(name: &[u8]) -> Result<PathBuf, Refusal> {
    if name.contains(&0) {
        return Err("the name contains a NUL byte");
    }
    let mut path = PathBuf::new();
    for component in name.split(|&b| b == b'/') {
        match component {
            b"" | b"." => {}
            b".." => return Err("the name has a `..` component"),
            _ => path.push(OsStr::from_bytes(component)),
        }
    }
    Ok(path)
}

/// Splits a normalised, non-empty path into its parent and its last component.
pub(crate) fn split(path: &Path) -> (&Path, &OsStr) {
    let parent = path.parent().unwrap_or(Path::new(""));
    let file_name = path.file_name().unwrap_or(OsStr::new(""));
    (parent, file_name)
}

/// Checks the name a whiteout refers to (`.wh.<name>`).
pub(crate) fn whiteout_target(name: &OsStr) -> Result<&OsStr, Refusal> {
    let target = OsStr::from_bytes(&name.as_bytes()[WHITEOUT_PREFIX.len()..]);
    match target.as_bytes() {
        b"" | b"." | b".." => Err("the whiteout names no file"),
        _ => Ok(target),
    }
}

/// The prefix of whiteout entries.
pub(crate) const WHITEOUT_PREFIX: &str = ".wh.";
/// The name of the opaque-directory marker.
pub(crate) const OPAQUE_MARKER: &str = ".wh..wh..opq";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_root_and_refuses_dotdot() {
        assert_eq!(normalize(b"/etc/passwd").unwrap(), Path::new("etc/passwd"));
        assert_eq!(normalize(b"./usr//bin/").unwrap(), Path::new("usr/bin"));
        assert_eq!(normalize(b"./").unwrap(), Path::new(""));
        assert!(normalize(b"../../etc/x").is_err());
        assert!(normalize(b"a/../../b").is_err());
        assert!(normalize(b"a\0b").is_err());
    }

    #[test]
    fn whiteout_names() {
        assert_eq!(whiteout_target(OsStr::new(".wh.foo")).unwrap(), "foo");
        assert!(whiteout_target(OsStr::new(".wh...")).is_err());
        assert!(whiteout_target(OsStr::new(".wh.")).is_err());
    }
}
