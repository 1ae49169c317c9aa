//! The `emrtd` binary: parses arguments and hands over to [`emrtd::cli`].

fn main() -> std::process::ExitCode {
    emrtd::cli::main()
}
