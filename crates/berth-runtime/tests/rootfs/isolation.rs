//! Isolation: nothing the container mounts may reach the host, through a planted symlink,
//! through mount propagation, or from inside a user namespace.

use super::*;

#[test]
fn hostile_symlinks_cannot_redirect_mounts_to_the_host() {
    let bundle = Bundle::new();
    let (victim, before) = host_victim();
    let v = victim.path();
    let r = &bundle.rootfs;
    fs::create_dir_all(r.join("etc")).unwrap();
    std::os::unix::fs::symlink(v, r.join("etc/evil")).unwrap();
    let climb = format!("../../../../../../../../..{}", v.display());
    std::os::unix::fs::symlink(&climb, r.join("etc/up")).unwrap();
    std::os::unix::fs::symlink(v.join("victim-file"), r.join("etc/evil-file")).unwrap();
    let payload = bundle.path().join("payload");
    fs::create_dir(&payload).unwrap();
    fs::write(payload.join("planted"), "x").unwrap();
    let payload_file = bundle.path().join("payload-file");
    fs::write(&payload_file, "overwritten").unwrap();
    let dotdot = format!("/../../../../..{}/dotdot", v.display());
    let spec = spec(json!({
        "root": {"path": "rootfs"},
        "mounts": [
            {"destination": "/etc/evil", "type": "tmpfs", "source": "tmpfs"},
            {"destination": "/etc/up/sub", "type": "bind", "source": payload, "options": ["rbind"]},
            {"destination": "/etc/evil-file", "type": "bind", "source": payload_file,
             "options": ["bind"]},
            {"destination": dotdot, "type": "tmpfs", "source": "tmpfs"}
        ]
    }));
    let inside = r.join(v.strip_prefix("/").unwrap());
    in_namespaces(|| {
        rootfs::prepare(&spec, &bundle.rootfs, bundle.path(), false).map_err(|e| chain(&e))?;
        // Still in the host's view: the victim is untouched and nothing is mounted on it.
        for m in mountinfo() {
            ensure!(!m.point.starts_with(v), "mount on the host: {m:?}");
        }
        ensure!(
            listing(v) == before,
            "host directory changed: {:?}",
            listing(v)
        );
        // The mounts landed inside the rootfs instead.
        let point = inside.to_string_lossy().into_owned();
        expect_mount(&point, "tmpfs", &[])?;
        expect_mount(&format!("{point}/dotdot"), "tmpfs", &[])?;
        let planted = inside.join("sub/planted");
        ensure!(
            planted.exists(),
            "bind through the climbing link not in the rootfs"
        );
        let file = fs::read_to_string(inside.join("victim-file")).map_err(|e| e.to_string())?;
        ensure!(file == "overwritten", "file bind not confined: {file}");
        Ok(())
    })
    .unwrap();
    assert_eq!(listing(v), before, "host directory changed");
}

#[test]
fn user_namespace_binds_devices_and_sys() {
    let bundle = Bundle::new();
    // Only root is mapped: devpts's gid=5 would not exist (runc's rootless spec drops it).
    let mut mounts = default_mounts();
    mounts[2]["options"] = json!([
        "nosuid",
        "noexec",
        "newinstance",
        "ptmxmode=0666",
        "mode=0620"
    ]);
    let spec = spec(json!({
        "root": {"path": "rootfs", "readonly": true},
        "mounts": mounts,
        "linux": {"maskedPaths": ["/proc/keys"], "readonlyPaths": ["/proc/sys"]}
    }));
    in_namespaces_as(true, || {
        rootfs::prepare(&spec, &bundle.rootfs, bundle.path(), true).map_err(|e| chain(&e))?;
        rootfs::pivot(&bundle.rootfs, false).map_err(|e| chain(&e))?;
        rootfs::finish(&spec).map_err(|e| chain(&e))?;
        // mknod is refused in a user namespace: the host's nodes are bound instead.
        for (path, major, minor) in [("/dev/null", 1, 3), ("/dev/urandom", 1, 9)] {
            let meta = fs::metadata(path).map_err(|e| format!("{path}: {e}"))?;
            ensure!(
                meta.file_type().is_char_device(),
                "{path} is not a char device"
            );
            let numbers = (libc::major(meta.rdev()), libc::minor(meta.rdev()));
            ensure!(numbers == (major, minor), "{path} is {numbers:?}");
            expect_mount(path, "devtmpfs", &[])?;
        }
        fs::write("/dev/null", b"discarded").map_err(|e| format!("write /dev/null: {e}"))?;
        // Without its own network namespace the kernel refuses a new sysfs: /sys is the
        // host's, bound read-only.
        expect_mount("/sys", "sysfs", &["ro", "nosuid", "nodev", "noexec"])?;
        expect_erofs("/sys/fs/cgroup/new-file")?;
        expect_erofs("/new-file")?;
        let keys = fs::read("/proc/keys").map_err(|e| format!("/proc/keys: {e}"))?;
        ensure!(keys.is_empty(), "/proc/keys not masked");
        expect_erofs("/proc/sys/kernel/hostname")
    })
    .unwrap();
}

/// The body's process plays the host: a shared mount holds the rootfs, as on hosts where
/// systemd makes `/` shared. A container init in a further mount namespace prepares its
/// rootfs; while it is alive, none of its mounts may appear on the "host".
fn check_no_propagation(propagation: Option<&str>) {
    let bundle = Bundle::new();
    let host = bundle.path().join("host");
    fs::create_dir(&host).unwrap();
    let rootfs = host.join("rootfs");
    let mut linux = json!({});
    if let Some(p) = propagation {
        linux["rootfsPropagation"] = json!(p);
    }
    let spec = spec(json!({
        "root": {"path": "rootfs"},
        "mounts": default_mounts(),
        "linux": linux
    }));
    in_namespaces(|| {
        let flags = MsFlags::empty();
        mount(Some("tmpfs"), &host, Some("tmpfs"), flags, None::<&str>)
            .map_err(|e| e.to_string())?;
        mount(
            None::<&str>,
            &host,
            None::<&str>,
            MsFlags::MS_SHARED,
            None::<&str>,
        )
        .map_err(|e| e.to_string())?;
        fs::create_dir(&rootfs).map_err(|e| e.to_string())?;
        let (ready_r, ready_w) = nix::unistd::pipe().map_err(|e| e.to_string())?;
        let (done_r, done_w) = nix::unistd::pipe().map_err(|e| e.to_string())?;
        // SAFETY: the child prepares the rootfs, reports, waits and leaves with _exit.
        match unsafe { fork() }.map_err(|e| e.to_string())? {
            ForkResult::Child => {
                drop((ready_r, done_w));
                let result = unshare(CloneFlags::CLONE_NEWNS)
                    .map_err(|e| e.to_string())
                    .and_then(|()| {
                        rootfs::prepare(&spec, &rootfs, bundle.path(), false).map_err(|e| chain(&e))
                    });
                let text = result.err().unwrap_or_else(|| "ready".to_string());
                let _ = fs::File::from(ready_w).write_all(text.as_bytes());
                let _ = fs::File::from(done_r).read(&mut [0u8; 1]);
                // SAFETY: leaves the forked child without running destructors.
                unsafe { libc::_exit(0) }
            }
            ForkResult::Parent { child } => {
                drop((ready_w, done_r));
                let mut text = String::new();
                let _ = fs::File::from(ready_r).read_to_string(&mut text);
                let leaked: Vec<_> = mountinfo()
                    .into_iter()
                    .filter(|m| m.point.starts_with(&rootfs))
                    .collect();
                drop(done_w);
                let _ = waitpid(child, None);
                ensure!(text == "ready", "prepare failed: {text}");
                ensure!(
                    leaked.is_empty(),
                    "container mounts on the host: {leaked:?}"
                );
                Ok(())
            }
        }
    })
    .unwrap();
}

#[test]
fn container_mounts_do_not_propagate_to_a_shared_host() {
    check_no_propagation(None);
}

#[test]
fn rshared_root_propagation_still_keeps_the_host_clean() {
    check_no_propagation(Some("rshared"));
}
