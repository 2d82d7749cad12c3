use super::*;

const D1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const D2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
const D3: &str = "sha256:3333333333333333333333333333333333333333333333333333333333333333";
const D4: &str = "sha256:4444444444444444444444444444444444444444444444444444444444444444";

fn image_manifest(media_type: Option<&str>, config_type: &str, layer_type: &str) -> String {
    let mt = media_type.map_or(String::new(), |t| format!(r#""mediaType":"{t}","#));
    format!(
        r#"{{"schemaVersion":2,{mt}"config":{{"mediaType":"{config_type}","size":1469,"digest":"{D1}"}},
        "layers":[{{"mediaType":"{layer_type}","size":2220094,"digest":"{D2}"}}]}}"#
    )
}

#[test]
fn parses_docker_schema2_manifest() {
    let text = image_manifest(Some(DOCKER_MANIFEST), DOCKER_CONFIG, DOCKER_LAYER_GZIP);
    let Manifest::Image(m) = parse(text.as_bytes(), None).unwrap() else {
        panic!("not an image manifest");
    };
    assert_eq!(m.layers().len(), 1);
    assert_eq!(m.layers()[0].size(), 2220094);
    assert_eq!(m.config().media_type().to_string(), DOCKER_CONFIG);
    assert_eq!(
        parse(text.as_bytes(), None).unwrap().media_type(),
        DOCKER_MANIFEST
    );
    assert_eq!(
        layer_compression(m.layers()[0].media_type().as_ref()),
        Some(Compression::Gzip)
    );
}

#[test]
fn parses_oci_manifest_with_and_without_media_type() {
    for layer_type in [
        OCI_LAYER_TAR,
        OCI_LAYER_TAR_GZIP,
        OCI_LAYER_TAR_ZSTD,
        OCI_LAYER_NONDIST_TAR_GZIP,
    ] {
        let text = image_manifest(Some(OCI_MANIFEST), OCI_CONFIG, layer_type);
        assert!(matches!(
            parse(text.as_bytes(), None).unwrap(),
            Manifest::Image(_)
        ));
        assert!(layer_compression(layer_type).is_some());
    }
    assert!(is_non_distributable(OCI_LAYER_NONDIST_TAR_GZIP));
    assert!(is_non_distributable(DOCKER_LAYER_FOREIGN_GZIP));
    assert!(!is_non_distributable(OCI_LAYER_TAR_GZIP));
    // No mediaType field: the Content-Type decides, else the shape.
    let text = image_manifest(None, OCI_CONFIG, OCI_LAYER_TAR);
    let m = parse(
        text.as_bytes(),
        Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
    )
    .unwrap();
    assert!(matches!(m, Manifest::Image(_)));
    assert!(matches!(
        parse(text.as_bytes(), None).unwrap(),
        Manifest::Image(_)
    ));
}

/// Shaped like `docker buildx imagetools inspect --raw` of a BuildKit multi-arch image:
/// each platform has an attestation manifest beside it.
fn docker_style_index(media_type: &str, manifest_type: &str) -> String {
    format!(
        r#"{{
  "schemaVersion": 2,
  "mediaType": "{media_type}",
  "manifests": [
    {{"mediaType": "{manifest_type}", "digest": "{D1}", "size": 528,
      "platform": {{"architecture": "amd64", "os": "linux"}}}},
    {{"mediaType": "{manifest_type}", "digest": "{D2}", "size": 528,
      "platform": {{"architecture": "arm64", "os": "linux", "variant": "v8"}}}},
    {{"mediaType": "{manifest_type}", "digest": "{D3}", "size": 566,
      "annotations": {{"vnd.docker.reference.digest": "{D1}",
                       "vnd.docker.reference.type": "attestation-manifest"}},
      "platform": {{"architecture": "unknown", "os": "unknown"}}}},
    {{"mediaType": "{manifest_type}", "digest": "{D4}", "size": 528,
      "platform": {{"architecture": "arm", "os": "linux", "variant": "v6"}}}}
  ]
}}"#
    )
}

#[test]
fn parses_indexes_and_selects_platforms() {
    for (index_type, manifest_type) in [
        (DOCKER_MANIFEST_LIST, DOCKER_MANIFEST),
        (OCI_INDEX, OCI_MANIFEST),
    ] {
        let text = docker_style_index(index_type, manifest_type);
        let Manifest::Index(index) = parse(text.as_bytes(), None).unwrap() else {
            panic!("not an index");
        };
        assert_eq!(index.manifests().len(), 4);
        let pick = |p: &str| select(&index, &p.parse().unwrap()).map(|d| d.digest().to_string());
        assert_eq!(pick("linux/amd64").as_deref(), Some(D1));
        // arm64 without a variant means v8.
        assert_eq!(pick("linux/arm64").as_deref(), Some(D2));
        // An arm v7 host runs the v6 image.
        assert_eq!(pick("linux/arm/v7").as_deref(), Some(D4));
        assert_eq!(pick("linux/arm/v5"), None);
        assert_eq!(pick("linux/s390x"), None);
        // The attestation is never chosen, even for unknown/unknown.
        assert_eq!(pick("unknown/unknown"), None);
        assert_eq!(
            pick(&Platform::host().to_string()).is_some(),
            Platform::host().architecture == "amd64" || Platform::host().architecture == "arm64"
        );
    }
}

#[test]
fn refuses_schema1_with_a_clear_error() {
    let schema1 = r#"{"schemaVersion":1,"name":"library/busybox","tag":"latest","architecture":"amd64",
        "fsLayers":[{"blobSum":"sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"}],
        "history":[{"v1Compatibility":"{}"}]}"#;
    let err = parse(schema1.as_bytes(), Some(DOCKER_SCHEMA1_SIGNED)).unwrap_err();
    assert!(matches!(err, ManifestError::Schema1));
    assert!(err.to_string().contains("schema 1"));
    assert!(matches!(
        parse(schema1.as_bytes(), None),
        Err(ManifestError::Schema1)
    ));
}

#[test]
fn errors_name_the_field() {
    let bad_digest = image_manifest(Some(OCI_MANIFEST), OCI_CONFIG, OCI_LAYER_TAR)
        .replace(D2, "sha256:notahexdigest");
    let err = parse(bad_digest.as_bytes(), None).unwrap_err();
    assert!(err.to_string().contains("layers[0].digest"), "{err}");

    let bad_version = image_manifest(Some(OCI_MANIFEST), OCI_CONFIG, OCI_LAYER_TAR)
        .replace(r#""schemaVersion":2"#, r#""schemaVersion":3"#);
    let err = parse(bad_version.as_bytes(), None).unwrap_err();
    assert!(err.to_string().contains("schemaVersion"), "{err}");

    let negative =
        image_manifest(Some(OCI_MANIFEST), OCI_CONFIG, OCI_LAYER_TAR).replace("2220094", "-5");
    let err = parse(negative.as_bytes(), None).unwrap_err();
    assert!(err.to_string().contains("layers[0].size"), "{err}");

    let unknown = image_manifest(
        Some("application/vnd.example+json"),
        OCI_CONFIG,
        OCI_LAYER_TAR,
    );
    assert!(matches!(
        parse(unknown.as_bytes(), None),
        Err(ManifestError::UnsupportedMediaType(_))
    ));
    assert!(parse(b"not json", None).is_err());
}

#[test]
fn chain_ids_follow_the_oci_definition() {
    let diff: Vec<Digest> = [D1, D2, D3].iter().map(|d| d.parse().unwrap()).collect();
    let chain = chain_ids(&diff);
    assert_eq!(chain[0], diff[0]);
    // Computed independently of `chain_ids`, with sha2 directly.
    let sha = |s: String| {
        use sha2::Digest as _;
        format!("sha256:{}", hex::encode(sha2::Sha256::digest(s.as_bytes())))
    };
    let c1 = sha(format!("{D1} {D2}"));
    let c2 = sha(format!("{c1} {D3}"));
    assert_eq!(chain[1].to_string(), c1);
    assert_eq!(chain[2].to_string(), c2);
    assert!(chain_ids(&[]).is_empty());
}

#[test]
fn config_diff_ids_are_validated() {
    let config = format!(
        r#"{{"architecture":"amd64","os":"linux","rootfs":{{"type":"layers","diff_ids":["{D1}"]}},
        "config":{{"Cmd":["sh"]}},"container_config":{{}},"docker_version":"20.10"}}"#
    );
    let parsed = parse_config(config.as_bytes()).unwrap();
    assert_eq!(
        diff_ids(&parsed).unwrap(),
        vec![D1.parse::<Digest>().unwrap()]
    );
    let bad = config.replace(D1, "sha256:xyz");
    let err = diff_ids(&parse_config(bad.as_bytes()).unwrap()).unwrap_err();
    assert!(err.to_string().contains("rootfs.diff_ids[0]"));
}
