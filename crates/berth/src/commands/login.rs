//! `berth login` and `berth logout`: registry credentials, kept like docker's config.json.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Context as _};
use berth_image::distribution::{ClientOptions, CredentialStore, Credentials};
use clap::Args;

use super::async_rt;

/// Flags of `login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The user name.
    #[arg(long, short = 'u')]
    username: Option<String>,
    /// The password (prefer --password-stdin).
    #[arg(long, short = 'p')]
    password: Option<String>,
    /// Read the password from stdin.
    #[arg(long)]
    password_stdin: bool,
    /// Use plain HTTP with this registry even if it is not on loopback.
    #[arg(long)]
    insecure: bool,
    /// The registry (default: docker.io).
    #[arg(default_value = "docker.io")]
    registry: String,
}

/// Flags of `logout`.
#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The registry (default: docker.io).
    #[arg(default_value = "docker.io")]
    registry: String,
}

pub fn login(args: LoginArgs) -> anyhow::Result<i32> {
    let username = match args.username {
        Some(u) => u,
        None => prompt("Username: ")?,
    };
    let password = match (args.password, args.password_stdin) {
        (Some(_), true) => bail!("--password and --password-stdin are exclusive"),
        (Some(p), false) => p,
        (None, true) => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("read the password from stdin")?;
            line.trim_end_matches(['\n', '\r']).to_string()
        }
        (None, false) => prompt("Password: ")?,
    };
    if password.is_empty() {
        bail!("the password is empty");
    }
    let store = CredentialStore::default_location();
    let options = ClientOptions {
        insecure: args.insecure,
        ..ClientOptions::default()
    };
    let registry = registry_host(&args.registry);
    async_rt::block_on(store.login(registry, Credentials { username, password }, options))??;
    println!("Login Succeeded");
    Ok(0)
}

pub fn logout(args: LogoutArgs) -> anyhow::Result<i32> {
    let store = CredentialStore::default_location();
    let registry = registry_host(&args.registry);
    if store.logout(registry)? {
        println!("Removing login credentials for {registry}");
    } else {
        println!("Not logged in to {registry}");
    }
    Ok(0)
}

/// The registry's host from what docker also accepts: `host:port`, or a URL such as
/// `https://index.docker.io/v1/` or `http://localhost:5000/` (scheme and path dropped).
fn registry_host(arg: &str) -> &str {
    match arg
        .strip_prefix("https://")
        .or_else(|| arg.strip_prefix("http://"))
    {
        Some(rest) => rest.split('/').next().unwrap_or(rest),
        None => arg.trim_end_matches('/'),
    }
}

fn prompt(label: &str) -> anyhow::Result<String> {
    if !std::io::stdin().is_terminal() {
        bail!("cannot prompt for credentials: stdin is not a terminal (use --username and --password-stdin)");
    }
    eprint!("{label}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}
