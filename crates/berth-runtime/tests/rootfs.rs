//! Root filesystem set-up, run for real (as root) in new mount and pid namespaces.
//!
//! Each test forks; the child unshares a mount and a pid namespace and forks again, so
//! that the grandchild is pid 1 of its pid namespace and can mount a proc. The grandchild
//! plays the container's init: it calls `prepare`, `pivot` and `finish` on a temporary
//! rootfs, checks what a container would see, and reports any failure through a pipe.
//! The mounts vanish with the namespace; the temporary directories are removed by the
//! parent.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use berth_runtime::rootfs::{self, RootfsError};
use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::sys::wait::waitpid;
use nix::unistd::{fork, ForkResult};
use serde_json::json;

macro_rules! ensure {
    ($cond:expr, $($fmt:tt)*) => {
        if !$cond {
            return Err(format!($($fmt)*));
        }
    };
}

#[path = "rootfs/harness.rs"]
mod harness;
#[path = "rootfs/isolation.rs"]
mod isolation;

use harness::*;

#[test]
fn standard_mounts_have_their_types_and_flags() {
    let bundle = Bundle::new();
    fs::create_dir(bundle.rootfs.join("bin")).unwrap();
    fs::copy("/bin/busybox", bundle.rootfs.join("bin/busybox")).unwrap();
    let spec = spec(json!({"root": {"path": "rootfs"}, "mounts": default_mounts()}));
    in_namespaces(|| {
        set_up(&spec, bundle.path(), &bundle.rootfs, false)?;
        // A program of the image runs from the new root and sees the container's /dev.
        let ls = std::process::Command::new("/bin/busybox")
            .args(["ls", "/dev"])
            .output()
            .map_err(|e| format!("run /bin/busybox in the container: {e}"))?;
        let listing = String::from_utf8_lossy(&ls.stdout);
        for name in ["null", "ptmx", "pts", "shm", "mqueue"] {
            ensure!(
                listing.split_whitespace().any(|n| n == name),
                "ls /dev: {listing}"
            );
        }
        expect_mount("/proc", "proc", &["rw"])?;
        let me = fs::read_link("/proc/self").map_err(|e| e.to_string())?;
        ensure!(
            me == Path::new("1"),
            "/proc/self is {me:?}: not the container's proc"
        );
        expect_mount("/dev", "tmpfs", &["nosuid", "mode=755", "size=65536k"])?;
        expect_mount(
            "/dev/pts",
            "devpts",
            &["nosuid", "noexec", "mode=620", "ptmxmode=666"],
        )?;
        expect_mount(
            "/dev/shm",
            "tmpfs",
            &["nosuid", "nodev", "noexec", "size=65536k"],
        )?;
        let shm = fs::metadata("/dev/shm").map_err(|e| e.to_string())?;
        ensure!(
            shm.mode() & 0o7777 == 0o1777,
            "/dev/shm mode {:o}",
            shm.mode()
        );
        expect_mount("/dev/mqueue", "mqueue", &["nosuid", "nodev", "noexec"])?;
        expect_mount("/sys", "sysfs", &["ro", "nosuid", "nodev", "noexec"])?;
        expect_mount(
            "/sys/fs/cgroup",
            "tmpfs",
            &["ro", "nosuid", "nodev", "noexec"],
        )?;
        expect_mount(
            "/sys/fs/cgroup/memory",
            "cgroup",
            &["ro", "nosuid", "memory"],
        )?;
        expect_mount("/sys/fs/cgroup/unified", "cgroup2", &["ro", "nosuid"])?;
        expect_erofs("/sys/fs/cgroup/new-file")?;
        // pivot_root left nothing of the host visible.
        let allowed = ["/proc", "/dev", "/sys"];
        for m in mountinfo() {
            ensure!(
                m.point == Path::new("/") || allowed.iter().any(|a| m.point.starts_with(a)),
                "host mount visible in the container: {m:?}"
            );
        }
        Ok(())
    })
    .unwrap();
}

#[test]
fn cgroup_namespace_gets_its_own_cgroup_filesystems() {
    let bundle = Bundle::new();
    let spec = spec(json!({
        "root": {"path": "rootfs"},
        "mounts": default_mounts(),
        "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}, {"type": "cgroup"}]}
    }));
    in_namespaces(|| {
        unshare(CloneFlags::CLONE_NEWCGROUP).map_err(|e| e.to_string())?;
        set_up(&spec, bundle.path(), &bundle.rootfs, false)?;
        let cpu = expect_mount("/sys/fs/cgroup/cpu", "cgroup", &["ro", "cpu"])?;
        ensure!(
            cpu.root == "/",
            "cgroup mount root {} in a cgroup namespace",
            cpu.root
        );
        expect_mount("/sys/fs/cgroup/systemd", "cgroup", &["ro", "name=systemd"])?;
        expect_mount("/sys/fs/cgroup/unified", "cgroup2", &["ro"])?;
        Ok(())
    })
    .unwrap();
}

#[test]
fn devices_and_dev_links() {
    let bundle = Bundle::new();
    let spec = spec(json!({
        "root": {"path": "rootfs"},
        "mounts": default_mounts(),
        "linux": {"devices": [
            {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
             "fileMode": 384, "uid": 1000, "gid": 1001},
            {"path": "/dev/custom/fifo", "type": "p", "fileMode": 420}
        ]}
    }));
    in_namespaces(|| {
        set_up(&spec, bundle.path(), &bundle.rootfs, false)?;
        let expected = [
            ("/dev/null", 1, 3),
            ("/dev/zero", 1, 5),
            ("/dev/full", 1, 7),
            ("/dev/random", 1, 8),
            ("/dev/urandom", 1, 9),
            ("/dev/tty", 5, 0),
        ];
        for (path, major, minor) in expected {
            let meta = fs::symlink_metadata(path).map_err(|e| format!("{path}: {e}"))?;
            ensure!(
                meta.file_type().is_char_device(),
                "{path} is not a char device"
            );
            let rdev = meta.rdev();
            ensure!(
                (libc::major(rdev), libc::minor(rdev)) == (major, minor),
                "{path} is {}:{}",
                libc::major(rdev),
                libc::minor(rdev)
            );
            ensure!(
                meta.mode() & 0o7777 == 0o666,
                "{path} mode {:o}",
                meta.mode()
            );
            ensure!(
                meta.uid() == 0 && meta.gid() == 0,
                "{path} not owned by root"
            );
        }
        for host_only in ["/dev/sda", "/dev/vda", "/dev/kvm", "/dev/mem"] {
            ensure!(
                !Path::new(host_only).exists(),
                "{host_only} exists in the container"
            );
        }
        let fuse = fs::metadata("/dev/fuse").map_err(|e| e.to_string())?;
        ensure!(
            fuse.file_type().is_char_device(),
            "/dev/fuse not a char device"
        );
        ensure!(
            (libc::major(fuse.rdev()), libc::minor(fuse.rdev())) == (10, 229),
            "/dev/fuse numbers"
        );
        ensure!(
            fuse.mode() & 0o7777 == 0o600,
            "/dev/fuse mode {:o}",
            fuse.mode()
        );
        ensure!((fuse.uid(), fuse.gid()) == (1000, 1001), "/dev/fuse owner");
        let fifo = fs::metadata("/dev/custom/fifo").map_err(|e| e.to_string())?;
        ensure!(fifo.file_type().is_fifo(), "/dev/custom/fifo not a fifo");
        ensure!(fifo.mode() & 0o7777 == 0o644, "fifo mode {:o}", fifo.mode());

        let links = [
            ("/dev/fd", "/proc/self/fd"),
            ("/dev/stdin", "/proc/self/fd/0"),
            ("/dev/stdout", "/proc/self/fd/1"),
            ("/dev/stderr", "/proc/self/fd/2"),
            ("/dev/ptmx", "pts/ptmx"),
        ];
        for (link, target) in links {
            let found = fs::read_link(link).map_err(|e| format!("{link}: {e}"))?;
            ensure!(
                found == Path::new(target),
                "{link} -> {found:?}, not {target}"
            );
        }
        // core only where the kernel has a kcore (this test's VM kernel may not).
        if Path::new("/proc/kcore").exists() {
            let core = fs::read_link("/dev/core").map_err(|e| format!("/dev/core: {e}"))?;
            ensure!(core == Path::new("/proc/kcore"), "/dev/core -> {core:?}");
        } else {
            ensure!(
                fs::symlink_metadata("/dev/core").is_err(),
                "/dev/core without kcore"
            );
        }
        // The ptmx link leads to the container's own devpts instance.
        fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/ptmx")
            .map_err(|e| format!("open /dev/ptmx: {e}"))?;
        let mut zeros = [1u8; 16];
        fs::File::open("/dev/zero")
            .and_then(|mut f| f.read_exact(&mut zeros))
            .map_err(|e| e.to_string())?;
        ensure!(zeros == [0; 16], "/dev/zero gave {zeros:?}");
        match fs::write("/dev/full", b"x") {
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => Ok(()),
            other => Err(format!("write /dev/full: {other:?}")),
        }
    })
    .unwrap();
}

#[test]
fn bind_mounts_honour_their_options() {
    let bundle = Bundle::new();
    let data = bundle.path().join("data");
    fs::create_dir(&data).unwrap();
    fs::write(data.join("hello"), "from the host").unwrap();
    let shared = bundle.path().join("shared");
    fs::create_dir(&shared).unwrap();
    let file = bundle.path().join("hostfile");
    fs::write(&file, "a host file").unwrap();
    let spec = spec(json!({
        "root": {"path": "rootfs"},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            // A relative source is relative to the bundle.
            {"destination": "/mnt/data", "type": "bind", "source": "data",
             "options": ["rbind", "ro", "nosuid", "nodev", "noexec", "rprivate"]},
            {"destination": "/mnt/shared", "type": "none", "source": shared,
             "options": ["bind", "rw", "noatime"]},
            {"destination": "/etc/deep/hostfile", "source": file, "options": ["bind", "ro"]}
        ]
    }));
    in_namespaces(|| {
        set_up(&spec, bundle.path(), &bundle.rootfs, false)?;
        let hello = fs::read_to_string("/mnt/data/hello").map_err(|e| e.to_string())?;
        ensure!(hello == "from the host", "/mnt/data/hello: {hello}");
        let m = expect_mount("/mnt/data", "ext4", &["ro", "nosuid", "nodev", "noexec"])?;
        ensure!(
            !m.optional.iter().any(|o| o.starts_with("shared")),
            "still shared: {m:?}"
        );
        expect_erofs("/mnt/data/new")?;
        expect_mount("/mnt/shared", "ext4", &["rw", "noatime"])?;
        fs::write("/mnt/shared/written", "by the container").map_err(|e| e.to_string())?;
        let meta = fs::metadata("/etc/deep/hostfile").map_err(|e| e.to_string())?;
        ensure!(meta.is_file(), "/etc/deep/hostfile is not a file");
        let text = fs::read_to_string("/etc/deep/hostfile").map_err(|e| e.to_string())?;
        ensure!(text == "a host file", "/etc/deep/hostfile: {text}");
        expect_erofs("/etc/deep/hostfile")?;
        let deep = fs::metadata("/etc/deep").map_err(|e| e.to_string())?;
        ensure!(
            deep.permissions().mode() & 0o777 == 0o755,
            "parent mode {:o}",
            deep.mode()
        );
        Ok(())
    })
    .unwrap();
    // A writable bind mount writes through to the host.
    assert_eq!(
        fs::read_to_string(shared.join("written")).unwrap(),
        "by the container"
    );
}

#[test]
fn tmpfs_data_options_are_passed_to_the_filesystem() {
    let bundle = Bundle::new();
    let spec = spec(json!({
        "root": {"path": "rootfs"},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/run/small", "type": "tmpfs", "source": "tmpfs",
             "options": ["size=1m", "mode=700", "noexec", "nodiratime"]}
        ]
    }));
    in_namespaces(|| {
        set_up(&spec, bundle.path(), &bundle.rootfs, false)?;
        expect_mount(
            "/run/small",
            "tmpfs",
            &["size=1024k", "mode=700", "noexec", "nodiratime"],
        )?;
        let meta = fs::metadata("/run/small").map_err(|e| e.to_string())?;
        ensure!(
            meta.mode() & 0o7777 == 0o700,
            "/run/small mode {:o}",
            meta.mode()
        );
        // 1 MiB is the limit: a 2 MiB file does not fit.
        match fs::write("/run/small/big", vec![0u8; 2 << 20]) {
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => Ok(()),
            other => Err(format!("2 MiB into a 1 MiB tmpfs: {other:?}")),
        }
    })
    .unwrap();
}

#[test]
fn masked_and_readonly_paths() {
    let bundle = Bundle::new();
    let r = &bundle.rootfs;
    fs::create_dir_all(r.join("secret-dir")).unwrap();
    fs::write(r.join("secret-dir/key"), "k").unwrap();
    fs::create_dir_all(r.join("etc")).unwrap();
    fs::write(r.join("etc/secret-file"), "top secret").unwrap();
    fs::create_dir_all(r.join("data-ro")).unwrap();
    let spec = spec(json!({
        "root": {"path": "rootfs"},
        "mounts": default_mounts(),
        "linux": {
            "maskedPaths": ["/secret-dir", "/etc/secret-file", "/proc/keys", "/proc/acpi",
                            "/proc/kcore", "/not/there"],
            "readonlyPaths": ["/data-ro", "/proc/sys", "/also/not/there"]
        }
    }));
    in_namespaces(|| {
        set_up(&spec, bundle.path(), &bundle.rootfs, false)?;
        let text = fs::read_to_string("/etc/secret-file").map_err(|e| e.to_string())?;
        ensure!(text.is_empty(), "masked file reads {text:?}");
        let keys = fs::read("/proc/keys").map_err(|e| format!("/proc/keys: {e}"))?;
        ensure!(keys.is_empty(), "/proc/keys not masked");
        expect_mount("/proc/acpi", "tmpfs", &["ro"])?;
        let entries = fs::read_dir("/secret-dir")
            .map_err(|e| e.to_string())?
            .count();
        ensure!(entries == 0, "masked directory shows {entries} entries");
        expect_erofs("/secret-dir/new")?;
        expect_erofs("/data-ro/new")?;
        expect_erofs("/proc/sys/kernel/hostname")?;
        expect_mount("/proc/sys", "proc", &["ro", "nosuid", "nodev", "noexec"])?;
        ensure!(
            !Path::new("/not/there").exists(),
            "missing masked path was created"
        );
        Ok(())
    })
    .unwrap();
}

#[test]
fn readonly_root_refuses_writes() {
    let bundle = Bundle::new();
    let spec = spec(json!({
        "root": {"path": "rootfs", "readonly": true},
        "mounts": default_mounts(),
        "linux": {"rootfsPropagation": "private"}
    }));
    in_namespaces(|| {
        set_up(&spec, bundle.path(), &bundle.rootfs, false)?;
        expect_erofs("/new-file")?;
        let root = expect_mount("/", "ext4", &["ro"])?;
        ensure!(
            !root
                .optional
                .iter()
                .any(|o| o.starts_with("master") || o.starts_with("shared")),
            "/ is not private: {root:?}"
        );
        // Only the root is read-only: tmpfs mounts keep working.
        fs::write("/dev/shm/scratch", "ok").map_err(|e| e.to_string())
    })
    .unwrap();
    assert!(!bundle.rootfs.join("new-file").exists());
}

#[test]
fn no_pivot_moves_the_root_and_chroots() {
    let bundle = Bundle::new();
    fs::write(bundle.rootfs.join("marker"), "inside").unwrap();
    let spec = spec(json!({"root": {"path": "rootfs"}, "mounts": default_mounts()}));
    in_namespaces(|| {
        set_up(&spec, bundle.path(), &bundle.rootfs, true)?;
        let marker = fs::read_to_string("/marker").map_err(|e| e.to_string())?;
        ensure!(marker == "inside", "/marker: {marker}");
        expect_mount("/proc", "proc", &[])?;
        let allowed = ["/proc", "/dev", "/sys"];
        for m in mountinfo() {
            ensure!(
                m.point == Path::new("/") || allowed.iter().any(|a| m.point.starts_with(a)),
                "host mount visible in the container: {m:?}"
            );
        }
        Ok(())
    })
    .unwrap();
}

/// The host directory that a hostile image aims at, and what it held before.
#[test]
fn mounts_inside_proc_are_refused() {
    let bundle = Bundle::new();
    let spec = spec(json!({
        "root": {"path": "rootfs"},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/proc/sys", "type": "tmpfs", "source": "tmpfs"}
        ]
    }));
    in_namespaces(
        || match rootfs::prepare(&spec, &bundle.rootfs, bundle.path(), false) {
            Err(RootfsError::ProcMount { destination })
                if destination == Path::new("/proc/sys") =>
            {
                Ok(())
            }
            other => Err(format!("expected ProcMount, got {other:?}")),
        },
    )
    .unwrap();
}

#[test]
fn mount_errors_name_source_destination_type_and_cause() {
    let bundle = Bundle::new();
    let spec = spec(json!({
        "root": {"path": "rootfs"},
        "mounts": [{"destination": "/x", "type": "nosuchfs", "source": "thing"}]
    }));
    in_namespaces(|| {
        let err = rootfs::prepare(&spec, &bundle.rootfs, bundle.path(), false)
            .err()
            .ok_or("mounting a bogus filesystem type succeeded")?;
        let text = chain(&err);
        ensure!(
            text.starts_with("mount `thing` on `/x` (type nosuchfs): ENODEV"),
            "message: {text}"
        );
        Ok(())
    })
    .unwrap();
}

#[test]
fn id_mapped_mounts_are_refused() {
    let bundle = Bundle::new();
    let spec = spec(json!({
        "root": {"path": "rootfs"},
        "mounts": [{"destination": "/x", "type": "bind", "source": "/tmp",
                    "options": ["rbind", "idmap"]}]
    }));
    in_namespaces(
        || match rootfs::prepare(&spec, &bundle.rootfs, bundle.path(), false) {
            Err(e @ RootfsError::Unsupported { .. }) => {
                let text = e.to_string();
                ensure!(text == "mount on `/x`: `idmap` is not supported", "{text}");
                Ok(())
            }
            other => Err(format!("expected Unsupported, got {other:?}")),
        },
    )
    .unwrap();
}

#[test]
fn recursive_options_reach_submounts() {
    let bundle = Bundle::new();
    let data = bundle.path().join("data");
    fs::create_dir_all(data.join("sub")).unwrap();
    let spec = spec(json!({
        "root": {"path": "rootfs"},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/mnt/rro", "type": "bind", "source": data,
             "options": ["rbind", "rro", "rnosuid"]},
            {"destination": "/mnt/ro", "type": "bind", "source": data,
             "options": ["rbind", "ro"]}
        ]
    }));
    in_namespaces(|| {
        // A submount in the source tree (in this namespace only).
        let sub = data.join("sub");
        mount(
            Some("tmpfs"),
            &sub,
            Some("tmpfs"),
            MsFlags::empty(),
            None::<&str>,
        )
        .map_err(|e| e.to_string())?;
        set_up(&spec, bundle.path(), &bundle.rootfs, false)?;
        expect_mount("/mnt/rro", "ext4", &["ro", "nosuid"])?;
        expect_mount("/mnt/rro/sub", "tmpfs", &["ro", "nosuid"])?;
        expect_erofs("/mnt/rro/sub/file")?;
        // Plain ro is the kernel's per-mount flag: the submount stays writable.
        expect_erofs("/mnt/ro/file")?;
        fs::write("/mnt/ro/sub/file", "w").map_err(|e| format!("/mnt/ro/sub: {e}"))
    })
    .unwrap();
}
