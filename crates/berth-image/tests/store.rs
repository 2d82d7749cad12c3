//! The image store: names, resolution, rmi and prune semantics, concurrency, rebuild.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::HashSet;
use std::sync::Arc;

use berth_image::digest::Digest;
use berth_image::manifest::OCI_LAYER_TAR;
use berth_image::reference::Reference;
use berth_image::store::{Image, ImageStore, Removed, StoreError};
use oci_spec::image::{Descriptor, ImageConfiguration, ImageConfigurationBuilder, MediaType};

/// A tar with one file `name` holding `body`.
fn layer_tar(name: &str, body: &[u8]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(body.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    builder.append_data(&mut header, name, body).unwrap();
    builder.into_inner().unwrap()
}

/// Puts an uncompressed layer; returns its descriptor and diff id.
fn put_layer(store: &ImageStore, name: &str, body: &[u8]) -> (Descriptor, Digest) {
    let tar = layer_tar(name, body);
    let digest = store.content().put(&tar).unwrap();
    let descriptor = Descriptor::new(
        MediaType::from(OCI_LAYER_TAR),
        tar.len() as u64,
        digest
            .to_string()
            .parse::<oci_spec::image::Digest>()
            .unwrap(),
    );
    (descriptor, digest)
}

fn config(created: &str) -> ImageConfiguration {
    ImageConfigurationBuilder::default()
        .created(created.to_string())
        .architecture(oci_spec::image::Arch::Amd64)
        .os(oci_spec::image::Os::Linux)
        .build()
        .unwrap()
}

fn reference(text: &str) -> Reference {
    Reference::parse(text).unwrap()
}

/// An image of one or more layers named by `files`, optionally tagged.
fn make_image(store: &ImageStore, files: &[&str], tag: Option<&str>) -> Image {
    let layers = files
        .iter()
        .map(|f| put_layer(store, f, f.as_bytes()))
        .collect();
    let created = format!("2024-01-01T00:00:0{}Z", files.len());
    store
        .commit_image(config(&created), layers, tag.map(reference).as_ref())
        .unwrap()
}

fn names(store: &ImageStore, image: &Image) -> Vec<String> {
    let mut n: Vec<String> = store
        .names_of(&image.digest)
        .unwrap()
        .iter()
        .map(Reference::familiar)
        .collect();
    n.sort();
    n
}

#[test]
fn tag_resolve_untag_list() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    let image = make_image(&store, &["a"], Some("busybox"));
    let id = image.config_digest.clone();

    for text in [
        "busybox",
        "busybox:latest",
        "docker.io/library/busybox:latest",
        &id.to_string(),
        id.hex(),
        &id.hex()[..12],
        &image.manifest_digest.to_string(),
    ] {
        assert_eq!(store.resolve(text).unwrap(), image.digest, "{text}");
    }
    assert!(matches!(
        store.resolve("busybox:2"),
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.resolve("nothing"),
        Err(StoreError::NotFound(_))
    ));

    store
        .tag(&reference("localhost:5000/tools/bb:v1"), &image.digest)
        .unwrap();
    let pinned = reference("busybox").with_digest(image.digest.clone());
    store.tag(&pinned, &image.digest).unwrap();
    assert_eq!(store.resolve(&pinned.to_string()).unwrap(), image.digest);

    let list = store.list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, id);
    assert_eq!(list[0].manifest_digest, image.manifest_digest);
    let mut tags: Vec<String> = list[0].references.iter().map(|r| r.familiar()).collect();
    tags.sort();
    assert_eq!(tags, ["busybox:latest", "localhost:5000/tools/bb:v1"]);
    assert_eq!(list[0].repo_digests, vec![pinned.clone()]);
    assert_eq!(list[0].created.as_deref(), Some("2024-01-01T00:00:01Z"));
    assert_eq!(list[0].size, image.layers[0].size());

    // A reference pinning another digest is refused.
    let other = Digest::sha256_of(b"other");
    assert!(matches!(
        store.tag(
            &reference("busybox").with_digest(other.clone()),
            &image.digest
        ),
        Err(StoreError::DigestMismatch { .. })
    ));
    // Naming something that is not a manifest is refused.
    let blob = store.content().put(b"not a manifest").unwrap();
    assert!(store.tag(&reference("junk"), &blob).is_err());

    assert_eq!(
        store
            .untag(&reference("localhost:5000/tools/bb:v1"))
            .unwrap(),
        image.digest
    );
    assert_eq!(
        names(&store, &image),
        ["busybox:latest", &pinned.familiar()]
    );
    assert!(matches!(
        store.untag(&reference("localhost:5000/tools/bb:v1")),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn ambiguous_id_prefix_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    let mut ids = Vec::new();
    // Enough images that two ids share a first hex digit.
    for i in 0..20 {
        let name = format!("f{i}");
        ids.push(make_image(&store, &[name.as_str()], Some(&format!("img:{i}"))).config_digest);
    }
    let first = &ids[0].hex()[..1];
    let sharing = ids.iter().filter(|d| d.hex().starts_with(first)).count();
    if sharing > 1 {
        assert!(matches!(
            store.resolve(first),
            Err(StoreError::Ambiguous(_))
        ));
    }
    assert_eq!(store.list().unwrap().len(), 20);
}

#[test]
fn rmi_by_tag_untags_until_the_last_tag() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    let image = make_image(&store, &["x"], Some("app:1"));
    store.tag(&reference("app:2"), &image.digest).unwrap();
    let layer: Digest = image.layers[0].digest().to_string().parse().unwrap();

    let removed = store.remove("app:1", false).unwrap();
    assert_eq!(removed, vec![Removed::Untagged(reference("app:1"))]);
    assert!(store.content().contains(&layer));

    let removed = store.remove("app:2", false).unwrap();
    assert!(removed.contains(&Removed::Untagged(reference("app:2"))));
    assert!(removed.contains(&Removed::Deleted(image.config_digest.clone())));
    assert!(!store.content().contains(&layer));
    assert!(!store.content().contains(&image.manifest_digest));
    assert!(store.list().unwrap().is_empty());
    assert!(matches!(
        store.remove("app:2", false),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn rmi_by_id_needs_force_across_repositories() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    let image = make_image(&store, &["y"], Some("one:1"));
    store.tag(&reference("two:1"), &image.digest).unwrap();
    let short = &image.config_digest.hex()[..12];
    let err = store.remove(short, false).unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
    assert_eq!(store.list().unwrap().len(), 1);
    let removed = store.remove(short, true).unwrap();
    assert_eq!(
        removed
            .iter()
            .filter(|r| matches!(r, Removed::Untagged(_)))
            .count(),
        2
    );
    assert!(removed.contains(&Removed::Deleted(image.config_digest.clone())));
    assert!(store.list().unwrap().is_empty());

    // Several tags of one repository: by id works without force.
    let image = make_image(&store, &["z"], Some("one:a"));
    store.tag(&reference("one:b"), &image.digest).unwrap();
    store.remove(image.config_digest.hex(), false).unwrap();
    assert!(store.list().unwrap().is_empty());
}

#[test]
fn shared_blobs_survive_removal_of_one_image() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    let base = make_image(&store, &["base"], Some("base"));
    let child = make_image(&store, &["base", "child"], Some("child"));
    let shared: Digest = base.layers[0].digest().to_string().parse().unwrap();
    let own: Digest = child.layers[1].digest().to_string().parse().unwrap();
    assert_eq!(child.layers[0].digest(), base.layers[0].digest());

    let removed = store.remove("child", false).unwrap();
    assert!(removed.contains(&Removed::Blob(own.clone(), child.layers[1].size())));
    assert!(!store.content().contains(&own));
    assert!(store.content().contains(&shared));
    assert_eq!(store.get("base").unwrap().config_digest, base.config_digest);
}

#[test]
fn moved_tag_leaves_a_dangling_image_that_prune_removes() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    let old = make_image(&store, &["v1"], Some("app"));
    let new = make_image(&store, &["v1", "v2"], Some("app"));
    let keep = make_image(&store, &["other"], Some("keep"));
    let list = store.list().unwrap();
    assert_eq!(list.len(), 3);
    let dangling: Vec<_> = list.iter().filter(|s| s.references.is_empty()).collect();
    assert_eq!(dangling.len(), 1);
    assert_eq!(dangling[0].id, old.config_digest);

    // An orphan blob from an interrupted pull: kept while fresh, pruned when old.
    let fresh = store.content().put(b"fresh orphan").unwrap();
    let stale = store.content().put(b"stale orphan").unwrap();
    let two_hours_ago =
        filetime::FileTime::from_unix_time(filetime::FileTime::now().unix_seconds() - 7200, 0);
    filetime::set_file_mtime(store.content().blob_path(&stale), two_hours_ago).unwrap();

    let report = store.prune(true, &HashSet::new()).unwrap();
    assert!(report
        .removed
        .contains(&Removed::Deleted(old.config_digest.clone())));
    // The old image's manifest and config go; its layer is shared with the new one.
    let old_manifest_size = store.content().size(&new.manifest_digest).is_some();
    assert!(old_manifest_size);
    assert!(!store.content().contains(&old.manifest_digest));
    assert!(store.content().contains(&fresh));
    assert!(!store.content().contains(&stale));
    assert!(report.reclaimed >= b"stale orphan".len() as u64);
    assert_eq!(store.list().unwrap().len(), 2);

    // Not only dangling: everything but what containers use.
    let in_use = HashSet::from([keep.config_digest.clone()]);
    let report = store.prune(false, &in_use).unwrap();
    assert!(report
        .removed
        .contains(&Removed::Untagged(reference("app"))));
    let left = store.list().unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, keep.config_digest);
    assert!(store.get("keep").is_ok());
}

#[test]
fn concurrent_taggers_lose_no_tags() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    let image = make_image(&store, &["c"], None);
    let digest = Arc::new(image.digest.clone());
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let root = dir.path().to_path_buf();
            let digest = Arc::clone(&digest);
            std::thread::spawn(move || {
                // Each thread opens its own store, as two berth processes would.
                let store = ImageStore::open(root).unwrap();
                for i in 0..40 {
                    store
                        .tag(&reference(&format!("t{t}:{i}")), &digest)
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(store.names_of(&image.digest).unwrap().len(), 80);
}

#[test]
fn concurrent_processes_lose_no_tags() {
    // The child mode: tag 30 names in the store given by the environment.
    if let Ok(root) = std::env::var("BERTH_TEST_STORE_ROOT") {
        let store = ImageStore::open(root).unwrap();
        let digest = store.resolve("base").unwrap();
        let prefix = std::env::var("BERTH_TEST_PREFIX").unwrap();
        for i in 0..30 {
            store
                .tag(&reference(&format!("{prefix}:{i}")), &digest)
                .unwrap();
        }
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    let image = make_image(&store, &["p"], Some("base"));
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = ["p1", "p2"]
        .iter()
        .map(|prefix| {
            std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "concurrent_processes_lose_no_tags",
                    "--test-threads=1",
                ])
                .env("BERTH_TEST_STORE_ROOT", dir.path())
                .env("BERTH_TEST_PREFIX", prefix)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    assert_eq!(store.names_of(&image.digest).unwrap().len(), 61);
}

#[test]
fn rebuild_recovers_images_after_losing_the_names_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    let a = make_image(&store, &["r1"], Some("a"));
    let b = make_image(&store, &["r1", "r2"], Some("b"));
    std::fs::write(dir.path().join("images/index.json"), b"{ garbage").unwrap();
    assert!(matches!(store.list(), Err(StoreError::Corrupt { .. })));
    let mut found = store.rebuild().unwrap();
    found.sort();
    let mut expected = vec![a.digest.clone(), b.digest.clone()];
    expected.sort();
    assert_eq!(found, expected);
    let list = store.list().unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|s| s.references.is_empty()));
    // Tag again by id prefix.
    let digest = store.resolve(&a.config_digest.hex()[..12]).unwrap();
    store.tag(&reference("a"), &digest).unwrap();
    assert_eq!(store.get("a").unwrap().config_digest, a.config_digest);
}

#[test]
fn commit_image_is_deterministic_and_checks_layers() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    let first = make_image(&store, &["d"], None);
    let second = make_image(&store, &["d"], None);
    assert_eq!(first.manifest_digest, second.manifest_digest);
    assert_eq!(first.config_digest, second.config_digest);
    let diff_ids = berth_image::manifest::diff_ids(&first.config).unwrap();
    assert_eq!(diff_ids.len(), 1);
    assert_eq!(
        diff_ids[0].to_string(),
        first.layers[0].digest().to_string()
    );

    let missing = Descriptor::new(
        MediaType::from(OCI_LAYER_TAR),
        3,
        Digest::sha256_of(b"abc")
            .to_string()
            .parse::<oci_spec::image::Digest>()
            .unwrap(),
    );
    let err = store
        .commit_image(
            config("2024-01-01T00:00:00Z"),
            vec![(missing, Digest::sha256_of(b"abc"))],
            None,
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::MissingBlob(_)));
}

/// A manifest for `arch` with one layer, stored but not recorded as an image.
fn put_platform_manifest(store: &ImageStore, arch: &str, file: &str) -> (Digest, usize) {
    let (layer, diff_id) = put_layer(store, file, arch.as_bytes());
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": arch, "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff_id.to_string()]},
    }))
    .unwrap();
    let config_digest = store.content().put(&config).unwrap();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": berth_image::manifest::DOCKER_MANIFEST,
        "config": {"mediaType": berth_image::manifest::DOCKER_CONFIG,
                   "size": config.len(), "digest": config_digest.to_string()},
        "layers": [layer],
    }))
    .unwrap();
    (store.content().put(&manifest).unwrap(), manifest.len())
}

/// A Docker manifest list for amd64 and arm64 with an attestation entry, tagged `multi:1`.
fn put_index(store: &ImageStore) -> (Digest, Digest, Digest) {
    let (amd64, amd64_size) = put_platform_manifest(store, "amd64", "x86");
    let (arm64, arm64_size) = put_platform_manifest(store, "arm64", "arm");
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": berth_image::manifest::DOCKER_MANIFEST_LIST,
        "manifests": [
            {"mediaType": berth_image::manifest::DOCKER_MANIFEST, "size": arm64_size,
             "digest": arm64.to_string(), "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
            {"mediaType": berth_image::manifest::DOCKER_MANIFEST, "size": 100,
             "digest": Digest::sha256_of(b"attestation").to_string(),
             "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                             "vnd.docker.reference.digest": amd64.to_string()},
             "platform": {"os": "unknown", "architecture": "unknown"}},
            {"mediaType": berth_image::manifest::DOCKER_MANIFEST, "size": amd64_size,
             "digest": amd64.to_string(), "platform": {"os": "linux", "architecture": "amd64"}},
        ],
    }))
    .unwrap();
    let index = store.content().put(&index).unwrap();
    store.tag(&reference("multi:1"), &index).unwrap();
    (index, amd64, arm64)
}

#[test]
fn an_index_resolves_to_the_platform_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    let (index, amd64, arm64) = put_index(&store);
    let arm = store
        .image_for(&index, &"linux/arm64".parse().unwrap())
        .unwrap();
    assert_eq!(arm.digest, index);
    assert_eq!(arm.manifest_digest, arm64);
    assert_eq!(arm.config.architecture().to_string(), "arm64");
    assert!(matches!(
        store.image_for(&index, &"linux/s390x".parse().unwrap()),
        Err(StoreError::NoMatchingPlatform { .. })
    ));
    if cfg!(target_arch = "x86_64") {
        let host = store.get("multi:1").unwrap();
        assert_eq!(host.manifest_digest, amd64);
        let list = store.list().unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].manifest_digest, index);
        assert_eq!(list[0].id, host.config_digest);
    }
    // Removing the index removes its platform manifests and their blobs.
    let blobs_before = store.content().list().unwrap().len();
    assert_eq!(blobs_before, 7);
    store.remove("multi:1", false).unwrap();
    assert!(store.content().list().unwrap().is_empty());
}
