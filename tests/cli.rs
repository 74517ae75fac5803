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

fn department_count(base: &str, token: &str, tenant: &str) -> u64 {
    let listed: Value = client()
        .get(format!("{base}/api/v1/departments?page_size=1"))
        .bearer_auth(token)
        .header("X-Tenant", tenant)
        .send()
        .unwrap()
        .json()
        .unwrap();
    listed["meta"]["total_count"].as_u64().unwrap()
}

fn rows_in(db: &Path, table: &str) -> u64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| row.get::<_, i64>(0))
        .unwrap() as u64
}

#[test]
fn restore_round_trip_under_concurrent_writes() {
    let dir = tempfile::tempdir().unwrap();
    create_tenant(dir.path(), "clinic");
    let running = start(dir.path(), &["--no-demo"]);
    let token = login(&running.base, "clinic", "owner@clinic.test", "owner-password-1");
    let stop_writing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let acknowledged = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let writer = {
        let (base, token) = (running.base.clone(), token.clone());
        let (stop_writing, acknowledged) = (stop_writing.clone(), acknowledged.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop_writing.load(std::sync::atomic::Ordering::Relaxed) {
                let reply = client()
                    .post(format!("{base}/api/v1/departments"))
                    .bearer_auth(&token)
                    .header("X-Tenant", "clinic")
                    .json(&json!({"name": format!("Department {n}")}))
                    .send()
                    .unwrap();
                assert_eq!(reply.status(), 201);
                acknowledged.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                n += 1;
            }
        })
    };
    while acknowledged.load(std::sync::atomic::Ordering::SeqCst) < 20 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = acknowledged.load(std::sync::atomic::Ordering::SeqCst);
    let backups = tempfile::tempdir().unwrap();
    let backup = backups.path().join("copy");
    let out = voki(dir.path(), &["backup", "--out", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    stop_writing.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    let after = acknowledged.load(std::sync::atomic::Ordering::SeqCst);
    stop(running, false);

    let in_backup = rows_in(&backup.join("tenants/clinic.db"), "departments");
    assert!(
        (before..=after).contains(&in_backup),
        "{before} ≤ {in_backup} ≤ {after}: the copy holds every write acknowledged before it began"
    );
    let verify = voki(dir.path(), &["backup", "verify", backup.to_str().unwrap()]);
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));

    let restored = backups.path().join("restored");
    let out = voki(&restored, &["restore", "--from", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let verify = voki(&restored, &["backup", "verify", restored.to_str().unwrap()]);
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
    let running = start(&restored, &["--no-demo"]);
    // secret.key came along, and the secret here is the environment's: the token still works.
    assert_eq!(department_count(&running.base, &token, "clinic"), in_backup);
    login(&running.base, "clinic", "owner@clinic.test", "owner-password-1");
    stop(running, false);
}

#[test]
fn backup_verify_detects_a_corrupted_copy_and_restore_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    create_tenant(dir.path(), "clinic");
    let backups = tempfile::tempdir().unwrap();
    let backup = backups.path().join("copy");
    assert!(
        voki(dir.path(), &["backup", "--out", backup.to_str().unwrap()])
            .status
            .success()
    );
    let good = voki(dir.path(), &["backup", "verify", backup.to_str().unwrap()]);
    assert!(good.status.success(), "{}", String::from_utf8_lossy(&good.stderr));

    // Overwrite the middle of the tenant's file (its second page onwards) with garbage.
    let file = backup.join("tenants/clinic.db");
    let mut bytes = std::fs::read(&file).unwrap();
    let page = 4096;
    for (i, byte) in bytes[page..page * 3].iter_mut().enumerate() {
        *byte = (i * 7 + 13) as u8;
    }
    std::fs::write(&file, bytes).unwrap();
    let bad = voki(dir.path(), &["backup", "verify", backup.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(1));
    let message = String::from_utf8_lossy(&bad.stderr);
    assert!(message.contains("tenants/clinic.db"), "{message}");

    let target = backups.path().join("restored");
    let restore = voki(&target, &["restore", "--from", backup.to_str().unwrap()]);
    assert_eq!(restore.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&restore.stderr).contains("integrity"));
    assert!(!target.exists() || std::fs::read_dir(&target).unwrap().next().is_none());
}

#[test]
fn restore_refuses_a_non_empty_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    create_tenant(dir.path(), "clinic");
    let backups = tempfile::tempdir().unwrap();
    let backup = backups.path().join("copy");
    assert!(
        voki(dir.path(), &["backup", "--out", backup.to_str().unwrap()])
            .status
            .success()
    );
    // The live data dir itself is not empty.
    let out = voki(dir.path(), &["restore", "--from", backup.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(message.contains("not empty"), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
    // An empty folder is fine.
    let empty = tempfile::tempdir().unwrap();
    let out = voki(empty.path(), &["restore", "--from", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(empty.path().join("tenants/clinic.db").is_file());
}

/// Polls `check` for up to `secs` seconds.
fn within(secs: u64, mut check: impl FnMut() -> bool) -> bool {
    let until = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < until {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

#[test]
fn a_suspension_by_the_cli_reaches_the_running_server_within_5_seconds() {
    let dir = tempfile::tempdir().unwrap();
    create_tenant(dir.path(), "clinic");
    let running = start(dir.path(), &["--no-demo"]);
    let token = login(&running.base, "clinic", "owner@clinic.test", "owner-password-1");
    let status = || {
        client()
            .get(format!("{}/api/v1/departments", running.base))
            .bearer_auth(&token)
            .header("X-Tenant", "clinic")
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(status(), 200);
    let out = voki(dir.path(), &["tenant", "suspend", "clinic"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let began = std::time::Instant::now();
    assert!(within(6, || status() == 403));
    assert!(began.elapsed() <= Duration::from_secs(5), "{:?}", began.elapsed());
    let login_reply: Value = client()
        .post(format!("{}/api/auth/login", running.base))
        .json(&json!({"email": "owner@clinic.test", "password": "owner-password-1", "tenant": "clinic"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(login_reply["errors"]["detail"], "Tenant suspended");
    assert!(voki(dir.path(), &["tenant", "resume", "clinic"]).status.success());
    assert!(within(6, || status() == 200));
    assert!(!voki(dir.path(), &["tenant", "suspend", "nobody"]).status.success());
    stop(running, false);
}

#[test]
fn tenant_delete_needs_yes_and_moves_the_files_to_the_trash() {
    let dir = tempfile::tempdir().unwrap();
    create_tenant(dir.path(), "clinic");
    let refused = voki(dir.path(), &["tenant", "delete", "clinic"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes"));
    assert!(dir.path().join("tenants/clinic.db").is_file());
    let out = voki(dir.path(), &["tenant", "delete", "clinic", "--yes"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!dir.path().join("tenants/clinic.db").exists());
    let trashed: Vec<_> = std::fs::read_dir(dir.path().join("trash")).unwrap().collect();
    assert_eq!(trashed.len(), 1);
    let list = String::from_utf8(voki(dir.path(), &["tenant", "list"]).stdout).unwrap();
    assert!(!list.contains("clinic"), "{list}");
    // The slug is free again.
    create_tenant(dir.path(), "clinic");
}

#[test]
fn tenant_export_while_serving_and_import_on_another_node_keep_links_working() {
    let dir = tempfile::tempdir().unwrap();
    create_tenant(dir.path(), "clinic");
    let running = start(dir.path(), &["--no-demo"]);
    let token = login(&running.base, "clinic", "owner@clinic.test", "owner-password-1");
    let department: Value = client()
        .post(format!("{}/api/v1/departments", running.base))
        .bearer_auth(&token)
        .header("X-Tenant", "clinic")
        .json(&json!({"name": "Moving"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let link: Value = client()
        .post(format!("{}/api/v1/access-links", running.base))
        .bearer_auth(&token)
        .header("X-Tenant", "clinic")
        .json(&json!({"department_id": department["data"]["id"]}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let link_token = link["data"]["token"].as_str().unwrap().to_string();
    let archive = dir.path().join("clinic.tar.gz");
    let out = voki(
        dir.path(),
        &["tenant", "export", "clinic", "--out", archive.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    stop(running, false);

    let node = tempfile::tempdir().unwrap();
    let out = voki(node.path(), &["tenant", "import", archive.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let again = voki(node.path(), &["tenant", "import", archive.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1));
    let running = start(node.path(), &["--no-demo"]);
    let valid = client()
        .get(format!("{}/api/v1/call/{link_token}/validate", running.base))
        .send()
        .unwrap();
    assert_eq!(valid.status(), 200);
    let token = login(&running.base, "clinic", "owner@clinic.test", "owner-password-1");
    assert_eq!(department_count(&running.base, &token, "clinic"), 1);
    stop(running, false);
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
