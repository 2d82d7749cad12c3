//! The message channel between the runtime process and the container's init (or exec'd)
//! process while it is being set up.
//!
//! A `SOCK_SEQPACKET` socket pair keeps message boundaries, so a message is one `send` and
//! one `recv`. The child never panics across this channel: every failure in the child is
//! sent as [`Message::Error`] and the child exits, so the parent can report it and clean up.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{recv, send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};

/// One message of the set-up protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Message {
    /// Parent -> child: the uid/gid maps are written and the cgroup joined; go on.
    Go,
    /// Child -> parent: mounts are done; run the prestart and createRuntime hooks.
    RunCreateRuntimeHooks,
    /// Parent -> child: those hooks ran.
    HooksDone,
    /// Child -> parent: an intermediate process reports the pid of the process it cloned.
    Pid(i32),
    /// Child -> parent: set-up finished; the process waits for `start` (or execs).
    Ready,
    /// Child -> parent: set-up failed with this message.
    Error(String),
}

/// Errors of the set-up channel.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ChannelError {
    #[error("set-up channel: {0}")]
    Sys(#[from] nix::Error),
    #[error("set-up channel closed by the other side before `{0}`")]
    Closed(&'static str),
    #[error("set-up channel: unexpected message {got:?} while waiting for {want}")]
    Unexpected { got: Message, want: &'static str },
}

/// One end of the channel.
#[derive(Debug)]
pub(crate) struct Channel {
    fd: OwnedFd,
}

/// A new connected pair: (parent end, child end). Both are close-on-exec.
pub(crate) fn pair() -> Result<(Channel, Channel), ChannelError> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )?;
    Ok((Channel { fd: a }, Channel { fd: b }))
}

impl AsRawFd for Channel {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }
}

impl Channel {
    /// Sends one message.
    pub(crate) fn send(&self, msg: &Message) -> Result<(), ChannelError> {
        let mut buf = Vec::with_capacity(16);
        match msg {
            Message::Go => buf.push(b'g'),
            Message::RunCreateRuntimeHooks => buf.push(b'h'),
            Message::HooksDone => buf.push(b'd'),
            Message::Pid(pid) => {
                buf.push(b'p');
                buf.extend_from_slice(&pid.to_le_bytes());
            }
            Message::Ready => buf.push(b'r'),
            Message::Error(text) => {
                buf.push(b'e');
                buf.extend_from_slice(text.as_bytes());
            }
        }
        send(self.fd.as_raw_fd(), &buf, MsgFlags::MSG_NOSIGNAL)?;
        Ok(())
    }

    /// Receives one message; `want` names what the caller waits for, for errors.
    pub(crate) fn recv(&self, want: &'static str) -> Result<Message, ChannelError> {
        let mut buf = vec![0u8; 64 * 1024];
        let n = loop {
            match recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Err(nix::Error::EINTR) => continue,
                other => break other?,
            }
        };
        if n == 0 {
            return Err(ChannelError::Closed(want));
        }
        let payload = &buf[1..n];
        Ok(match buf[0] {
            b'g' => Message::Go,
            b'h' => Message::RunCreateRuntimeHooks,
            b'd' => Message::HooksDone,
            b'p' => {
                let bytes: [u8; 4] = payload.try_into().map_err(|_| ChannelError::Closed(want))?;
                Message::Pid(i32::from_le_bytes(bytes))
            }
            b'r' => Message::Ready,
            _ => Message::Error(String::from_utf8_lossy(payload).into_owned()),
        })
    }

    /// Receives one message and checks it is `expected`; a child's error becomes `Err`.
    pub(crate) fn expect(
        &self,
        expected: &Message,
        want: &'static str,
    ) -> Result<(), SetupFailure> {
        match self.recv(want)? {
            ref got if got == expected => Ok(()),
            Message::Error(text) => Err(SetupFailure::Child(text)),
            got => Err(ChannelError::Unexpected { got, want }.into()),
        }
    }
}

/// Why the container's set-up failed, as seen by the parent.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SetupFailure {
    /// The channel itself failed (the child died without a word, for instance).
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// The child reported this error.
    #[error("{0}")]
    Child(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let (a, b) = pair().unwrap();
        for msg in [
            Message::Go,
            Message::RunCreateRuntimeHooks,
            Message::HooksDone,
            Message::Pid(4242),
            Message::Ready,
            Message::Error("mount `/proc`: denied".into()),
        ] {
            a.send(&msg).unwrap();
            assert_eq!(b.recv("test").unwrap(), msg);
        }
    }

    #[test]
    fn closed_peer_is_reported() {
        let (a, b) = pair().unwrap();
        drop(a);
        assert!(matches!(
            b.recv("ready"),
            Err(ChannelError::Closed("ready"))
        ));
    }
}
