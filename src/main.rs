//! The `emrtd` binary: parses arguments and hands over to [`emrtd::cli`].

/// mimalloc instead of glibc's allocator: `pkd import` parses on one thread and
/// writes on another, and every record allocated by the reader is freed by the
/// writer; glibc's per-thread arenas turned that into lock contention (a fifth of
/// the reader's time in futex calls, docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    emrtd::cli::main()
}
