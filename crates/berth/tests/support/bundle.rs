//! An OCI bundle for one test: a busybox root filesystem copied from the host and a
//! config.json built from a `serde_json::Value` shaped like `runc spec`'s default.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use serde_json::{json, Value};
use tempfile::TempDir;

/// The host's static busybox, the only binary in every test image.
const BUSYBOX: &str = "/bin/busybox";

/// Gives each container of this test process a distinct id and cgroup.
static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A bundle directory (`config.json` + `rootfs/`) removed when dropped.
#[derive(Debug)]
pub struct Bundle {
    dir: TempDir,
    id: String,
    config: Value,
}

impl Bundle {
    /// A bundle for a container named after `test`, with a unique id and cgroupsPath
    /// `/berth-test/<id>`, running `true` by default.
    pub fn new(test: &str) -> Bundle {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name: String = test
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let id = format!("{name}-{}-{n}", std::process::id());
        let dir = tempfile::Builder::new()
            .prefix("berth-bundle-")
            .tempdir()
            .expect("bundle dir");
        // Reachable by the mapped ids of a user-namespaced container.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod bundle");
        make_rootfs(&dir.path().join("rootfs"));
        let config = default_config(&id);
        Bundle { dir, id, config }
    }

    /// The container id this bundle is meant to run as.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The bundle directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The root filesystem directory.
    pub fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    /// The cgroupsPath in config.json (`/berth-test/<id>`).
    pub fn cgroups_path(&self) -> String {
        self.config["linux"]["cgroupsPath"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The whole config, for edits no builder method covers.
    pub fn config_mut(&mut self) -> &mut Value {
        &mut self.config
    }

    /// The config as it will be written.
    pub fn config(&self) -> &Value {
        &self.config
    }

    /// Writes config.json; the container helpers call this before create/run.
    pub fn save(&self) {
        let text = serde_json::to_string_pretty(&self.config).expect("serialize config");
        fs::write(self.dir.path().join("config.json"), text).expect("write config.json");
    }

    /// `process.args`.
    pub fn args(&mut self, args: &[&str]) -> &mut Self {
        self.config["process"]["args"] = json!(args);
        self
    }

    /// `process.args` = `sh -c SCRIPT`.
    pub fn sh(&mut self, script: &str) -> &mut Self {
        self.args(&["sh", "-c", script])
    }

    /// Appends `KEY=VALUE` entries to `process.env`.
    pub fn env(&mut self, vars: &[&str]) -> &mut Self {
        let env = self.config["process"]["env"]
            .as_array_mut()
            .expect("env is an array");
        env.extend(vars.iter().map(|v| json!(v)));
        self
    }

    /// `process.cwd`.
    pub fn cwd(&mut self, cwd: &str) -> &mut Self {
        self.config["process"]["cwd"] = json!(cwd);
        self
    }

    /// `hostname`.
    pub fn hostname(&mut self, name: &str) -> &mut Self {
        self.config["hostname"] = json!(name);
        self
    }

    /// `process.user`.
    pub fn user(&mut self, uid: u32, gid: u32, additional_gids: &[u32]) -> &mut Self {
        let mut user = json!({ "uid": uid, "gid": gid });
        if !additional_gids.is_empty() {
            user["additionalGids"] = json!(additional_gids);
        }
        self.config["process"]["user"] = user;
        self
    }

    /// Sets all of bounding/effective/permitted (and ambient empty) to `caps`.
    pub fn caps(&mut self, caps: &[&str]) -> &mut Self {
        self.config["process"]["capabilities"] = json!({
            "bounding": caps, "effective": caps, "permitted": caps, "inheritable": [], "ambient": [],
        });
        self
    }

    /// `process.rlimits` = one limit.
    pub fn rlimit(&mut self, kind: &str, soft: u64, hard: u64) -> &mut Self {
        self.config["process"]["rlimits"] = json!([{ "type": kind, "soft": soft, "hard": hard }]);
        self
    }

    /// `process.noNewPrivileges`.
    pub fn no_new_privileges(&mut self, on: bool) -> &mut Self {
        self.config["process"]["noNewPrivileges"] = json!(on);
        self
    }

    /// `process.terminal`.
    pub fn terminal(&mut self, on: bool) -> &mut Self {
        self.config["process"]["terminal"] = json!(on);
        self
    }

    /// `root.readonly`.
    pub fn readonly_root(&mut self, on: bool) -> &mut Self {
        self.config["root"]["readonly"] = json!(on);
        self
    }

    /// Appends a mount.
    pub fn mount(
        &mut self,
        destination: &str,
        kind: &str,
        source: &str,
        options: &[&str],
    ) -> &mut Self {
        let mounts = self.config["mounts"]
            .as_array_mut()
            .expect("mounts is an array");
        mounts.push(json!({
            "destination": destination, "type": kind, "source": source, "options": options,
        }));
        self
    }

    /// Merges `resources` into `linux.resources` (e.g. `{"memory": {"limit": 16777216}}`).
    pub fn resources(&mut self, resources: Value) -> &mut Self {
        let target = &mut self.config["linux"]["resources"];
        if let (Some(target), Some(extra)) = (target.as_object_mut(), resources.as_object()) {
            for (key, value) in extra {
                target.insert(key.clone(), value.clone());
            }
        }
        self
    }

    /// `linux.seccomp`.
    pub fn seccomp(&mut self, profile: Value) -> &mut Self {
        self.config["linux"]["seccomp"] = profile;
        self
    }

    /// `linux.sysctl`.
    pub fn sysctl(&mut self, key: &str, value: &str) -> &mut Self {
        self.config["linux"]["sysctl"][key] = json!(value);
        self
    }

    /// Appends a hook `{path, args}` to `hooks.<stage>` (e.g. `createRuntime`).
    pub fn hook(&mut self, stage: &str, path: &str, args: &[&str]) -> &mut Self {
        let hooks = &mut self.config["hooks"][stage];
        if !hooks.is_array() {
            *hooks = json!([]);
        }
        if let Some(list) = hooks.as_array_mut() {
            list.push(json!({ "path": path, "args": args }));
        }
        self
    }

    /// Adds a namespace of `kind` (or replaces the existing one), joined at `path` if given.
    pub fn namespace(&mut self, kind: &str, path: Option<&str>) -> &mut Self {
        self.remove_namespace(kind);
        let mut ns = json!({ "type": kind });
        if let Some(path) = path {
            ns["path"] = json!(path);
        }
        if let Some(list) = self.config["linux"]["namespaces"].as_array_mut() {
            list.push(ns);
        }
        self
    }

    /// Removes the namespace of `kind`, so the container shares the host's.
    pub fn remove_namespace(&mut self, kind: &str) -> &mut Self {
        if let Some(list) = self.config["linux"]["namespaces"].as_array_mut() {
            list.retain(|ns| ns["type"] != kind);
        }
        self
    }

    /// A user namespace mapping container ids 0..size to host ids from `host_id`.
    pub fn user_namespace(&mut self, host_id: u32, size: u32) -> &mut Self {
        self.namespace("user", None);
        let mapping = json!([{ "containerID": 0, "hostID": host_id, "size": size }]);
        self.config["linux"]["uidMappings"] = mapping.clone();
        self.config["linux"]["gidMappings"] = mapping;
        self
    }

    /// Replaces `linux.cgroupsPath` (keep it under `/berth-test/` so the guards find it).
    pub fn cgroups_path_set(&mut self, path: &str) -> &mut Self {
        self.config["linux"]["cgroupsPath"] = json!(path);
        self
    }
}

/// Builds `rootfs/`: busybox and one symlink per applet in /bin, the usual top-level
/// directories, and /etc/passwd and /etc/group with root and a uid-1000 user.
fn make_rootfs(rootfs: &Path) {
    for dir in [
        "bin",
        "dev",
        "etc",
        "home/user",
        "proc",
        "root",
        "sys",
        "tmp",
        "usr",
        "var",
        "mnt",
    ] {
        fs::create_dir_all(rootfs.join(dir)).expect("rootfs dir");
    }
    fs::set_permissions(rootfs.join("tmp"), fs::Permissions::from_mode(0o1777)).expect("chmod tmp");
    fs::copy(BUSYBOX, rootfs.join("bin/busybox"))
        .expect("copy busybox (is busybox-static installed?)");
    for applet in applets() {
        if applet != "busybox" {
            symlink("busybox", rootfs.join("bin").join(applet)).expect("applet symlink");
        }
    }
    fs::write(
        rootfs.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n",
    )
    .expect("passwd");
    fs::write(
        rootfs.join("etc/group"),
        "root:x:0:\nuser:x:1000:\nextra:x:2000:user\n",
    )
    .expect("group");
}

/// `busybox --list`, asked once per test process.
fn applets() -> &'static [String] {
    static APPLETS: OnceLock<Vec<String>> = OnceLock::new();
    APPLETS.get_or_init(|| {
        let out = Command::new(BUSYBOX)
            .arg("--list")
            .output()
            .expect("run busybox --list");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.is_empty() && !l.contains('/'))
            .map(str::to_string)
            .collect()
    })
}

/// runc 1.1's `runc spec` config, with terminal off, a writable root, a unique cgroupsPath
/// and Docker's default capability set instead of runc's three (so that tests can show a
/// capability being present and then removed).
fn default_config(id: &str) -> Value {
    let caps = json!([
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FSETID",
        "CAP_FOWNER",
        "CAP_MKNOD",
        "CAP_NET_RAW",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETFCAP",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_KILL",
        "CAP_AUDIT_WRITE"
    ]);
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": { "uid": 0, "gid": 0 },
            "args": ["true"],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm"
            ],
            "cwd": "/",
            "capabilities": {
                "bounding": caps, "effective": caps, "permitted": caps,
                "inheritable": [], "ambient": []
            },
            "rlimits": [{ "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 }],
            "noNewPrivileges": true
        },
        "root": { "path": "rootfs", "readonly": false },
        "hostname": "berth-test",
        "mounts": [
            { "destination": "/proc", "type": "proc", "source": "proc" },
            { "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
              "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] },
            { "destination": "/dev/pts", "type": "devpts", "source": "devpts",
              "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"] },
            { "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
              "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
            { "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
              "options": ["nosuid", "noexec", "nodev"] },
            { "destination": "/sys", "type": "sysfs", "source": "sysfs",
              "options": ["nosuid", "noexec", "nodev", "ro"] },
            { "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
              "options": ["nosuid", "noexec", "nodev", "relatime", "ro"] }
        ],
        "linux": {
            "cgroupsPath": format!("/berth-test/{id}"),
            "resources": { "devices": [{ "allow": false, "access": "rwm" }] },
            "namespaces": [
                { "type": "pid" }, { "type": "network" }, { "type": "ipc" },
                { "type": "uts" }, { "type": "mount" }
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                "/proc/scsi"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    })
}
