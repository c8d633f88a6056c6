//! The `trailmap` binary: the command line lives in [`trailmap::cli`].

/// mimalloc rather than the system allocator: the collector's handlers
/// allocate many small, short-lived strings per event, and glibc's malloc
/// spent over a tenth of their time in its free-list upkeep (see
/// BENCHMARKS.md); mimalloc also returns freed memory to the system sooner.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    trailmap::cli::main()
}
