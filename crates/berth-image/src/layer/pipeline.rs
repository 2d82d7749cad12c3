//! Decoding on its own thread: while one core inflates and hashes the stream, the other
//! parses the tar and makes the syscalls that write files.

use std::io::{self, Read};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::thread::{Scope, ScopedJoinHandle};

use super::compression::HashingReader;
use super::BUFFER_SIZE;
use crate::digest::Hasher;

/// Chunks in flight between the threads: enough to ride out a slow syscall.
const CHUNKS_IN_FLIGHT: usize = 4;

/// What the decoding thread hashed: the decoded stream (unless the caller said it need not)
/// and whatever the decoder's own input hashed, handed back by `finish`.
pub(crate) type Produced<T> = io::Result<(Option<Hasher>, T)>;

/// Starts reading `decoder` on a thread of `scope`. `finish` runs on that thread after the
/// decoded stream ended (to drain and unwrap the decoder). The returned reader yields the
/// decoded bytes.
pub(crate) fn start<'scope, D, T>(
    scope: &'scope Scope<'scope, '_>,
    decoder: D,
    hash_decoded: bool,
    finish: impl FnOnce(D) -> io::Result<T> + Send + 'scope,
) -> (ChunkReader, ScopedJoinHandle<'scope, Produced<T>>)
where
    D: Read + Send + 'scope,
    T: Send + 'scope,
{
    let (full_tx, full_rx) = sync_channel(CHUNKS_IN_FLIGHT);
    let (empty_tx, empty_rx) = channel();
    let producer = scope.spawn(move || produce(decoder, hash_decoded, full_tx, empty_rx, finish));
    let reader = ChunkReader {
        full: full_rx,
        empty: empty_tx,
        chunk: Vec::new(),
        pos: 0,
        eof: false,
    };
    (reader, producer)
}

fn produce<D: Read, T>(
    decoder: D,
    hash_decoded: bool,
    full: SyncSender<io::Result<Vec<u8>>>,
    empty: Receiver<Vec<u8>>,
    finish: impl FnOnce(D) -> io::Result<T>,
) -> Produced<T> {
    let mut stream = HashingReader::new(decoder);
    loop {
        let mut chunk = empty.try_recv().unwrap_or_default();
        chunk.resize(BUFFER_SIZE, 0);
        let n = match fill(&mut stream, &mut chunk) {
            Ok(n) => n,
            Err(e) => {
                let kind = e.kind();
                let _ = full.send(Err(e));
                return Err(kind.into());
            }
        };
        if n == 0 {
            break;
        }
        chunk.truncate(n);
        if full.send(Ok(chunk)).is_err() {
            // The extractor stopped (it failed); its error is the one to report.
            return Err(io::ErrorKind::BrokenPipe.into());
        }
    }
    let (decoder, hasher) = stream.into_parts();
    let decoded = hash_decoded.then_some(hasher);
    Ok((decoded, finish(decoder)?))
}

/// Reads until `buffer` is full or the stream ends.
fn fill(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The extractor's end: the decoded stream, chunk by chunk.
#[derive(Debug)]
pub(crate) struct ChunkReader {
    full: Receiver<io::Result<Vec<u8>>>,
    empty: Sender<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
    eof: bool,
}

impl ChunkReader {
    /// Whether the end of the stream was read.
    pub(crate) fn saw_eof(&self) -> bool {
        self.eof
    }

    /// Takes the rest of the stream without copying it (the decoding thread hashes it).
    pub(crate) fn drain(&mut self) -> io::Result<()> {
        loop {
            match self.full.recv() {
                Ok(Ok(chunk)) => {
                    let _ = self.empty.send(chunk);
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(()),
            }
        }
    }
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            if self.eof {
                return Ok(0);
            }
            match self.full.recv() {
                Ok(Ok(chunk)) => {
                    let used = std::mem::replace(&mut self.chunk, chunk);
                    let _ = self.empty.send(used);
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    if !buf.is_empty() {
                        self.eof = true;
                    }
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_every_byte_and_hashes_it() {
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 253) as u8).collect();
        std::thread::scope(|scope| {
            let (mut reader, producer) = start(scope, io::Cursor::new(&data), true, |_| Ok(()));
            let mut out = Vec::new();
            reader.read_to_end(&mut out).unwrap();
            assert!(reader.saw_eof());
            assert_eq!(out, data);
            let (hasher, ()) = producer.join().unwrap().unwrap();
            assert_eq!(
                hasher.unwrap().finish(),
                crate::digest::Digest::sha256_of(&data)
            );
        });
    }

    #[test]
    fn a_read_error_reaches_the_reader() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::UnexpectedEof, "cut"))
            }
        }
        std::thread::scope(|scope| {
            let (mut reader, producer) = start(scope, Failing, true, |_| Ok(()));
            let err = reader.read(&mut [0; 10]).unwrap_err();
            assert_eq!(err.to_string(), "cut");
            assert!(producer.join().unwrap().is_err());
        });
    }
}
