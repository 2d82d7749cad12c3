//! Exec sessions (`docker exec`): created, then started through the container's shim.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use berth_client::types::exec::ExecConfig;

/// One exec session.
#[derive(Debug)]
pub struct ExecSession {
    /// Its id (64 hex).
    pub id: String,
    /// The container's id.
    pub container_id: String,
    /// What to run.
    pub config: ExecConfig,
    /// Mutable state.
    pub state: Mutex<ExecState>,
}

/// What changes during an exec's life.
#[derive(Debug, Clone, Default)]
pub struct ExecState {
    /// Started and not yet exited.
    pub running: bool,
    /// Started once (an exec cannot start twice).
    pub started: bool,
    /// Host pid while running.
    pub pid: i64,
    /// Exit code once exited.
    pub exit_code: Option<i64>,
}

/// Every exec session, by id.
#[derive(Debug, Default)]
pub struct Execs {
    inner: Mutex<HashMap<String, Arc<ExecSession>>>,
}

impl Execs {
    /// Adds a session.
    pub fn insert(&self, session: Arc<ExecSession>) {
        self.lock().insert(session.id.clone(), session);
    }

    /// A session by id.
    pub fn get(&self, id: &str) -> Option<Arc<ExecSession>> {
        self.lock().get(id).cloned()
    }

    /// Forgets the sessions of a removed container.
    pub fn remove_container(&self, container_id: &str) {
        self.lock().retain(|_, s| s.container_id != container_id);
    }

    /// The ids of a container's running sessions.
    pub fn running_of(&self, container_id: &str) -> Vec<String> {
        self.lock()
            .values()
            .filter(|s| s.container_id == container_id)
            .filter(|s| s.state.lock().map(|st| st.running).unwrap_or(false))
            .map(|s| s.id.clone())
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<ExecSession>>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

use std::path::Path;

use oci_spec::runtime::{Process, Spec};
use tokio::net::UnixStream;

use crate::container::Container;
use crate::engine::Engine;
use crate::error::{EngineError, Result};

/// `POST /containers/{id}/exec`: records a session; nothing runs yet.
pub fn create(engine: &Engine, container: &Container, config: ExecConfig) -> Result<String> {
    let status = container.with(|r| r.state.status);
    use berth_client::types::containers::ContainerStatus;
    match status {
        ContainerStatus::Running => {}
        ContainerStatus::Paused => {
            return Err(EngineError::Conflict(format!(
                "container {} is paused, unpause the container before exec",
                container.id
            )))
        }
        _ => {
            return Err(EngineError::Conflict(format!(
                "container {} is not running",
                container.id
            )))
        }
    }
    if config.cmd.is_empty() {
        return Err(EngineError::Invalid("No exec command specified".into()));
    }
    let id = crate::container::create::new_id();
    let mut attributes = crate::container::view::event_attributes(container);
    attributes.insert("execID".into(), id.clone());
    engine.events().publish(
        "container",
        &format!("exec_create: {}", config.cmd.join(" ")),
        &container.id,
        attributes,
    );
    engine.execs.insert(Arc::new(ExecSession {
        id: id.clone(),
        container_id: container.id.clone(),
        config,
        state: Mutex::new(ExecState::default()),
    }));
    Ok(id)
}

/// `uid[:gid]` from names or numbers, looked up in the container's `/etc/passwd` and
/// `/etc/group`.
fn resolve_user(rootfs: &Path, user: &str) -> Result<(u32, u32)> {
    let (user_part, group_part) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap_or_default();
    let entry = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 3 && (f[0] == user_part || f[2] == user_part));
    let (uid, mut gid) = match (user_part.parse::<u32>(), &entry) {
        (Ok(uid), Some(f)) => (uid, f[3].parse().unwrap_or(uid)),
        (Ok(uid), None) => (uid, 0),
        (Err(_), Some(f)) => (f[2].parse().unwrap_or(0), f[3].parse().unwrap_or(0)),
        (Err(_), None) => {
            return Err(EngineError::Invalid(format!(
                "unable to find user {user_part}: no matching entries in passwd file"
            )))
        }
    };
    if let Some(group) = group_part {
        gid = match group.parse::<u32>() {
            Ok(g) => g,
            Err(_) => {
                let groups = std::fs::read_to_string(rootfs.join("etc/group")).unwrap_or_default();
                groups
                    .lines()
                    .map(|l| l.split(':').collect::<Vec<_>>())
                    .find(|f| f.len() > 2 && f[0] == group)
                    .and_then(|f| f[2].parse().ok())
                    .ok_or_else(|| {
                        EngineError::Invalid(format!(
                            "unable to find group {group}: no matching entries in group file"
                        ))
                    })?
            }
        };
    }
    Ok((uid, gid))
}

/// The process of an exec: the container's own process (from its bundle) with the exec's
/// command, terminal, environment, user and directory.
pub fn process_for(container: &Container, config: &ExecConfig) -> Result<Process> {
    let path = container.dir().join("config.json");
    let spec = Spec::load(&path)
        .map_err(|e| EngineError::Internal(format!("read `{}`: {e}", path.display())))?;
    let mut process = spec.process().clone().unwrap_or_default();
    process.set_args(Some(config.cmd.clone()));
    let tty = config.tty.unwrap_or(false);
    process.set_terminal(Some(tty));
    process.set_console_size(None);
    if let Some([height, width]) = config.console_size.filter(|_| tty) {
        if let Ok(size) = oci_spec::runtime::BoxBuilder::default()
            .height(height)
            .width(width)
            .build()
        {
            process.set_console_size(Some(size));
        }
    }
    let mut env = process.env().clone().unwrap_or_default();
    for item in config.env.iter().flatten() {
        let key = item.split('=').next().unwrap_or(item);
        env.retain(|e| e.split('=').next() != Some(key));
        env.push(item.clone());
    }
    if tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    process.set_env(Some(env));
    if let Some(dir) = config.working_dir.as_deref().filter(|d| !d.is_empty()) {
        process.set_cwd(dir.into());
    }
    if let Some(user) = config.user.as_deref().filter(|u| !u.is_empty()) {
        let (uid, gid) = resolve_user(&container.rootfs(), user)?;
        let mut u = process.user().clone();
        u.set_uid(uid);
        u.set_gid(gid);
        u.set_additional_gids(None);
        process.set_user(u);
    }
    if config.privileged.unwrap_or(false) {
        use oci_spec::runtime::{Capability, LinuxCapabilitiesBuilder};
        use std::str::FromStr;
        let all: std::collections::HashSet<Capability> = caps::all()
            .into_iter()
            .filter_map(|c| Capability::from_str(&c.to_string()).ok())
            .collect();
        if let Ok(capabilities) = LinuxCapabilitiesBuilder::default()
            .bounding(all.clone())
            .effective(all.clone())
            .permitted(all)
            .build()
        {
            process.set_capabilities(Some(capabilities));
        }
        process.set_apparmor_profile(None);
    }
    Ok(process)
}

/// Starts a session through the container's shim. Returns the stream (frames out, stdin
/// in) unless detached.
pub async fn start(
    engine: &Arc<Engine>,
    session: &Arc<ExecSession>,
    detach: bool,
) -> Result<Option<UnixStream>> {
    {
        let mut state = session.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.started {
            return Err(EngineError::Conflict(format!(
                "Error: Exec command {} has already run",
                session.id
            )));
        }
        state.started = true;
    }
    let container = engine.containers.get(&session.container_id)?;
    let shim = container.shim().ok_or_else(|| {
        EngineError::Conflict(format!("container {} is not running", container.id))
    })?;
    let process = process_for(&container, &session.config)?;
    let request = berth_shim::Request::Exec {
        exec_id: session.id.clone(),
        process,
        stdin: session.config.attach_stdin.unwrap_or(false) && !detach,
        detach,
    };
    let (response, stream) = shim.open_stream(&request).await?;
    let pid = match response {
        berth_shim::Response::Pid { pid } => pid,
        other => {
            return Err(EngineError::Internal(format!(
                "the shim answered {other:?} to exec"
            )))
        }
    };
    {
        let mut state = session.state.lock().unwrap_or_else(|e| e.into_inner());
        state.running = true;
        state.pid = i64::from(pid);
    }
    let mut attributes = crate::container::view::event_attributes(&container);
    attributes.insert("execID".into(), session.id.clone());
    engine.events().publish(
        "container",
        &format!("exec_start: {}", session.config.cmd.join(" ")),
        &container.id,
        attributes,
    );
    // Learn the exit code however the stream ends.
    let waiter_engine = engine.clone();
    let waiter_session = session.clone();
    tokio::spawn(async move {
        let request = berth_shim::Request::ExecWait {
            exec_id: waiter_session.id.clone(),
        };
        let code = match shim.request(&request).await {
            Ok(berth_shim::Response::Exited(exit)) => exit.exit_code,
            _ => 137,
        };
        finish(&waiter_engine, &waiter_session, i64::from(code));
    });
    Ok((!detach).then_some(stream))
}

/// Records a session's exit (once).
pub fn finish(engine: &Engine, session: &ExecSession, exit_code: i64) {
    let first = {
        let mut state = session.state.lock().unwrap_or_else(|e| e.into_inner());
        let first = state.running;
        state.running = false;
        state.exit_code = Some(exit_code);
        first
    };
    if first {
        let mut attributes = BTreeMapAttrs::new();
        attributes.insert("execID".into(), session.id.clone());
        attributes.insert("exitCode".into(), exit_code.to_string());
        engine
            .events()
            .publish("container", "exec_die", &session.container_id, attributes);
    }
}

type BTreeMapAttrs = std::collections::BTreeMap<String, String>;

/// Runs `argv` in the container and collects its output (healthchecks).
pub async fn run_collect(
    container: &Container,
    argv: Vec<String>,
    timeout: std::time::Duration,
) -> Result<(i64, String)> {
    let shim = container.shim().ok_or_else(|| {
        EngineError::Conflict(format!("container {} is not running", container.id))
    })?;
    let config = ExecConfig {
        cmd: argv,
        ..ExecConfig::default()
    };
    let process = process_for(container, &config)?;
    let exec_id = crate::container::create::new_id();
    let request = berth_shim::Request::Exec {
        exec_id: exec_id.clone(),
        process,
        stdin: false,
        detach: false,
    };
    let (_, mut stream) = shim.open_stream(&request).await?;
    let collect = async {
        let mut output = Vec::new();
        let mut code = None;
        while let Ok(Some((kind, payload))) = berth_shim::client::read_frame(&mut stream).await {
            if kind == berth_shim::protocol::FRAME_EXIT {
                code = berth_shim::protocol::exit_code_of(&payload);
                break;
            }
            if output.len() < 4096 {
                output.extend_from_slice(&payload);
            }
        }
        (code, output)
    };
    match tokio::time::timeout(timeout, collect).await {
        Ok((code, output)) => {
            let mut text = String::from_utf8_lossy(&output).into_owned();
            text.truncate(4096);
            Ok((i64::from(code.unwrap_or(-1)), text))
        }
        Err(_) => Err(EngineError::Internal(format!(
            "Health check exceeded timeout ({timeout:?})"
        ))),
    }
}
