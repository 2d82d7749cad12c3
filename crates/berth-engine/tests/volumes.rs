//! The local volume driver on real directories and real mounts (run as root).

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::{BTreeMap, HashSet};
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

use berth_engine::volumes::{CreateVolume, PruneFilter, VolumeError, VolumeStore};

fn store() -> (tempfile::TempDir, VolumeStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = VolumeStore::open(dir.path()).unwrap();
    (dir, store)
}

fn named(name: &str) -> CreateVolume {
    CreateVolume {
        name: Some(name.to_string()),
        ..CreateVolume::default()
    }
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn create_inspect_list_remove() {
    let (dir, store) = store();
    let created = store.create(named("data1")).unwrap();
    let data = dir.path().join("volumes/data1/_data");
    assert_eq!(created.name, "data1");
    assert_eq!(created.driver, "local");
    assert_eq!(created.scope, "local");
    assert_eq!(created.mountpoint, data.to_str().unwrap());
    assert!(data.is_dir());
    assert_eq!(store.data_path("data1"), data);
    let created_at = created.created_at.clone().unwrap();
    assert!(
        humantime::parse_rfc3339(&created_at).is_ok(),
        "{created_at}"
    );

    assert_eq!(store.inspect("data1").unwrap(), created);
    store.create(named("data0")).unwrap();
    let names: Vec<_> = store.list().unwrap().into_iter().map(|v| v.name).collect();
    assert_eq!(names, ["data0", "data1"]);

    store.remove("data1", &[]).unwrap();
    assert!(!dir.path().join("volumes/data1").exists());
    assert!(matches!(
        store.inspect("data1"),
        Err(VolumeError::NotFound(name)) if name == "data1"
    ));
    let err = store.remove("data1", &[]).unwrap_err();
    assert_eq!(err.to_string(), "get data1: no such volume");
}

#[test]
fn a_volume_in_use_is_not_removed() {
    let (_dir, store) = store();
    store.create(named("busy")).unwrap();
    let err = store
        .remove("busy", &["abc".to_string(), "def".to_string()])
        .unwrap_err();
    assert!(matches!(err, VolumeError::InUse { .. }));
    assert_eq!(
        err.to_string(),
        "remove busy: volume is in use - [abc, def]"
    );
    assert!(store.inspect("busy").is_ok());
}

#[test]
fn create_is_idempotent_and_keeps_the_first_labels() {
    let (_dir, store) = store();
    let first = store
        .create(CreateVolume {
            labels: labels(&[("a", "1")]),
            ..named("same")
        })
        .unwrap();
    std::fs::write(store.data_path("same").join("f"), "kept").unwrap();
    let again = store
        .create(CreateVolume {
            labels: labels(&[("b", "2")]),
            ..named("same")
        })
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(again.labels, labels(&[("a", "1")]));
    assert_eq!(
        std::fs::read_to_string(store.data_path("same").join("f")).unwrap(),
        "kept"
    );
}

#[test]
fn invalid_names_drivers_and_options_are_refused() {
    let (dir, store) = store();
    for bad in ["_x", "a/b", "../escape", "with space", "-x"] {
        let err = store.create(named(bad)).unwrap_err();
        assert!(matches!(err, VolumeError::Invalid(_)), "{bad}: {err}");
        assert_eq!(
            err.to_string(),
            format!(
                "create {bad}: \"{bad}\" includes invalid characters for a local volume name, \
                 only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host \
                 directory, use absolute path"
            )
        );
    }
    let err = store.create(named("x")).unwrap_err();
    assert!(
        err.to_string().contains("volume name is too short"),
        "{err}"
    );

    let err = store
        .create(CreateVolume {
            driver: Some("nfsplugin".to_string()),
            ..named("plug")
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "error looking up volume plugin nfsplugin: plugin \"nfsplugin\" not found"
    );
    let err = store
        .create(CreateVolume {
            driver_opts: labels(&[("colour", "red")]),
            ..named("opts")
        })
        .unwrap_err();
    assert_eq!(err.to_string(), "create opts: invalid option: \"colour\"");
    // Nothing was left behind by the refusals.
    assert_eq!(
        std::fs::read_dir(dir.path().join("volumes"))
            .unwrap()
            .count(),
        0
    );
    assert!(matches!(
        store.inspect("../escape"),
        Err(VolumeError::NotFound(_))
    ));
}

#[test]
fn labels_and_options_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let opts = labels(&[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=1m")]);
    let created = VolumeStore::open(dir.path())
        .unwrap()
        .create(CreateVolume {
            labels: labels(&[("team", "db"), ("tier", "2")]),
            driver_opts: opts.clone(),
            ..named("persisted")
        })
        .unwrap();
    let reopened = VolumeStore::open(dir.path()).unwrap();
    let volume = reopened.inspect("persisted").unwrap();
    assert_eq!(volume, created);
    assert_eq!(volume.labels, labels(&[("team", "db"), ("tier", "2")]));
    assert_eq!(volume.options, opts);
}

#[test]
fn anonymous_volumes_get_hex_names_and_only_they_are_pruned_by_default() {
    let (_dir, store) = store();
    let anonymous = store.create(CreateVolume::default()).unwrap();
    assert_eq!(anonymous.name.len(), 64);
    assert!(anonymous.name.chars().all(|c| c.is_ascii_hexdigit()));
    let used = store.create(CreateVolume::default()).unwrap();
    store.create(named("keepme")).unwrap();
    std::fs::write(store.data_path(&anonymous.name).join("blob"), [7u8; 1000]).unwrap();

    let in_use = HashSet::from([used.name.clone()]);
    let (removed, space) = store.prune(&in_use, &PruneFilter::default()).unwrap();
    assert_eq!(removed, std::slice::from_ref(&anonymous.name));
    assert_eq!(space, 1000);
    let left: HashSet<_> = store.list().unwrap().into_iter().map(|v| v.name).collect();
    assert_eq!(
        left,
        HashSet::from([used.name.clone(), "keepme".to_string()])
    );

    let all = PruneFilter {
        all: true,
        ..PruneFilter::default()
    };
    let (removed, _) = store.prune(&in_use, &all).unwrap();
    assert_eq!(removed, ["keepme"]);
}

#[test]
fn prune_label_filters_select_volumes() {
    let (_dir, store) = store();
    for (name, pairs) in [
        ("red1", &[("colour", "red")][..]),
        ("blue1", &[("colour", "blue")][..]),
        ("plain", &[][..]),
    ] {
        store
            .create(CreateVolume {
                labels: labels(pairs),
                ..named(name)
            })
            .unwrap();
    }
    let red = PruneFilter {
        all: true,
        labels: vec!["colour=red".to_string()],
        ..PruneFilter::default()
    };
    assert_eq!(store.prune(&HashSet::new(), &red).unwrap().0, ["red1"]);
    let not_coloured = PruneFilter {
        all: true,
        not_labels: vec!["colour".to_string()],
        ..PruneFilter::default()
    };
    assert_eq!(
        store.prune(&HashSet::new(), &not_coloured).unwrap().0,
        ["plain"]
    );
    assert_eq!(store.inspect("blue1").unwrap().name, "blue1");
}

#[test]
fn usage_counts_file_bytes_once_per_inode() {
    let (_dir, store) = store();
    store.create(named("sized")).unwrap();
    let data = store.data_path("sized");
    std::fs::create_dir(data.join("sub")).unwrap();
    std::fs::write(data.join("sub/a"), [1u8; 300]).unwrap();
    std::fs::write(data.join("b"), [1u8; 200]).unwrap();
    std::fs::hard_link(data.join("b"), data.join("b2")).unwrap();
    assert_eq!(store.usage("sized").unwrap(), 500);
}

fn is_mountpoint(path: &Path) -> bool {
    let dev = std::fs::metadata(path).unwrap().dev();
    let parent = std::fs::metadata(path.parent().unwrap()).unwrap().dev();
    dev != parent
}

#[test]
fn tmpfs_options_mount_on_first_use_and_unmount_after_the_last() {
    let (_dir, store) = store();
    store
        .create(CreateVolume {
            driver_opts: labels(&[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=10m")]),
            ..named("scratch")
        })
        .unwrap();
    let data = store.data_path("scratch");
    assert!(!is_mountpoint(&data), "mounted before first use");

    assert_eq!(store.mount_if_needed("scratch").unwrap(), data);
    assert_eq!(store.mount_if_needed("scratch").unwrap(), data);
    assert!(is_mountpoint(&data));
    let fs = nix::sys::statfs::statfs(&data).unwrap();
    assert_eq!(fs.filesystem_type(), nix::sys::statfs::TMPFS_MAGIC);
    // size=10m reached the kernel.
    assert_eq!(fs.blocks() * fs.block_size() as u64, 10 * 1024 * 1024);
    std::fs::write(data.join("in-tmpfs"), "x").unwrap();

    store.release("scratch").unwrap();
    assert!(is_mountpoint(&data), "unmounted while a user remains");
    store.release("scratch").unwrap();
    assert!(!is_mountpoint(&data));
    assert!(!data.join("in-tmpfs").exists());
    store.remove("scratch", &[]).unwrap();
}

#[test]
fn removing_a_volume_left_mounted_unmounts_it_first() {
    let (dir, store) = store();
    store
        .create(CreateVolume {
            driver_opts: labels(&[("type", "tmpfs"), ("device", "tmpfs")]),
            ..named("leftover")
        })
        .unwrap();
    let data = store.mount_if_needed("leftover").unwrap();
    // A daemon restart forgets its counts; the mount stays.
    drop(store);
    let store = VolumeStore::open(dir.path()).unwrap();
    assert!(is_mountpoint(&data));
    store.remove("leftover", &[]).unwrap();
    assert!(!data.exists());
}

fn image_dir(root: &Path) -> std::path::PathBuf {
    let src = root.join("image/var/lib/app");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("conf"), "setting=1\n").unwrap();
    std::fs::write(src.join("sub/data"), "payload").unwrap();
    symlink("../conf", src.join("sub/link")).unwrap();
    std::os::unix::fs::chown(src.join("conf"), Some(1234), Some(5678)).unwrap();
    std::fs::set_permissions(src.join("conf"), std::fs::Permissions::from_mode(0o4750)).unwrap();
    std::os::unix::fs::lchown(src.join("sub/link"), Some(42), Some(43)).unwrap();
    std::os::unix::fs::chown(&src, Some(999), Some(998)).unwrap();
    std::fs::set_permissions(&src, std::fs::Permissions::from_mode(0o711)).unwrap();
    filetime::set_file_mtime(
        src.join("sub/data"),
        filetime::FileTime::from_unix_time(1_000_000_000, 0),
    )
    .unwrap();
    // Not every filesystem holds user xattrs; the test checks them only where it does.
    let _ = xattr::set(src.join("conf"), "user.origin", b"image");
    src
}

#[test]
fn seed_copies_the_image_content_with_ownership_once() {
    let (dir, store) = store();
    let src = image_dir(dir.path());
    store.create(named("seeded")).unwrap();
    store.seed("seeded", &src).unwrap();
    let data = store.data_path("seeded");

    assert_eq!(
        std::fs::read_to_string(data.join("conf")).unwrap(),
        "setting=1\n"
    );
    assert_eq!(
        std::fs::read_to_string(data.join("sub/data")).unwrap(),
        "payload"
    );
    let conf = std::fs::metadata(data.join("conf")).unwrap();
    assert_eq!((conf.uid(), conf.gid()), (1234, 5678));
    assert_eq!(conf.mode() & 0o7777, 0o4750);
    let link = std::fs::symlink_metadata(data.join("sub/link")).unwrap();
    assert!(link.file_type().is_symlink());
    assert_eq!((link.uid(), link.gid()), (42, 43));
    assert_eq!(
        std::fs::read_link(data.join("sub/link")).unwrap(),
        Path::new("../conf")
    );
    assert_eq!(
        std::fs::metadata(data.join("sub/data")).unwrap().mtime(),
        1_000_000_000
    );
    let top = std::fs::metadata(&data).unwrap();
    assert_eq!(
        (top.uid(), top.gid(), top.mode() & 0o7777),
        (999, 998, 0o711)
    );
    // xattrs are best effort: tmp filesystems without user xattrs cannot hold them.
    if let Ok(Some(value)) = xattr::get(src.join("conf"), "user.origin") {
        assert_eq!(
            xattr::get(data.join("conf"), "user.origin").unwrap(),
            Some(value)
        );
    }

    // Only once: an emptied volume is not filled again.
    std::fs::remove_dir_all(&data).unwrap();
    std::fs::create_dir(&data).unwrap();
    store.seed("seeded", &src).unwrap();
    assert_eq!(std::fs::read_dir(&data).unwrap().count(), 0);
    // ... also after the daemon restarts.
    let reopened = VolumeStore::open(dir.path()).unwrap();
    reopened.seed("seeded", &src).unwrap();
    assert_eq!(std::fs::read_dir(&data).unwrap().count(), 0);
}

#[test]
fn seed_leaves_a_volume_with_content_and_ignores_a_missing_source() {
    let (dir, store) = store();
    let src = image_dir(dir.path());
    store.create(named("full")).unwrap();
    std::fs::write(store.data_path("full").join("mine"), "x").unwrap();
    store.seed("full", &src).unwrap();
    let names: Vec<_> = std::fs::read_dir(store.data_path("full"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["mine"]);

    store.create(named("nosrc")).unwrap();
    store.seed("nosrc", &dir.path().join("absent")).unwrap();
    // A missing source does not count as seeded: a later image with content seeds it.
    store.seed("nosrc", &src).unwrap();
    assert!(store.data_path("nosrc").join("conf").is_file());
}

#[test]
fn concurrent_create_and_remove_of_one_name_stay_consistent() {
    let (_dir, store) = store();
    let store = Arc::new(store);
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for _ in 0..50 {
                    if i % 2 == 0 {
                        store.create(named("racy")).unwrap();
                    } else {
                        match store.remove("racy", &[]) {
                            Ok(()) | Err(VolumeError::NotFound(_)) => {}
                            Err(other) => panic!("{other}"),
                        }
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    store.create(named("racy")).unwrap();
    assert!(store.data_path("racy").is_dir());
    assert_eq!(store.inspect("racy").unwrap().name, "racy");
}
