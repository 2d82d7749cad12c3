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
