//! Mount options of config.json (fstab style) turned into mount(2) flags, propagation
//! changes and the filesystem's data string, and the sequence of mount calls they need.

use nix::mount::MsFlags;

/// What one option does to the flags of the first mount call.
enum Effect {
    Set(MsFlags),
    Clear(MsFlags),
    Propagation(MsFlags),
    /// A recursive change (`rro`, `rnosuid`, ...): mount_setattr(2) with AT_RECURSIVE,
    /// setting or clearing a `MOUNT_ATTR_*` bit.
    Recursive {
        clear: bool,
        attr: u64,
    },
    /// Options berth does not implement (id-mapped mounts, crun's `tmpcopyup`): refused
    /// rather than silently ignored.
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
        "rro" => Recursive {
            clear: false,
            attr: libc::MOUNT_ATTR_RDONLY,
        },
        "rrw" => Recursive {
            clear: true,
            attr: libc::MOUNT_ATTR_RDONLY,
        },
        "rnosuid" => Recursive {
            clear: false,
            attr: libc::MOUNT_ATTR_NOSUID,
        },
        "rsuid" => Recursive {
            clear: true,
            attr: libc::MOUNT_ATTR_NOSUID,
        },
        "rnodev" => Recursive {
            clear: false,
            attr: libc::MOUNT_ATTR_NODEV,
        },
        "rdev" => Recursive {
            clear: true,
            attr: libc::MOUNT_ATTR_NODEV,
        },
        "rnoexec" => Recursive {
            clear: false,
            attr: libc::MOUNT_ATTR_NOEXEC,
        },
        "rexec" => Recursive {
            clear: true,
            attr: libc::MOUNT_ATTR_NOEXEC,
        },
        "rnodiratime" => Recursive {
            clear: false,
            attr: libc::MOUNT_ATTR_NODIRATIME,
        },
        "rdiratime" => Recursive {
            clear: true,
            attr: libc::MOUNT_ATTR_NODIRATIME,
        },
        "rrelatime" => Recursive {
            clear: false,
            attr: libc::MOUNT_ATTR_RELATIME,
        },
        "rnorelatime" => Recursive {
            clear: true,
            attr: libc::MOUNT_ATTR_RELATIME,
        },
        "rnoatime" => Recursive {
            clear: false,
            attr: libc::MOUNT_ATTR_NOATIME,
        },
        "ratime" => Recursive {
            clear: true,
            attr: libc::MOUNT_ATTR_NOATIME,
        },
        "rstrictatime" => Recursive {
            clear: false,
            attr: libc::MOUNT_ATTR_STRICTATIME,
        },
        "rnostrictatime" => Recursive {
            clear: true,
            attr: libc::MOUNT_ATTR_STRICTATIME,
        },
        "idmap" | "ridmap" | "tmpcopyup" => Unsupported,
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
    /// `MOUNT_ATTR_*` bits to set and to clear on the whole mount tree (`rro`, ...).
    pub recursive: Option<Attr>,
}

/// The attributes of one mount_setattr(2) call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Attr {
    pub set: u64,
    pub clear: u64,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            flags: MsFlags::empty(),
            propagation: Vec::new(),
            data: Vec::new(),
            recursive: None,
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
                Some(Effect::Recursive { clear, attr }) => {
                    let rec = parsed.recursive.get_or_insert_with(Attr::default);
                    if clear {
                        rec.clear |= attr;
                    } else {
                        rec.set |= attr;
                        // The atime modes share one field: setting one clears the field.
                        if attr & libc::MOUNT_ATTR__ATIME == attr {
                            rec.clear |= libc::MOUNT_ATTR__ATIME;
                        }
                    }
                }
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
        if let Some(attr) = self.recursive {
            steps.push(Step::SetAttr(attr));
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
    /// A recursive change of mount attributes (mount_setattr(2)).
    SetAttr(Attr),
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
        assert_eq!(
            MountOptions::parse(&["tmpcopyup"]),
            Err("tmpcopyup".to_string())
        );
    }

    #[test]
    fn recursive_options_become_one_setattr_before_propagation() {
        let opts = MountOptions::parse(&["rbind", "rro", "rnosuid", "rexec", "rnoatime", "rslave"])
            .unwrap();
        let attr = Attr {
            set: libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NOATIME,
            clear: libc::MOUNT_ATTR_NOEXEC | libc::MOUNT_ATTR__ATIME,
        };
        assert_eq!(
            opts.steps(),
            vec![
                Step::Mount(MsFlags::MS_BIND | MsFlags::MS_REC),
                Step::SetAttr(attr),
                Step::Propagate(MsFlags::MS_SLAVE | MsFlags::MS_REC),
            ]
        );
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
