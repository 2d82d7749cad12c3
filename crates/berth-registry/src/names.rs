//! Repository names and tags, checked against the distribution spec's grammar.
//!
//! ```text
//! name      [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
//! tag       [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
//! ```
//!
//! A valid name is also a safe relative path (no `..`, no empty or absolute components).

use berth_image::reference::{validate_repository, validate_tag};

use crate::error::{ApiError, ErrorCode};

/// Checks a repository name (the grammar is berth-image's, shared with the client).
pub fn check_name(name: &str) -> Result<(), ApiError> {
    validate_repository(name, name).map_err(|_| {
        ApiError::new(
            ErrorCode::NameInvalid,
            format!("invalid repository name `{name}`"),
        )
        .detail(serde_json::json!({ "name": name }))
    })
}

/// Checks a tag.
pub fn check_tag(tag: &str) -> Result<(), ApiError> {
    validate_tag(tag, tag).map_err(|_| {
        ApiError::new(ErrorCode::TagInvalid, format!("invalid tag `{tag}`"))
            .detail(serde_json::json!({ "tag": tag }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "library/busybox", "a/b/c", "a.b_c__d---e", "0x/y-1"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "A", "a//b", "/a", "a/", "../a", "a/..", "a..b", "a___b", "-a", "a-", "a b",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_name(&"a".repeat(256)).is_err());
    }

    #[test]
    fn tags() {
        for ok in ["latest", "v1.0", "_x", "A-b.c_d"] {
            assert!(check_tag(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".x", "-x", "a/b", "a:b", &"a".repeat(129)] {
            assert!(check_tag(bad).is_err(), "{bad}");
        }
    }
}
