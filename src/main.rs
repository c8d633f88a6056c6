//! The `trailmap` binary: the command line lives in [`trailmap::cli`].

fn main() -> std::process::ExitCode {
    trailmap::cli::main()
}
