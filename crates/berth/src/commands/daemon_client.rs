//! The connection of the client verbs to the daemon. With the default address (no `-H`,
//! no `BERTH_HOST`) and nothing answering, `berth daemon` is started in the background
//! (its own session, output to `<exec-root>/daemon.log`) and waited for, so that
//! `berth run` works on a fresh machine as `docker run` does after `systemctl start`.

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use berth_client::DockerClient;

use super::Context;

/// How long a started daemon has to answer `/_ping`.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A client of the daemon, started first if it is the default one and not running.
pub async fn connect(ctx: &Context) -> anyhow::Result<DockerClient> {
    let host = ctx.host();
    let client = DockerClient::new(&host)?;
    if ctx.host.is_some() || client.ping().await.is_ok() {
        return Ok(client);
    }
    let exe = std::env::current_exe().context("find the berth executable")?;
    start_daemon(&exe, ctx, START_TIMEOUT).await?;
    Ok(client)
}

/// Starts `program daemon` with the context's roots and waits up to `timeout` for it to
/// answer on its socket.
pub async fn start_daemon(program: &Path, ctx: &Context, timeout: Duration) -> anyhow::Result<()> {
    std::fs::create_dir_all(&ctx.exec_root)
        .with_context(|| format!("create the exec root `{}`", ctx.exec_root.display()))?;
    let log_path = log_path(ctx);
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("open the daemon log `{}`", log_path.display()))?;
    let mut command = Command::new(program);
    command
        .arg("--data-root")
        .arg(&ctx.data_root)
        .arg("--exec-root")
        .arg(&ctx.exec_root)
        .arg("daemon")
        .env_remove("BERTH_HOST")
        .stdin(Stdio::null())
        .stdout(log.try_clone().context("duplicate the daemon log")?)
        .stderr(log);
    // SAFETY: setsid is async-signal-safe and touches only the child; a new session
    // keeps the daemon alive when this terminal goes away.
    unsafe {
        command.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let mut child = command
        .spawn()
        .with_context(|| format!("start `{} daemon`", program.display()))?;
    let client = DockerClient::new(&ctx.host())?;
    let deadline = Instant::now() + timeout;
    loop {
        if client.ping().await.is_ok() {
            return Ok(());
        }
        // A daemon that died will never answer: say so at once rather than at the deadline.
        if let Ok(Some(status)) = child.try_wait() {
            anyhow::bail!(
                "the berth daemon exited ({status}) before answering on {}\nhint: see its log in {}",
                ctx.host(),
                log_path.display()
            );
        }
        if Instant::now() >= deadline {
            // Half-started daemons would hold the socket and the roots; the next attempt
            // starts afresh.
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!(
                "the berth daemon did not answer on {} within {}s\nhint: see its log in {}",
                ctx.host(),
                timeout.as_secs(),
                log_path.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Where the started daemon writes its output.
pub fn log_path(ctx: &Context) -> PathBuf {
    ctx.exec_root.join("daemon.log")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(dir: &Path) -> Context {
        Context {
            data_root: dir.join("data"),
            exec_root: dir.join("exec"),
            host: None,
        }
    }

    #[test]
    fn a_daemon_that_exits_is_reported_with_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path());
        // `false daemon ...` exits at once, as a daemon that fails to start would.
        let err = super::super::async_rt::block_on(start_daemon(
            Path::new("/bin/false"),
            &ctx,
            Duration::from_secs(5),
        ))
        .unwrap()
        .unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("exited"), "{text}");
        assert!(
            text.contains(&log_path(&ctx).display().to_string()),
            "{text}"
        );
        assert!(log_path(&ctx).exists());
    }

    #[test]
    fn a_daemon_that_never_answers_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = context(dir.path());
        let script = dir.path().join("silent");
        std::fs::write(&script, "#!/bin/sh\necho started \"$@\"\nexec sleep 30\n").unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let started = Instant::now();
        let err = super::super::async_rt::block_on(start_daemon(
            &script,
            &ctx,
            Duration::from_millis(800),
        ))
        .unwrap()
        .unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(800));
        // start_daemon killed the stand-in when it gave up.
        let text = format!("{err:#}");
        assert!(text.contains("did not answer"), "{text}");
        assert!(text.contains("daemon.log"), "{text}");
        let log = std::fs::read_to_string(log_path(&ctx)).unwrap();
        assert!(
            log.contains("--exec-root"),
            "the daemon got its roots: {log}"
        );
        assert!(log.contains(" daemon"), "{log}");
    }
}
