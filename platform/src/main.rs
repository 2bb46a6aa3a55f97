//! `agora`: see `agora --help`. All the work is in the library, so tests can drive it too.

/// mimalloc rather than glibc malloc: under load the charge writer allocates and frees large
/// statements and JSON bodies, and glibc's malloc (consolidating, unlinking) took about a third
/// of the process's CPU (perf, issue 13).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    agora_platform::cli::main()
}
