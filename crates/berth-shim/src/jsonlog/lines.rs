//! Lines of a log file, forwards from an offset ([`LineCursor`]) or backwards from an end
//! ([`for_each_line_rev`]). Both read with `pread`, so they never move a shared offset.

use std::fs::File;
use std::io;
use std::ops::ControlFlow;
use std::os::unix::fs::FileExt;

/// How much is read at a time.
const CHUNK: usize = 64 * 1024;

/// Reads a file's lines forwards, keeping an unfinished last line until it is finished:
/// the live log file may be in the middle of a write.
#[derive(Debug)]
pub(crate) struct LineCursor {
    file: File,
    /// The file offset of `buf[start]`: everything before it has been handed out.
    consumed: u64,
    buf: Vec<u8>,
    start: usize,
}

impl LineCursor {
    pub(crate) fn new(file: File, offset: u64) -> Self {
        LineCursor {
            file,
            consumed: offset,
            buf: Vec::new(),
            start: 0,
        }
    }

    /// The next line that ends in `\n` (returned without it) and its offset in the file;
    /// None when the file has no more complete lines for now.
    pub(crate) fn next_line(&mut self) -> io::Result<Option<(u64, &[u8])>> {
        let mut scanned = self.start;
        loop {
            if let Some(i) = self.buf[scanned..].iter().position(|&b| b == b'\n') {
                let line_start = self.start;
                let line_end = scanned + i;
                let offset = self.consumed;
                self.consumed += (line_end + 1 - line_start) as u64;
                self.start = line_end + 1;
                return Ok(Some((offset, &self.buf[line_start..line_end])));
            }
            scanned = self.buf.len();
            if self.start > 0 {
                self.buf.drain(..self.start);
                scanned -= self.start;
                self.start = 0;
            }
            if self.read_more()? == 0 {
                return Ok(None);
            }
        }
    }

    /// Whatever follows the last complete line, to be called once the file is known to be
    /// finished (rotated away): a writer that died mid-line leaves such a tail.
    pub(crate) fn take_unterminated(&mut self) -> io::Result<Option<(u64, Vec<u8>)>> {
        while self.read_more()? > 0 {}
        if self.start == self.buf.len() {
            return Ok(None);
        }
        let tail = self.buf.split_off(self.start);
        let offset = self.consumed;
        self.consumed += tail.len() as u64;
        self.buf.clear();
        self.start = 0;
        Ok(Some((offset, tail)))
    }

    /// The offset of the first byte not yet handed out.
    pub(crate) fn offset(&self) -> u64 {
        self.consumed
    }

    /// The file's current length.
    pub(crate) fn file_len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    /// Starts again from the top (the file was truncated in place).
    pub(crate) fn restart(&mut self) {
        self.consumed = 0;
        self.buf.clear();
        self.start = 0;
    }

    fn read_more(&mut self) -> io::Result<usize> {
        let old = self.buf.len();
        self.buf.resize(old + CHUNK, 0);
        let at = self.consumed + (old - self.start) as u64;
        let read = loop {
            match self.file.read_at(&mut self.buf[old..], at) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let n = match read {
            Ok(n) => n,
            Err(e) => {
                self.buf.truncate(old);
                return Err(e);
            }
        };
        self.buf.truncate(old + n);
        Ok(n)
    }
}

/// Calls `f` with each line of `file[..end]` (without its `\n`) and its offset, last line
/// first, until `f` breaks. `end` is where the last line ends: the offset of its `\n`, or
/// the file's length when it has none. Holds one line and one chunk at a time.
pub(crate) fn for_each_line_rev(
    file: &File,
    end: u64,
    mut f: impl FnMut(u64, &[u8]) -> ControlFlow<()>,
) -> io::Result<()> {
    let mut pos = end;
    // The start of the line being assembled: bytes [pos + ..] up to where it ends.
    let mut carry: Vec<u8> = Vec::new();
    while pos > 0 {
        let n = CHUNK.min(usize::try_from(pos).unwrap_or(CHUNK));
        pos -= n as u64;
        let mut block = vec![0; n];
        file.read_exact_at(&mut block, pos)?;
        block.extend_from_slice(&carry);
        let mut line_end = block.len();
        while let Some(i) = block[..line_end].iter().rposition(|&b| b == b'\n') {
            if f(pos + i as u64 + 1, &block[i + 1..line_end]).is_break() {
                return Ok(());
            }
            line_end = i;
        }
        block.truncate(line_end);
        carry = block;
    }
    if end > 0 {
        let _ = f(0, &carry);
    }
    Ok(())
}

/// The offset of the last `\n` in `file[..len]`, if any.
pub(crate) fn last_newline(file: &File, len: u64) -> io::Result<Option<u64>> {
    let mut pos = len;
    let mut block = vec![0; CHUNK];
    while pos > 0 {
        let n = CHUNK.min(usize::try_from(pos).unwrap_or(CHUNK));
        pos -= n as u64;
        file.read_exact_at(&mut block[..n], pos)?;
        if let Some(i) = block[..n].iter().rposition(|&b| b == b'\n') {
            return Ok(Some(pos + i as u64));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(bytes: &[u8]) -> File {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    #[test]
    fn cursor_waits_for_the_newline() {
        let mut f = file_with(b"one\ntw");
        let mut c = LineCursor::new(f.try_clone().unwrap(), 0);
        assert_eq!(c.next_line().unwrap(), Some((0, &b"one"[..])));
        assert_eq!(c.next_line().unwrap(), None);
        f.write_all(b"o\nthree").unwrap();
        assert_eq!(c.next_line().unwrap(), Some((4, &b"two"[..])));
        assert_eq!(c.next_line().unwrap(), None);
        assert_eq!(c.offset(), 8);
        assert_eq!(c.take_unterminated().unwrap(), Some((8, b"three".to_vec())));
    }

    #[test]
    fn reverse_reads_across_chunks() {
        let mut text = Vec::new();
        let lines: Vec<Vec<u8>> = (0..5000)
            .map(|i| format!("line {i} {}", "x".repeat(i % 97)).into_bytes())
            .collect();
        let mut offsets = Vec::new();
        for l in &lines {
            offsets.push(text.len() as u64);
            text.extend_from_slice(l);
            text.push(b'\n');
        }
        let f = file_with(&text);
        let end = last_newline(&f, text.len() as u64).unwrap().unwrap();
        assert_eq!(end, text.len() as u64 - 1);
        let mut seen = Vec::new();
        for_each_line_rev(&f, end, |off, line| {
            seen.push((off, line.to_vec()));
            ControlFlow::Continue(())
        })
        .unwrap();
        seen.reverse();
        let expected: Vec<(u64, Vec<u8>)> = offsets.into_iter().zip(lines).collect();
        assert_eq!(seen, expected);
    }
}
