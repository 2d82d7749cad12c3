//! `process.rlimits`: resource limits, set with `setrlimit(2)`.

use super::ProcessError;
use nix::sys::resource::{setrlimit, Resource};
use oci_spec::runtime::{PosixRlimit, PosixRlimitType};

/// Sets every rlimit of the spec; the first the kernel refuses is an error naming it.
pub fn apply(rlimits: &[PosixRlimit]) -> Result<(), ProcessError> {
    for rlimit in rlimits {
        setrlimit(resource(rlimit.typ()), rlimit.soft(), rlimit.hard()).map_err(|source| {
            ProcessError::Rlimit {
                resource: rlimit.typ().to_string(),
                soft: rlimit.soft(),
                hard: rlimit.hard(),
                source,
            }
        })?;
    }
    Ok(())
}

/// The kernel's resource for a spec rlimit type.
pub fn resource(typ: PosixRlimitType) -> Resource {
    match typ {
        PosixRlimitType::RlimitCpu => Resource::RLIMIT_CPU,
        PosixRlimitType::RlimitFsize => Resource::RLIMIT_FSIZE,
        PosixRlimitType::RlimitData => Resource::RLIMIT_DATA,
        PosixRlimitType::RlimitStack => Resource::RLIMIT_STACK,
        PosixRlimitType::RlimitCore => Resource::RLIMIT_CORE,
        PosixRlimitType::RlimitRss => Resource::RLIMIT_RSS,
        PosixRlimitType::RlimitNproc => Resource::RLIMIT_NPROC,
        PosixRlimitType::RlimitNofile => Resource::RLIMIT_NOFILE,
        PosixRlimitType::RlimitMemlock => Resource::RLIMIT_MEMLOCK,
        PosixRlimitType::RlimitAs => Resource::RLIMIT_AS,
        PosixRlimitType::RlimitLocks => Resource::RLIMIT_LOCKS,
        PosixRlimitType::RlimitSigpending => Resource::RLIMIT_SIGPENDING,
        PosixRlimitType::RlimitMsgqueue => Resource::RLIMIT_MSGQUEUE,
        PosixRlimitType::RlimitNice => Resource::RLIMIT_NICE,
        PosixRlimitType::RlimitRtprio => Resource::RLIMIT_RTPRIO,
        PosixRlimitType::RlimitRttime => Resource::RLIMIT_RTTIME,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_spec_rlimit_maps_to_the_kernel_resource_of_the_same_name() {
        let all = [
            ("RLIMIT_CPU", libc::RLIMIT_CPU),
            ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE),
            ("RLIMIT_DATA", libc::RLIMIT_DATA),
            ("RLIMIT_STACK", libc::RLIMIT_STACK),
            ("RLIMIT_CORE", libc::RLIMIT_CORE),
            ("RLIMIT_RSS", libc::RLIMIT_RSS),
            ("RLIMIT_NPROC", libc::RLIMIT_NPROC),
            ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE),
            ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK),
            ("RLIMIT_AS", libc::RLIMIT_AS),
            ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS),
            ("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING),
            ("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE),
            ("RLIMIT_NICE", libc::RLIMIT_NICE),
            ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO),
            ("RLIMIT_RTTIME", libc::RLIMIT_RTTIME),
        ];
        for (name, number) in all {
            let typ: PosixRlimitType = name.parse().unwrap();
            assert_eq!(resource(typ) as i32, number as i32, "{name}");
        }
    }
}
