/// mimalloc returns freed memory to the system and keeps no per-thread arenas that grow
/// without bound, so the server's memory falls back after a burst (of logins, of tenants
/// opened once) instead of staying at its peak.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc returns memory that has been free for its purge delay (100 ms) only when some
/// thread next allocates, so a server that falls idle after a burst would keep it. This
/// thread asks for that purge once a second.
fn purge_freed_memory() {
    let purging = std::thread::Builder::new().name("memory-purge".into()).spawn(|| {
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
            // SAFETY: `mi_collect` only walks mimalloc's own structures; any thread may call it.
            unsafe { libmimalloc_sys::mi_collect(false) };
        }
    });
    if let Err(err) = purging {
        eprintln!("voki: memory purge thread not started: {err}");
    }
}

fn main() -> std::process::ExitCode {
    purge_freed_memory();
    voki::cli::run()
}
