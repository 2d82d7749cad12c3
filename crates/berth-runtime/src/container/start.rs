//! `start`: lets a created container's init execute the user program.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use crate::error::{Error, Result};
use crate::hooks::{self, HookError};
use crate::state::{StateRoot, Status, EXEC_SOCKET};

use super::Container;

/// Starts container `id`. Returns the poststart hook failure, if any: the spec says it
/// is a warning, not an error.
pub fn start(root: &StateRoot, id: &str) -> Result<Option<HookError>> {
    let container = Container::load(root, id)?;
    container.require(&[Status::Created], "start it")?;
    let socket = container.dir.join(EXEC_SOCKET);
    let (_dir_handle, reachable) = crate::state::socket_path(&container.dir, EXEC_SOCKET)?;
    let mut conn = UnixStream::connect(&reachable).map_err(|source| Error::Io {
        what: "reach the container's init on",
        path: socket.clone(),
        source,
    })?;
    let _ = std::fs::remove_file(&socket);
    // The init executes as soon as it accepts the connection, and the exec closes its end:
    // the byte may then find nobody reading. That is success, not an error.
    match conn.write_all(&[0]) {
        Ok(()) => {}
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            ) => {}
        Err(source) => {
            return Err(Error::Io {
                what: "signal the container's init on",
                path: socket.clone(),
                source,
            })
        }
    }
    // The init holds the connection close-on-exec: EOF means the program was executed;
    // anything written first is the reason it could not be.
    let mut reply = String::new();
    let _ = conn.read_to_string(&mut reply);
    if !reply.is_empty() {
        return Err(Error::Setup(reply));
    }
    Ok(run_poststart(&container))
}

/// Runs the poststart hooks with the container running.
pub fn run_poststart(container: &Container) -> Option<HookError> {
    let list = container
        .state
        .config
        .hooks()
        .as_ref()?
        .poststart()
        .as_ref()?;
    hooks::run(
        "poststart",
        list,
        &container.state.oci_state(Status::Running),
    )
    .err()
}
