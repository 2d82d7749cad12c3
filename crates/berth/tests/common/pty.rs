//! Driving an interactive client (`docker run -it`) through a pseudo-terminal, as a user's
//! shell would: the client sees a real tty on stdin, stdout and stderr.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use nix::pty::{openpty, Winsize};

use berth_testkit::wait_until;

/// A command running on the slave side of a pty; the test holds the master.
#[derive(Debug)]
pub struct PtySession {
    child: Child,
    input: File,
    output: Receiver<Vec<u8>>,
    seen: Vec<u8>,
}

impl PtySession {
    /// Starts `cmd` as a session leader with a new pty as its controlling terminal.
    pub fn spawn(mut cmd: Command) -> PtySession {
        let size = Winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = openpty(&size, None).expect("openpty");
        cmd.stdin(Stdio::from(pty.slave.try_clone().expect("dup pty slave")))
            .stdout(Stdio::from(pty.slave.try_clone().expect("dup pty slave")))
            .stderr(Stdio::from(pty.slave));
        // SAFETY: setsid and ioctl are async-signal-safe and only touch the child's own
        // session and fd 0; no memory is allocated between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("start the command under a pty");
        // The Command holds copies of the slave; closing them lets reads on the master end
        // (EIO) once the child and its descendants have closed theirs.
        drop(cmd);
        let master = File::from(pty.master);
        let input = master.try_clone().expect("dup pty master");
        let (tx, output) = mpsc::channel();
        thread::spawn(move || {
            let mut master = master;
            let mut buf = [0u8; 4096];
            while let Ok(n) = master.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        PtySession {
            child,
            input,
            output,
            seen: Vec::new(),
        }
    }

    /// Waits until the terminal has shown `needle`; panics with the screen so far if it has
    /// not within `timeout`.
    pub fn expect(&mut self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.screen().contains(needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(bytes) => self.seen.extend(bytes),
                Err(_) => panic!(
                    "the terminal never showed {needle:?}; it showed:\n{}",
                    self.screen()
                ),
            }
        }
    }

    /// Types `text` on the terminal.
    pub fn send(&mut self, text: &str) {
        self.input
            .write_all(text.as_bytes())
            .expect("write to the pty master");
    }

    /// Waits for the command to exit and collects what it printed last.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let status = wait_until(&mut self.child, Instant::now() + timeout);
        while let Ok(bytes) = self.output.recv_timeout(Duration::from_millis(200)) {
            self.seen.extend(bytes);
        }
        status.unwrap_or_else(|| {
            panic!(
                "the command did not exit within {timeout:?}; the terminal showed:\n{}",
                self.screen()
            )
        })
    }

    /// Everything the terminal has shown so far.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.seen).into_owned()
    }
}

impl Drop for PtySession {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
