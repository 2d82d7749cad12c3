//! Running the `berth` binary with a private data root, credentials file and home.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};

/// A private world for `berth`: its data root, its credentials file (`$BERTH_CONFIG`) and a
/// `$HOME` of its own, so that `~/.docker/config.json` of the host is never read.
pub struct Env {
    pub dir: tempfile::TempDir,
}

/// What a finished `berth` command did.
#[derive(Debug)]
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// Panics with the whole output unless the command succeeded.
    pub fn ok(self, what: &str) -> Self {
        assert!(
            self.status.success(),
            "`{what}` failed ({}):\nstdout: {}\nstderr: {}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Panics unless the command failed with a one-line `berth: ...` message that contains
    /// every one of `needles` (case-insensitive).
    pub fn fails_with(self, what: &str, needles: &[&str]) -> Self {
        assert!(
            !self.status.success(),
            "`{what}` should have failed:\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        assert!(
            self.stderr.contains("berth: "),
            "`{what}`: no error message: {}",
            self.stderr
        );
        let lower = self.stderr.to_lowercase();
        for needle in needles {
            assert!(
                lower.contains(&needle.to_lowercase()),
                "`{what}`: the message should mention `{needle}`: {}",
                self.stderr
            );
        }
        self
    }
}

impl Env {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("berth-e2e-")
            .tempdir()
            .unwrap();
        for sub in ["data", "config", "home"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        Self { dir }
    }

    pub fn data_root(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn credentials_file(&self) -> PathBuf {
        self.dir.path().join("config/config.json")
    }

    /// A path inside this environment's temp dir.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `berth` with this environment (and no proxy: every peer is on loopback).
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
        cmd.env("BERTH_DATA_ROOT", self.data_root())
            .env("BERTH_CONFIG", self.dir.path().join("config"))
            .env("HOME", self.dir.path().join("home"))
            .env_remove("DOCKER_CONFIG")
            .stdin(Stdio::null());
        for var in [
            "http_proxy",
            "https_proxy",
            "all_proxy",
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    /// Runs `berth ARGS` to the end.
    pub fn run(&self, args: &[&str]) -> Outcome {
        self.run_with_stdin(args, None)
    }

    /// Runs `berth ARGS` with `input` on stdin.
    pub fn run_with_stdin(&self, args: &[&str], input: Option<&str>) -> Outcome {
        let mut cmd = self.command();
        cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        if input.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().unwrap();
        if let Some(input) = input {
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(input.as_bytes()).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        Outcome {
            status: out.status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs `berth ARGS` and panics unless it succeeds.
    pub fn ok(&self, args: &[&str]) -> Outcome {
        self.run(args).ok(&args.join(" "))
    }

    /// The image id `image inspect` reports for `name`.
    pub fn image_id(&self, name: &str) -> String {
        let out = self.ok(&["image", "inspect", name]);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        v[0]["Id"].as_str().unwrap().to_string()
    }

    /// The manifest digest `image inspect` reports for `name`.
    pub fn manifest_digest(&self, name: &str) -> String {
        let out = self.ok(&["image", "inspect", name]);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        v[0]["Descriptor"]["digest"].as_str().unwrap().to_string()
    }

    /// `berth images --format json`, one object per line.
    pub fn images_json(&self) -> Vec<serde_json::Value> {
        let out = self.ok(&["images", "--format", "json"]);
        out.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Every `repository:tag` `berth images` lists.
    pub fn image_names(&self) -> Vec<String> {
        self.images_json()
            .iter()
            .map(|i| {
                format!(
                    "{}:{}",
                    i["Repository"].as_str().unwrap(),
                    i["Tag"].as_str().unwrap()
                )
            })
            .collect()
    }

    /// Panics unless every blob in the content store hashes to its name (no partial or
    /// corrupt blob is visible).
    pub fn assert_blobs_intact(&self) {
        super::assert_blobs_hash(&self.data_root().join("content/blobs/sha256"));
    }
}
