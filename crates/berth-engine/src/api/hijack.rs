//! Hijacked connections: `attach` and `exec start` turn the HTTP connection into a raw
//! bidirectional stream (`101 Switching Protocols`, `Upgrade: tcp`), as Docker does.
//! Clients that do not ask for the upgrade get the output as a streamed body instead.
//!
//! The daemon relays between the client and a shim stream: shim frames become Docker's
//! multiplexed frames (`[stream, 0, 0, 0, len u32 BE]`, the same layout) or, for a tty,
//! raw bytes; the client's bytes go to the shim as stdin; the shim's exit frame ends the
//! relay and reports the exit code.

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use hyper::header::{CONNECTION, CONTENT_TYPE, UPGRADE};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::UnixStream;

/// Whether the client asked to upgrade the connection.
pub fn wants_upgrade(req: &Request<Body>) -> bool {
    req.headers()
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("tcp"))
}

fn content_type(tty: bool) -> &'static str {
    if tty {
        "application/vnd.docker.raw-stream"
    } else {
        "application/vnd.docker.multiplexed-stream"
    }
}

/// What the relay does with the exit code it sees.
pub type OnExit = Box<dyn FnOnce(i32) + Send>;

/// The shim stream of a relay, once it exists; an error text is written to the client
/// (as Docker writes a failed exec's reason into the hijacked stream), None ends quietly.
pub type ShimStream = Result<UnixStream, Option<String>>;

/// Answers `req` with `101` and relays between the upgraded connection and `shim` once
/// the shim stream arrives (it may come later: an attach made before start).
pub fn upgrade(
    mut req: Request<Body>,
    tty: bool,
    stdin: bool,
    shim: impl std::future::Future<Output = ShimStream> + Send + 'static,
    on_exit: Option<OnExit>,
) -> Response {
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let mut client = TokioIo::new(upgraded);
        match shim.await {
            Ok(shim) => relay(client, shim, tty, stdin, on_exit).await,
            Err(Some(message)) => {
                let text = format!("{message}\r\n");
                let _ = client.write_all(&frame(2, text.as_bytes(), tty)).await;
                let _ = client.shutdown().await;
            }
            Err(None) => {
                let _ = client.shutdown().await;
            }
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(CONTENT_TYPE, content_type(tty))
        .header(CONNECTION, "Upgrade")
        .header(UPGRADE, "tcp")
        .body(Body::empty())
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// Answers with a streamed body of the output (no stdin): for clients that do not upgrade.
pub fn streamed(
    tty: bool,
    shim: impl std::future::Future<Output = ShimStream> + Send + 'static,
    on_exit: Option<OnExit>,
) -> Response {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    tokio::spawn(async move {
        let mut shim = match shim.await {
            Ok(shim) => shim,
            Err(Some(message)) => {
                let text = format!("{message}\r\n");
                let _ = sender.send(Ok(frame(2, text.as_bytes(), tty))).await;
                return;
            }
            Err(None) => return,
        };
        let mut on_exit = on_exit;
        while let Ok(Some((kind, payload))) = berth_shim::client::read_frame(&mut shim).await {
            if kind == berth_shim::protocol::FRAME_EXIT {
                if let (Some(f), Some(code)) =
                    (on_exit.take(), berth_shim::protocol::exit_code_of(&payload))
                {
                    f(code);
                }
                break;
            }
            if sender.send(Ok(frame(kind, &payload, tty))).await.is_err() {
                break;
            }
        }
    });
    let stream = tokio_stream_from(receiver);
    Response::builder()
        .status(StatusCode::OK)
        .header(CONTENT_TYPE, content_type(tty))
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

fn tokio_stream_from(
    mut receiver: tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}

/// One shim frame as the client gets it.
fn frame(kind: u8, payload: &[u8], tty: bool) -> Bytes {
    if tty {
        return Bytes::copy_from_slice(payload);
    }
    let mut out = Vec::with_capacity(8 + payload.len());
    out.push(kind);
    out.extend_from_slice(&[0, 0, 0]);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    Bytes::from(out)
}

/// Relays until the shim's output ends. Client input ends the container's stdin when
/// the client half-closes.
pub async fn relay<C>(client: C, shim: UnixStream, tty: bool, stdin: bool, on_exit: Option<OnExit>)
where
    C: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut client_read, mut client_write) = tokio::io::split(client);
    let (mut shim_read, mut shim_write) = shim.into_split();
    let input = tokio::spawn(async move {
        if !stdin {
            return;
        }
        let mut buffer = vec![0u8; 32 * 1024];
        loop {
            match client_read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if shim_write.write_all(&buffer[..n]).await.is_err() {
                        return;
                    }
                }
            }
        }
        let _ = shim_write.shutdown().await;
    });
    let mut on_exit = on_exit;
    while let Ok(Some((kind, payload))) = berth_shim::client::read_frame(&mut shim_read).await {
        if kind == berth_shim::protocol::FRAME_EXIT {
            if let (Some(f), Some(code)) =
                (on_exit.take(), berth_shim::protocol::exit_code_of(&payload))
            {
                f(code);
            }
            break;
        }
        if client_write
            .write_all(&frame(kind, &payload, tty))
            .await
            .is_err()
        {
            break;
        }
    }
    let _ = client_write.flush().await;
    let _ = client_write.shutdown().await;
    input.abort();
}
