//! `process.user`: uid, gid, additional gids, umask; and the user's home directory.

use super::ProcessError;
use nix::sys::stat::{umask, Mode};
use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};

/// Sets the supplementary groups to exactly `gids` (clearing the runtime's own).
///
/// In a user namespace whose `/proc/self/setgroups` is `deny`, the kernel refuses
/// `setgroups(2)` altogether: nothing is set there, and asking for gids is an error.
pub fn set_groups(gids: &[u32]) -> Result<(), ProcessError> {
    if setgroups_denied() {
        if gids.is_empty() {
            return Ok(());
        }
        return Err(ProcessError::SetgroupsDenied {
            gids: gids.to_vec(),
        });
    }
    let groups: Vec<Gid> = gids.iter().copied().map(Gid::from_raw).collect();
    setgroups(&groups).map_err(|source| ProcessError::Setgroups {
        gids: gids.to_vec(),
        source,
    })
}

/// Whether this user namespace forbids `setgroups(2)`. Without a readable procfs the
/// answer is "no", and a refusal will be reported by `setgroups` itself.
fn setgroups_denied() -> bool {
    std::fs::read_to_string("/proc/self/setgroups").is_ok_and(|s| s.trim() == "deny")
}

/// Sets the real, effective and saved gid, then uid (gid first: after the uid switch the
/// process may no longer be allowed to change its gid).
pub fn set_ids(uid: u32, gid: u32) -> Result<(), ProcessError> {
    let g = Gid::from_raw(gid);
    setresgid(g, g, g).map_err(|source| ProcessError::Setgid { gid, source })?;
    let u = Uid::from_raw(uid);
    setresuid(u, u, u).map_err(|source| ProcessError::Setuid { uid, source })
}

/// Sets the umask (only the permission bits of `mask` count).
pub fn set_umask(mask: u32) {
    umask(Mode::from_bits_truncate(mask as libc::mode_t));
}

/// The home directory of `uid` in `/etc/passwd` of the current root (the container's,
/// once pivoted), or `/` when the file or the user is missing. The caller sets `HOME` to
/// it when the spec's environment has none, as runc does.
pub fn home_dir(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| home_in(&passwd, uid))
        .unwrap_or_else(|| "/".to_string())
}

/// The home directory of `uid` in the text of a passwd file
/// (`name:password:uid:gid:gecos:home:shell`).
fn home_in(passwd: &str, uid: u32) -> Option<String> {
    passwd
        .lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            let entry_uid: u32 = fields.get(2)?.trim().parse().ok()?;
            let home = fields.get(5)?;
            (entry_uid == uid && !home.is_empty()).then(|| home.to_string())
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/sh
# a comment:x:7:7::/nope:
broken line
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
nohome:x:5:5:gecos::/bin/sh
app:x:1000:1000:App,,,:/home/app:/bin/sh
";

    #[test]
    fn home_of_a_listed_user() {
        assert_eq!(home_in(PASSWD, 0).as_deref(), Some("/root"));
        assert_eq!(home_in(PASSWD, 1000).as_deref(), Some("/home/app"));
    }

    #[test]
    fn no_home_for_unlisted_users_comments_or_empty_fields() {
        assert_eq!(home_in(PASSWD, 4242), None);
        assert_eq!(home_in(PASSWD, 7), None);
        assert_eq!(home_in(PASSWD, 5), None);
    }
}
