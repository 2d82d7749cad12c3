//! build_spec as a whole: the rules that span modules.

use super::*;

/// A context for a container `0123456789abcdef...` on an empty rootfs.
pub(crate) fn context() -> SpecContext {
    SpecContext {
        id: "0123456789abcdef0123456789abcdef".into(),
        rootfs: PathBuf::from("/nonexistent/rootfs"),
        network: NetworkNamespace::New,
        host_uts: false,
        mounts: Vec::new(),
        resolv_conf: None,
        hosts: None,
        hostname_file: None,
        init_binary: None,
        cgroup_path: "/berth/0123456789ab".into(),
        join_ipc: None,
        join_pid: None,
    }
}
