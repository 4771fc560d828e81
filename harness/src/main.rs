//! The `harness` binary: `harness verify` and `harness run` (see `harness --help`).

fn main() -> std::process::ExitCode {
    harness::cli::main()
}
