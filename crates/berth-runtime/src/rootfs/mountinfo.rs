//! `/proc/self/mountinfo` and `/proc/self/cgroup`, read to find the rootfs's parent mount
//! and the host's cgroup hierarchies.

use std::path::{Path, PathBuf};

use super::RootfsError;

/// One line of mountinfo (proc(5)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MountInfo {
    /// The directory of the filesystem that forms this mount's root.
    pub root: PathBuf,
    /// Where it is mounted.
    pub mount_point: PathBuf,
    /// Optional fields, such as `shared:1` or `master:2`.
    pub optional: Vec<String>,
    /// Filesystem type.
    pub fstype: String,
    /// Per-superblock options.
    pub super_options: Vec<String>,
}

/// Reads the calling process's mount table.
pub(crate) fn read() -> Result<Vec<MountInfo>, RootfsError> {
    let path = Path::new("/proc/self/mountinfo");
    let text = std::fs::read_to_string(path).map_err(|source| RootfsError::Io {
        what: "read",
        path: path.to_path_buf(),
        source,
    })?;
    Ok(parse(&text))
}

/// Parses mountinfo text; malformed lines are skipped, as no mount can be made from them.
pub(crate) fn parse(text: &str) -> Vec<MountInfo> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<MountInfo> {
    let (before, after) = line.split_once(" - ")?;
    let fields: Vec<&str> = before.split(' ').collect();
    let after: Vec<&str> = after.split(' ').collect();
    if fields.len() < 6 || after.len() < 3 {
        return None;
    }
    Some(MountInfo {
        root: PathBuf::from(unescape(fields[3])),
        mount_point: PathBuf::from(unescape(fields[4])),
        optional: fields[6..].iter().map(|s| s.to_string()).collect(),
        fstype: after[0].to_string(),
        super_options: after[2].split(',').map(str::to_string).collect(),
    })
}

/// Undoes the kernel's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (bytes[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The mount that holds `path`: the one with the longest mount point above it.
pub(crate) fn containing<'a>(mounts: &'a [MountInfo], path: &Path) -> Option<&'a MountInfo> {
    mounts
        .iter()
        .filter(|m| path.starts_with(&m.mount_point))
        .max_by_key(|m| m.mount_point.as_os_str().len())
}

/// One line of `/proc/self/cgroup`: `hierarchy-id:controllers:path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CgroupLine {
    /// `cpu,cpuacct`, `name=systemd`, or empty for the cgroup v2 hierarchy.
    pub controllers: String,
    /// The process's cgroup in that hierarchy.
    pub path: PathBuf,
}

/// Reads the calling process's cgroups.
pub(crate) fn read_cgroups() -> Result<Vec<CgroupLine>, RootfsError> {
    let path = Path::new("/proc/self/cgroup");
    let text = std::fs::read_to_string(path).map_err(|source| RootfsError::Io {
        what: "read",
        path: path.to_path_buf(),
        source,
    })?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let _id = parts.next()?;
            let controllers = parts.next()?.to_string();
            let path = PathBuf::from(parts.next()?);
            Some(CgroupLine { controllers, path })
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    const SAMPLE: &str = "\
27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
41 31 0:38 /sub /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 27 0:40 / /mnt/with\\040space rw - tmpfs tmpfs rw,size=4k
";

    #[test]
    fn parses_fields_and_escapes() {
        let mounts = parse(SAMPLE);
        assert_eq!(mounts.len(), 4);
        assert_eq!(mounts[0].optional, vec!["shared:1"]);
        assert_eq!(mounts[1].super_options, vec!["rw", "cpu"]);
        assert_eq!(mounts[2].root, Path::new("/sub"));
        assert_eq!(mounts[3].mount_point, Path::new("/mnt/with space"));
    }

    #[test]
    fn finds_the_containing_mount() {
        let mounts = parse(SAMPLE);
        let m = containing(&mounts, Path::new("/sys/fs/cgroup/cpu/x")).unwrap();
        assert_eq!(m.fstype, "cgroup");
        let m = containing(&mounts, Path::new("/tmp/rootfs")).unwrap();
        assert_eq!(m.fstype, "ext4");
    }
}
