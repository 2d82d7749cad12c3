//! Device nodes and the standard links of the container's /dev.

use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{makedev, mknodat, umask, Mode, SFlag};
use nix::unistd::{fchownat, unlinkat, Gid, Uid, UnlinkatFlags};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};

use super::target::{fd_path, Kind, Root};
use super::RootfsError;

/// One device node to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Device {
    pub path: PathBuf,
    pub kind: SFlag,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// The devices every container has (runtime-spec "Default Devices").
const DEFAULTS: &[(&str, u64, u64)] = &[
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

/// The default devices followed by `linux.devices`; a listed device replaces a default
/// of the same path.
pub(crate) fn device_list(spec: &[LinuxDevice]) -> Result<Vec<Device>, RootfsError> {
    let mut devices: Vec<Device> = DEFAULTS
        .iter()
        .map(|&(path, major, minor)| Device {
            path: PathBuf::from(path),
            kind: SFlag::S_IFCHR,
            major,
            minor,
            mode: 0o666,
            uid: 0,
            gid: 0,
        })
        .collect();
    for d in spec {
        let path = Path::new("/").join(d.path());
        let invalid = |reason: &'static str| RootfsError::InvalidDevice {
            path: path.clone(),
            reason,
        };
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            LinuxDeviceType::A => return Err(invalid("type `a` is not a kind of file")),
        };
        let major = u64::try_from(d.major()).map_err(|_| invalid("negative major number"))?;
        let minor = u64::try_from(d.minor()).map_err(|_| invalid("negative minor number"))?;
        devices.retain(|existing| existing.path != path);
        devices.push(Device {
            path,
            kind,
            major,
            minor,
            mode: d.file_mode().unwrap_or(0o666) & 0o7777,
            uid: d.uid().unwrap_or(0),
            gid: d.gid().unwrap_or(0),
        });
    }
    Ok(devices)
}

/// Creates the devices: with mknod, or inside a user namespace (where mknod is refused)
/// by bind-mounting the host's device onto an empty file.
pub(crate) fn create(root: &Root, devices: &[Device], in_user_ns: bool) -> Result<(), RootfsError> {
    // The modes of config.json are meant exactly; the umask must not trim them. init is
    // single-threaded here, so the process-wide umask is ours to change.
    let old = umask(Mode::empty());
    let result = devices.iter().try_for_each(|d| {
        if in_user_ns {
            bind_device(root, d)
        } else {
            mknod_device(root, d)
        }
    });
    umask(old);
    result
}

fn mknod_device(root: &Root, d: &Device) -> Result<(), RootfsError> {
    let (dir, name) = root.parent(&d.path)?;
    let err = |what, source| RootfsError::Sys {
        what,
        path: d.path.clone(),
        source,
    };
    let perm = Mode::from_bits_truncate(d.mode);
    let dev = makedev(d.major, d.minor);
    match mknodat(&dir, name.as_os_str(), d.kind, perm, dev) {
        // Whatever the image left there (a file, an old node) is replaced.
        Err(Errno::EEXIST) => {
            unlinkat(&dir, name.as_os_str(), UnlinkatFlags::NoRemoveDir)
                .map_err(|e| err("remove", e))?;
            mknodat(&dir, name.as_os_str(), d.kind, perm, dev)
        }
        other => other,
    }
    .map_err(|e| err("mknod", e))?;
    fchownat(
        &dir,
        name.as_os_str(),
        Some(Uid::from_raw(d.uid)),
        Some(Gid::from_raw(d.gid)),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(|e| err("chown", e))
}

fn bind_device(root: &Root, d: &Device) -> Result<(), RootfsError> {
    root.create(&d.path, Kind::File)?;
    let fd = root.open_target(&d.path)?;
    mount(
        Some(&d.path),
        &fd_path(&fd),
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|source| RootfsError::Mount {
        call: "mount",
        mount_source: d.path.to_string_lossy().into_owned(),
        destination: d.path.clone(),
        fstype: "bind".to_string(),
        source,
    })
}

/// The links of /dev: the process's descriptors, `core` when there is a /proc/kcore, and
/// `ptmx` pointing into the container's own devpts when one is mounted at /dev/pts.
pub(crate) fn create_links(
    root: &Root,
    has_kcore: bool,
    has_devpts: bool,
) -> Result<(), RootfsError> {
    let mut links = vec![
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
    ];
    if has_kcore {
        links.push(("/dev/core", "/proc/kcore"));
    }
    for (link, target) in links {
        root.symlink(Path::new(link), Path::new(target))?;
    }
    if has_devpts {
        let ptmx = Path::new("/dev/ptmx");
        let (dir, name) = root.parent(ptmx)?;
        match unlinkat(&dir, name.as_os_str(), UnlinkatFlags::NoRemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(source) => {
                return Err(RootfsError::Sys {
                    what: "remove",
                    path: ptmx.to_path_buf(),
                    source,
                })
            }
        }
        root.symlink(ptmx, Path::new("pts/ptmx"))?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use oci_spec::runtime::LinuxDeviceBuilder;

    use super::*;

    #[test]
    fn defaults_come_first_and_are_overridable() {
        let fuse = LinuxDeviceBuilder::default()
            .path("/dev/fuse")
            .typ(LinuxDeviceType::C)
            .major(10)
            .minor(229)
            .file_mode(0o600u32)
            .uid(1000u32)
            .build()
            .unwrap();
        let null = LinuxDeviceBuilder::default()
            .path("/dev/null")
            .typ(LinuxDeviceType::C)
            .major(1)
            .minor(3)
            .file_mode(0o600u32)
            .build()
            .unwrap();
        let list = device_list(&[fuse, null]).unwrap();
        assert_eq!(list.len(), 7);
        assert_eq!(list[0].path, Path::new("/dev/zero"));
        let fuse = list
            .iter()
            .find(|d| d.path == Path::new("/dev/fuse"))
            .unwrap();
        assert_eq!(
            (fuse.major, fuse.minor, fuse.mode, fuse.uid),
            (10, 229, 0o600, 1000)
        );
        let null = list
            .iter()
            .find(|d| d.path == Path::new("/dev/null"))
            .unwrap();
        assert_eq!(null.mode, 0o600);
    }

    #[test]
    fn type_all_is_not_a_device_node() {
        let all = LinuxDeviceBuilder::default()
            .path("/dev/x")
            .typ(LinuxDeviceType::A)
            .build()
            .unwrap();
        assert!(matches!(
            device_list(&[all]),
            Err(RootfsError::InvalidDevice { .. })
        ));
    }
}
