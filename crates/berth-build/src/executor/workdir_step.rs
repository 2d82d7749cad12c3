//! The WORKDIR step: as dockerd's legacy builder, it creates the directory (root-owned,
//! 0755, parents included) in a layer of its own; a directory that already exists makes
//! an empty diff, hence no layer (see `stage.rs`).

use std::fs;
use std::os::unix::fs::DirBuilderExt;

use super::cache::StepRecord;
use super::copy::resolve_in_root;
use super::layer::Mounted;
use super::stage::{BuildContext, Built};
use super::BuildError;
use crate::args::ImageConfig;

impl BuildContext<'_> {
    /// Creates `after.working_dir` on `state`'s layers; `created_by` is the step's history.
    pub(crate) async fn workdir(
        &self,
        state: &Built,
        after: &ImageConfig,
        created_by: String,
    ) -> Result<StepRecord, BuildError> {
        let mut mounted = Mounted::new(
            &self.builder.snapshots,
            &state.layers,
            self.step_dir("workdir"),
            true,
        )?;
        let dir = resolve_in_root(&mounted.root, &after.working_dir);
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(&dir)
            .map_err(|e| BuildError::Other(format!("create {}: {e}", after.working_dir)))?;
        mounted.unmount()?;
        self.commit_step(mounted, &state.layers, created_by, after.clone())
            .await
    }
}
