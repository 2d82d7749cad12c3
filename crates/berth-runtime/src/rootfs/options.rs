//! Mount options of config.json (fstab style) turned into mount(2) flags, propagation
//! changes and the filesystem's data string, and the sequence of mount calls they need.

use nix::mount::MsFlags;

/// What one option does to the flags of the first mount call.
enum Effect {
    Set(MsFlags),
    Clear(MsFlags),
    Propagation(MsFlags),
    /// Options the kernel's mount(2) cannot express (they need mount_setattr(2) or an
    /// id-mapped mount): refused rather than silently ignored.
    Unsupported,
}

fn effect(option: &str) -> Option<Effect> {
    use Effect::*;
    let effect = match option {
        "defaults" => Set(MsFlags::empty()),
        "ro" => Set(MsFlags::MS_RDONLY),
        "rw" => Clear(MsFlags::MS_RDONLY),
        "nosuid" => Set(MsFlags::MS_NOSUID),
        "suid" => Clear(MsFlags::MS_NOSUID),
        "nodev" => Set(MsFlags::MS_NODEV),
        "dev" => Clear(MsFlags::MS_NODEV),
        "noexec" => Set(MsFlags::MS_NOEXEC),
        "exec" => Clear(MsFlags::MS_NOEXEC),
        "sync" => Set(MsFlags::MS_SYNCHRONOUS),
        "async" => Clear(MsFlags::MS_SYNCHRONOUS),
        "dirsync" => Set(MsFlags::MS_DIRSYNC),
        "mand" => Set(MsFlags::MS_MANDLOCK),
        "nomand" => Clear(MsFlags::MS_MANDLOCK),
        "atime" => Clear(MsFlags::MS_NOATIME),
        "noatime" => Set(MsFlags::MS_NOATIME),
        "diratime" => Clear(MsFlags::MS_NODIRATIME),
        "nodiratime" => Set(MsFlags::MS_NODIRATIME),
        "relatime" => Set(MsFlags::MS_RELATIME),
        "norelatime" => Clear(MsFlags::MS_RELATIME),
        "strictatime" => Set(MsFlags::MS_STRICTATIME),
        "nostrictatime" => Clear(MsFlags::MS_STRICTATIME),
        "lazytime" => Set(MsFlags::MS_LAZYTIME),
        "nolazytime" => Clear(MsFlags::MS_LAZYTIME),
        "iversion" => Set(MsFlags::MS_I_VERSION),
        "noiversion" => Clear(MsFlags::MS_I_VERSION),
        "acl" => Set(MsFlags::MS_POSIXACL),
        "noacl" => Clear(MsFlags::MS_POSIXACL),
        "silent" => Set(MsFlags::MS_SILENT),
        "loud" => Clear(MsFlags::MS_SILENT),
        "remount" => Set(MsFlags::MS_REMOUNT),
        "bind" => Set(MsFlags::MS_BIND),
        "rbind" => Set(MsFlags::MS_BIND.union(MsFlags::MS_REC)),
        "private" => Propagation(MsFlags::MS_PRIVATE),
        "rprivate" => Propagation(MsFlags::MS_PRIVATE.union(MsFlags::MS_REC)),
        "shared" => Propagation(MsFlags::MS_SHARED),
        "rshared" => Propagation(MsFlags::MS_SHARED.union(MsFlags::MS_REC)),
        "slave" => Propagation(MsFlags::MS_SLAVE),
        "rslave" => Propagation(MsFlags::MS_SLAVE.union(MsFlags::MS_REC)),
        "unbindable" => Propagation(MsFlags::MS_UNBINDABLE),
        "runbindable" => Propagation(MsFlags::MS_UNBINDABLE.union(MsFlags::MS_REC)),
        "idmap" | "ridmap" | "tmpcopyup" | "rro" | "rrw" | "rnosuid" | "rsuid" | "rnodev"
        | "rdev" | "rnoexec" | "rexec" | "rnodiratime" | "rdiratime" | "rrelatime"
        | "rnorelatime" | "rnoatime" | "ratime" | "rstrictatime" | "rnostrictatime" => Unsupported,
        _ => return None,
    };
    Some(effect)
}

/// A mount entry's options, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MountOptions {
    /// Flags of the first mount(2) call, MS_BIND and MS_REC included.
    pub flags: MsFlags,
    /// Propagation changes, each applied with its own mount(2) call after the mount.
    pub propagation: Vec<MsFlags>,
    /// Options the kernel does not know as flags: the filesystem's data string.
    pub data: Vec<String>,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            flags: MsFlags::empty(),
            propagation: Vec::new(),
            data: Vec::new(),
        }
    }
}

impl MountOptions {
    /// Parses `options`; the first option that berth cannot honour is returned as `Err`.
    pub fn parse<S: AsRef<str>>(options: &[S]) -> Result<Self, String> {
        let mut parsed = MountOptions::default();
        for option in options {
            let option = option.as_ref();
            match effect(option) {
                Some(Effect::Set(flags)) => parsed.flags.insert(flags),
                Some(Effect::Clear(flags)) => parsed.flags.remove(flags),
                Some(Effect::Propagation(flags)) => parsed.propagation.push(flags),
                Some(Effect::Unsupported) => return Err(option.to_string()),
                None => parsed.data.push(option.to_string()),
            }
        }
        Ok(parsed)
    }

    /// Whether this is a bind mount (`bind`, `rbind`, or the `bind` type).
    pub fn is_bind(&self) -> bool {
        self.flags.contains(MsFlags::MS_BIND)
    }

    /// The data string for the filesystem, `None` when empty.
    pub fn data(&self) -> Option<String> {
        (!self.data.is_empty()).then(|| self.data.join(","))
    }

    /// The mount(2) calls this entry needs, in order. The kernel ignores every flag but
    /// MS_REC on a new bind mount, so ro, nosuid, ... need a second, remounting call.
    pub fn steps(&self) -> Vec<Step> {
        let mut steps = vec![Step::Mount(self.flags)];
        let per_mount = self.flags - (MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
        if self.is_bind() && !self.flags.contains(MsFlags::MS_REMOUNT) && !per_mount.is_empty() {
            steps.push(Step::Remount(
                per_mount | MsFlags::MS_BIND | MsFlags::MS_REMOUNT,
            ));
        }
        steps.extend(self.propagation.iter().map(|&flags| Step::Propagate(flags)));
        steps
    }
}

/// One mount(2) call on a mount entry's target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// The mount itself, with source, type and data.
    Mount(MsFlags),
    /// A remount of the bind mount just made, changing its per-mount flags.
    Remount(MsFlags),
    /// A change of propagation type.
    Propagate(MsFlags),
}

/// Parses `linux.rootfsPropagation`.
pub(crate) fn propagation(value: &str) -> Option<MsFlags> {
    match effect(value) {
        Some(Effect::Propagation(flags)) => Some(flags),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn flags_set_and_clear_in_order() {
        let opts = MountOptions::parse(&["ro", "nosuid", "rw", "noexec", "exec", "nodev"]).unwrap();
        assert_eq!(opts.flags, MsFlags::MS_NOSUID | MsFlags::MS_NODEV);
        assert!(opts.data.is_empty());
    }

    #[test]
    fn unknown_options_become_data() {
        let opts = MountOptions::parse(&["nosuid", "mode=755", "size=65536k"]).unwrap();
        assert_eq!(opts.data().as_deref(), Some("mode=755,size=65536k"));
        assert_eq!(opts.steps(), vec![Step::Mount(MsFlags::MS_NOSUID)]);
    }

    #[test]
    fn read_only_bind_needs_a_remount() {
        let opts = MountOptions::parse(&["rbind", "ro", "nosuid", "rprivate"]).unwrap();
        assert_eq!(
            opts.steps(),
            vec![
                Step::Mount(
                    MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID
                ),
                Step::Remount(
                    MsFlags::MS_BIND
                        | MsFlags::MS_REMOUNT
                        | MsFlags::MS_RDONLY
                        | MsFlags::MS_NOSUID
                ),
                Step::Propagate(MsFlags::MS_PRIVATE | MsFlags::MS_REC),
            ]
        );
    }

    #[test]
    fn plain_bind_is_one_call() {
        let opts = MountOptions::parse(&["bind"]).unwrap();
        assert_eq!(opts.steps(), vec![Step::Mount(MsFlags::MS_BIND)]);
    }

    #[test]
    fn atime_variants() {
        let opts = MountOptions::parse(&[
            "noatime",
            "nodiratime",
            "strictatime",
            "relatime",
            "norelatime",
        ])
        .unwrap();
        assert_eq!(
            opts.flags,
            MsFlags::MS_NOATIME | MsFlags::MS_NODIRATIME | MsFlags::MS_STRICTATIME
        );
    }

    #[test]
    fn idmap_is_refused() {
        assert_eq!(
            MountOptions::parse(&["bind", "idmap"]),
            Err("idmap".to_string())
        );
        assert_eq!(MountOptions::parse(&["rro"]), Err("rro".to_string()));
    }

    #[test]
    fn root_propagation_values() {
        assert_eq!(
            propagation("rslave"),
            Some(MsFlags::MS_SLAVE | MsFlags::MS_REC)
        );
        assert_eq!(propagation("private"), Some(MsFlags::MS_PRIVATE));
        assert_eq!(propagation("ro"), None);
        assert_eq!(propagation("bogus"), None);
    }
}
