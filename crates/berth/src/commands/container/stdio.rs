//! The local end of an attached container or exec: output to this process's stdout and
//! stderr, this process's stdin up (closing the container's stdin at end of file), the
//! terminal in raw mode for `-t` with window size changes forwarded, and signals passed
//! on to the container (docker's `--sig-proxy`).

use std::io::{Read, Write};
use std::os::fd::AsFd;

use anyhow::Context as _;
use berth_client::codec::StreamType;
use berth_client::{DockerClient, Hijacked};
use nix::sys::termios::{self, SetArg, Termios};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

/// What gets a terminal's size.
#[derive(Debug, Clone)]
pub enum ResizeTarget {
    /// A container's TTY.
    Container(String),
    /// An exec's TTY.
    Exec(String),
}

/// Puts stdin's terminal in raw mode until dropped.
#[derive(Debug)]
pub struct RawMode {
    saved: Termios,
}

impl RawMode {
    /// Raw mode, if stdin is a terminal.
    pub fn enable() -> anyhow::Result<Option<RawMode>> {
        let stdin = std::io::stdin();
        let Ok(saved) = termios::tcgetattr(stdin.as_fd()) else {
            return Ok(None);
        };
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw)
            .context("put the terminal in raw mode")?;
        Ok(Some(RawMode { saved }))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, &self.saved);
    }
}

/// The size of this process's terminal (rows, columns), if it has one.
pub fn terminal_size() -> Option<(u16, u16)> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    for fd in [libc::STDOUT_FILENO, libc::STDIN_FILENO] {
        // SAFETY: TIOCGWINSZ writes one winsize into the struct it is given, which lives
        // for the whole call.
        let rc = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) };
        if rc == 0 && size.ws_row > 0 {
            return Some((size.ws_row, size.ws_col));
        }
    }
    None
}

/// Sends this terminal's size to the container or exec.
pub async fn resize(client: &DockerClient, target: &ResizeTarget) {
    let Some((rows, cols)) = terminal_size() else {
        return;
    };
    // A process that already exited cannot be resized; that is not worth an error.
    let _ = match target {
        ResizeTarget::Container(id) => client.resize_container(id, rows, cols).await,
        ResizeTarget::Exec(id) => client.resize_exec(id, rows, cols).await,
    };
}

/// How [`pump`] runs.
#[derive(Debug, Clone)]
pub struct PumpOptions {
    /// Send this process's stdin.
    pub stdin: bool,
    /// Forward window size changes to this target.
    pub resize: Option<ResizeTarget>,
    /// Pass SIGINT, SIGTERM, ... on to this container.
    pub proxy_signals_to: Option<String>,
}

/// Copies the attached streams until the container's output ends.
pub async fn pump(
    client: &DockerClient,
    hijacked: Hijacked,
    options: PumpOptions,
) -> anyhow::Result<()> {
    let Hijacked {
        mut reader,
        mut writer,
    } = hijacked;
    if options.stdin {
        // A plain thread, not tokio's stdin: a read blocked on a terminal must not keep
        // the runtime from shutting down once the container is gone.
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(16);
        std::thread::spawn(move || {
            let mut stdin = std::io::stdin();
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.blocking_send(buf[..n].to_vec()).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        tokio::spawn(async move {
            while let Some(data) = rx.recv().await {
                if writer.write(&data).await.is_err() {
                    return;
                }
            }
            let _ = writer.close().await;
        });
    } else {
        drop(writer);
    }
    if let Some(target) = options.resize.clone() {
        let client = client.clone();
        let mut winch = signal(SignalKind::window_change()).context("watch SIGWINCH")?;
        tokio::spawn(async move {
            while winch.recv().await.is_some() {
                resize(&client, &target).await;
            }
        });
    }
    if let Some(id) = options.proxy_signals_to.clone() {
        proxy_signals(client, id)?;
    }
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    while let Some(frame) = reader.next().await {
        let frame = frame?;
        match frame.stream {
            StreamType::Stdout | StreamType::Stdin => {
                stdout.write_all(&frame.data)?;
                stdout.flush()?;
            }
            StreamType::Stderr => {
                stderr.write_all(&frame.data)?;
                stderr.flush()?;
            }
            StreamType::SystemErr => {
                anyhow::bail!("{}", String::from_utf8_lossy(&frame.data));
            }
        }
    }
    Ok(())
}

/// Passes the usual terminating and user signals on to the container.
fn proxy_signals(client: &DockerClient, id: String) -> anyhow::Result<()> {
    let kinds = [
        (SignalKind::interrupt(), "SIGINT"),
        (SignalKind::terminate(), "SIGTERM"),
        (SignalKind::hangup(), "SIGHUP"),
        (SignalKind::quit(), "SIGQUIT"),
        (SignalKind::user_defined1(), "SIGUSR1"),
        (SignalKind::user_defined2(), "SIGUSR2"),
    ];
    for (kind, name) in kinds {
        let mut stream = signal(kind).with_context(|| format!("watch {name}"))?;
        let client = client.clone();
        let id = id.clone();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                let _ = client.kill_container(&id, Some(name)).await;
            }
        });
    }
    Ok(())
}
