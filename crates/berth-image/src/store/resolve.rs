//! Finding an image by name, id, id prefix or digest, as docker does.

use std::collections::BTreeSet;

use super::names::Names;
use super::{name_key, ImageStore, Result, StoreError};
use crate::digest::Digest;
use crate::reference::Reference;

impl ImageStore {
    /// The image `text` names: a reference (`busybox`, `docker.io/library/busybox:1`,
    /// `busybox@sha256:…`), an image id (`sha256:<config hex>` or the bare hex), a unique
    /// prefix of an id (`3f57d9401f8d`), or a manifest digest. Returns the digest the
    /// image is recorded by.
    pub fn resolve(&self, text: &str) -> Result<Digest> {
        let names = self.names.read()?;
        self.resolve_in(&names, text).map(|(digest, _)| digest)
    }

    /// Like [`resolve`](Self::resolve), and the name that matched when `text` was a name
    /// rather than an id.
    pub fn resolve_name(&self, text: &str) -> Result<(Digest, Option<Reference>)> {
        let names = self.names.read()?;
        let (digest, key) = self.resolve_in(&names, text)?;
        Ok((digest, key.and_then(|k| Reference::parse(&k).ok())))
    }

    /// Like [`resolve`](Self::resolve); also says which name matched, if it was a name.
    pub(super) fn resolve_in(&self, names: &Names, text: &str) -> Result<(Digest, Option<String>)> {
        let text = text.trim();
        let id_hex = text.strip_prefix("sha256:").unwrap_or(text);
        let is_hex = !id_hex.is_empty()
            && id_hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        // A full id first (as docker does), then a name, then an id prefix.
        if is_hex && id_hex.len() == 64 {
            if let Some(found) = self.find_by_id(names, id_hex, true)? {
                return Ok((found, None));
            }
        }
        if let Ok(reference) = Reference::parse(text) {
            let key = name_key(&reference);
            if let Some(digest) = names.names.get(&key) {
                return Ok((digest.clone(), Some(key)));
            }
            // `name@digest` of an image known under another name of the same repository.
            if let Some(pinned) = reference.digest() {
                let repo = reference.name();
                let known = names.names.iter().any(|(k, d)| {
                    d == pinned && Reference::parse(k).is_ok_and(|r| r.name() == repo)
                });
                if known {
                    return Ok((pinned.clone(), None));
                }
            }
        }
        if is_hex && id_hex.len() < 64 {
            if let Some(found) = self.find_by_id(names, id_hex, false)? {
                return Ok((found, None));
            }
        }
        Err(StoreError::NotFound(text.to_string()))
    }

    /// The image whose id (or record digest, when `full`) is `hex`, or starts with it.
    fn find_by_id(&self, names: &Names, hex: &str, full: bool) -> Result<Option<Digest>> {
        let mut found: BTreeSet<Digest> = BTreeSet::new();
        for digest in &names.images {
            if full && digest.hex() == hex {
                return Ok(Some(digest.clone()));
            }
            let Ok(image) = self.image(digest) else {
                continue;
            };
            let id = image.config_digest.hex();
            if (full && id == hex) || (!full && id.starts_with(hex)) {
                found.insert(digest.clone());
            }
        }
        // Two records (say, an index and its platform manifest) may share an id: that is
        // one image for the user, and docker would pick it too.
        let ids: BTreeSet<Digest> = found
            .iter()
            .filter_map(|d| self.image(d).ok().map(|i| i.config_digest))
            .collect();
        match ids.len() {
            0 => Ok(None),
            1 => Ok(found.into_iter().next()),
            _ => Err(StoreError::Ambiguous(hex.to_string())),
        }
    }
}
