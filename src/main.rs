/// mimalloc returns freed memory to the system and keeps no per-thread arenas that grow
/// without bound, so the server's memory falls back after a burst (of logins, of tenants
/// opened once) instead of staying at its peak.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    voki::cli::run()
}
