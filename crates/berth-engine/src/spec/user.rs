//! `--user USER[:GROUP]` and `--group-add`, resolved against the container's own
//! `/etc/passwd` and `/etc/group` as Docker (runc's `GetExecUser`) does:
//!
//! - No user: root (uid 0, gid 0).
//! - A name must be in passwd; a number need not be (gid then stays 0).
//! - An explicit group (name from group, or number) sets the gid; without one the gid is
//!   the passwd entry's, and every group listing the user's name as a member becomes a
//!   supplementary group.
//! - `--group-add` entries (names or numbers) are appended to the supplementary groups.

use std::fs;
use std::path::Path;

use super::SpecError;

/// The resolved identity of the container's process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecUser {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Supplementary group ids.
    pub additional_gids: Vec<u32>,
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
}

struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

/// Resolves `user` (`""`, `name`, `uid`, `name:group`, `uid:gid`, ...) and `group_add`
/// in `rootfs`.
pub fn resolve(rootfs: &Path, user: &str, group_add: &[String]) -> Result<ExecUser, SpecError> {
    let passwd = read_passwd(&rootfs.join("etc/passwd"));
    let groups = read_group(&rootfs.join("etc/group"));
    let (user_part, group_part) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };

    let mut uid = 0;
    let mut gid = 0;
    let mut matched_name = None;
    if user_part.is_empty() {
        if let Some(root) = passwd.iter().find(|p| p.uid == 0) {
            gid = root.gid;
            matched_name = Some(root.name.clone());
        }
    } else if let Some(entry) = passwd
        .iter()
        .find(|p| p.name == user_part || user_part.parse() == Ok(p.uid))
    {
        uid = entry.uid;
        gid = entry.gid;
        matched_name = Some(entry.name.clone());
    } else if let Ok(number) = user_part.parse::<u32>() {
        uid = number;
    } else {
        return Err(SpecError::Invalid(format!(
            "unable to find user {user_part}: no matching entries in passwd file"
        )));
    }

    let mut additional_gids = Vec::new();
    match group_part.filter(|g| !g.is_empty()) {
        Some(group) => gid = lookup_group(&groups, group)?,
        None => {
            if let Some(name) = matched_name {
                additional_gids.extend(
                    groups
                        .iter()
                        .filter(|g| g.members.contains(&name))
                        .map(|g| g.gid),
                );
            }
        }
    }
    for group in group_add {
        let added = lookup_group(&groups, group)?;
        if !additional_gids.contains(&added) {
            additional_gids.push(added);
        }
    }
    Ok(ExecUser {
        uid,
        gid,
        additional_gids,
    })
}

fn lookup_group(groups: &[GroupEntry], group: &str) -> Result<u32, SpecError> {
    if let Some(entry) = groups
        .iter()
        .find(|g| g.name == group || group.parse() == Ok(g.gid))
    {
        return Ok(entry.gid);
    }
    group.parse().map_err(|_| {
        SpecError::Invalid(format!(
            "unable to find group {group}: no matching entries in group file"
        ))
    })
}

/// The entries of a passwd file; a missing or unreadable file has none, and malformed
/// lines are skipped (as libc does).
fn read_passwd(path: &Path) -> Vec<PasswdEntry> {
    read_lines(path)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            Some(PasswdEntry {
                name: fields.first()?.to_string(),
                uid: fields.get(2)?.parse().ok()?,
                gid: fields.get(3)?.parse().ok()?,
            })
        })
        .collect()
}

fn read_group(path: &Path) -> Vec<GroupEntry> {
    read_lines(path)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            Some(GroupEntry {
                name: fields.first()?.to_string(),
                gid: fields.get(2)?.parse().ok()?,
                members: fields
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .filter(|s| !s.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

fn read_lines(path: &Path) -> impl Iterator<Item = String> {
    // The files belong to the image: a symlink out of the rootfs is not followed.
    let text = match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() => fs::read_to_string(path).unwrap_or_default(),
        _ => String::new(),
    };
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect::<Vec<_>>()
        .into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rootfs() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("etc")).unwrap();
        fs::write(
            dir.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nwww:x:33:33::/var/www:/bin/false\nbad line\n",
        )
        .unwrap();
        fs::write(
            dir.path().join("etc/group"),
            "root:x:0:\nwww:x:33:\naudio:x:29:www,bob\nvideo:x:44:bob\nstaff:x:50:\n",
        )
        .unwrap();
        dir
    }

    fn user(uid: u32, gid: u32, additional_gids: &[u32]) -> ExecUser {
        ExecUser {
            uid,
            gid,
            additional_gids: additional_gids.to_vec(),
        }
    }

    #[test]
    fn default_is_root() {
        let dir = rootfs();
        assert_eq!(resolve(dir.path(), "", &[]).unwrap(), user(0, 0, &[]));
    }

    #[test]
    fn name_gets_its_gid_and_memberships() {
        let dir = rootfs();
        assert_eq!(
            resolve(dir.path(), "www", &[]).unwrap(),
            user(33, 33, &[29])
        );
        // A number found in passwd is that user, memberships included.
        assert_eq!(resolve(dir.path(), "33", &[]).unwrap(), user(33, 33, &[29]));
    }

    #[test]
    fn unknown_number_is_fine_with_gid_zero() {
        let dir = rootfs();
        assert_eq!(
            resolve(dir.path(), "1234", &[]).unwrap(),
            user(1234, 0, &[])
        );
        assert_eq!(
            resolve(dir.path(), "1234:77", &[]).unwrap(),
            user(1234, 77, &[])
        );
    }

    #[test]
    fn explicit_group_replaces_gid_and_memberships() {
        let dir = rootfs();
        assert_eq!(
            resolve(dir.path(), "www:video", &[]).unwrap(),
            user(33, 44, &[])
        );
    }

    #[test]
    fn group_add_appends_names_and_numbers() {
        let dir = rootfs();
        let added = ["staff".to_string(), "1000".to_string(), "audio".to_string()];
        assert_eq!(
            resolve(dir.path(), "www", &added).unwrap(),
            user(33, 33, &[29, 50, 1000])
        );
    }

    #[test]
    fn unknown_names_are_errors_in_dockers_words() {
        let dir = rootfs();
        assert_eq!(
            resolve(dir.path(), "nobody", &[]),
            Err(SpecError::Invalid(
                "unable to find user nobody: no matching entries in passwd file".into()
            ))
        );
        assert_eq!(
            resolve(dir.path(), "www:wheel", &[]),
            Err(SpecError::Invalid(
                "unable to find group wheel: no matching entries in group file".into()
            ))
        );
        assert!(resolve(dir.path(), "", &["wheel".to_string()]).is_err());
    }

    #[test]
    fn missing_files_allow_only_numbers() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(resolve(dir.path(), "5:6", &[]).unwrap(), user(5, 6, &[]));
        assert!(resolve(dir.path(), "root", &[]).is_err());
    }
}
