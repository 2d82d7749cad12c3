//! A TCP proxy in front of a registry that can break or alter responses, one request per
//! connection (it forces `Connection: close`).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// What the proxy does to responses of requests whose path contains `target`.
#[derive(Default)]
pub struct Faults {
    /// The path substring the faults apply to.
    pub target: Mutex<String>,
    /// Close the connection after this many response bytes (0 = never).
    pub cut_after: AtomicU64,
    /// Flip the last byte of the response.
    pub corrupt: AtomicBool,
    /// Hold the response after this many bytes (0 = never) until `release` is set.
    pub pause_after: AtomicU64,
    /// Set while a response is held.
    pub paused: AtomicBool,
    /// Lets held responses go on.
    pub release: AtomicBool,
}

pub struct Proxy {
    pub addr: String,
    pub faults: Arc<Faults>,
    /// The request heads seen, in order.
    pub requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    pub fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let faults = Arc::new(Faults::default());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (upstream, f, r, s) = (
            upstream.to_string(),
            faults.clone(),
            requests.clone(),
            stop.clone(),
        );
        thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (upstream, f, r) = (upstream.clone(), f.clone(), r.clone());
                thread::spawn(move || {
                    let _ = handle(conn, &upstream, &f, &r);
                });
            }
        });
        Self {
            addr,
            faults,
            requests,
            stop,
        }
    }

    pub fn target(&self, path_part: &str) {
        *self.faults.target.lock().unwrap() = path_part.to_string();
    }

    pub fn seen(&self, needle: &str) -> bool {
        self.requests.lock().unwrap().iter().any(|r| {
            r.to_ascii_lowercase()
                .contains(&needle.to_ascii_lowercase())
        })
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr);
    }
}

fn read_head(conn: &mut TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 4096];
    loop {
        let n = conn.read(&mut byte)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&byte[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Ok((String::from_utf8_lossy(&buf).into_owned(), rest));
        }
    }
}

fn handle(
    mut client: TcpStream,
    upstream: &str,
    faults: &Faults,
    log: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let (head, rest) = read_head(&mut client)?;
    log.lock().unwrap().push(head.clone());
    let mut lines: Vec<&str> = head.trim_end().split("\r\n").collect();
    lines.retain(|l| !l.to_ascii_lowercase().starts_with("connection:"));
    let head = format!("{}\r\nConnection: close\r\n\r\n", lines.join("\r\n"));
    let path = lines
        .first()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or("")
        .to_string();
    let mut server = TcpStream::connect(upstream)?;
    server.write_all(head.as_bytes())?;
    server.write_all(&rest)?;
    // Request bodies (uploads) stream through.
    let (mut c2, mut s2) = (client.try_clone()?, server.try_clone()?);
    thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut s2);
    });
    let target = faults.target.lock().unwrap().clone();
    let applies = !target.is_empty() && path.contains(&target);
    let cut = faults.cut_after.load(Ordering::SeqCst);
    if applies && faults.corrupt.load(Ordering::SeqCst) {
        let mut response = Vec::new();
        server.read_to_end(&mut response)?;
        if let Some(last) = response.last_mut() {
            *last ^= 0x20;
        }
        client.write_all(&response)?;
    } else if applies && cut > 0 {
        let mut sent = 0u64;
        let mut buf = [0u8; 16384];
        while sent < cut {
            let n = server.read(&mut buf)?;
            if n == 0 {
                break;
            }
            let n = n.min((cut - sent) as usize);
            client.write_all(&buf[..n])?;
            sent += n as u64;
        }
    } else if applies && faults.pause_after.load(Ordering::SeqCst) > 0 {
        let pause = faults.pause_after.load(Ordering::SeqCst);
        let mut sent = 0u64;
        let mut buf = [0u8; 16384];
        loop {
            if sent >= pause && !faults.release.load(Ordering::SeqCst) {
                faults.paused.store(true, Ordering::SeqCst);
                while !faults.release.load(Ordering::SeqCst) {
                    thread::sleep(std::time::Duration::from_millis(10));
                }
            }
            let n = server.read(&mut buf)?;
            if n == 0 {
                break;
            }
            client.write_all(&buf[..n])?;
            sent += n as u64;
        }
    } else {
        std::io::copy(&mut server, &mut client)?;
    }
    let _ = client.shutdown(Shutdown::Both);
    Ok(())
}
