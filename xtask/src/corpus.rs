//! `cargo xtask corpus`: the seeded corpus generator (placeholder, replaced below).

use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct CorpusArgs {
    /// Seed of the generator.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
}

pub fn run(_root: &Path, _args: &CorpusArgs) -> anyhow::Result<()> {
    anyhow::bail!("not written yet")
}
