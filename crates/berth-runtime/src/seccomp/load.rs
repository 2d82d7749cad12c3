//! Installing a compiled filter with one `seccomp(2)` call.
//!
//! Nothing here allocates or touches libseccomp, so [`load`] is safe in a child forked
//! from a multi-threaded process.

use super::SeccompError;
use nix::errno::Errno;

/// One classic-BPF instruction, laid out as the kernel's `struct sock_filter`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Instruction {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

/// The size of one instruction in the exported program.
const INSTRUCTION_SIZE: usize = std::mem::size_of::<Instruction>();

impl Instruction {
    /// Splits a program as libseccomp exports it (native-endian `sock_filter`s).
    pub(super) fn parse_all(bytes: &[u8]) -> Result<Vec<Instruction>, SeccompError> {
        if bytes.len() % INSTRUCTION_SIZE != 0 {
            return Err(SeccompError::Export(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "the exported filter is {} bytes, not a multiple of {INSTRUCTION_SIZE}",
                    bytes.len()
                ),
            )));
        }
        Ok(bytes
            .chunks_exact(INSTRUCTION_SIZE)
            .map(|c| Instruction {
                code: u16::from_ne_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect())
    }
}

/// The kernel's `struct sock_fprog`.
#[repr(C)]
struct Program {
    len: libc::c_ushort,
    filter: *const Instruction,
}

/// Installs `instructions` on the calling thread with `SECCOMP_SET_MODE_FILTER`.
pub(super) fn load(instructions: &[Instruction], flags: libc::c_ulong) -> Result<(), SeccompError> {
    let Ok(len) = libc::c_ushort::try_from(instructions.len()) else {
        return Err(SeccompError::Load {
            hint: ": the filter has more instructions than BPF allows",
            source: Errno::E2BIG,
        });
    };
    let program = Program {
        len,
        filter: instructions.as_ptr(),
    };
    // SAFETY: `program` points at `len` valid instructions that outlive the call; the
    // kernel copies the program and keeps no pointer into our memory.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &program as *const Program,
        )
    };
    match ret {
        0 => Ok(()),
        // With SECCOMP_FILTER_FLAG_TSYNC the kernel returns the id of the thread that
        // could not be synchronized.
        tid if tid > 0 => Err(SeccompError::Tsync { tid }),
        _ => {
            let errno = Errno::last();
            let hint = match errno {
                Errno::EACCES => ": set noNewPrivileges or load it while holding CAP_SYS_ADMIN",
                Errno::EINVAL => ": the kernel refused the program or one of its flags",
                Errno::EFAULT => ": the program is not readable",
                _ => "",
            };
            Err(SeccompError::Load {
                hint,
                source: errno,
            })
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parse_rejects_truncated_program() {
        assert!(Instruction::parse_all(&[0u8; 12]).is_err());
    }

    #[test]
    fn parse_reads_native_endian_fields() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&0x0006u16.to_ne_bytes());
        bytes.extend_from_slice(&[1, 2]);
        bytes.extend_from_slice(&0x7fff_0000u32.to_ne_bytes());
        let parsed = Instruction::parse_all(&bytes).unwrap();
        assert_eq!(
            parsed,
            vec![Instruction {
                code: 6,
                jt: 1,
                jf: 2,
                k: 0x7fff_0000
            }]
        );
    }
}
