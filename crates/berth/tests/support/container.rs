//! A container under test: the runtime commands that take its id, and a guard whose Drop
//! removes everything it may have left, so a failing test does not leak into the others.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::cleanup::{force_clean, leftovers};
use super::runtime::wait_timeout;
use super::{Bundle, Outcome, Runtime};

/// A container id bound to its bundle and runtime; deleted (forcibly) when dropped.
#[derive(Debug)]
pub struct Container<'r> {
    rt: &'r Runtime,
    bundle: Bundle,
}

impl Runtime {
    /// Takes ownership of `bundle`; the container is cleaned up when the guard drops.
    pub fn container(&self, bundle: Bundle) -> Container<'_> {
        Container { rt: self, bundle }
    }
}

impl<'r> Container<'r> {
    /// The container id.
    pub fn id(&self) -> &str {
        self.bundle.id()
    }

    /// The bundle (config edits must happen before create/run).
    pub fn bundle(&self) -> &Bundle {
        &self.bundle
    }

    /// The bundle, for config edits between runs.
    pub fn bundle_mut(&mut self) -> &mut Bundle {
        &mut self.bundle
    }

    /// The runtime driving this container.
    pub fn runtime(&self) -> &'r Runtime {
        self.rt
    }

    /// `run --bundle B ID [extra]` in the foreground: the container's output and exit code.
    pub fn run(&self, extra: &[&str]) -> Outcome {
        self.bundle.save();
        let mut args = vec!["run", "--bundle", self.path_str()];
        args.extend_from_slice(extra);
        args.push(self.id());
        self.rt.cmd(args)
    }

    /// `create --bundle B [extra] ID`. The container's stdio go to this command's capture
    /// files, so what the process prints is lost; use [`Container::run`] or exec to observe.
    pub fn create(&self, extra: &[&str]) -> Outcome {
        self.bundle.save();
        let mut args = vec!["create", "--bundle", self.path_str()];
        args.extend_from_slice(extra);
        args.push(self.id());
        self.rt.cmd(args)
    }

    /// `start ID`.
    pub fn start(&self) -> Outcome {
        self.rt.cmd(["start", self.id()])
    }

    /// `state ID` parsed; panics if the command fails.
    #[track_caller]
    pub fn state(&self) -> Value {
        self.rt.cmd(["state", self.id()]).ok().json()
    }

    /// The `status` field of `state ID`.
    #[track_caller]
    pub fn status(&self) -> String {
        self.state()["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The container's init pid from `state ID`.
    #[track_caller]
    pub fn pid(&self) -> i32 {
        let pid = self.state()["pid"].as_i64().unwrap_or_default() as i32;
        assert!(pid > 0, "state has no pid");
        pid
    }

    /// `kill [extra] ID SIGNAL`.
    pub fn kill(&self, signal: &str, extra: &[&str]) -> Outcome {
        let mut args = vec!["kill"];
        args.extend_from_slice(extra);
        args.push(self.id());
        args.push(signal);
        self.rt.cmd(args)
    }

    /// `delete [extra] ID`.
    pub fn delete(&self, extra: &[&str]) -> Outcome {
        let mut args = vec!["delete"];
        args.extend_from_slice(extra);
        args.push(self.id());
        self.rt.cmd(args)
    }

    /// `exec [extra] ID ARGS...`.
    pub fn exec(&self, extra: &[&str], args: &[&str]) -> Outcome {
        let mut all = vec!["exec"];
        all.extend_from_slice(extra);
        all.push(self.id());
        all.extend_from_slice(args);
        self.rt.cmd(all)
    }

    /// Any command of the form `VERB [extra] ID`.
    pub fn verb(&self, verb: &str, extra: &[&str]) -> Outcome {
        let mut args = vec![verb];
        args.extend_from_slice(extra);
        args.push(self.id());
        self.rt.cmd(args)
    }

    /// create + start a long-running `sleep` (or whatever the bundle runs) and check that it
    /// is running.
    #[track_caller]
    pub fn start_running(&self) {
        self.create(&[]).ok();
        self.start().ok();
        assert_eq!(self.status(), "running");
    }

    /// Polls `state` until the status is `want`, for at most 10 s.
    #[track_caller]
    pub fn wait_status(&self, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // Before `run` has created it, `state` fails: keep polling.
            let state = self.rt.cmd(["state", self.id()]);
            let status = if state.success() {
                state.json()["status"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            } else {
                String::new()
            };
            if status == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "status stayed {status:?}, wanted {want:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Existing cgroup directories of this container, in all hierarchies.
    pub fn cgroup_dirs(&self) -> Vec<std::path::PathBuf> {
        super::cgroup_dirs(&self.bundle.cgroups_path())
    }

    /// Reads a cgroup file (e.g. `memory.limit_in_bytes`, `pids.max`) from the first
    /// hierarchy that has it.
    pub fn cgroup_file(&self, name: &str) -> Option<String> {
        self.cgroup_dirs()
            .iter()
            .find_map(|dir| std::fs::read_to_string(dir.join(name)).ok())
            .map(|s| s.trim().to_string())
    }

    /// Everything this container left on the host.
    pub fn leftovers(&self) -> Vec<String> {
        leftovers(
            self.rt.root(),
            self.id(),
            self.bundle.path(),
            &self.bundle.cgroups_path(),
        )
    }

    /// Panics listing what is left, if anything. Processes and cgroups can take a moment to
    /// go after the runtime returns, so this polls briefly before failing.
    #[track_caller]
    pub fn assert_nothing_left(&self) {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let left = self.leftovers();
            if left.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "container {} left behind:\n  {}",
                self.id(),
                left.join("\n  ")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn path_str(&self) -> &str {
        path_str(self.bundle.path())
    }
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        // Best effort: the runtime first (it knows its own state), then by force.
        // Never panic here: this may run while a failed test unwinds.
        let mut cmd = self.rt.command(["delete", "--force", self.id()]);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Ok(mut child) = cmd.spawn() {
            if wait_timeout(&mut child, Duration::from_secs(10)).is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        force_clean(self.id(), self.bundle.path(), &self.bundle.cgroups_path());
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}
