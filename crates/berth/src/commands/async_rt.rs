//! A tokio runtime for the verbs that do network work. The runtime verbs never use one:
//! they fork, which needs a single-threaded process.

/// Runs `future` to completion on a new multi-threaded runtime.
pub fn block_on<F: std::future::Future>(future: F) -> anyhow::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("start the async runtime: {e}"))?;
    Ok(runtime.block_on(future))
}
