//! Shared harness for the end-to-end tests of the image and registry verbs: the `berth`
//! binary run with a private data root and credentials file, servers started as children
//! (berth's registry, distribution) behind guards that kill them even when a test
//! panics, and hand-made tar archives (busybox root filesystems, hostile members).
//!
//! Each test file pulls this in with `mod e2e;` and uses only part of it.
#![allow(dead_code)]

pub mod berth;
pub mod http;
pub mod images;
pub mod servers;
pub mod tarball;

#[allow(unused_imports)]
pub use berth::{Env, Outcome};

use sha2::{Digest as _, Sha256};

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Panics unless every file in `dir` (a `blobs/sha256` directory) hashes to its name.
pub fn assert_blobs_hash(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let bytes = std::fs::read(entry.path()).unwrap();
        assert_eq!(
            sha256(&bytes),
            format!("sha256:{name}"),
            "blob {} does not hash to its name",
            entry.path().display()
        );
    }
}

/// A name no other test (or concurrent run) uses.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}{}x{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Whether `program` can be run; tests that need a missing peer say so and skip, unless
/// `BERTH_E2E_REQUIRE_PEERS=1` (CI) makes that a failure.
pub fn have(program: &str) -> bool {
    let found = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("BERTH_E2E_REQUIRE_PEERS").is_none(),
            "`{program}` is required (BERTH_E2E_REQUIRE_PEERS is set) but not installed"
        );
        eprintln!("skipping: `{program}` is not installed");
    }
    found
}
