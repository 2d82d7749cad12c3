//! The private dockerd answers, keeps to its own temp dir, and leaves nothing behind when
//! dropped, also when the test using it panics. Skipped (with a message) without root,
//! dockerd or docker.

use std::path::{Path, PathBuf};

use berth_testkit::PrivateDockerd;

/// Pids of the processes whose command line names `dir`.
fn processes_naming(dir: &Path) -> Vec<i32> {
    let marker = dir.as_os_str().as_encoded_bytes();
    std::fs::read_dir("/proc")
        .expect("read /proc")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.windows(marker.len()).any(|w| w == marker))
        })
        .collect()
}

fn assert_gone(dir: &Path) {
    assert!(!dir.exists(), "{} still exists", dir.display());
    assert_eq!(processes_naming(dir), Vec::<i32>::new(), "processes left");
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("read mountinfo");
    assert!(
        !mountinfo.contains(&*dir.to_string_lossy()),
        "mounts left under {}",
        dir.display()
    );
}

#[test]
fn answers_on_its_own_socket_and_cleans_up_on_drop() {
    let Some(dockerd) = PrivateDockerd::builder().prefix("berth-testkit-").start() else {
        return;
    };
    let dir = dockerd.dir().to_path_buf();
    assert!(dockerd.socket().starts_with(&dir));
    assert_eq!(
        dockerd.host(),
        format!("unix://{}", dockerd.socket().display())
    );
    let root = dockerd.docker_ok(&["info", "--format", "{{.DockerRootDir}}"]);
    assert_eq!(Path::new(root.trim()), dockerd.data_root());
    let driver = dockerd.docker_ok(&["info", "--format", "{{.Driver}}"]);
    assert_eq!(driver.trim(), "vfs");
    assert!(!processes_naming(&dir).is_empty(), "dockerd names its dir");
    drop(dockerd);
    assert_gone(&dir);
}

#[test]
fn cleans_up_when_the_test_panics() {
    let (tx, rx) = std::sync::mpsc::channel::<PathBuf>();
    let result = std::thread::spawn(move || {
        let Some(dockerd) = PrivateDockerd::builder().prefix("berth-testkit-").start() else {
            return;
        };
        tx.send(dockerd.dir().to_path_buf()).expect("send the dir");
        panic!("a failing test");
    })
    .join();
    let Ok(dir) = rx.recv() else {
        return; // skipped: no dockerd
    };
    assert!(result.is_err(), "the thread panicked");
    assert_gone(&dir);
}
