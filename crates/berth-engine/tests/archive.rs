//! `docker cp` / `docker export` archives on real directories (run as root): Docker's
//! naming, owners and modes kept, and no way out of the rootfs in either direction.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;

use berth_engine::archive::{self, ArchiveError};
use tar::{EntryType, Header};

const DIR: u32 = 1 << 31;
const SYMLINK: u32 = 1 << 27;
const SETUID: u32 = 1 << 23;

/// A rootfs with `/data` (file, owned file, symlink, hard link, subdirectory), `/etc/passwd`
/// and symlinks that point at the host.
fn rootfs() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("data/sub")).unwrap();
    std::fs::create_dir_all(r.join("etc")).unwrap();
    std::fs::write(r.join("etc/passwd"), "root:x:0:0:inside the container\n").unwrap();
    std::fs::write(r.join("data/file"), "hello").unwrap();
    std::fs::write(r.join("data/sub/owned"), "mine").unwrap();
    std::os::unix::fs::chown(r.join("data/sub/owned"), Some(1234), Some(5678)).unwrap();
    std::fs::set_permissions(
        r.join("data/sub/owned"),
        std::fs::Permissions::from_mode(0o4750),
    )
    .unwrap();
    std::fs::hard_link(r.join("data/file"), r.join("data/hardlink")).unwrap();
    symlink("file", r.join("data/link")).unwrap();
    symlink("/data", r.join("datalink")).unwrap();
    nix::unistd::mkfifo(
        &r.join("data/fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    filetime::set_file_mtime(
        r.join("data/file"),
        filetime::FileTime::from_unix_time(1_500_000_000, 0),
    )
    .unwrap();
    // Symlinks that, followed on the host, would read the host's files.
    symlink("/etc/passwd", r.join("passwd")).unwrap();
    symlink("/etc", r.join("etclink")).unwrap();
    symlink("../../../../../../../../etc", r.join("data/climb")).unwrap();
    root
}

fn get(root: &Path, path: &str) -> Vec<u8> {
    let mut out = Vec::new();
    archive::get(root, path, &mut out).unwrap();
    out
}

/// (name, type) of every entry, names exactly as written.
fn listing(tar: &[u8]) -> Vec<(String, EntryType)> {
    tar::Archive::new(tar)
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                String::from_utf8(e.path_bytes().into_owned()).unwrap(),
                e.header().entry_type(),
            )
        })
        .collect()
}

fn names(tar: &[u8]) -> Vec<String> {
    listing(tar).into_iter().map(|(name, _)| name).collect()
}

fn contents(tar: &[u8], name: &str) -> String {
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path_bytes().as_ref() == name.as_bytes() {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
            return text;
        }
    }
    panic!("no {name} in the archive: {:?}", names(tar));
}

#[test]
fn a_directory_is_archived_under_its_base_name() {
    let root = rootfs();
    let tar = get(root.path(), "/data");
    assert_eq!(
        names(&tar),
        [
            "data/",
            "data/climb",
            "data/fifo",
            "data/file",
            "data/hardlink",
            "data/link",
            "data/sub/",
            "data/sub/owned",
        ]
    );
    let kinds: std::collections::HashMap<_, _> = listing(&tar).into_iter().collect();
    assert_eq!(kinds["data/link"], EntryType::Symlink);
    assert_eq!(kinds["data/hardlink"], EntryType::Link);
    assert_eq!(kinds["data/fifo"], EntryType::Fifo);
    assert_eq!(contents(&tar, "data/file"), "hello");
    // A trailing slash names the same directory.
    assert_eq!(names(&get(root.path(), "/data/")), names(&tar));
}

#[test]
fn a_trailing_dot_names_the_contents_dot_slash() {
    let root = rootfs();
    let tar = get(root.path(), "/data/.");
    let names = names(&tar);
    assert_eq!(names[0], "./");
    assert!(names.contains(&"./file".to_string()), "{names:?}");
    assert!(names.contains(&"./sub/owned".to_string()), "{names:?}");
}

/// What Docker 28's API answers for the root (seen with `docker cp ctr:/ -`).
#[test]
fn the_root_is_named_slash_and_its_contents_dot_slash() {
    let root = rootfs();
    let slash = names(&get(root.path(), "/"));
    assert_eq!(slash[0], "/");
    assert!(slash.contains(&"/data/".to_string()), "{slash:?}");
    assert!(slash.contains(&"/etc/passwd".to_string()), "{slash:?}");
    let dot = names(&get(root.path(), "/."));
    assert_eq!(dot[0], "./");
    assert!(dot.contains(&"./etc/passwd".to_string()), "{dot:?}");
}

#[test]
fn a_final_symlink_is_followed_only_with_a_trailing_slash() {
    let root = rootfs();
    let not_followed = get(root.path(), "/datalink");
    assert_eq!(
        listing(&not_followed),
        [("datalink".to_string(), EntryType::Symlink)]
    );
    let followed = get(root.path(), "/datalink/");
    let names = names(&followed);
    assert_eq!(names[0], "datalink/");
    assert!(names.contains(&"datalink/file".to_string()), "{names:?}");
    assert_eq!(contents(&followed, "datalink/file"), "hello");
}

#[test]
fn a_single_file_keeps_owner_mode_and_time() {
    let root = rootfs();
    let tar = get(root.path(), "/data/sub/owned");
    let mut archive = tar::Archive::new(tar.as_slice());
    let entry = archive.entries().unwrap().next().unwrap().unwrap();
    let header = entry.header();
    assert_eq!(entry.path_bytes().as_ref(), b"owned");
    assert_eq!((header.uid().unwrap(), header.gid().unwrap()), (1234, 5678));
    assert_eq!(header.mode().unwrap() & 0o7777, 0o4750);
    let tar = get(root.path(), "/data/file");
    let mut archive = tar::Archive::new(tar.as_slice());
    let entry = archive.entries().unwrap().next().unwrap().unwrap();
    assert_eq!(entry.header().mtime().unwrap(), 1_500_000_000);
}

#[test]
fn symlinks_in_get_paths_resolve_inside_the_root() {
    let root = rootfs();
    let inside = "root:x:0:0:inside the container\n";
    assert_eq!(
        contents(&get(root.path(), "/etclink/passwd"), "passwd"),
        inside
    );
    assert_eq!(
        contents(&get(root.path(), "/data/climb/passwd"), "passwd"),
        inside
    );
    // The symlink itself is archived as a symlink, its host target never read.
    let tar = get(root.path(), "/passwd");
    assert_eq!(listing(&tar), [("passwd".to_string(), EntryType::Symlink)]);

    // A symlink to a host directory that the rootfs lacks finds nothing.
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("secret"), "host only").unwrap();
    symlink(host.path(), root.path().join("hostdir")).unwrap();
    let mut out = Vec::new();
    let err = archive::get(root.path(), "/hostdir/secret", &mut out).unwrap_err();
    assert!(matches!(err, ArchiveError::NotFound(_)), "{err}");
    assert!(out.is_empty());
}

#[test]
fn stat_reports_gos_file_modes() {
    let root = rootfs();
    std::fs::set_permissions(
        root.path().join("data"),
        std::fs::Permissions::from_mode(0o750),
    )
    .unwrap();
    let dir = archive::stat(root.path(), "/data").unwrap();
    assert_eq!((dir.name.as_str(), dir.mode), ("data", DIR | 0o750));
    assert_eq!(dir.link_target, "");

    std::fs::set_permissions(
        root.path().join("data/file"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    let file = archive::stat(root.path(), "/data/file").unwrap();
    assert_eq!(file.mode, 0o640);
    assert_eq!(file.size, 5);
    assert_eq!(file.mtime, "2017-07-14T02:40:00Z");

    let owned = archive::stat(root.path(), "/data/sub/owned").unwrap();
    assert_eq!(owned.mode, SETUID | 0o750);

    let link = archive::stat(root.path(), "/passwd").unwrap();
    assert_eq!(link.mode, SYMLINK | 0o777);
    assert_eq!(link.link_target, "/etc/passwd");
    let climb = archive::stat(root.path(), "/data/climb").unwrap();
    assert_eq!(climb.link_target, "/etc");

    // Followed with a trailing slash: the directory behind it.
    let followed = archive::stat(root.path(), "/datalink/").unwrap();
    assert_eq!(
        (followed.name.as_str(), followed.mode & DIR),
        ("datalink", DIR)
    );

    let json = serde_json::to_value(&link).unwrap();
    assert_eq!(json["linkTarget"], "/etc/passwd");
    assert!(matches!(
        archive::stat(root.path(), "/nope"),
        Err(ArchiveError::NotFound(_))
    ));
}

#[test]
fn get_then_put_round_trips_owners_modes_and_links() {
    let source = rootfs();
    let tar = get(source.path(), "/data");
    let target = tempfile::tempdir().unwrap();
    std::fs::create_dir(target.path().join("restore")).unwrap();
    archive::put(target.path(), "/restore", tar.as_slice(), false).unwrap();

    let data = target.path().join("restore/data");
    assert_eq!(std::fs::read_to_string(data.join("file")).unwrap(), "hello");
    let owned = std::fs::metadata(data.join("sub/owned")).unwrap();
    assert_eq!((owned.uid(), owned.gid()), (1234, 5678));
    assert_eq!(owned.mode() & 0o7777, 0o4750);
    assert_eq!(
        std::fs::read_link(data.join("link")).unwrap(),
        Path::new("file")
    );
    let file = std::fs::metadata(data.join("file")).unwrap();
    assert_eq!(file.mtime(), 1_500_000_000);
    assert_eq!(
        std::fs::metadata(data.join("hardlink")).unwrap().ino(),
        file.ino()
    );
    let fifo = std::fs::symlink_metadata(data.join("fifo")).unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(&fifo.file_type()));
    let original = std::fs::metadata(source.path().join("data")).unwrap();
    let restored = std::fs::metadata(&data).unwrap();
    assert_eq!(
        restored.mtime(),
        original.mtime(),
        "directory times are set last"
    );
}

#[test]
fn put_follows_a_symlinked_destination_inside_the_root() {
    let root = rootfs();
    let tar = get(root.path(), "/etc/passwd");
    let other = tempfile::tempdir().unwrap();
    std::fs::create_dir(other.path().join("data")).unwrap();
    symlink("/data", other.path().join("datalink")).unwrap();
    archive::put(other.path(), "/datalink", tar.as_slice(), false).unwrap();
    assert!(other.path().join("data/passwd").is_file());

    let err = archive::put(other.path(), "/missing", tar.as_slice(), false).unwrap_err();
    assert!(matches!(err, ArchiveError::NotFound(_)), "{err}");
    let err = archive::put(other.path(), "/data/passwd", tar.as_slice(), false).unwrap_err();
    assert!(matches!(err, ArchiveError::Invalid(_)), "{err}");
}

/// A tar built by hand, so that names the `tar` crate would refuse (`../x`) get in.
struct RawTar(Vec<u8>);

impl RawTar {
    fn new() -> Self {
        RawTar(Vec::new())
    }

    fn entry(mut self, name: &str, kind: EntryType, link: &str, data: &[u8]) -> Self {
        let mut header = Header::new_gnu();
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        header.set_entry_type(kind);
        header.set_mode(if kind == EntryType::Directory {
            0o755
        } else {
            0o644
        });
        header.set_size(data.len() as u64);
        header.set_mtime(1_600_000_000);
        header.set_cksum();
        let mut builder = tar::Builder::new(Vec::new());
        builder.append(&header, data).unwrap();
        let mut bytes = builder.into_inner().unwrap();
        bytes.truncate(bytes.len() - 1024); // the end-of-archive blocks
        self.0.extend(bytes);
        self
    }

    fn file(self, name: &str, data: &str) -> Self {
        self.entry(name, EntryType::Regular, "", data.as_bytes())
    }

    fn bytes(mut self) -> Vec<u8> {
        self.0.extend([0u8; 1024]);
        self.0
    }
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

#[test]
fn put_refuses_names_that_climb_out() {
    let root = rootfs();
    for name in [
        "../x",
        "data/../../x",
        "../../../../../../../../../tmp/berth-escape",
    ] {
        let tar = RawTar::new().file(name, "escaped").bytes();
        let err = archive::put(root.path(), "/data", tar.as_slice(), false).unwrap_err();
        assert!(matches!(err, ArchiveError::Invalid(_)), "{name}: {err}");
    }
    assert!(!root.path().join("x").exists());
    assert!(!Path::new("/tmp/berth-escape").exists());

    // An absolute name is taken relative to the destination, as Docker does.
    let tar = RawTar::new().file("/abs/file", "kept").bytes();
    archive::put(root.path(), "/data", tar.as_slice(), false).unwrap();
    assert_eq!(
        std::fs::read_to_string(root.path().join("data/abs/file")).unwrap(),
        "kept"
    );
    // A hard link may not point out of the destination either.
    let tar = RawTar::new()
        .entry(
            "hl",
            EntryType::Link,
            "../../../../../../../../../../etc/hostname",
            b"",
        )
        .bytes();
    assert!(archive::put(root.path(), "/data", tar.as_slice(), false).is_err());
    assert!(!root.path().join("data/hl").exists());
}

#[test]
fn symlinks_in_an_archive_cannot_lead_writes_out() {
    let root = rootfs();
    let outside = tempfile::tempdir().unwrap();
    let outside_path = std::fs::canonicalize(outside.path()).unwrap();
    let host = outside_path.to_str().unwrap();
    let tar = RawTar::new()
        .entry("evil", EntryType::Symlink, host, b"")
        .file("evil/pwned", "via absolute symlink")
        .entry("climb", EntryType::Symlink, "../../../../../../../..", b"")
        .file(&format!("climb{host}/pwned2"), "via climbing symlink")
        .entry("etc2", EntryType::Symlink, "/etc", b"")
        .file("etc2/passwd", "replaced inside")
        .bytes();
    let confined = root.path().join(outside_path.strip_prefix("/").unwrap());

    // While the symlinks' targets do not exist inside the root, the writes fail (as in
    // Docker's chroot) and nothing lands on the host.
    let err = archive::put(root.path(), "/data", tar.as_slice(), false).unwrap_err();
    assert!(matches!(err, ArchiveError::Io { .. }), "{err}");
    assert_eq!(count_files(outside.path()), 0, "wrote outside the rootfs");

    // With the same path existing inside the root, that is where they land.
    std::fs::create_dir_all(&confined).unwrap();
    archive::put(root.path(), "/data", tar.as_slice(), false).unwrap();
    assert_eq!(count_files(outside.path()), 0, "wrote outside the rootfs");
    assert_eq!(
        std::fs::read_to_string(confined.join("pwned")).unwrap(),
        "via absolute symlink"
    );
    assert_eq!(
        std::fs::read_to_string(confined.join("pwned2")).unwrap(),
        "via climbing symlink"
    );
    // etc2 -> /etc is the container's /etc.
    assert_eq!(
        std::fs::read_to_string(root.path().join("etc/passwd")).unwrap(),
        "replaced inside"
    );
    assert!(std::fs::read_to_string("/etc/passwd")
        .unwrap()
        .starts_with("root:"));
}

#[test]
fn a_replaced_entry_is_not_followed() {
    // A symlink already in the rootfs at an entry's own name is replaced, not written
    // through.
    let root = rootfs();
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, "host").unwrap();
    symlink(&victim, root.path().join("data/trap")).unwrap();
    let tar = RawTar::new().file("trap", "new").bytes();
    archive::put(root.path(), "/data", tar.as_slice(), false).unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "host");
    let trap = root.path().join("data/trap");
    assert!(std::fs::symlink_metadata(&trap).unwrap().is_file());
    assert_eq!(std::fs::read_to_string(trap).unwrap(), "new");
}

#[test]
fn no_overwrite_dir_non_dir_refuses_both_ways() {
    let root = rootfs();
    let file_over_dir = RawTar::new().file("sub", "a file").bytes();
    let err = archive::put(root.path(), "/data", file_over_dir.as_slice(), true).unwrap_err();
    assert!(matches!(err, ArchiveError::Invalid(_)), "{err}");
    assert!(
        err.to_string().contains("cannot overwrite directory"),
        "{err}"
    );
    assert!(root.path().join("data/sub/owned").is_file());

    let dir_over_file = RawTar::new()
        .entry("file", EntryType::Directory, "", b"")
        .bytes();
    let err = archive::put(root.path(), "/data", dir_over_file.as_slice(), true).unwrap_err();
    assert!(
        err.to_string().contains("cannot overwrite non-directory"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(root.path().join("data/file")).unwrap(),
        "hello"
    );

    // Without the flag both are replaced.
    archive::put(root.path(), "/data", file_over_dir.as_slice(), false).unwrap();
    assert_eq!(
        std::fs::read_to_string(root.path().join("data/sub")).unwrap(),
        "a file"
    );
    archive::put(root.path(), "/data", dir_over_file.as_slice(), false).unwrap();
    assert!(root.path().join("data/file").is_dir());
}

#[test]
fn export_names_everything_relative_to_the_root() {
    let root = rootfs();
    let mut out = Vec::new();
    archive::export(root.path(), &mut out).unwrap();
    let names = names(&out);
    for expected in [
        "data/",
        "data/file",
        "data/sub/owned",
        "etc/passwd",
        "passwd",
        "datalink",
    ] {
        assert!(
            names.contains(&expected.to_string()),
            "{expected} in {names:?}"
        );
    }
    assert!(names
        .iter()
        .all(|n| !n.starts_with('/') && !n.starts_with("./")));
    assert_eq!(
        contents(&out, "etc/passwd"),
        "root:x:0:0:inside the container\n"
    );
}

#[test]
fn long_names_survive_the_round_trip() {
    let root = rootfs();
    let long = "d".repeat(120);
    std::fs::create_dir(root.path().join("data").join(&long)).unwrap();
    std::fs::write(root.path().join("data").join(&long).join("f"), "deep").unwrap();
    symlink(format!("{long}/f"), root.path().join("data/longlink")).unwrap();
    let tar = get(root.path(), "/data");
    let target = tempfile::tempdir().unwrap();
    archive::put(target.path(), "/", tar.as_slice(), false).unwrap();
    assert_eq!(
        std::fs::read_to_string(target.path().join("data/longlink")).unwrap(),
        "deep"
    );
}
