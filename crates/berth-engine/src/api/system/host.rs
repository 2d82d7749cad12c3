//! Facts about the host, read from `/proc` and `/etc`, for `/version` and `/info`.

use std::path::Path;

/// The running kernel's release (`uname -r`).
pub fn kernel_version() -> String {
    read_trimmed("/proc/sys/kernel/osrelease")
}

/// The host name.
pub fn hostname() -> String {
    read_trimmed("/proc/sys/kernel/hostname")
}

/// The architecture as Go (and so Docker's `/version`) names it: `amd64`, `arm64`.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// `PRETTY_NAME` and `VERSION_ID` of `/etc/os-release` (or `/usr/lib/os-release`).
pub fn os_release() -> (String, String) {
    let text = std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .unwrap_or_default();
    let field = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim().trim_matches('"').to_string())
            .unwrap_or_default()
    };
    let pretty = field("PRETTY_NAME");
    (
        if pretty.is_empty() {
            "Linux".to_string()
        } else {
            pretty
        },
        field("VERSION_ID"),
    )
}

/// Bytes of memory (`MemTotal` of `/proc/meminfo`).
pub fn mem_total() -> i64 {
    std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix("MemTotal:")?;
            let kib: i64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
            Some(kib * 1024)
        })
        .unwrap_or(0)
}

/// CPUs this process may run on.
pub fn ncpu() -> i64 {
    std::thread::available_parallelism()
        .map(|n| n.get() as i64)
        .unwrap_or(1)
}

/// Whether the kernel forwards IPv4 (containers need it for outbound traffic).
pub fn ipv4_forwarding() -> bool {
    read_trimmed("/proc/sys/net/ipv4/ip_forward") == "1"
}

/// Open descriptors of the daemon.
pub fn open_fds() -> i64 {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as i64)
        .unwrap_or(0)
}

/// Threads of the daemon (Docker reports goroutines in the same field).
pub fn threads() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Threads:")?.trim().parse().ok())
        .unwrap_or(0)
}

fn read_trimmed(path: impl AsRef<Path>) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}
