//! `cargo xtask corpus generate [--seed N]`: regenerates the seeded part of `corpus/`.
//!
//! The generator is the `posthog-corpus-gen` crate (`corpus-gen/`): its docs list the files,
//! their event counts and the default seed, and its tests check that the default seed
//! regenerates the committed files byte for byte. This is the command around it: arguments,
//! the directory, and what was written.

use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct CorpusArgs {
    /// Seed of the generator.
    #[arg(long, default_value_t = posthog_corpus_gen::DEFAULT_SEED)]
    pub seed: u64,
}

pub fn run(root: &Path, args: &CorpusArgs) -> anyhow::Result<()> {
    let files = posthog_corpus_gen::write(&root.join("corpus"), args.seed)?;
    let mut total = 0;
    for file in &files {
        println!("{:>5} events  corpus/{}", file.events, file.name);
        total += file.events;
    }
    println!("{total:>5} events generated (seed {})", args.seed);
    Ok(())
}
