//! The metadata of a tar entry, read from its header and PAX records.

use std::ffi::{OsStr, OsString};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;

use nix::sys::time::TimeSpec;

/// The metadata of an entry that is applied after its content.
#[derive(Debug)]
pub(crate) struct Meta {
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) atime: TimeSpec,
    pub(crate) mtime: TimeSpec,
    pub(crate) xattrs: Vec<(OsString, Vec<u8>)>,
}

pub(crate) fn read_meta<R: Read>(entry: &mut tar::Entry<'_, R>) -> io::Result<Meta> {
    let header = entry.header();
    let old = header.as_old();
    let mode = blank_is_zero(header.mode().map(u64::from), &old.mode)? as u32 & 0o7777;
    let uid = blank_is_zero(header.uid(), &old.uid)?;
    let uid = u32::try_from(uid).map_err(|_| io::Error::other("uid out of range"))?;
    let gid = blank_is_zero(header.gid(), &old.gid)?;
    let gid = u32::try_from(gid).map_err(|_| io::Error::other("gid out of range"))?;
    let mtime_secs = blank_is_zero(header.mtime(), &old.mtime)?;
    let gnu_atime = header
        .as_gnu()
        .and_then(|gnu| gnu.atime().ok())
        .filter(|&t| t != 0);
    let mut mtime = TimeSpec::new(mtime_secs as libc::time_t, 0);
    let mut atime = gnu_atime.map(|t| TimeSpec::new(t as libc::time_t, 0));
    let mut xattrs = Vec::new();
    if let Some(extensions) = entry.pax_extensions()? {
        for extension in extensions {
            let extension = extension?;
            let key = extension.key_bytes();
            if let Some(xattr) = key.strip_prefix(b"SCHILY.xattr.") {
                // overlayfs's own xattrs (opaque, redirect, metacopy) are for the
                // snapshotter to set: a layer that carries them could reshape the merged
                // view.
                if xattr.starts_with(b"trusted.overlay.") || xattr.starts_with(b"user.overlay.") {
                    continue;
                }
                xattrs.push((
                    OsStr::from_bytes(xattr).to_os_string(),
                    extension.value_bytes().to_vec(),
                ));
            } else if key == b"mtime" {
                mtime = parse_pax_time(extension.value_bytes()).unwrap_or(mtime);
            } else if key == b"atime" {
                atime = parse_pax_time(extension.value_bytes()).or(atime);
            }
        }
    }
    Ok(Meta {
        mode,
        uid,
        gid,
        atime: atime.unwrap_or(mtime),
        mtime,
        xattrs,
    })
}

/// A numeric header field that is all NULs or spaces reads as 0, as Go's archive/tar (and
/// so docker) reads it; some writers leave ids blank.
fn blank_is_zero(parsed: io::Result<u64>, raw: &[u8]) -> io::Result<u64> {
    match parsed {
        Err(_) if raw.iter().all(|&b| b == 0 || b == b' ') => Ok(0),
        other => other,
    }
}

/// A PAX time: decimal seconds with an optional fraction (`1700000000.123456789`).
fn parse_pax_time(value: &[u8]) -> Option<TimeSpec> {
    let text = std::str::from_utf8(value).ok()?;
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    let secs: i64 = secs.parse().ok()?;
    let digits: String = frac.chars().take(9).collect();
    let nanos = if digits.is_empty() {
        0
    } else {
        digits.parse::<i64>().ok()? * 10i64.pow(9 - digits.len() as u32)
    };
    Some(TimeSpec::new(secs as libc::time_t, nanos as _))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_times() {
        let t = parse_pax_time(b"1700000000.5").unwrap();
        assert_eq!((t.tv_sec(), t.tv_nsec()), (1_700_000_000, 500_000_000));
        assert_eq!(parse_pax_time(b"12").unwrap().tv_sec(), 12);
        assert!(parse_pax_time(b"x").is_none());
    }
}
