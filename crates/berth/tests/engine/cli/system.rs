//! `docker version`, `info`, `system df`, `events`.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::engine::{scope, IMAGE};

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

#[test]
fn version_reports_client_and_server() {
    let t = scope();
    // `docker version` pings the daemon, negotiates the API version, then asks /version.
    let out = t.docker_ok(&["version"]);
    assert!(out.contains("Server:"), "docker version:\n{out}");
    let api = t.docker_ok(&["version", "--format", "{{.Server.APIVersion}}"]);
    let (major, minor) = api.trim().split_once('.').expect("API version MAJOR.MINOR");
    assert_eq!(major, "1", "server API version {api}");
    let minor: u32 = minor.parse().expect("numeric minor API version");
    assert!(minor >= 41, "server API version {api} is older than 1.41");
    let os = t.docker_ok(&["version", "--format", "{{.Server.Os}}/{{.Server.Arch}}"]);
    assert_eq!(os.trim(), "linux/amd64", "server platform");
}

#[test]
fn info_describes_the_host_and_counts() {
    let t = scope();
    let name = t.name("info");
    t.docker_ok(&["create", "--name", &name, IMAGE, "true"]);
    let info = t.docker_ok(&["info", "--format", "{{json .}}"]);
    let info: serde_json::Value = serde_json::from_str(&info).expect("docker info JSON");
    assert!(info["Containers"].as_u64().unwrap() >= 1, "{info}");
    assert!(info["ContainersStopped"].as_u64().unwrap() >= 1, "{info}");
    assert!(info["Images"].as_u64().unwrap() >= 2, "{info}");
    assert!(info["NCPU"].as_u64().unwrap() >= 1, "{info}");
    assert!(info["MemTotal"].as_u64().unwrap() > 0, "{info}");
    assert_eq!(info["OSType"], "linux", "{info}");
    assert!(
        matches!(info["CgroupVersion"].as_str(), Some("1" | "2")),
        "CgroupVersion in {info}"
    );
    assert!(!info["Driver"].as_str().unwrap_or("").is_empty(), "{info}");
    assert!(
        !info["ServerVersion"].as_str().unwrap_or("").is_empty(),
        "{info}"
    );
}

#[test]
fn system_df_lists_images_containers_and_volumes() {
    let t = scope();
    let volume = t.name("dfvol");
    let name = t.name("df");
    t.docker_ok(&["volume", "create", &volume]);
    let mount = format!("{volume}:/v");
    t.docker_ok(&["create", "--name", &name, "-v", &mount, IMAGE, "true"]);
    let out = t.docker_ok(&["system", "df"]);
    for row in ["Images", "Containers", "Local Volumes"] {
        assert!(
            out.contains(row),
            "no {row} row in docker system df:\n{out}"
        );
    }
    let verbose = t.docker_ok(&["system", "df", "-v"]);
    assert!(
        verbose.contains(&volume),
        "volume missing from df -v:\n{verbose}"
    );
    assert!(
        verbose.contains(&name),
        "container missing from df -v:\n{verbose}"
    );
    assert!(
        verbose.contains("busybox"),
        "image missing from df -v:\n{verbose}"
    );
}

#[test]
fn events_between_since_and_until_filtered_by_container() {
    let t = scope();
    let name = t.name("events");
    let since = unix_now().to_string();
    t.docker_ok(&["run", "--name", &name, IMAGE, "true"]);
    // --until in the near future: docker events streams until then and exits.
    let until = (unix_now() + 2).to_string();
    let filter = format!("container={name}");
    let out = t.docker_ok(&[
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "--filter",
        &filter,
        "--format",
        "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    let position = |action: &str| {
        lines
            .iter()
            .position(|l| *l == format!("container {action} {name}"))
            .unwrap_or_else(|| panic!("no `{action}` event for {name}:\n{out}"))
    };
    let (create, start, die) = (position("create"), position("start"), position("die"));
    assert!(create < start && start < die, "events out of order:\n{out}");
    assert!(
        lines.iter().all(|l| l.ends_with(&name)),
        "an event of another container passed the filter:\n{out}"
    );

    let only_die = t.docker_ok(&[
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "--filter",
        &filter,
        "--filter",
        "event=die",
        "--format",
        "{{.Action}} {{.Actor.Attributes.exitCode}}",
    ]);
    assert_eq!(only_die.trim(), "die 0", "events filtered by event=die");
}
