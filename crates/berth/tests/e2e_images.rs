//! End to end: the offline base-image flow of the `berth` CLI (import a busybox root
//! filesystem, list, tag, inspect, save in both formats, remove, load, prune) and its bad
//! input: every failure exits non-zero with a message naming the problem and leaves the
//! store as it was.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns: a failed step fails the test

mod e2e;

use e2e::tarball::{busybox_rootfs, members, Tar};
use e2e::{sha256, Env};
use serde_json::Value;

/// Imports a busybox root filesystem (marked with `marker`) as `name`; returns the image id
/// printed by `import` and the layer's tar.
fn import_busybox(env: &Env, marker: &str, name: Option<&str>) -> (String, Vec<u8>) {
    let rootfs = busybox_rootfs(marker);
    let file = env.path(&format!("{marker}.tar"));
    std::fs::write(&file, &rootfs).unwrap();
    let mut args = vec!["import", "-c", r#"CMD ["sh"]"#, file.to_str().unwrap()];
    args.extend(name);
    let out = env.ok(&args);
    let id = out.stdout.trim().to_string();
    assert!(
        id.starts_with("sha256:") && id.len() == 71,
        "import printed {id:?}"
    );
    (id, rootfs)
}

/// The 12 hex digits docker shows of an id.
fn short(id: &str) -> &str {
    &id["sha256:".len().."sha256:".len() + 12]
}

fn inspect(env: &Env, name: &str) -> Value {
    let out = env.ok(&["image", "inspect", name]);
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    v[0].clone()
}

fn blob_count(env: &Env) -> usize {
    std::fs::read_dir(env.data_root().join("content/blobs/sha256"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn offline_base_image_flow() {
    let env = Env::new();
    let (id, rootfs) = import_busybox(&env, "base", Some("e2e/busybox:1.0"));

    // Listed, as a table and as JSON.
    let table = env.ok(&["images"]).stdout;
    let row = table
        .lines()
        .find(|l| l.starts_with("e2e/busybox "))
        .unwrap_or_else(|| panic!("not listed:\n{table}"));
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols[1], "1.0", "{row}");
    assert_eq!(cols[2], short(&id), "{row}");
    let listed = env.images_json();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["Repository"], "e2e/busybox");
    assert_eq!(listed[0]["Tag"], "1.0");
    assert_eq!(listed[0]["ID"], id.as_str());
    let quiet = env.ok(&["images", "-q"]).stdout;
    assert_eq!(quiet.trim(), short(&id));

    // Another name for the same image.
    env.ok(&["tag", "e2e/busybox:1.0", "e2e/busybox:stable"]);
    let info = inspect(&env, "e2e/busybox:stable");
    assert_eq!(info["Id"], id.as_str());
    assert_eq!(info["Config"]["Cmd"], serde_json::json!(["sh"]));
    let layers = info["RootFS"]["Layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    // The one layer is exactly the tarball that was imported.
    assert_eq!(layers[0], sha256(&rootfs).as_str());
    let mut tags: Vec<&str> = info["RepoTags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    tags.sort();
    assert_eq!(tags, ["e2e/busybox:1.0", "e2e/busybox:stable"]);

    // Saved in both formats.
    let docker_tar = env.path("docker.tar");
    let oci_tar = env.path("oci.tar");
    env.ok(&[
        "save",
        "-o",
        docker_tar.to_str().unwrap(),
        "e2e/busybox:1.0",
    ]);
    env.ok(&[
        "save",
        "--format",
        "oci",
        "-o",
        oci_tar.to_str().unwrap(),
        "e2e/busybox:1.0",
    ]);
    let docker_members = members(&std::fs::read(&docker_tar).unwrap());
    let manifest = &docker_members
        .iter()
        .find(|(n, _)| n == "manifest.json")
        .expect("docker archive has manifest.json")
        .1;
    let manifest: Value = serde_json::from_slice(manifest).unwrap();
    assert_eq!(manifest[0]["RepoTags"][0], "e2e/busybox:1.0");
    let oci_members = members(&std::fs::read(&oci_tar).unwrap());
    for wanted in ["oci-layout", "index.json"] {
        assert!(
            oci_members.iter().any(|(n, _)| n == wanted),
            "{wanted} missing from the OCI archive"
        );
    }
    // Every blob in both archives hashes to its name.
    for (name, data) in docker_members.iter().chain(&oci_members) {
        if let Some(hex) = name.strip_prefix("blobs/sha256/").filter(|h| !h.is_empty()) {
            assert_eq!(sha256(data), format!("sha256:{hex}"), "{name}");
        }
    }

    // Removed, then loaded back from each archive with the same id.
    for archive in [&docker_tar, &oci_tar] {
        let out = env.ok(&["rmi", "e2e/busybox:1.0", "e2e/busybox:stable"]);
        assert!(
            out.stdout.contains(&format!("Deleted: {id}")),
            "{}",
            out.stdout
        );
        assert!(env.images_json().is_empty(), "{:?}", env.images_json());
        env.run(&["image", "inspect", &id])
            .fails_with("inspect a removed image", &[]);
        let out = env.ok(&["load", "-i", archive.to_str().unwrap()]);
        assert!(
            out.stdout.contains("Loaded image: e2e/busybox:1.0"),
            "{}",
            out.stdout
        );
        assert_eq!(env.image_id("e2e/busybox:1.0"), id);
        env.ok(&["tag", "e2e/busybox:1.0", "e2e/busybox:stable"]);
    }

    // A dangling image (imported without a name) is pruned with its own layer; the named
    // image stays.
    let before = blob_count(&env);
    let (dangling, _) = import_busybox(&env, "dangling", None);
    assert_eq!(blob_count(&env), before + 3, "layer, config and manifest");
    let table = env.ok(&["images"]).stdout;
    assert!(table.contains("<none>"), "{table}");
    let out = env.ok(&["image", "prune", "-f"]);
    assert!(
        out.stdout.contains(&format!("Deleted: {dangling}")),
        "{}",
        out.stdout
    );
    let reclaimed = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Total reclaimed space: "))
        .unwrap_or_else(|| panic!("no reclaimed space: {}", out.stdout));
    // The layer alone is about the size of busybox (over 500 kB).
    assert!(
        reclaimed.ends_with("MB") || reclaimed.ends_with("kB"),
        "{reclaimed}"
    );
    assert_eq!(blob_count(&env), before);
    assert!(!env.ok(&["images"]).stdout.contains("<none>"));
    assert_eq!(env.image_id("e2e/busybox:stable"), id);
    env.assert_blobs_intact();
}

/// The store before a bad command: one image with two names.
fn seeded() -> (Env, String) {
    let env = Env::new();
    let (id, _) = import_busybox(&env, "seed", Some("seed/app:v1"));
    env.ok(&["tag", "seed/app:v1", "seed/app:v2"]);
    (env, id)
}

fn assert_intact(env: &Env, id: &str) {
    let mut names = env.image_names();
    names.sort();
    assert_eq!(names, ["seed/app:v1", "seed/app:v2"]);
    assert_eq!(env.image_id("seed/app:v1"), id);
    env.assert_blobs_intact();
    let ingest = env.data_root().join("content/ingest");
    let leftovers: Vec<_> = std::fs::read_dir(&ingest)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(leftovers.is_empty(), "ingest leftovers: {leftovers:?}");
}

#[test]
fn import_refuses_what_is_not_a_tarball() {
    let (env, id) = seeded();
    let text = env.path("notes.txt");
    std::fs::write(
        &text,
        "these are not the files you are looking for\n".repeat(40),
    )
    .unwrap();
    env.run(&["import", text.to_str().unwrap(), "bad/text:1"])
        .fails_with("import a text file", &["tar"]);
    // xz's magic, then garbage: berth must name the format rather than fail as "not a tar".
    let xz = env.path("rootfs.tar.xz");
    let mut bytes = vec![0xfd, b'7', b'z', b'X', b'Z', 0x00];
    bytes.extend_from_slice(&[0x55; 4096]);
    std::fs::write(&xz, bytes).unwrap();
    env.run(&["import", xz.to_str().unwrap(), "bad/xz:1"])
        .fails_with("import an xz tarball", &["xz"]);
    let missing = env.path("missing.tar");
    env.run(&["import", missing.to_str().unwrap()])
        .fails_with("import a missing file", &["missing.tar"]);
    assert_intact(&env, &id);
}

#[test]
fn load_refuses_truncated_and_hostile_archives() {
    let (env, id) = seeded();
    let saved = env.path("saved.tar");
    env.ok(&["save", "-o", saved.to_str().unwrap(), "seed/app:v1"]);
    let bytes = std::fs::read(&saved).unwrap();
    // Cut in the middle of the layer (the biggest member) and right after a header.
    for cut in [bytes.len() / 2, 1536] {
        let truncated = env.path("truncated.tar");
        std::fs::write(&truncated, &bytes[..cut]).unwrap();
        env.run(&["load", "-i", truncated.to_str().unwrap()])
            .fails_with("load a truncated archive", &[]);
        assert_intact(&env, &id);
    }

    let sandbox = env.path("sandbox/inner");
    let escape = env.path("escape");
    std::fs::create_dir_all(&escape).unwrap();
    std::fs::create_dir_all(&sandbox).unwrap();
    let hostile = [
        Tar::new().file("../x", 0o644, b"escaped").finish(),
        Tar::new()
            .file("oci-layout", 0o644, br#"{"imageLayoutVersion":"1.0.0"}"#)
            .file("blobs/../../x", 0o644, b"escaped")
            .finish(),
        Tar::new()
            .symlink("blobs", escape.to_str().unwrap())
            .file("blobs/x", 0o644, b"escaped")
            .finish(),
    ];
    for archive in hostile {
        let file = sandbox.join("hostile.tar");
        std::fs::write(&file, archive).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_berth"))
            .current_dir(&sandbox)
            .env("BERTH_DATA_ROOT", env.data_root())
            .args(["load", "-i", "hostile.tar"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "a hostile archive was loaded");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("berth: "), "{stderr}");
        for dir in [
            env.path("sandbox"),
            env.path(""),
            env.data_root(),
            escape.clone(),
        ] {
            assert!(!dir.join("x").exists(), "{}/x was written", dir.display());
        }
        assert_intact(&env, &id);
    }
    env.run(&[
        "load",
        "-i",
        env.path("hostile-missing.tar").to_str().unwrap(),
    ])
    .fails_with("load a missing file", &["hostile-missing.tar"]);
}

#[test]
fn bad_names_and_unknown_images_are_refused() {
    let (env, id) = seeded();
    env.run(&["rmi", "nosuch/image:1"])
        .fails_with("rmi an unknown image", &["nosuch/image:1"]);
    env.run(&["rmi", "seed/app:v1", "nosuch/image:2"])
        .fails_with("rmi a known and an unknown image", &["nosuch/image:2"]);
    // The known one of the two was removed; put it back.
    env.ok(&["tag", "seed/app:v2", "seed/app:v1"]);
    env.run(&["tag", "seed/app:v1", "Upper:case"])
        .fails_with("tag to an upper-case name", &["Upper:case", "lowercase"]);
    env.run(&["tag", "nosuch/image:1", "good/name:1"])
        .fails_with("tag an unknown image", &["nosuch/image:1"]);
    for bad in ["bad::ref", "UPPER/case", "name@sha256:123", ""] {
        env.run(&["pull", bad])
            .fails_with(&format!("pull {bad:?}"), &["reference"]);
    }
    env.run(&["image", "inspect", "nosuch/image:1"])
        .fails_with("inspect an unknown image", &["nosuch/image:1"]);
    env.run(&[
        "save",
        "-o",
        env.path("x.tar").to_str().unwrap(),
        "nosuch/image:1",
    ])
    .fails_with("save an unknown image", &["nosuch/image:1"]);
    let left: Vec<_> = std::fs::read_dir(env.path(""))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("x."))
        .collect();
    assert!(left.is_empty(), "a failed save left {left:?}");
    assert_intact(&env, &id);
}
