//! Layers: unpacking layer tars into directories, packing directories into layer tars, and
//! the snapshot directories that overlayfs stacks into a container's rootfs.
//!
//! ## Terms
//!
//! - **blob digest**: the digest of the layer as stored and moved (maybe compressed).
//! - **diffID**: the digest of the *uncompressed* tar; the image config lists these.
//! - **whiteout**: `.wh.<name>` in a layer deletes `<name>` of the layers below;
//!   `.wh..wh..opq` in a directory hides everything the lower layers had in it.
//! - **apply mode** ([`WhiteoutMode::Apply`]): a layer is applied onto a flattened rootfs,
//!   whiteouts delete. **overlay mode** ([`WhiteoutMode::Overlay`]): a layer becomes one
//!   overlayfs lower directory; whiteouts become overlayfs whiteouts (char device 0/0 and
//!   the `trusted.overlay.opaque` xattr).
//! - **chain ID**: the identity of a stack of layers (`chain(n) = sha256(chain(n-1) + " " +
//!   diffID(n))`); a [`Snapshotter`] names snapshot directories by it.
//!
//! ## One pass
//!
//! [`unpack`] reads the stream once: the compressed bytes are hashed (blob digest), the
//! compression is recognised by its magic bytes and decoded, the decoded bytes are hashed
//! (diffID) and the tar is extracted, all while the bytes go by. A pull can therefore go
//! download -> verify -> decompress -> untar without a temporary file. Reading, decoding
//! and hashing run on a second thread, so that inflating and writing files overlap.
//!
//! ## Confinement
//!
//! Every path of a layer is resolved *inside* the target directory, as if it were `/`:
//! entry names are relative (a leading `/` is stripped, as docker does; `..` is refused),
//! and symlinks met on the way (planted by this layer or a lower one) are followed with
//! `openat2(RESOLVE_IN_ROOT)`, so that `/x` or `../../x` inside a symlink means the target's
//! own `x`. This is what docker's chrooted untar and containerd's `fs.RootPath` do; an entry
//! can therefore never create, change or link anything outside the target. Linux 5.6 or
//! newer is required (openat2).
//!
//! ## Crashes
//!
//! Nothing is fsynced per file. [`unpack`] makes its target visible by a rename only once
//! the layer is complete and verified; a [`Snapshotter`] also syncs the filesystem once
//! (`syncfs`) before that rename, so a visible snapshot is complete even after a power
//! loss. Leftover `*.tmp-*` directories are garbage.
//!
//! ## Limits
//!
//! - In overlay mode each layer is its own directory, so a hardlink can only point to an
//!   entry of the same layer (docker's and containerd's writers never do otherwise).
//! - [`pack`] writes holes of sparse files as zeros (unpacking GNU sparse entries keeps
//!   holes).

mod compression;
mod confined;
mod error;
mod extract;
mod meta;
mod name;
mod pack;
mod pipeline;
mod snapshot;
mod unpack;

pub use compression::Compression;
pub use error::LayerError;
pub use pack::{pack, pack_diff, PackOptions, PackResult};
pub use snapshot::{chain_id, mount_overlay, unmount, Prepared, Snapshotter};
pub use unpack::{
    apply, unpack, DeviceNodes, Ownership, UnpackOptions, UnpackResult, WhiteoutMode,
};

/// The read and write buffer size of the layer streams: big buffers keep syscalls and
/// decoder calls few.
const BUFFER_SIZE: usize = 256 * 1024;
