//! [`Scope`]: one test's share of the engine. Everything the test creates carries the
//! scope's random token in its name (containers, networks, volumes, image repositories)
//! or in the label `e2e.scope`, so that tests run side by side on one daemon and each
//! removes only its own things.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

use super::Engine;

/// A random 64-bit number (std's hasher keys are random per process; the counter makes
/// each call differ).
pub fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// A /24 in 10.128.0.0/9 picked at random, for networks that must not collide with those
/// of tests running beside this one.
pub fn random_subnet() -> String {
    let n = random_u64();
    format!("10.{}.{}.0/24", 128 + (n % 128), (n >> 8) % 256)
}

/// One test's share of the engine; see the module documentation.
#[derive(Debug)]
pub struct Scope {
    engine: Arc<Engine>,
    token: String,
}

impl Scope {
    /// A new scope with a fresh token.
    pub fn new(engine: Arc<Engine>) -> Scope {
        let token = format!("e2e{:08x}", random_u64() as u32);
        Scope { engine, token }
    }

    /// The token: lower case letters and digits, valid in every kind of name.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// `TOKEN-what`: a name of this test's own.
    pub fn name(&self, what: &str) -> String {
        format!("{}-{what}", self.token)
    }

    /// `e2e.scope=TOKEN`, for `--label` and `--filter label=`.
    pub fn label(&self) -> String {
        format!("e2e.scope={}", self.token)
    }

    fn listed(&self, args: &[&str]) -> Vec<String> {
        let done = self.engine.docker(args);
        String::from_utf8_lossy(&done.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }

    fn remove_all(&self, verb: &[&str], items: Vec<String>) {
        if items.is_empty() {
            return;
        }
        let mut args = verb.to_vec();
        args.extend(items.iter().map(String::as_str));
        let _ = self.engine.docker(&args);
    }

    fn clean_up(&self) {
        let by_name = format!("name={}", self.token);
        let by_label = format!("label={}", self.label());
        let mut containers = self.listed(&["ps", "-aq", "--filter", &by_name]);
        containers.extend(self.listed(&["ps", "-aq", "--filter", &by_label]));
        containers.sort();
        containers.dedup();
        self.remove_all(&["rm", "-f", "-v"], containers);
        let networks = self.listed(&["network", "ls", "-q", "--filter", &by_name]);
        self.remove_all(&["network", "rm"], networks);
        let volumes = self.listed(&["volume", "ls", "-q", "--filter", &by_name]);
        self.remove_all(&["volume", "rm", "-f"], volumes);
        let images = self.listed(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
        let ours = images
            .into_iter()
            .filter(|i| i.contains(&self.token))
            .collect();
        self.remove_all(&["rmi", "-f"], ours);
    }
}

impl Deref for Scope {
    type Target = Engine;

    fn deref(&self) -> &Engine {
        &self.engine
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("{}", self.engine.log_tail());
        }
        self.clean_up();
    }
}
