//! Namespaces: which ones a container gets new, and which existing ones it joins by path.

use std::fs::File;
use std::path::PathBuf;

use nix::sched::{setns, CloneFlags};
use oci_spec::runtime::{LinuxNamespaceType, Spec};

/// A namespace that could not be joined.
#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    /// The namespace file could not be opened.
    #[error("open namespace `{kind}` at `{path}`")]
    Open {
        /// The namespace type.
        kind: String,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// setns(2) refused it.
    #[error("join namespace `{kind}` at `{path}`")]
    Join {
        /// The namespace type.
        kind: String,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: nix::Error,
    },
    /// The time namespace cannot be created by clone(2).
    #[error("a new `time` namespace is not supported yet; join one by path instead")]
    TimeUnsupported,
}

/// The namespaces of a container.
#[derive(Debug, Clone)]
pub struct NamespacePlan {
    /// Namespaces created new, as clone(2) flags.
    pub new: CloneFlags,
    /// Namespaces joined, in the order they must be joined (user first).
    pub join: Vec<(LinuxNamespaceType, PathBuf)>,
    /// A new cgroup namespace, created by the init itself once the runtime has moved it
    /// into its cgroup (so that cgroup is the namespace's root); not in `new`.
    pub new_cgroup_after_join: bool,
}

/// The clone(2) flag of a namespace type.
pub fn clone_flag(kind: LinuxNamespaceType) -> CloneFlags {
    match kind {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
    }
}

impl Default for NamespacePlan {
    fn default() -> Self {
        Self {
            new: CloneFlags::empty(),
            join: Vec::new(),
            new_cgroup_after_join: false,
        }
    }
}

impl NamespacePlan {
    /// The plan for `spec`.
    pub fn of(spec: &Spec) -> Result<Self, NamespaceError> {
        let mut plan = NamespacePlan::default();
        let namespaces = spec
            .linux()
            .as_ref()
            .and_then(|l| l.namespaces().clone())
            .unwrap_or_default();
        for ns in namespaces {
            match ns.path() {
                Some(path) => plan.join.push((ns.typ(), path.clone())),
                None if ns.typ() == LinuxNamespaceType::Time => {
                    return Err(NamespaceError::TimeUnsupported)
                }
                None if ns.typ() == LinuxNamespaceType::Cgroup => plan.new_cgroup_after_join = true,
                None => plan.new |= clone_flag(ns.typ()),
            }
        }
        // Joining the user namespace first gives the capabilities to join the others;
        // joining the mount namespace last keeps host paths usable while joining.
        plan.join.sort_by_key(|(kind, _)| match kind {
            LinuxNamespaceType::User => 0,
            LinuxNamespaceType::Mount => 2,
            _ => 1,
        });
        Ok(plan)
    }

    /// Whether the container has a user namespace of its own.
    pub fn new_user(&self) -> bool {
        self.new.contains(CloneFlags::CLONE_NEWUSER)
    }

    /// Whether the container is in a user namespace (new or joined).
    pub fn in_user_ns(&self) -> bool {
        self.new_user()
            || self
                .join
                .iter()
                .any(|(k, _)| *k == LinuxNamespaceType::User)
    }

    /// Whether the container gets a new mount namespace.
    pub fn new_mount(&self) -> bool {
        self.new.contains(CloneFlags::CLONE_NEWNS)
    }
}

/// Joins each namespace of `join`, in order.
pub fn join_all(join: &[(LinuxNamespaceType, PathBuf)]) -> Result<(), NamespaceError> {
    // Open every file first: after joining the mount namespace, host paths may be gone.
    let files = join
        .iter()
        .map(|(kind, path)| {
            File::open(path)
                .map(|f| (f, *kind, path))
                .map_err(|source| NamespaceError::Open {
                    kind: kind.to_string(),
                    path: path.clone(),
                    source,
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (file, kind, path) in files {
        setns(&file, clone_flag(kind)).map_err(|source| NamespaceError::Join {
            kind: kind.to_string(),
            path: path.clone(),
            source,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_orders_user_first_and_mount_last() {
        let spec: Spec = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.2.0",
            "linux": {"namespaces": [
                {"type": "mount", "path": "/proc/1/ns/mnt"},
                {"type": "network", "path": "/proc/1/ns/net"},
                {"type": "user", "path": "/proc/1/ns/user"},
                {"type": "pid"}, {"type": "uts"}
            ]}
        }))
        .unwrap();
        let plan = NamespacePlan::of(&spec).unwrap();
        assert_eq!(
            plan.new,
            CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWUTS
        );
        let kinds: Vec<_> = plan.join.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            kinds,
            [
                LinuxNamespaceType::User,
                LinuxNamespaceType::Network,
                LinuxNamespaceType::Mount
            ]
        );
        assert!(plan.in_user_ns());
        assert!(!plan.new_user());
    }
}
