//! What the benchmarks share: tenant `bench` on a fresh data dir, its owner's login, and
//! how a duration is printed. Each bench uses part of it.

#![allow(dead_code)]

use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;
use voki::app::{AppState, Server};
use voki::config::Config;
use voki::tenancy::{Owner, create_tenant};

pub const TENANT: &str = "bench";
pub const OWNER_EMAIL: &str = "owner@bench.test";
pub const PASSWORD: &str = "bench-password-1";
pub const SECRET: &str = "bench-secret-bench-secret-bench-secret";

/// The state of a server with tenant `bench` and its owner, on a fresh temp data dir
/// (removed when the returned `TempDir` is dropped).
pub async fn bench_state() -> (AppState, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        listen: "127.0.0.1:0".into(),
        jwt_secret: SECRET.into(),
        bootstrap_demo: false,
        log: "error".into(),
        ..Config::default()
    };
    let state = AppState::open(config).await.expect("open state");
    let owner = Owner {
        name: "Owner".into(),
        email: OWNER_EMAIL.into(),
        password: PASSWORD.into(),
    };
    create_tenant(&state, TENANT, "Bench clinic", owner)
        .await
        .expect("tenant");
    (state, dir)
}

/// Serves `state` on loopback; the server and its base URL.
pub async fn serve(state: AppState) -> (Server, String) {
    let server = Server::start(state, "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("server");
    let base = format!("http://{}", server.addr);
    (server, base)
}

/// The owner's access token.
pub async fn login(client: &reqwest::Client, base: &str) -> String {
    let login: Value = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"email": OWNER_EMAIL, "password": PASSWORD, "tenant": TENANT}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login body");
    login["data"]["access_token"].as_str().expect("token").to_string()
}

pub fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

/// The sorted sample at `fraction` (0.5 = median, 0.99 = p99).
pub fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * fraction) as usize).min(sorted.len() - 1)]
}

/// The `voki` binary a bench runs: `VOKI_BENCH_BIN` when set (to compare another build,
/// e.g. the previous release, on the same machine in the same run), else this package's.
pub fn voki_binary() -> String {
    std::env::var("VOKI_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_voki").to_string())
}

/// A `voki serve` child process on loopback, killed when dropped.
pub struct Process {
    pub child: std::process::Child,
    pub base: String,
    /// From spawning to the "listening" line.
    pub started_in: Duration,
}

impl Process {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `voki tenant create <slug>` with the bench owner, on `data_dir`.
pub fn create_tenant_with_cli(bin: &str, data_dir: &std::path::Path, slug: &str) {
    let created = std::process::Command::new(bin)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["tenant", "create", slug, "--name", "Bench clinic"])
        .args(["--owner-email", OWNER_EMAIL, "--owner-password", PASSWORD])
        .env("VOKI_JWT_SECRET", SECRET)
        .output()
        .expect("voki tenant create");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
}

/// Starts `voki serve` on `data_dir` with `env` added (rate limits, tenant budget, …).
pub fn start_server(bin: &str, data_dir: &std::path::Path, env: &[(&str, &str)]) -> Process {
    use std::io::{BufRead, BufReader};
    let began = std::time::Instant::now();
    let mut command = std::process::Command::new(bin);
    command
        .arg("--data-dir")
        .arg(data_dir)
        .args(["serve", "--listen", "127.0.0.1:0", "--no-demo"])
        .env("VOKI_LOG", "error")
        .env("VOKI_JWT_SECRET", SECRET)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().expect("voki serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let base = loop {
        let line = lines.next().expect("server exited").expect("stdout line");
        if let Some(rest) = line.strip_prefix("voki listening on ") {
            break rest.split_whitespace().next().expect("address").to_string();
        }
    };
    let started_in = began.elapsed();
    std::thread::spawn(move || for _ in lines {});
    Process {
        child,
        base,
        started_in,
    }
}

/// A field of `/proc/<pid>/status` in KiB (`VmRSS:`, `VmHWM:`), or a count (`Threads:`).
pub fn proc_status(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with(field))?.to_string();
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

/// The CPU time (user and system, all threads) process `pid` has used so far, from
/// `/proc/<pid>/stat` (in the kernel's 100 Hz ticks).
pub fn cpu_time(pid: u32) -> Duration {
    stat_cpu_time(&format!("/proc/{pid}/stat"))
}

/// The CPU time the threads of process `pid` named `name` have used so far.
pub fn threads_cpu_time(pid: u32, name: &str) -> Duration {
    let Ok(threads) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Duration::ZERO;
    };
    threads
        .flatten()
        .filter(|thread| std::fs::read_to_string(thread.path().join("comm")).is_ok_and(|comm| comm.trim() == name))
        .map(|thread| stat_cpu_time(&thread.path().join("stat").to_string_lossy()))
        .sum()
}

/// utime + stime of a `/proc` stat file.
fn stat_cpu_time(path: &str) -> Duration {
    let ticks = std::fs::read_to_string(path)
        .ok()
        .and_then(|stat| {
            // The fields after the command name (which may hold spaces) in parentheses;
            // utime and stime are the 14th and 15th of the line.
            let fields: Vec<u64> = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .skip(11)
                .take(2)
                .map(|field| field.parse().unwrap_or(0))
                .collect();
            Some(fields.iter().sum::<u64>())
        })
        .unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

pub fn rss_mib(pid: u32) -> f64 {
    proc_status(pid, "VmRSS:") as f64 / 1024.0
}

/// How many files process `pid` has open.
pub fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count())
}

/// Samples a process's RSS every 100 ms in a thread until [`RssSampler::finish`], and its
/// anonymous part (`RssAnon`: the memory the process holds). The rest is file pages: each
/// connection maps its database file, and a page counts once per connection mapping it,
/// though it is one page of the OS page cache that the kernel can reclaim.
pub struct RssSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Vec<(Duration, f64, f64)>>,
}

impl RssSampler {
    pub fn start(pid: u32) -> RssSampler {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopping = stop.clone();
        let sample = move |began: std::time::Instant| {
            (
                began.elapsed(),
                rss_mib(pid),
                proc_status(pid, "RssAnon:") as f64 / 1024.0,
            )
        };
        let thread = std::thread::spawn(move || {
            let began = std::time::Instant::now();
            let mut samples = Vec::new();
            while !stopping.load(std::sync::atomic::Ordering::Relaxed) {
                samples.push(sample(began));
                std::thread::sleep(Duration::from_millis(100));
            }
            samples.push(sample(began));
            samples
        });
        RssSampler { stop, thread }
    }

    /// The samples, as one line: the RSS each second, its peak and the anonymous peak.
    pub fn finish(self) -> String {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let samples = self.thread.join().expect("sampler");
        let peak = samples.iter().map(|(_, mib, _)| *mib).fold(0.0, f64::max);
        let anonymous = samples.iter().map(|(_, _, mib)| *mib).fold(0.0, f64::max);
        let per_second: Vec<String> = samples
            .iter()
            .filter(|(at, _, _)| at.as_millis() % 1000 < 100)
            .map(|(at, mib, _)| format!("{:.0}s {mib:.0}", at.as_secs_f64()))
            .collect();
        format!(
            "RSS MiB over time: {} | peak {peak:.0} MiB, of which anonymous {anonymous:.0} MiB at most",
            per_second.join(", ")
        )
    }
}

/// Raises this process's open-file limit (inherited by the servers it starts) to `want`,
/// or to the hard limit if that is lower; returns the new soft limit.
pub fn raise_fd_limit(want: u64) -> u64 {
    #[repr(C)]
    struct RLimit {
        current: u64,
        maximum: u64,
    }
    const RLIMIT_NOFILE: i32 = 7;
    unsafe extern "C" {
        fn getrlimit(resource: i32, limit: *mut RLimit) -> i32;
        fn setrlimit(resource: i32, limit: *const RLimit) -> i32;
    }
    let mut limit = RLimit { current: 0, maximum: 0 };
    // SAFETY: both calls get a valid pointer to a struct laid out as the C `struct rlimit`
    // (two `rlim_t`, 64-bit on Linux) and keep no reference to it.
    unsafe {
        if getrlimit(RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.current < want {
            let raised = RLimit {
                current: want.min(limit.maximum),
                maximum: limit.maximum,
            };
            if setrlimit(RLIMIT_NOFILE, &raised) == 0 {
                limit.current = raised.current;
            }
        }
    }
    limit.current
}
