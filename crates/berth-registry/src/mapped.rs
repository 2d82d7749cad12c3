//! Blob reads for GETs as memory maps handed to hyper as `Bytes`, so that serving a blob
//! copies each byte once (page cache to socket) instead of twice (page cache to a buffer,
//! buffer to socket).
//!
//! Safe because committed blobs are immutable: the content store only ever renames a
//! complete file into place and deletes by unlinking, never truncates or rewrites one, so
//! a mapping never loses its pages (no SIGBUS) and never sees them change. An unlinked
//! file's pages live until the last mapping goes.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;

use bytes::Bytes;

/// A read-only, private view of `len` bytes of a file.
struct Mapping {
    base: *mut libc::c_void,
    map_len: usize,
    skip: usize,
    len: usize,
}

// SAFETY: the mapping is read-only and its memory is never written through `base`; the
// pointer is only read from and unmapped once, in Drop.
unsafe impl Send for Mapping {}
// SAFETY: as above: shared references only read immutable memory.
unsafe impl Sync for Mapping {}

impl AsRef<[u8]> for Mapping {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `base + skip .. base + skip + len` lies within the live mapping of
        // `map_len = skip + len` bytes made in `map`, which stays mapped until Drop.
        unsafe { std::slice::from_raw_parts((self.base as *const u8).add(self.skip), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `base`/`map_len` are exactly what mmap returned, unmapped only here.
        unsafe {
            libc::munmap(self.base, self.map_len);
        }
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).ok().filter(|s| *s > 0).unwrap_or(4096)
}

fn map(file: &File, offset: u64, len: usize) -> io::Result<Mapping> {
    let aligned = offset - offset % page_size();
    let skip = usize::try_from(offset - aligned).map_err(io::Error::other)?;
    let map_len = skip + len;
    let file_offset = libc::off_t::try_from(aligned).map_err(io::Error::other)?;
    // SAFETY: a new read-only private mapping of a file descriptor we own; the kernel
    // checks the range; MAP_POPULATE reads the pages in now (we run on a blocking
    // thread), so that hyper's writes from async threads do not fault on disk reads.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            map_len,
            libc::PROT_READ,
            libc::MAP_PRIVATE | libc::MAP_POPULATE,
            file.as_raw_fd(),
            file_offset,
        )
    };
    if base == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(Mapping {
        base,
        map_len,
        skip,
        len,
    })
}

/// `len` bytes of `file` from `offset`: mapped when the kernel allows it, read otherwise.
/// Blocking (it reads the pages in).
pub(crate) fn read_chunk(file: &File, offset: u64, len: usize) -> io::Result<Bytes> {
    match map(file, offset, len) {
        Ok(mapping) => Ok(Bytes::from_owner(mapping)),
        Err(_) => {
            let mut buf = vec![0u8; len];
            file.read_exact_at(&mut buf, offset)?;
            Ok(Bytes::from(buf))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn chunks_match_the_file_at_unaligned_offsets() {
        let mut file = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        file.write_all(&data).unwrap();
        for (offset, len) in [(0, 20_000), (1, 4095), (4097, 10_000), (19_999, 1)] {
            let chunk = read_chunk(&file, offset as u64, len).unwrap();
            assert_eq!(&chunk[..], &data[offset..offset + len]);
        }
    }
}
