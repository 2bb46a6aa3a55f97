//! `agora`: see `agora --help`. All the work is in the library, so tests can drive it too.

fn main() -> std::process::ExitCode {
    agora_platform::cli::main()
}
