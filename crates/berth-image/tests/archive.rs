//! save, load and import: round trips in both formats, old docker archives, hostile
//! archives, and interoperability with a real dockerd (a private one from `berth-testkit`).

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "archive/support.rs"]
mod support;

use std::io::Read;

use berth_image::archive::{self, ArchiveError, ConfigChanges, Format};
use berth_image::content::ContentError;
use berth_image::digest::Digest;
use berth_image::manifest::{self, OCI_LAYER_TAR_GZIP};
use berth_image::reference::Reference;
use berth_image::store::ImageStore;
use berth_testkit::PrivateDockerd;
use support::{rootfs_tar, sha256_hex, tar_of, Member};

fn reference(text: &str) -> Reference {
    Reference::parse(text).unwrap()
}

fn store() -> (tempfile::TempDir, ImageStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = ImageStore::open(dir.path()).unwrap();
    (dir, store)
}

#[test]
fn import_makes_a_one_layer_image() {
    let (_dir, store) = store();
    let tar = rootfs_tar("hello from import");
    let changes = ConfigChanges::parse(&[
        r#"CMD ["/bin/sh", "-c", "cat /etc/greeting"]"#,
        "ENV A=1 B=two",
        "WORKDIR /srv",
        "EXPOSE 8080",
        "LABEL maintainer=berth",
    ])
    .unwrap();
    let image = archive::import(&store, &tar[..], Some(&reference("base:1")), &changes).unwrap();

    assert_eq!(store.resolve("base:1").unwrap(), image.digest);
    assert_eq!(image.layers.len(), 1);
    assert_eq!(image.layers[0].media_type().to_string(), OCI_LAYER_TAR_GZIP);
    // The diff id is the digest of the tar as given; the layer blob gunzips to it.
    let diff_ids = manifest::diff_ids(&image.config).unwrap();
    assert_eq!(diff_ids[0].hex(), sha256_hex(&tar));
    let layer: Digest = image.layers[0].digest().to_string().parse().unwrap();
    let mut unpacked = Vec::new();
    flate2::read::GzDecoder::new(store.content().open_blob(&layer).unwrap())
        .read_to_end(&mut unpacked)
        .unwrap();
    assert_eq!(unpacked, tar);
    assert_eq!(
        image.layers[0].size(),
        store.content().size(&layer).unwrap()
    );

    let config = image.config.config().as_ref().unwrap();
    assert_eq!(
        config.cmd().as_ref().unwrap(),
        &["/bin/sh", "-c", "cat /etc/greeting"]
    );
    assert_eq!(config.env().as_ref().unwrap(), &["A=1", "B=two"]);
    assert_eq!(config.working_dir().as_deref(), Some("/srv"));
    assert_eq!(config.exposed_ports().as_ref().unwrap(), &["8080/tcp"]);
    assert_eq!(config.labels().as_ref().unwrap()["maintainer"], "berth");
    assert_eq!(image.config.os().to_string(), "linux");
    assert_eq!(
        image.config.architecture().to_string(),
        manifest::Platform::host().architecture
    );
    assert!(image.config.created().is_some());
    assert_eq!(image.config.history().as_ref().unwrap().len(), 1);

    // A gzipped tarball gives the same diff id.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    let again = archive::import(
        &store,
        &gz.finish().unwrap()[..],
        None,
        &ConfigChanges::default(),
    )
    .unwrap();
    assert_eq!(manifest::diff_ids(&again.config).unwrap(), diff_ids);
}

#[test]
fn import_refuses_what_is_not_a_tar() {
    let (_dir, store) = store();
    let garbage = vec![b'x'; 4096];
    let err = archive::import(&store, &garbage[..], None, &ConfigChanges::default()).unwrap_err();
    assert!(matches!(err, ArchiveError::Io { .. }), "{err}");
    assert!(store.list().unwrap().is_empty());
    assert!(store.content().ingests().is_empty());
    assert!(ConfigChanges::parse(&["FROM scratch"]).is_err());
    assert!(ConfigChanges::parse(&["CMD"]).is_err());
}

/// Two images sharing a layer, with tags, in a fresh store.
fn two_images(store: &ImageStore) -> (Digest, Digest) {
    let base = archive::import(
        store,
        &rootfs_tar("base")[..],
        Some(&reference("example.com/base:1")),
        &ConfigChanges::default(),
    )
    .unwrap();
    let app = archive::import(
        store,
        &rootfs_tar("app")[..],
        Some(&reference("app:v2")),
        &ConfigChanges::parse(&["CMD [\"run\"]"]).unwrap(),
    )
    .unwrap();
    store.tag(&reference("app:latest"), &app.digest).unwrap();
    (base.digest, app.digest)
}

#[test]
fn save_load_round_trip_keeps_digests() {
    for format in [Format::DockerArchive, Format::OciLayout] {
        let (_a, source) = store();
        let (base, app) = two_images(&source);
        let bytes = archive::save(
            &source,
            &["example.com/base:1", "app:v2", "app:latest"],
            Vec::new(),
            format,
        )
        .unwrap();
        let (_b, target) = store();
        let loaded = archive::load(&target, &bytes[..]).unwrap();
        let mut names: Vec<String> = loaded
            .iter()
            .map(|l| l.reference.as_ref().unwrap().familiar())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["app:latest", "app:v2", "example.com/base:1"],
            "{format:?}"
        );
        assert_eq!(target.resolve("app:v2").unwrap(), app);
        assert_eq!(target.resolve("example.com/base:1").unwrap(), base);
        for digest in [&base, &app] {
            let (s, t) = (source.image(digest).unwrap(), target.image(digest).unwrap());
            assert_eq!(s.config_digest, t.config_digest);
            assert_eq!(s.layers, t.layers);
        }
        // Saving the same images again gives the same bytes.
        let again = archive::save(
            &source,
            &["example.com/base:1", "app:v2", "app:latest"],
            Vec::new(),
            format,
        )
        .unwrap();
        assert_eq!(again, bytes);

        let members = support::members(&bytes);
        assert!(members.contains_key("oci-layout"));
        assert!(members.contains_key("index.json"));
        assert_eq!(
            members.contains_key("manifest.json"),
            format == Format::DockerArchive
        );
    }
}

#[test]
fn docker_archive_has_docker_manifest_json() {
    let (_a, source) = store();
    let (_, app) = two_images(&source);
    let image = source.image(&app).unwrap();
    let bytes = archive::save(&source, &["app:v2"], Vec::new(), Format::DockerArchive).unwrap();
    let members = support::members(&bytes);
    let manifest: serde_json::Value = serde_json::from_slice(&members["manifest.json"]).unwrap();
    assert_eq!(
        manifest,
        serde_json::json!([{
            "Config": format!("blobs/sha256/{}", image.config_digest.hex()),
            "RepoTags": ["app:v2"],
            "Layers": [format!("blobs/sha256/{}", image.layers[0].digest().to_string().trim_start_matches("sha256:"))],
        }])
    );
    let index: serde_json::Value = serde_json::from_slice(&members["index.json"]).unwrap();
    let annotations = &index["manifests"][0]["annotations"];
    assert_eq!(
        annotations["io.containerd.image.name"],
        "docker.io/library/app:v2"
    );
    assert_eq!(annotations["org.opencontainers.image.ref.name"], "v2");
    // Every blob is there under its digest.
    for (path, data) in &members {
        if let Some(hex) = path.strip_prefix("blobs/sha256/") {
            assert_eq!(sha256_hex(data), *hex);
        }
    }
    // By id: saved untagged, loaded untagged.
    let bytes = archive::save(
        &source,
        &[image.config_digest.hex()],
        Vec::new(),
        Format::DockerArchive,
    )
    .unwrap();
    let (_b, target) = store();
    let loaded = archive::load(&target, &bytes[..]).unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].reference, None);
    assert_eq!(loaded[0].id, image.config_digest);
    assert!(target.list().unwrap()[0].references.is_empty());
}

#[test]
fn multi_platform_index_round_trips() {
    let (_a, source) = store();
    let none = ConfigChanges::default();
    let amd64 = archive::import(&source, &rootfs_tar("amd64")[..], None, &none).unwrap();
    let arm64 = archive::import(&source, &rootfs_tar("arm64")[..], None, &none).unwrap();
    let descriptor = |image: &berth_image::store::Image, arch: &str| {
        let size = source.content().size(&image.digest).unwrap();
        serde_json::json!({"mediaType": manifest::OCI_MANIFEST, "size": size,
            "digest": image.digest.to_string(), "platform": {"os": "linux", "architecture": arch}})
    };
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": manifest::OCI_INDEX,
        "manifests": [descriptor(&arm64, "arm64"), descriptor(&amd64, "amd64")],
    }))
    .unwrap();
    let index = source.content().put(&index).unwrap();
    source.tag(&reference("multi:1"), &index).unwrap();
    for format in [Format::DockerArchive, Format::OciLayout] {
        let bytes = archive::save(&source, &["multi:1"], Vec::new(), format).unwrap();
        let (_b, target) = store();
        let loaded = archive::load(&target, &bytes[..]).unwrap();
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].digest, index);
        assert_eq!(target.resolve("multi:1").unwrap(), index);
        // Both platforms travel, not only the host's.
        assert!(target.content().contains(&arm64.digest));
        assert!(target.content().contains(&arm64.config_digest));
        assert_eq!(target.list().unwrap().len(), 1);
    }
}

#[test]
fn oci_layout_directory_round_trip() {
    let (_a, source) = store();
    let (base, _) = two_images(&source);
    let layout = tempfile::tempdir().unwrap();
    archive::save_oci_dir(&source, &["example.com/base:1"], layout.path()).unwrap();
    assert!(layout.path().join("oci-layout").is_file());
    let (_b, target) = store();
    let loaded = archive::load_oci_dir(&target, layout.path()).unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(target.resolve("example.com/base:1").unwrap(), base);
}

/// The layout docker wrote before version 25, built by hand: `<id>.json` configs,
/// `<layer id>/layer.tar` layers, and a symlink for a layer two images share.
#[test]
fn loads_old_style_docker_save() {
    let layer1 = rootfs_tar("old one");
    let layer2 = rootfs_tar("old two");
    let config = |diff_ids: &[&[u8]]| {
        let ids: Vec<String> = diff_ids
            .iter()
            .map(|l| format!("sha256:{}", sha256_hex(l)))
            .collect();
        serde_json::to_vec(&serde_json::json!({
            "architecture": "amd64", "os": "linux",
            "config": {"Cmd": ["sh"]}, "container_config": {"Cmd": ["sh"]},
            "docker_version": "20.10.24", "created": "2024-01-01T00:00:00Z",
            "rootfs": {"type": "layers", "diff_ids": ids},
        }))
        .unwrap()
    };
    let config_a = config(&[&layer1]);
    let config_b = config(&[&layer1, &layer2]);
    let (id_a, id_b) = (sha256_hex(&config_a), sha256_hex(&config_b));
    let manifest = serde_json::json!([
        {"Config": format!("{id_a}.json"), "RepoTags": ["old/a:1"], "Layers": ["l1/layer.tar"]},
        {"Config": format!("{id_b}.json"), "RepoTags": ["old/b:1", "old/b:latest"],
         "Layers": ["l1b/layer.tar", "l2/layer.tar"]},
    ]);
    let tar = tar_of(&[
        Member::Dir("l1"),
        Member::File("l1/VERSION", b"1.0".to_vec()),
        Member::File("l1/json", b"{}".to_vec()),
        Member::File("l1/layer.tar", layer1.clone()),
        Member::Dir("l1b"),
        Member::Symlink("l1b/layer.tar", "../l1/layer.tar"),
        Member::File("l2/layer.tar", layer2.clone()),
        Member::File(&format!("{id_a}.json"), config_a.clone()),
        Member::File(&format!("{id_b}.json"), config_b.clone()),
        Member::File("manifest.json", serde_json::to_vec(&manifest).unwrap()),
        Member::File("repositories", br#"{"old/a":{"1":"l1"}}"#.to_vec()),
    ]);
    let (_d, store) = store();
    let loaded = archive::load(&store, &tar[..]).unwrap();
    assert_eq!(loaded.len(), 3);
    let a = store.get("old/a:1").unwrap();
    assert_eq!(a.config_digest.hex(), id_a);
    assert_eq!(
        a.layers[0].digest().to_string(),
        format!("sha256:{}", sha256_hex(&layer1))
    );
    assert_eq!(
        a.layers[0].media_type().to_string(),
        manifest::OCI_LAYER_TAR
    );
    let b = store.get("old/b:latest").unwrap();
    assert_eq!(b.config_digest.hex(), id_b);
    assert_eq!(b.layers.len(), 2);
    // The original config bytes are kept (docker's extra fields included).
    assert_eq!(
        store
            .content()
            .read_blob(&b.config_digest, 1 << 20)
            .unwrap(),
        config_b
    );
    // Loading the same archive again gives the same images.
    let again = archive::load(&store, &tar[..]).unwrap();
    assert_eq!(again, loaded);
}

#[test]
fn hostile_archives_are_refused() {
    let (_d, store) = store();
    for name in ["../escape", "blobs/../../escape", "/etc/passwd"] {
        let tar = tar_of(&[Member::RawName(name, b"x".to_vec())]);
        let err = archive::load(&store, &tar[..]).unwrap_err();
        assert!(matches!(err, ArchiveError::UnsafePath(_)), "{name}: {err}");
    }
    let tar = tar_of(&[Member::Symlink("layer.tar", "../../etc/shadow")]);
    assert!(matches!(
        archive::load(&store, &tar[..]),
        Err(ArchiveError::UnsafePath(_))
    ));

    // A blob whose content does not match its name: refused, nothing stored.
    let lie = format!("blobs/sha256/{}", sha256_hex(b"the truth"));
    let tar = tar_of(&[Member::File(&lie, b"a lie".to_vec())]);
    let err = archive::load(&store, &tar[..]).unwrap_err();
    assert!(
        matches!(
            err,
            ArchiveError::Content(ContentError::DigestMismatch { .. })
        ),
        "{err}"
    );
    assert!(store.content().list().unwrap().is_empty());
    assert!(store.content().ingests().is_empty());

    // A layer that is not what the config says.
    let layer = rootfs_tar("real");
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", sha256_hex(b"other"))]},
    }))
    .unwrap();
    let manifest =
        serde_json::json!([{"Config": "c.json", "RepoTags": ["bad:1"], "Layers": ["l/layer.tar"]}]);
    let tar = tar_of(&[
        Member::File("l/layer.tar", layer),
        Member::File("c.json", config),
        Member::File("manifest.json", serde_json::to_vec(&manifest).unwrap()),
    ]);
    let err = archive::load(&store, &tar[..]).unwrap_err();
    assert!(matches!(err, ArchiveError::DiffIdMismatch { .. }), "{err}");
    assert!(store.resolve("bad:1").is_err());

    // Not an image archive at all.
    let tar = tar_of(&[Member::File("hello.txt", b"hi".to_vec())]);
    assert!(matches!(
        archive::load(&store, &tar[..]),
        Err(ArchiveError::NotAnArchive)
    ));
    // A manifest.json naming a missing layer.
    let manifest = serde_json::json!([{"Config": "c.json", "Layers": ["nowhere.tar"]}]);
    let tar = tar_of(&[
        Member::File("c.json", b"{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}".to_vec()),
        Member::File("manifest.json", serde_json::to_vec(&manifest).unwrap()),
    ]);
    assert!(matches!(
        archive::load(&store, &tar[..]),
        Err(ArchiveError::Missing(_))
    ));
}

#[test]
fn docker_loads_what_berth_saves_and_berth_loads_what_docker_saves() {
    let Some(dockerd) = PrivateDockerd::start() else {
        return;
    };
    let (dir, store) = store();

    // berth -> docker.
    let tag = format!("berthtest/imported:{}", std::process::id());
    let image = archive::import(
        &store,
        &rootfs_tar("made by berth")[..],
        Some(&reference(&tag)),
        &ConfigChanges::parse(&["CMD [\"/bin/true\"]"]).unwrap(),
    )
    .unwrap();
    let saved = dir.path().join("berth-save.tar");
    archive::save(
        &store,
        &[&tag],
        std::fs::File::create(&saved).unwrap(),
        Format::DockerArchive,
    )
    .unwrap();
    let out = dockerd.docker_ok(&["load", "-i", saved.to_str().unwrap()]);
    assert!(out.contains(&format!("Loaded image: {tag}")), "{out}");
    let id = dockerd.docker_ok(&["image", "inspect", "--format", "{{.Id}}", &tag]);
    assert_eq!(id.trim(), image.config_digest.to_string());

    // docker -> berth: an image made by `docker import`, then `docker save`d.
    let docker_tag = format!("dockertest/imported:{}", std::process::id());
    let rootfs = dir.path().join("rootfs.tar");
    std::fs::write(&rootfs, rootfs_tar("made by docker")).unwrap();
    dockerd.docker_ok(&["import", rootfs.to_str().unwrap(), &docker_tag]);
    let docker_id = dockerd.docker_ok(&["image", "inspect", "--format", "{{.Id}}", &docker_tag]);
    let docker_save = dir.path().join("docker-save.tar");
    dockerd.docker_ok(&["save", "-o", docker_save.to_str().unwrap(), &docker_tag]);
    let loaded = archive::load(&store, std::fs::File::open(&docker_save).unwrap()).unwrap();
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].reference, Some(reference(&docker_tag)));
    assert_eq!(loaded[0].id.to_string(), docker_id.trim());
    let loaded_image = store.get(&docker_tag).unwrap();
    assert_eq!(loaded_image.config_digest.to_string(), docker_id.trim());

    // And back: docker accepts berth's save of docker's image, with the same id.
    dockerd.docker_ok(&["rmi", &docker_tag]);
    let resaved = dir.path().join("berth-resave.tar");
    archive::save(
        &store,
        &[&docker_tag],
        std::fs::File::create(&resaved).unwrap(),
        Format::DockerArchive,
    )
    .unwrap();
    dockerd.docker_ok(&["load", "-i", resaved.to_str().unwrap()]);
    let id = dockerd.docker_ok(&["image", "inspect", "--format", "{{.Id}}", &docker_tag]);
    assert_eq!(id.trim(), docker_id.trim());
}
