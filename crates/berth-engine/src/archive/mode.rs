//! File metadata as Docker's API shows it: Go's `os.FileMode` and RFC 3339 times.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::sys::stat::{FileStat, SFlag};

const MODE_DIR: u32 = 1 << 31;
const MODE_SYMLINK: u32 = 1 << 27;
const MODE_DEVICE: u32 = 1 << 26;
const MODE_NAMED_PIPE: u32 = 1 << 25;
const MODE_SOCKET: u32 = 1 << 24;
const MODE_SETUID: u32 = 1 << 23;
const MODE_SETGID: u32 = 1 << 22;
const MODE_CHAR_DEVICE: u32 = 1 << 21;
const MODE_STICKY: u32 = 1 << 20;

/// Go's `os.FileMode` for a Unix `st_mode`.
pub(super) fn go_file_mode(st_mode: u32) -> u32 {
    let mut mode = st_mode & 0o777;
    mode |= match SFlag::from_bits_truncate(st_mode) & SFlag::S_IFMT {
        SFlag::S_IFDIR => MODE_DIR,
        SFlag::S_IFLNK => MODE_SYMLINK,
        SFlag::S_IFBLK => MODE_DEVICE,
        SFlag::S_IFCHR => MODE_DEVICE | MODE_CHAR_DEVICE,
        SFlag::S_IFIFO => MODE_NAMED_PIPE,
        SFlag::S_IFSOCK => MODE_SOCKET,
        _ => 0,
    };
    for (unix, go) in [
        (0o4000, MODE_SETUID),
        (0o2000, MODE_SETGID),
        (0o1000, MODE_STICKY),
    ] {
        if st_mode & unix != 0 {
            mode |= go;
        }
    }
    mode
}

/// The kind of file `stat` describes.
pub(super) fn kind(stat: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT
}

/// Go's RFC 3339 with nanoseconds (trailing zeros dropped), in UTC.
pub(super) fn rfc3339(seconds: i64, nanos: i64) -> String {
    let time = if seconds >= 0 {
        UNIX_EPOCH + Duration::new(seconds.unsigned_abs(), nanos.clamp(0, 999_999_999) as u32)
    } else {
        UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs())
    };
    let text = humantime::format_rfc3339_nanos(clamp(time)).to_string();
    // "2024-01-02T03:04:05.120000000Z" -> "2024-01-02T03:04:05.12Z"
    match text.strip_suffix('Z').and_then(|t| t.split_once('.')) {
        Some((whole, fraction)) => {
            let fraction = fraction.trim_end_matches('0');
            if fraction.is_empty() {
                format!("{whole}Z")
            } else {
                format!("{whole}.{fraction}Z")
            }
        }
        None => text,
    }
}

/// humantime formats years 0 to 9999 only.
fn clamp(time: SystemTime) -> SystemTime {
    time.max(UNIX_EPOCH)
        .min(UNIX_EPOCH + Duration::from_secs(253_402_300_799))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_use_gos_bits() {
        assert_eq!(go_file_mode(0o040755), (1 << 31) | 0o755);
        assert_eq!(go_file_mode(0o120777), (1 << 27) | 0o777);
        assert_eq!(go_file_mode(0o104755), (1 << 23) | 0o755);
        assert_eq!(go_file_mode(0o020666), (1 << 26) | (1 << 21) | 0o666);
        assert_eq!(go_file_mode(0o041777), (1 << 31) | (1 << 20) | 0o777);
    }

    #[test]
    fn times_drop_trailing_zeros() {
        assert_eq!(rfc3339(1_000_000_000, 0), "2001-09-09T01:46:40Z");
        assert_eq!(
            rfc3339(1_000_000_000, 120_000_000),
            "2001-09-09T01:46:40.12Z"
        );
    }
}
