//! images, inspect, history, tag, rmi, prune, save/load, import, push/pull, search.

use crate::engine::images::busybox_tar;
use crate::engine::registry::Registry;
use crate::engine::{scope, CONFIGURED, IMAGE};

#[test]
fn images_inspect_history_tag_rmi() {
    let t = scope();
    let listed = t.docker_ok(&["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"]);
    assert!(
        listed.lines().any(|l| l.starts_with(&format!("{IMAGE} "))),
        "docker images:\n{listed}"
    );
    let id = t.inspect(IMAGE, "{{.Id}}");
    assert!(id.starts_with("sha256:") && id.len() == 71, "image id {id}");
    let config: serde_json::Value =
        serde_json::from_str(&t.inspect(CONFIGURED, "{{json .Config}}")).unwrap();
    assert_eq!(
        config["Cmd"],
        serde_json::json!(["sh", "-c", "echo configured $GREETING"])
    );
    assert_eq!(config["WorkingDir"], "/data");
    assert!(
        config["Env"].as_array().unwrap().iter().any(|e| e == "X=1"),
        "{config}"
    );
    assert_eq!(t.inspect(IMAGE, "{{.Os}}/{{.Architecture}}"), "linux/amd64");
    assert_eq!(t.inspect(IMAGE, "{{len .RootFS.Layers}}"), "1");

    let history = t.docker_ok(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.ID}}|{{.CreatedBy}}",
        IMAGE,
    ]);
    assert_eq!(
        history.lines().count(),
        1,
        "one layer, one history row:\n{history}"
    );
    assert!(
        history.starts_with(&id),
        "history's top row is the image:\n{history}"
    );

    let tag = format!("{}/tagged:v1", t.token());
    t.docker_ok(&["tag", IMAGE, &tag]);
    assert_eq!(t.inspect(&tag, "{{.Id}}"), id, "a tag names the same image");
    let out = t.docker_ok(&["rmi", &tag]);
    assert!(
        out.contains(&format!("Untagged: {tag}")),
        "rmi of a second tag:\n{out}"
    );
    assert_eq!(t.inspect(IMAGE, "{{.Id}}"), id, "untagging kept the image");
    let err = t.docker_fails(&["image", "inspect", &tag]);
    assert!(err.contains("No such image"), "{err}");
}

#[test]
fn rmi_refuses_an_image_in_use_and_prune_removes_unused_labelled_ones() {
    let t = scope();
    let tar = busybox_tar(&t).to_string_lossy().into_owned();
    let (used, unused) = (
        format!("{}/used:1", t.token()),
        format!("{}/unused:1", t.token()),
    );
    // Distinct labels make distinct images (same layer, different config).
    let label = format!("LABEL {}", t.label());
    t.docker_ok(&[
        "import",
        "--change",
        &label,
        "--change",
        "ENV WHICH=used",
        &tar,
        &used,
    ]);
    t.docker_ok(&[
        "import",
        "--change",
        &label,
        "--change",
        "ENV WHICH=unused",
        &tar,
        &unused,
    ]);
    let container = t.name("user");
    t.docker_ok(&["create", "--name", &container, &used, "true"]);
    let err = t.docker_fails(&["rmi", &used]);
    assert!(
        err.contains("conflict: unable to remove repository reference")
            && err.contains("must force"),
        "rmi of an image in use: {err}"
    );

    let filter = format!("label={}", t.label());
    let out = t.docker_ok(&["image", "prune", "-a", "-f", "--filter", &filter]);
    assert!(
        out.contains(&format!("untagged: {unused}")),
        "image prune:\n{out}"
    );
    assert!(
        !out.contains(&used),
        "prune removed an image in use:\n{out}"
    );
    assert!(t
        .docker_fails(&["image", "inspect", &unused])
        .contains("No such image"));
    t.inspect(&used, "{{.Id}}");
}

#[test]
fn save_then_load_round_trips() {
    let t = scope();
    let tag = format!("{}/saved:1", t.token());
    t.docker_ok(&["tag", CONFIGURED, &tag]);
    let id = t.inspect(&tag, "{{.Id}}");
    let tar = t.dir().join(format!("{}-save.tar", t.token()));
    let tar_path = tar.to_string_lossy().into_owned();
    t.docker_ok(&["save", "-o", &tar_path, &tag]);
    let listing = std::process::Command::new("tar")
        .arg("-tf")
        .arg(&tar)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing.lines().any(|l| l == "manifest.json"),
        "docker save archive:\n{listing}"
    );
    t.docker_ok(&["rmi", &tag]);
    let out = t.docker_ok(&["load", "-i", &tar_path]);
    std::fs::remove_file(&tar).unwrap();
    assert!(
        out.contains(&format!("Loaded image: {tag}")),
        "docker load:\n{out}"
    );
    assert_eq!(
        t.inspect(&tag, "{{.Id}}"),
        id,
        "the loaded image has the saved id"
    );
    assert_eq!(t.docker_ok(&["run", "--rm", &tag]), "configured hi\n");
}

#[test]
fn import_with_changes_makes_a_runnable_image() {
    let t = scope();
    let tar = busybox_tar(&t).to_string_lossy().into_owned();
    let tag = format!("{}/imported:1", t.token());
    let out = t.docker_ok(&[
        "import",
        "--change",
        "CMD [\"echo\", \"imported\"]",
        "--change",
        "ENV Z=9",
        "-m",
        "by e2e",
        &tar,
        &tag,
    ]);
    assert_eq!(
        out.trim(),
        t.inspect(&tag, "{{.Id}}"),
        "import prints the id"
    );
    assert_eq!(t.docker_ok(&["run", "--rm", &tag]), "imported\n");
    assert_eq!(
        t.docker_ok(&["run", "--rm", &tag, "sh", "-c", "echo $Z"]),
        "9\n"
    );
    assert_eq!(t.inspect(&tag, "{{.Comment}}"), "by e2e");
}

#[test]
fn push_to_and_pull_from_a_local_registry() {
    let t = scope();
    let Some(registry) = Registry::start(&t.dir().join(format!("{}-registry", t.token()))) else {
        return;
    };
    let remote = format!("{}/{}/bb:1", registry.addr, t.token());
    t.docker_ok(&["tag", CONFIGURED, &remote]);
    let id = t.inspect(&remote, "{{.Id}}");
    let pushed = t.docker_ok(&["push", &remote]);
    assert!(pushed.contains("digest: sha256:"), "docker push:\n{pushed}");
    t.docker_ok(&["rmi", &remote]);
    let pulled = t.docker_ok(&["pull", &remote]);
    assert!(pulled.contains("Digest: sha256:"), "docker pull:\n{pulled}");
    assert_eq!(
        t.inspect(&remote, "{{.Id}}"),
        id,
        "the pulled image is the pushed one"
    );
    let digests = t.inspect(&remote, "{{join .RepoDigests \",\"}}");
    assert!(
        digests.starts_with(&format!("{}/{}/bb@sha256:", registry.addr, t.token())),
        "RepoDigests {digests}"
    );
    assert_eq!(t.docker_ok(&["run", "--rm", &remote]), "configured hi\n");
    let err = t.docker_fails(&["pull", &format!("{}/{}/nosuch:1", registry.addr, t.token())]);
    assert!(
        err.contains("not found") || err.contains("unknown"),
        "pull of a missing repository: {err}"
    );
}

#[test]
fn search_fails_with_a_clear_message() {
    let t = scope();
    let done = t.docker(&["search", "busybox"]);
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(
        !done.status.success(),
        "docker search succeeded without a registry"
    );
    assert!(
        err.starts_with("Error response from daemon: "),
        "docker search: {err}"
    );
    assert!(
        err.lines().count() <= 2 && !err.contains("panicked"),
        "docker search: {err}"
    );
}
