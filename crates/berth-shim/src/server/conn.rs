//! One connection to `shim.sock`: a request line, an answer line, and for attach and
//! exec the streams that follow.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;
use tokio::sync::mpsc;

use super::state::{subscribe, Shim, StdinMsg, Subscription, Target};
use super::{delete, exec, stdio};
use crate::client::write_frame;
use crate::protocol::{Request, Response, FRAME_EXIT};

/// The longest request line (an exec's process, with its environment, fits easily).
const MAX_REQUEST: u64 = 1024 * 1024;
/// A client whose socket takes no bytes for this long is given up on.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Bytes of a client's stdin read at once.
const STDIN_CHUNK: usize = 4096;

/// The client's side of a connection, after the request line.
pub(super) type Input = BufReader<OwnedReadHalf>;

/// Serves one connection.
pub(super) async fn serve(state: Rc<RefCell<Shim>>, stream: UnixStream) {
    let (read, mut write) = stream.into_split();
    let mut input = BufReader::with_capacity(STDIN_CHUNK, read);
    let request = match read_request(&mut input).await {
        Ok(Some(request)) => request,
        Ok(None) => return,
        Err(message) => {
            let _ = reply(&mut write, &Response::Error { message }).await;
            return;
        }
    };
    match request {
        Request::State => {
            let answer = {
                let shim = state.borrow();
                Response::State {
                    status: shim.status(),
                    pid: shim.init.pid,
                    exit: shim.init.exit.clone(),
                }
            };
            let _ = reply(&mut write, &answer).await;
        }
        Request::Start => {
            let answer = start(&state);
            let _ = reply(&mut write, &answer).await;
        }
        Request::Wait => wait(&state, &Target::Init, &mut write).await,
        Request::ExecWait { exec_id } => wait(&state, &Target::Exec(exec_id), &mut write).await,
        Request::Attach {
            stdin,
            stdout,
            stderr,
        } => attach(&state, input, write, stdin, stdout, stderr).await,
        Request::Exec {
            exec_id,
            process,
            stdin,
            detach,
        } => exec::serve(&state, input, write, exec_id, process, stdin, detach).await,
        Request::Resize {
            exec_id,
            height,
            width,
        } => {
            let answer = resize(&state, exec_id, height, width);
            let _ = reply(&mut write, &answer).await;
        }
        Request::CloseStdin => {
            close_stdin(&state, &Target::Init).await;
            let _ = reply(&mut write, &Response::Ok).await;
        }
        Request::Delete => delete::serve(&state, write).await,
    }
}

/// Reads the request line; None when the client left without one.
async fn read_request(input: &mut Input) -> Result<Option<Request>, String> {
    let mut line = Vec::new();
    match (&mut *input)
        .take(MAX_REQUEST)
        .read_until(b'\n', &mut line)
        .await
    {
        Ok(0) | Err(_) => return Ok(None),
        Ok(_) => {}
    }
    serde_json::from_slice(&line)
        .map(Some)
        .map_err(|err| format!("bad request to the shim: {err}"))
}

/// Writes one answer line.
pub(super) async fn reply(write: &mut OwnedWriteHalf, response: &Response) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(response)?;
    line.push(b'\n');
    write.write_all(&line).await
}

fn start(state: &Rc<RefCell<Shim>>) -> Response {
    let (root, id) = {
        let shim = state.borrow();
        (shim.root.clone(), shim.id.clone())
    };
    // A poststart hook failure is a warning in the spec; the container runs.
    match berth_runtime::container::start(&root, &id) {
        Ok(_warning) => {}
        Err(err) if init_closed_the_start_socket(&err) => {
            if let Ok(container) = berth_runtime::container::Container::load(&root, &id) {
                let _ = berth_runtime::container::run_poststart(&container);
            }
        }
        Err(err) => {
            return Response::Error {
                message: format!("start container `{id}`: {}", super::error_chain(&err)),
            }
        }
    }
    state.borrow_mut().started = true;
    Response::Ok
}

/// The runtime's `start` connects to the init's exec socket and writes one byte; the
/// init executes the program as soon as it accepted, closing the connection, so the
/// write can fail with EPIPE although the container started (a failed exec would have
/// exited the init, which the reaper reports). The runtime should treat this itself.
fn init_closed_the_start_socket(err: &berth_runtime::Error) -> bool {
    matches!(
        err,
        berth_runtime::Error::Io { source, .. }
            if matches!(
                source.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            )
    )
}

async fn wait(state: &Rc<RefCell<Shim>>, target: &Target, write: &mut OwnedWriteHalf) {
    let waiting = state.borrow_mut().wait(target);
    let answer = match waiting {
        None => no_such(target),
        Some(Ok(exit)) => Response::Exited(exit),
        Some(Err(receiver)) => match receiver.await {
            Ok(exit) => Response::Exited(exit),
            Err(_) => Response::Error {
                message: "the shim is going away".into(),
            },
        },
    };
    let _ = reply(write, &answer).await;
}

async fn attach(
    state: &Rc<RefCell<Shim>>,
    input: Input,
    write: OwnedWriteHalf,
    stdin: bool,
    stdout: bool,
    stderr: bool,
) {
    let (client, subscription) = subscribe(stdout, stderr);
    let stdin_sink = {
        let mut shim = state.borrow_mut();
        shim.attach(&Target::Init, client);
        let close_at_end = shim.stdin_once;
        stdin
            .then(|| shim.init.stdin.clone())
            .flatten()
            .map(|sink| (sink, close_at_end))
    };
    stream(
        state,
        &Target::Init,
        input,
        write,
        Response::Ok,
        subscription,
        stdin_sink,
    )
    .await;
}

/// Writes `first` then the frames of `subscription`, while forwarding the client's input
/// to `stdin` (closing it at the input's end when asked).
pub(super) async fn stream(
    state: &Rc<RefCell<Shim>>,
    target: &Target,
    input: Input,
    mut write: OwnedWriteHalf,
    first: Response,
    subscription: Subscription,
    stdin: Option<(mpsc::Sender<StdinMsg>, bool)>,
) {
    let forward = stdin.map(|(sink, close_at_end)| {
        tokio::task::spawn_local(forward_stdin(
            state.clone(),
            target.clone(),
            input,
            sink,
            close_at_end,
        ))
    });
    let _ = send_frames(&mut write, first, subscription).await;
    if let Some(forward) = forward {
        forward.abort();
    }
}

async fn send_frames(
    write: &mut OwnedWriteHalf,
    first: Response,
    mut subscription: Subscription,
) -> std::io::Result<()> {
    reply(write, &first).await?;
    while let Some((kind, chunk)) = subscription.frames.recv().await {
        tokio::time::timeout(WRITE_TIMEOUT, write_frame(write, kind, &chunk)).await??;
    }
    // An error here: the client was dropped for being slow; it gets no exit frame.
    if let Ok(code) = subscription.exit.await {
        write_frame(write, FRAME_EXIT, &code.to_be_bytes()).await?;
    }
    write.shutdown().await
}

async fn forward_stdin(
    state: Rc<RefCell<Shim>>,
    target: Target,
    mut input: Input,
    sink: mpsc::Sender<StdinMsg>,
    close_at_end: bool,
) {
    let mut buf = vec![0u8; STDIN_CHUNK];
    loop {
        match input.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if sink.send(StdinMsg::Data(buf[..n].to_vec())).await.is_err() {
                    return;
                }
            }
        }
    }
    if close_at_end {
        drop(sink);
        close_stdin(&state, &target).await;
    }
}

/// Closes `target`'s stdin (after what was sent before).
pub(super) async fn close_stdin(state: &Rc<RefCell<Shim>>, target: &Target) {
    let sink = state
        .borrow_mut()
        .proc_mut(target)
        .and_then(|proc| proc.stdin.take());
    if let Some(sink) = sink {
        let _ = sink.send(StdinMsg::Close).await;
    }
}

fn resize(state: &Rc<RefCell<Shim>>, exec_id: Option<String>, height: u16, width: u16) -> Response {
    let target = exec_id.map_or(Target::Init, Target::Exec);
    let mut shim = state.borrow_mut();
    let Some(proc) = shim.proc_mut(&target) else {
        return no_such(&target);
    };
    let Some(pty) = &proc.pty else {
        return Response::Error {
            message: format!("{} has no terminal", describe(&target)),
        };
    };
    match stdio::resize(pty.raw(), height, width) {
        Ok(()) => Response::Ok,
        Err(err) => Response::Error {
            message: format!("resize the terminal of {}: {err}", describe(&target)),
        },
    }
}

fn no_such(target: &Target) -> Response {
    Response::Error {
        message: format!("no such {}", describe(target)),
    }
}

fn describe(target: &Target) -> String {
    match target {
        Target::Init => "container".to_string(),
        Target::Exec(id) => format!("exec `{id}`"),
    }
}
