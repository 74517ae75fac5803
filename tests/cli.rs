//! The real binary: CLI commands, first start, configuration errors, and durability
//! across a clean stop and a `kill -9`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_voki");

fn voki(data_dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("VOKI_LOG", "warn")
        .env("VOKI_JWT_SECRET", "cli-test-secret-cli-test-secret-123")
        .output()
        .expect("run voki")
}

fn create_tenant(data_dir: &Path, slug: &str) {
    let out = voki(
        data_dir,
        &[
            "tenant",
            "create",
            slug,
            "--name",
            "Clinic",
            "--owner-email",
            "owner@clinic.test",
            "--owner-password",
            "owner-password-1",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A server process and the lines it printed before it started listening.
struct Running {
    child: Child,
    base: String,
    printed: Vec<String>,
}

/// A server left running by a failing test is killed, never left behind.
impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data_dir: &Path, extra: &[&str]) -> Running {
    let child = Command::new(BIN)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .env("VOKI_LOG", "warn")
        .env("VOKI_JWT_SECRET", "cli-test-secret-cli-test-secret-123")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn voki");
    let mut running = Running {
        child,
        base: String::new(),
        printed: Vec::new(),
    };
    let mut lines = BufReader::new(running.child.stdout.take().unwrap()).lines();
    loop {
        let line = lines
            .next()
            .expect("server exited before listening")
            .expect("read stdout");
        if let Some(rest) = line.strip_prefix("voki listening on ") {
            running.base = rest.split_whitespace().next().unwrap().to_string();
            std::thread::spawn(move || for _ in lines {});
            return running;
        }
        running.printed.push(line);
    }
}

fn stop(mut running: Running, hard: bool) {
    if hard {
        running.child.kill().expect("kill -9");
    } else {
        let _ = Command::new("kill")
            .args(["-TERM", &running.child.id().to_string()])
            .status();
    }
    let status = running.child.wait().expect("wait");
    if !hard {
        assert!(status.success(), "graceful stop exits 0, got {status}");
    }
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn login(base: &str, tenant: &str, email: &str, password: &str) -> String {
    let reply: Value = client()
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"email": email, "password": password, "tenant": tenant}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    reply["data"]["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("login failed: {reply}"))
        .to_string()
}

#[test]
fn first_start_creates_a_usable_demo_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path(), &[]);
    let password = running
        .printed
        .iter()
        .find_map(|line| line.trim().strip_prefix("password:"))
        .map(|rest| rest.split_whitespace().next().unwrap().to_string())
        .expect("the demo password is printed");
    let token = login(&running.base, "demo", "admin@demo.local", &password);
    let departments: Value = client()
        .get(format!("{}/api/v1/departments", running.base))
        .bearer_auth(&token)
        .header("X-Tenant", "demo")
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(departments["meta"]["total_count"], 1);
    stop(running, false);

    // A second start does not create it again, nor print a password.
    let again = start(dir.path(), &[]);
    assert!(again.printed.iter().all(|line| !line.contains("password")));
    stop(again, false);
}

#[test]
fn no_demo_flag_leaves_the_data_dir_empty() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(dir.path(), &["--no-demo"]);
    stop(running, false);
    let list = voki(dir.path(), &["tenant", "list"]);
    assert!(list.status.success());
    assert!(String::from_utf8_lossy(&list.stdout).trim().is_empty());
}

#[test]
fn tenants_created_with_the_cli_live_in_their_own_files() {
    let dir = tempfile::tempdir().unwrap();
    create_tenant(dir.path(), "clinic-a");
    create_tenant(dir.path(), "clinic-b");
    assert!(dir.path().join("tenants/clinic-a.db").exists());
    assert!(dir.path().join("tenants/clinic-b.db").exists());
    assert!(dir.path().join("voki.db").exists());
    let list = String::from_utf8(voki(dir.path(), &["tenant", "list"]).stdout).unwrap();
    assert!(list.contains("clinic-a") && list.contains("clinic-b"), "{list}");

    let duplicate = voki(
        dir.path(),
        &[
            "tenant",
            "create",
            "clinic-a",
            "--name",
            "X",
            "--owner-email",
            "o@x.test",
            "--owner-password",
            "password-1",
        ],
    );
    assert!(!duplicate.status.success());
    let message = String::from_utf8_lossy(&duplicate.stderr);
    assert_eq!(message.lines().count(), 1, "one clear line: {message}");
    let invalid = voki(
        dir.path(),
        &[
            "tenant",
            "create",
            "Bad_Slug",
            "--name",
            "X",
            "--owner-email",
            "o@x.test",
            "--owner-password",
            "password-1",
        ],
    );
    assert!(!invalid.status.success());

    let running = start(dir.path(), &["--no-demo"]);
    let a = login(&running.base, "clinic-a", "owner@clinic.test", "owner-password-1");
    let created: Value = client()
        .post(format!("{}/api/v1/departments", running.base))
        .bearer_auth(&a)
        .header("X-Tenant", "clinic-a")
        .json(&json!({"name": "Only in A"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = created["data"]["id"].as_str().unwrap();
    let b = login(&running.base, "clinic-b", "owner@clinic.test", "owner-password-1");
    let seen = client()
        .get(format!("{}/api/v1/departments/{id}", running.base))
        .bearer_auth(&b)
        .header("X-Tenant", "clinic-b")
        .send()
        .unwrap();
    assert_eq!(seen.status(), 404);
    // A's token is refused for B.
    let crossed = client()
        .get(format!("{}/api/v1/departments", running.base))
        .bearer_auth(&a)
        .header("X-Tenant", "clinic-b")
        .send()
        .unwrap();
    assert_eq!(crossed.status(), 401);
    stop(running, false);
}

#[test]
fn acknowledged_writes_survive_kill_9_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    create_tenant(dir.path(), "clinic");
    let running = start(dir.path(), &["--no-demo"]);
    let token = login(&running.base, "clinic", "owner@clinic.test", "owner-password-1");
    let mut ids = Vec::new();
    for n in 0..20 {
        let reply: Value = client()
            .post(format!("{}/api/v1/departments", running.base))
            .bearer_auth(&token)
            .header("X-Tenant", "clinic")
            .json(&json!({"name": format!("Department {n}")}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        ids.push(reply["data"]["id"].as_str().unwrap().to_string());
    }
    stop(running, true);

    let running = start(dir.path(), &["--no-demo"]);
    // The signing secret came from the environment, so the old token is still valid.
    for id in &ids {
        let reply = client()
            .get(format!("{}/api/v1/departments/{id}", running.base))
            .bearer_auth(&token)
            .header("X-Tenant", "clinic")
            .send()
            .unwrap();
        assert_eq!(reply.status(), 200, "{id} lost after kill -9");
    }
    stop(running, false);
}

#[test]
fn a_generated_secret_is_kept_so_restarts_keep_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(BIN)
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .env("VOKI_LOG", "warn")
            .output()
            .unwrap()
    };
    assert!(run(&["migrate"]).status.success());
    let secret = dir.path().join("secret.key");
    let first = std::fs::read_to_string(&secret).expect("secret.key written");
    assert!(first.len() >= 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert!(run(&["migrate"]).status.success());
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), first);
}

#[test]
fn invalid_configuration_exits_non_zero_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("voki.toml");
    std::fs::write(&config, "sweep_interval_secs = \"often\"\n").unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sweep_interval_secs"));

    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(dir.path())
        .arg("migrate")
        .env("VOKI_SYNCHRONOUS", "SOMETIMES")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("synchronous"));
}

#[test]
fn set_password_lets_the_user_log_in_with_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    create_tenant(dir.path(), "clinic");
    let out = voki(
        dir.path(),
        &[
            "user",
            "set-password",
            "--tenant",
            "clinic",
            "--email",
            "OWNER@clinic.test",
            "--password",
            "fresh-password",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let unknown = voki(
        dir.path(),
        &[
            "user",
            "set-password",
            "--tenant",
            "clinic",
            "--email",
            "nobody@x.test",
            "--password",
            "fresh-password",
        ],
    );
    assert!(!unknown.status.success());
    let running = start(dir.path(), &["--no-demo"]);
    login(&running.base, "clinic", "owner@clinic.test", "fresh-password");
    stop(running, false);
}

#[test]
fn backup_copies_every_tenant_while_serving() {
    let dir = tempfile::tempdir().unwrap();
    create_tenant(dir.path(), "clinic");
    let running = start(dir.path(), &["--no-demo"]);
    let token = login(&running.base, "clinic", "owner@clinic.test", "owner-password-1");
    client()
        .post(format!("{}/api/v1/departments", running.base))
        .bearer_auth(&token)
        .header("X-Tenant", "clinic")
        .json(&json!({"name": "Backed up"}))
        .send()
        .unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let target = out_dir.path().join("backup");
    let out = voki(dir.path(), &["backup", "--out", target.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    stop(running, false);

    // The copy is a data dir of its own: serve it and find the department.
    let copy = start(&target, &["--no-demo"]);
    let token = login(&copy.base, "clinic", "owner@clinic.test", "owner-password-1");
    let listed: Value = client()
        .get(format!("{}/api/v1/departments", copy.base))
        .bearer_auth(&token)
        .header("X-Tenant", "clinic")
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(listed["data"][0]["name"], "Backed up");
    stop(copy, false);
}

#[test]
fn sigterm_closes_open_sockets_and_exits_promptly() {
    use tokio_tungstenite::tungstenite::{Message, connect};
    let dir = tempfile::tempdir().unwrap();
    create_tenant(dir.path(), "clinic");
    let running = start(dir.path(), &["--no-demo"]);
    let token = login(&running.base, "clinic", "owner@clinic.test", "owner-password-1");
    let url = format!(
        "{}/socket/websocket?token={token}&vsn=2.0.0",
        running.base.replace("http://", "ws://")
    );
    let (mut socket, _) = connect(url.as_str()).expect("socket connects");
    socket
        .send(Message::text(r#"["1","1","dashboard","phx_join",{}]"#))
        .unwrap();
    assert!(socket.read().unwrap().to_text().unwrap().contains("phx_reply"));
    let began = std::time::Instant::now();
    stop(running, false);
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "an open socket does not hold the shutdown up ({:?})",
        began.elapsed()
    );
    // The socket was closed by the server.
    let closed = loop {
        match socket.read() {
            Ok(Message::Close(_)) | Err(_) => break true,
            Ok(_) => continue,
        }
    };
    assert!(closed);
}

/// `VmRSS:` / `VmHWM:` of process `pid`, in KiB.
fn memory_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with(field))?.to_string();
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

/// A burst of logins must not be a memory DoS: every argon2id hash takes 19 MiB, and at
/// most one per core runs at once (the others wait their turn), so 60 parallel
/// wrong-password logins from two IPs — all within the default rate limits — keep the
/// server's peak RSS to a few hashes' worth, not 60.
#[test]
fn parallel_wrong_password_logins_keep_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    create_tenant(dir.path(), "clinic");
    let config = dir.path().join("proxies.toml");
    std::fs::write(&config, "trusted_proxies = [\"127.0.0.1\"]\n").unwrap();
    let running = start(dir.path(), &["--no-demo", "--config", config.to_str().unwrap()]);
    login(&running.base, "clinic", "owner@clinic.test", "owner-password-1");
    let pid = running.child.id();
    let before = memory_kib(pid, "VmRSS:");
    // Forget the peak so far (writing 5 to clear_refs resets VmHWM).
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");

    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let senders: Vec<_> = (0..60)
            .map(|index| {
                let base = running.base.clone();
                scope.spawn(move || {
                    // Two client IPs; per IP the owner's e-mail 4 times (a real
                    // verification), then unknown e-mails (the dummy hash): 30 per IP,
                    // at most 4 per IP and e-mail, all within the default limits.
                    let ip = if index % 2 == 0 { "198.51.100.7" } else { "203.0.113.9" };
                    let email = if index < 8 {
                        "owner@clinic.test".to_string()
                    } else {
                        format!("nobody{index}@clinic.test")
                    };
                    client()
                        .post(format!("{base}/api/auth/login"))
                        .header("X-Forwarded-For", ip)
                        .json(&json!({"email": email, "password": "wrong-password", "tenant": "clinic"}))
                        .send()
                        .unwrap()
                        .status()
                        .as_u16()
                })
            })
            .collect();
        senders.into_iter().map(|s| s.join().unwrap()).collect()
    });
    assert!(
        statuses.iter().all(|s| *s == 401),
        "every login is refused as such: {statuses:?}"
    );

    let peak = memory_kib(pid, "VmHWM:").max(memory_kib(pid, "VmRSS:"));
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    // The process at rest plus one 19 MiB hash per core, with room to spare; the burst
    // unbounded would take 60 × 19 MiB > 1.1 GiB.
    let bound = 150 * 1024 + cores * 20 * 1024;
    eprintln!(
        "RSS before {} MiB, peak during the burst {} MiB",
        before / 1024,
        peak / 1024
    );
    assert!(
        peak < bound,
        "peak RSS {} MiB (from {} MiB before) is over {} MiB",
        peak / 1024,
        before / 1024,
        bound / 1024
    );
    stop(running, false);
}
