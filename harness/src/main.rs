//! The `harness` binary: `harness verify` and `harness run` (see `harness --help`).

/// `run` allocates and frees JSON values for every event; mimalloc does that faster than
/// glibc's malloc (measured in README's "Where the time goes").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    harness::cli::main()
}
