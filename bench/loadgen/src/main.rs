//! `loadgen`: keeps C keep-alive HTTP/1.1 connections busy with one request (any method,
//! HEAD included, which wrk 4.1 cannot time: it waits for a body a HEAD answer never has)
//! for a fixed time, then prints the request rate and latency percentiles.
//!
//! ```text
//! loadgen [-c CONNS] [-d SECONDS] [-X METHOD] [-H 'Name: value']... http://HOST:PORT/PATH
//! ```
//!
//! Output, one line: `requests N errors E seconds S rps R p50_ms A p99_ms B max_ms C`.
//! A response that is not 2xx, a broken connection or a malformed answer counts as an
//! error (and the connection is opened again); the exit status is 1 if there were any.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

struct Options {
    connections: usize,
    duration: Duration,
    method: String,
    headers: Vec<String>,
    host: String,
    path: String,
}

fn parse_args() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut options = Options {
        connections: 32,
        duration: Duration::from_secs(10),
        method: "GET".into(),
        headers: Vec::new(),
        host: String::new(),
        path: String::new(),
    };
    let mut url = None;
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "-c" => options.connections = value()?.parse().map_err(|e| format!("-c: {e}"))?,
            "-d" => {
                let text = value()?;
                let secs: f64 = text
                    .trim_end_matches('s')
                    .parse()
                    .map_err(|e| format!("-d {text}: {e}"))?;
                options.duration = Duration::from_secs_f64(secs);
            }
            "-X" => options.method = value()?,
            "-H" => options.headers.push(value()?),
            _ if url.is_none() && !arg.starts_with('-') => url = Some(arg),
            _ => return Err(format!("unknown argument {arg}")),
        }
    }
    let url = url.ok_or("no URL given")?;
    let rest = url
        .strip_prefix("http://")
        .ok_or("only http:// URLs are supported")?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    options.host = host.to_string();
    options.path = path.to_string();
    if options.connections == 0 {
        return Err("-c must be at least 1".into());
    }
    Ok(options)
}

/// What one connection's worker measured.
#[derive(Default)]
struct Tally {
    /// Latency of every successful request, in microseconds.
    latencies_us: Vec<u32>,
    errors: u64,
}

/// Reads one response; returns whether its status was 2xx. The body is read and dropped.
fn read_response(reader: &mut BufReader<TcpStream>, head_request: bool) -> io::Result<bool> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed"));
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("status line {line:?}")))?;
    let mut length: Option<u64> = None;
    let mut chunked = false;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed in headers"));
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
    }
    // No body after HEAD, 204 or 304, whatever the headers say.
    if head_request || status == 204 || status == 304 {
        return Ok((200..300).contains(&status));
    }
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = u64::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "chunk size"))?;
            io::copy(&mut reader.by_ref().take(size), &mut io::sink())?;
            line.clear();
            reader.read_line(&mut line)?; // the CRLF after the chunk (or the last one)
            if size == 0 {
                break;
            }
        }
    } else if let Some(n) = length {
        let copied = io::copy(&mut reader.by_ref().take(n), &mut io::sink())?;
        if copied != n {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "short body"));
        }
    } else {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "no length"));
    }
    Ok((200..300).contains(&status))
}

fn connect(host: &str) -> io::Result<(TcpStream, BufReader<TcpStream>)> {
    let stream = TcpStream::connect(host)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let reader = BufReader::with_capacity(64 * 1024, stream.try_clone()?);
    Ok((stream, reader))
}

fn worker(options: Arc<Options>, request: Arc<Vec<u8>>, start: Arc<Barrier>) -> Tally {
    let mut tally = Tally::default();
    let head = options.method.eq_ignore_ascii_case("HEAD");
    let mut conn = connect(&options.host).ok();
    start.wait();
    let deadline = Instant::now() + options.duration;
    while Instant::now() < deadline {
        let (stream, reader) = match conn.as_mut() {
            Some(c) => (&mut c.0, &mut c.1),
            None => {
                tally.errors += 1;
                thread::sleep(Duration::from_millis(10));
                conn = connect(&options.host).ok();
                continue;
            }
        };
        let sent = Instant::now();
        let outcome = stream
            .write_all(&request)
            .and_then(|()| read_response(reader, head));
        match outcome {
            Ok(true) => {
                let us = sent.elapsed().as_micros();
                tally.latencies_us.push(u32::try_from(us).unwrap_or(u32::MAX));
            }
            Ok(false) => tally.errors += 1,
            Err(_) => {
                tally.errors += 1;
                conn = connect(&options.host).ok();
            }
        }
    }
    tally
}

fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted_us.len() as f64).ceil() as usize;
    f64::from(sorted_us[rank.clamp(1, sorted_us.len()) - 1]) / 1000.0
}

fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(o) => Arc::new(o),
        Err(e) => {
            eprintln!("loadgen: {e}");
            return ExitCode::from(2);
        }
    };
    let mut request = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: berth-bench-loadgen\r\n",
        options.method, options.path, options.host
    );
    for header in &options.headers {
        request.push_str(header);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    let request = Arc::new(request.into_bytes());
    let start = Arc::new(Barrier::new(options.connections + 1));
    let workers: Vec<_> = (0..options.connections)
        .map(|_| {
            let (o, r, s) = (options.clone(), request.clone(), start.clone());
            thread::spawn(move || worker(o, r, s))
        })
        .collect();
    start.wait();
    let began = Instant::now();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for w in workers {
        match w.join() {
            Ok(t) => {
                latencies.extend(t.latencies_us);
                errors += t.errors;
            }
            Err(_) => errors += 1,
        }
    }
    let seconds = began.elapsed().as_secs_f64();
    latencies.sort_unstable();
    println!(
        "requests {} errors {} seconds {:.3} rps {:.1} p50_ms {:.3} p99_ms {:.3} max_ms {:.3}",
        latencies.len(),
        errors,
        seconds,
        latencies.len() as f64 / seconds,
        percentile_ms(&latencies, 50.0),
        percentile_ms(&latencies, 99.0),
        percentile_ms(&latencies, 100.0),
    );
    if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
