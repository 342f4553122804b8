//! The `mamori` binary: everything lives in the library so that tests run what users run.

fn main() -> std::process::ExitCode {
    mamori::cli::main()
}
