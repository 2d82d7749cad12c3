//! Volumes and bind mounts: create, ls, inspect, rm, prune, sharing, seeding, --mount,
//! --volumes-from and anonymous volumes' removal.

use crate::engine::images::SEED;
use crate::engine::{scope, CONFIGURED, IMAGE};

#[test]
fn volume_create_ls_inspect_rm_prune() {
    let t = scope();
    let (kept, pruned) = (t.name("kept"), t.name("pruned"));
    let label = t.label();
    for v in [&kept, &pruned] {
        assert_eq!(
            t.docker_ok(&["volume", "create", "--label", &label, v])
                .trim(),
            v.as_str()
        );
    }
    let listed = t.docker_ok(&[
        "volume",
        "ls",
        "--filter",
        &format!("label={label}"),
        "--format",
        "{{.Name}} {{.Driver}}",
    ]);
    let mut rows: Vec<&str> = listed.lines().collect();
    rows.sort();
    let mut expected = [format!("{kept} local"), format!("{pruned} local")];
    expected.sort();
    assert_eq!(rows, expected);
    let info: serde_json::Value =
        serde_json::from_str(&t.docker_ok(&["volume", "inspect", &kept])).unwrap();
    assert_eq!(info[0]["Name"], kept.as_str());
    assert_eq!(info[0]["Driver"], "local");
    assert_eq!(info[0]["Scope"], "local");
    assert_eq!(info[0]["Labels"]["e2e.scope"], t.token());
    assert!(
        info[0]["Mountpoint"].as_str().unwrap().ends_with("/_data"),
        "{info}"
    );

    let user = t.name("user");
    t.docker_ok(&[
        "create",
        "--name",
        &user,
        "-v",
        &format!("{kept}:/v"),
        IMAGE,
        "true",
    ]);
    let err = t.docker_fails(&["volume", "rm", &kept]);
    assert!(
        err.contains("volume is in use"),
        "rm of a volume in use: {err}"
    );
    // Since API 1.42 prune takes named volumes only with `--all`; the private dockerd
    // speaks 1.41, where it took them anyway (and `--all` is refused).
    let label_filter = format!("label={label}");
    let mut prune = vec!["volume", "prune", "-f", "--filter", label_filter.as_str()];
    if t.kind() == crate::engine::Kind::Berth {
        prune.push("--all");
    }
    let out = t.docker_ok(&prune);
    assert!(
        out.contains(&pruned) && !out.contains(&kept),
        "volume prune:\n{out}"
    );
    t.docker_ok(&["rm", &user]);
    t.docker_ok(&["volume", "rm", &kept]);
    let err = t.docker_fails(&["volume", "inspect", &kept]);
    assert!(err.contains("no such volume"), "{err}");
}

#[test]
fn a_named_volume_is_shared_and_outlives_containers() {
    let t = scope();
    let volume = t.name("shared");
    let mount = format!("{volume}:/shared");
    t.docker_ok(&[
        "run",
        "--rm",
        "-v",
        &mount,
        IMAGE,
        "sh",
        "-c",
        "echo one > /shared/f",
    ]);
    let reader = t.name("reader");
    t.docker_ok(&[
        "run", "-d", "--name", &reader, "-v", &mount, IMAGE, "sleep", "1000",
    ]);
    t.docker_ok(&[
        "run",
        "--rm",
        "-v",
        &mount,
        IMAGE,
        "sh",
        "-c",
        "echo two >> /shared/f",
    ]);
    assert_eq!(
        t.docker_ok(&["exec", &reader, "cat", "/shared/f"]),
        "one\ntwo\n"
    );
    assert_eq!(
        t.inspect(&volume, "{{.Name}}"),
        volume,
        "docker run -v NAME: created the volume"
    );
}

#[test]
fn volumes_are_seeded_from_the_image() {
    let t = scope();
    // Anonymous (the image's VOLUME) and named volumes both start with the image's /data.
    assert_eq!(
        t.docker_ok(&["run", "--rm", CONFIGURED, "cat", "/data/seed.txt"]),
        SEED
    );
    let volume = t.name("seeded");
    let mount = format!("{volume}:/data");
    assert_eq!(
        t.docker_ok(&[
            "run",
            "--rm",
            "-v",
            &mount,
            CONFIGURED,
            "cat",
            "/data/seed.txt"
        ]),
        SEED
    );
    // Only an empty volume is seeded: a change stays.
    t.docker_ok(&[
        "run",
        "--rm",
        "-v",
        &mount,
        CONFIGURED,
        "sh",
        "-c",
        "echo changed > /data/seed.txt",
    ]);
    assert_eq!(
        t.docker_ok(&[
            "run",
            "--rm",
            "-v",
            &mount,
            CONFIGURED,
            "cat",
            "/data/seed.txt"
        ]),
        "changed\n"
    );
}

#[test]
fn bind_mounts_read_write_and_read_only() {
    let t = scope();
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("in.txt"), "from host\n").unwrap();
    let rw = format!("{}:/bind", host.path().display());
    let out = t.docker_ok(&[
        "run",
        "--rm",
        "-v",
        &rw,
        IMAGE,
        "sh",
        "-c",
        "cat /bind/in.txt; echo out > /bind/out.txt",
    ]);
    assert_eq!(out, "from host\n");
    assert_eq!(
        std::fs::read_to_string(host.path().join("out.txt")).unwrap(),
        "out\n"
    );
    let ro = format!("{}:/bind:ro", host.path().display());
    let out = t.docker_ok(&[
        "run",
        "--rm",
        "-v",
        &ro,
        IMAGE,
        "sh",
        "-c",
        "cat /bind/in.txt; touch /bind/x 2>/dev/null && echo wrote || echo read-only",
    ]);
    assert_eq!(out, "from host\nread-only\n");
    assert!(!host.path().join("x").exists());
}

#[test]
fn mount_long_syntax_for_volume_bind_and_tmpfs() {
    let t = scope();
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("in.txt"), "bound\n").unwrap();
    let volume = t.name("long");
    let name = t.name("mounts");
    let bind = format!(
        "type=bind,source={},target=/b,readonly",
        host.path().display()
    );
    let vol = format!("type=volume,source={volume},target=/v");
    t.docker_ok(&[
        "run",
        "-d",
        "--name",
        &name,
        "--mount",
        &bind,
        "--mount",
        &vol,
        "--mount",
        "type=tmpfs,target=/t,tmpfs-size=1m",
        IMAGE,
        "sleep",
        "1000",
    ]);
    let script = "cat /b/in.txt; touch /b/x 2>/dev/null || echo b-ro; echo v > /v/f && echo v-rw; \
                  grep ' /t ' /proc/mounts | cut -d' ' -f3";
    assert_eq!(
        t.docker_ok(&["exec", &name, "sh", "-c", script]),
        "bound\nb-ro\nv-rw\ntmpfs\n"
    );
    let mounts: serde_json::Value =
        serde_json::from_str(&t.inspect(&name, "{{json .Mounts}}")).unwrap();
    let mut kinds: Vec<String> = mounts
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{} {} {}",
                m["Type"].as_str().unwrap(),
                m["Destination"].as_str().unwrap(),
                m["RW"]
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        ["bind /b false", "tmpfs /t true", "volume /v true"],
        "Mounts: {mounts}"
    );
}

#[test]
fn volumes_from_and_rm_v_removes_anonymous_volumes() {
    let t = scope();
    let source = t.name("source");
    t.docker_ok(&[
        "run",
        "--name",
        &source,
        "-v",
        "/anon",
        CONFIGURED,
        "sh",
        "-c",
        "echo from-source > /anon/f",
    ]);
    let out = t.docker_ok(&[
        "run",
        "--rm",
        "--volumes-from",
        &source,
        IMAGE,
        "cat",
        "/anon/f",
        "/data/seed.txt",
    ]);
    assert_eq!(
        out,
        format!("from-source\n{SEED}"),
        "--volumes-from brings both volumes"
    );
    let volumes = t.inspect(&source, "{{range .Mounts}}{{.Name}} {{end}}");
    let volumes: Vec<&str> = volumes.split_whitespace().collect();
    assert_eq!(volumes.len(), 2, "two anonymous volumes: {volumes:?}");
    t.docker_ok(&["rm", "-v", &source]);
    for v in volumes {
        let err = t.docker_fails(&["volume", "inspect", v]);
        assert!(
            err.contains("no such volume"),
            "anonymous volume {v} survived rm -v: {err}"
        );
    }
    // Without -v they stay.
    let kept = t.name("keeps");
    t.docker_ok(&["run", "--name", &kept, "-v", "/anon", IMAGE, "true"]);
    let volume = t.inspect(&kept, "{{range .Mounts}}{{.Name}}{{end}}");
    t.docker_ok(&["rm", &kept]);
    t.docker_ok(&["volume", "inspect", &volume]);
    t.docker_ok(&["volume", "rm", &volume]);
}
