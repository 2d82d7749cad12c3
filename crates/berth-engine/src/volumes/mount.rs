//! Mounting a volume created with `--opt type=... --opt device=... --opt o=...`, as
//! `mount -t type -o o device _data` does: the `o` words that are mount flags become
//! flags, the rest is the filesystem's data string.

use std::collections::BTreeMap;
use std::path::Path;

use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags};

/// What to mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Options {
    fstype: String,
    device: String,
    flags: MsFlags,
    data: String,
}

impl Options {
    /// None for a plain-directory volume (no `type`).
    pub fn from_driver_opts(opts: &BTreeMap<String, String>) -> Option<Options> {
        let fstype = opts.get("type").filter(|t| !t.is_empty())?.clone();
        let device = opts.get("device").cloned().unwrap_or_default();
        let mut flags = MsFlags::empty();
        let mut data = Vec::new();
        for word in opts.get("o").map(String::as_str).unwrap_or("").split(',') {
            match flag(word) {
                Some((flag, true)) => flags.insert(flag),
                Some((flag, false)) => flags.remove(flag),
                None if word.is_empty() => {}
                None => data.push(word),
            }
        }
        Some(Options {
            fstype,
            device,
            flags,
            data: data.join(","),
        })
    }

    /// Mounts onto `target`.
    pub fn mount(&self, target: &Path) -> std::io::Result<()> {
        let data = (!self.data.is_empty()).then_some(self.data.as_str());
        nix::mount::mount(
            Some(self.device.as_str()),
            target,
            Some(self.fstype.as_str()),
            self.flags,
            data,
        )?;
        Ok(())
    }
}

/// Unmounts `target`; nothing mounted there is not an error.
pub(super) fn unmount(target: &Path) -> std::io::Result<()> {
    match nix::mount::umount2(target, MntFlags::MNT_DETACH) {
        Ok(()) | Err(Errno::EINVAL) | Err(Errno::ENOENT) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// A mount(8) option that is a flag: the flag, and whether it is set (`ro`) or cleared
/// (`rw`).
fn flag(word: &str) -> Option<(MsFlags, bool)> {
    Some(match word {
        "ro" => (MsFlags::MS_RDONLY, true),
        "rw" => (MsFlags::MS_RDONLY, false),
        "nosuid" => (MsFlags::MS_NOSUID, true),
        "suid" => (MsFlags::MS_NOSUID, false),
        "nodev" => (MsFlags::MS_NODEV, true),
        "dev" => (MsFlags::MS_NODEV, false),
        "noexec" => (MsFlags::MS_NOEXEC, true),
        "exec" => (MsFlags::MS_NOEXEC, false),
        "sync" => (MsFlags::MS_SYNCHRONOUS, true),
        "async" => (MsFlags::MS_SYNCHRONOUS, false),
        "dirsync" => (MsFlags::MS_DIRSYNC, true),
        "noatime" => (MsFlags::MS_NOATIME, true),
        "atime" => (MsFlags::MS_NOATIME, false),
        "nodiratime" => (MsFlags::MS_NODIRATIME, true),
        "diratime" => (MsFlags::MS_NODIRATIME, false),
        "relatime" => (MsFlags::MS_RELATIME, true),
        "norelatime" => (MsFlags::MS_RELATIME, false),
        "strictatime" => (MsFlags::MS_STRICTATIME, true),
        "bind" => (MsFlags::MS_BIND, true),
        "rbind" => (MsFlags::MS_BIND | MsFlags::MS_REC, true),
        "defaults" => (MsFlags::empty(), true),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_data_are_split() {
        let opts = BTreeMap::from([
            ("type".to_string(), "tmpfs".to_string()),
            ("device".to_string(), "tmpfs".to_string()),
            ("o".to_string(), "size=10m,nodev,mode=1777,ro".to_string()),
        ]);
        let parsed = Options::from_driver_opts(&opts).unwrap();
        assert_eq!(parsed.flags, MsFlags::MS_NODEV | MsFlags::MS_RDONLY);
        assert_eq!(parsed.data, "size=10m,mode=1777");
        assert!(Options::from_driver_opts(&BTreeMap::new()).is_none());
    }
}
