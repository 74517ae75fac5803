//! The socket under many connections, against the real `voki` binary.
//!
//! `cargo bench --bench socket` (optionally `-- <connections>`, default 1000; the bench
//! raises its open-file limit, which the server inherits, to fit 5 000 and more). Starts
//! the release binary (`VOKI_BENCH_BIN` for another build) on a temp data dir, opens that
//! many WebSocket connections that all join one department's queue topic, and measures:
//! - the server's memory per connection (its RSS before and after, from /proc);
//! - fan-out: the time from a patient joining the queue over HTTP until the last of the
//!   connections has its `customer_joined` (median, p99 and worst of 200 joins, after one
//!   warm-up join), how long the join request itself took (its reply waits for nothing
//!   but its commit), and the CPU time per delivered frame of the server and of this
//!   load generator (which shares the cores with it);
//! - heartbeat round trips on one connection while the others are open.
//!
//! The connections are this bench's own minimal WebSocket client ([`Client`]), and the
//! same client measures the raw floor at the end ([`raw_fan_out`]).

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::{OWNER_EMAIL, PASSWORD, SECRET, TENANT, cpu_time, millis, threads_cpu_time};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, FrameHeader};

const JOINS: usize = 200;
/// Joins before the measured ones: the first one also pays the first poll of every
/// listening task of this load generator, spawned just before it.
const WARM_UP_JOINS: usize = 1;

/// How many listening connections have a join's `customer_joined`, and when the last did.
struct Arrivals {
    count: AtomicUsize,
    last: Mutex<Option<Instant>>,
    all: Notify,
}

/// Every connection reads in its own task and counts its `customer_joined`; the last of
/// a join notes the time and wakes the bench (a counter, not a message per arrival: the
/// load generator shares the cores with the server). The first frame is kept in `sample`.
fn listen(sockets: Vec<Client>, arrivals: &Arc<Arrivals>, listeners: usize, sample: &Arc<OnceLock<String>>) {
    for mut client in sockets {
        let arrivals = arrivals.clone();
        let sample = sample.clone();
        tokio::spawn(async move {
            loop {
                match client.next().await {
                    Ok((TEXT, payload)) if contains(payload, "customer_joined") => {
                        if sample.get().is_none() {
                            let _ = sample.set(String::from_utf8_lossy(payload).into_owned());
                        }
                        if arrivals.count.fetch_add(1, Ordering::AcqRel) + 1 == listeners {
                            *arrivals.last.lock().expect("last arrival") = Some(Instant::now());
                            arrivals.all.notify_one();
                        }
                    }
                    Ok((CLOSE, _)) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        });
    }
}

impl Arrivals {
    fn new() -> Arc<Arrivals> {
        Arc::new(Arrivals {
            count: AtomicUsize::new(0),
            last: Mutex::new(None),
            all: Notify::new(),
        })
    }

    /// The time from `began` until the last listener had the frame.
    async fn last_since(&self, began: Instant) -> Duration {
        self.all.notified().await;
        let last = self.last.lock().expect("last arrival").take().expect("a last arrival");
        last - began
    }
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data_dir: &Path) -> Server {
    let bin = common::voki_binary();
    let created = Command::new(&bin)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["tenant", "create", TENANT, "--name", "Bench clinic"])
        .args(["--owner-email", OWNER_EMAIL, "--owner-password", PASSWORD])
        .env("VOKI_JWT_SECRET", SECRET)
        .output()
        .expect("voki tenant create");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let mut child = Command::new(&bin)
        .arg("--data-dir")
        .arg(data_dir)
        .args(["serve", "--listen", "127.0.0.1:0", "--no-demo"])
        .env("VOKI_LOG", "error")
        .env("VOKI_JWT_SECRET", SECRET)
        .env("VOKI_RATE_LIMIT_WIDGET_PER_MINUTE", "0")
        // One login per 16 sockets (a staff token holds at most 16).
        .env("VOKI_RATE_LIMIT_AUTH_PER_MINUTE", "0")
        .env("VOKI_RATE_LIMIT_AUTH_IP_PER_MINUTE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("voki serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let base = loop {
        let line = lines.next().expect("server exited").expect("stdout line");
        if let Some(rest) = line.strip_prefix("voki listening on ") {
            break rest.split_whitespace().next().expect("address").to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server { child, base }
}

/// `WARM_UP_JOINS` rounds, then `JOINS` measured ones: each resets the count, runs
/// `trigger` (with the round's index) and waits for the last listener. `measuring` runs
/// once, just before the first measured round. Returns the measured rounds' times, from
/// the trigger to the last arrival.
async fn rounds(
    arrivals: &Arrivals,
    mut trigger: impl AsyncFnMut(usize),
    mut measuring: impl FnMut(),
) -> Vec<Duration> {
    let mut times = Vec::with_capacity(JOINS);
    for index in 0..WARM_UP_JOINS + JOINS {
        if index == WARM_UP_JOINS {
            times.clear();
            measuring();
        }
        arrivals.count.store(0, Ordering::Release);
        let began = Instant::now();
        trigger(index).await;
        times.push(arrivals.last_since(began).await);
    }
    times
}

/// CPU time per delivered frame of the measured rounds, in µs.
fn micros_per_delivery(cpu: Duration, listeners: usize) -> f64 {
    (cpu / (JOINS * listeners) as u32).as_secs_f64() * 1e6
}

#[tokio::main]
async fn main() {
    let connections: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1000);
    let limit = common::raise_fd_limit(2 * connections as u64 + 1024);
    assert!(
        limit >= connections as u64 + 256,
        "open-file limit {limit} is too low for {connections} connections"
    );
    println!("binary {}", common::voki_binary());
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path());
    let http = reqwest::Client::new();
    let token = common::login(&http, &server.base).await;
    let post = |path: &str, body: Value| {
        http.post(format!("{}{path}", server.base))
            .bearer_auth(&token)
            .header("X-Tenant", TENANT)
            .json(&body)
            .send()
    };
    let department: Value = post("/api/v1/departments", json!({"name": "Clínica"}))
        .await
        .expect("department")
        .json()
        .await
        .expect("department body");
    let department = department["data"]["id"].as_str().expect("department id").to_string();
    let link: Value = post(
        "/api/v1/access-links",
        json!({"link": {"department_id": department, "reusable": true}}),
    )
    .await
    .expect("link")
    .json()
    .await
    .expect("link body");
    let link_token = link["data"]["token"].as_str().expect("link token").to_string();

    let pid = server.child.id();
    // A staff token holds at most 16 sockets: one login (one session) per 16.
    let mut paths = Vec::new();
    for _ in 0..connections.div_ceil(16) {
        let token = common::login(&http, &server.base).await;
        paths.push(format!("/socket/websocket?token={token}&vsn=2.0.0"));
    }
    // After the logins: the password hashes' reused memory is not the connections'.
    let before = common::proc_status(pid, "VmRSS:");
    let topic = format!("queue:{department}");
    let address = server.base.replace("http://", "");
    let opening = Instant::now();
    let mut sockets = Vec::with_capacity(connections);
    for index in 0..connections {
        let mut client = Client::connect(&address, &paths[index / 16]).await.expect("connect");
        client
            .send(&json!(["1", "1", topic, "phx_join", {}]).to_string())
            .await
            .expect("join");
        client.text_containing("phx_reply").await.expect("join reply");
        sockets.push(client);
    }
    let opened = opening.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = common::proc_status(pid, "VmRSS:");
    println!(
        "{connections} connections joined in {:.2} s; server RSS {:.1} MB → {:.1} MB ({:.1} KiB per connection)",
        opened.as_secs_f64(),
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        after.saturating_sub(before) as f64 / connections as f64,
    );

    let listeners = connections - 1;
    let arrivals = Arrivals::new();
    let mut probe = sockets.pop().expect("one connection");
    let sample = Arc::new(OnceLock::new());
    listen(sockets, &arrivals, listeners, &sample);
    let mut answered = Vec::with_capacity(WARM_UP_JOINS + JOINS);
    let cpu_now = || (cpu_time(pid), cpu_time(std::process::id()));
    let mut cpu_before = cpu_now();
    let join = async |index: usize| {
        let joined_at = Instant::now();
        let reply = http
            .post(format!("{}/api/v1/call/{link_token}/join", server.base))
            .json(&json!({"name": format!("Paciente {index}")}))
            .send()
            .await
            .expect("patient joins");
        assert!(reply.status().is_success(), "join: {}", reply.status());
        answered.push(joined_at.elapsed());
    };
    let mut fan_out = rounds(&arrivals, join, || cpu_before = cpu_now()).await;
    let cpu_after = cpu_now();
    let server_cpu = micros_per_delivery(cpu_after.0.saturating_sub(cpu_before.0), listeners);
    let generator_cpu = micros_per_delivery(cpu_after.1.saturating_sub(cpu_before.1), listeners);
    answered.drain(..WARM_UP_JOINS);
    fan_out.sort();
    answered.sort();

    let mut heartbeats = Vec::new();
    for index in 0..JOINS {
        let began = Instant::now();
        let frame = json!([null, format!("hb{index}"), "phoenix", "heartbeat", {}]).to_string();
        probe.send(&frame).await.expect("heartbeat");
        probe
            .text_containing(&format!("\"hb{index}\""))
            .await
            .expect("heartbeat reply");
        heartbeats.push(began.elapsed());
    }
    heartbeats.sort();
    println!(
        "fan-out to {listeners} connections (HTTP join → last customer_joined): median {}, p99 {}, worst {} over {JOINS} joins",
        millis(common::percentile(&fan_out, 0.5)),
        millis(common::percentile(&fan_out, 0.99)),
        millis(fan_out[JOINS - 1]),
    );
    println!(
        "of which the join request itself (HTTP 201, committed): median {}, worst {}",
        millis(common::percentile(&answered, 0.5)),
        millis(answered[JOINS - 1]),
    );
    println!("CPU per delivered frame: server {server_cpu:.1} µs, load generator {generator_cpu:.1} µs");
    println!(
        "heartbeat round trip with {connections} connections open: median {}",
        millis(heartbeats[JOINS / 2])
    );

    // The floor, measured the same way with the same load generator: voki stops first.
    let frame = sample.get().expect("a customer_joined").clone();
    drop(probe);
    drop(server);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (mut floor, (raw_cpu, raw_generator_cpu)) = raw_fan_out(connections, &frame).await;
    floor.sort();
    println!(
        "raw floor, a bare tokio server writing one encoded {}-byte frame to each of {connections} sockets \
         from two tasks: median {}, p99 {}, worst {} over {JOINS} sprays",
        frame.len(),
        millis(common::percentile(&floor, 0.5)),
        millis(common::percentile(&floor, 0.99)),
        millis(floor[JOINS - 1]),
    );
    println!("CPU per delivered frame: raw server {raw_cpu:.1} µs, load generator {raw_generator_cpu:.1} µs");
    println!(
        "voki against the raw floor: median {:.2}×, p99 {:.2}×",
        common::percentile(&fan_out, 0.5).as_secs_f64() / common::percentile(&floor, 0.5).as_secs_f64(),
        common::percentile(&fan_out, 0.99).as_secs_f64() / common::percentile(&floor, 0.99).as_secs_f64(),
    );
}

/// The same number of connections from this load generator to a bare tokio server (in
/// this process, on its own two worker threads like voki's) that, on each trigger, writes
/// one pre-encoded text frame to every socket from two tasks: no HTTP, no database, no
/// queue or task per connection. Returns the spray times and the CPU per delivered frame
/// of the raw server and of the load generator.
async fn raw_fan_out(connections: usize, text: &str) -> (Vec<Duration>, (f64, f64)) {
    let (address, spray) = raw_server(text_frame(text, None));
    let address = address.to_string();
    let mut sockets = Vec::with_capacity(connections);
    for _ in 0..connections {
        sockets.push(Client::connect(&address, "/").await.expect("connect to the raw server"));
    }
    // The server holds a socket once its handshake reply is written: let the last settle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let arrivals = Arrivals::new();
    listen(sockets, &arrivals, connections, &Arc::new(OnceLock::new()));
    let me = std::process::id();
    let cpu_now = || (threads_cpu_time(me, RAW_SERVER_THREADS), cpu_time(me));
    let mut cpu_before = cpu_now();
    let trigger = async |_| spray.send(()).expect("raw server");
    let sprays = rounds(&arrivals, trigger, || cpu_before = cpu_now()).await;
    let cpu_after = cpu_now();
    let server = cpu_after.0.saturating_sub(cpu_before.0);
    let generator = cpu_after.1.saturating_sub(cpu_before.1).saturating_sub(server);
    let cpu = (
        micros_per_delivery(server, connections),
        micros_per_delivery(generator, connections),
    );
    (sprays, cpu)
}

/// The name of the raw server's threads, to tell its CPU time from the load generator's.
const RAW_SERVER_THREADS: &str = "raw-server";

/// Starts the bare server of [`raw_fan_out`]: its address, and the trigger of a spray
/// (dropping it stops the server).
fn raw_server(frame: Vec<u8>) -> (std::net::SocketAddr, mpsc::UnboundedSender<()>) {
    let (ready, started) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(RAW_SERVER_THREADS)
            .enable_all()
            .build()
            .expect("raw server runtime");
        runtime.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let (spray, mut sprays) = mpsc::unbounded_channel::<()>();
            ready
                .send((listener.local_addr().expect("address"), spray))
                .expect("started");
            let streams = Arc::new(Mutex::new(Vec::new()));
            let accepted = streams.clone();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let _ = stream.set_nodelay(true);
                    let accepted = accepted.clone();
                    tokio::spawn(async move {
                        if let Ok(stream) = raw_handshake(stream).await {
                            accepted.lock().expect("streams").push(stream);
                        }
                    });
                }
            });
            let frame = Arc::new(frame);
            while sprays.recv().await.is_some() {
                let mut first = std::mem::take(&mut *streams.lock().expect("streams"));
                let second = first.split_off(first.len() / 2);
                let writers = [first, second].map(|mut part| {
                    let frame = frame.clone();
                    tokio::spawn(async move {
                        for stream in &mut part {
                            let _ = stream.write_all(&frame).await;
                        }
                        part
                    })
                });
                for writer in writers {
                    let part = writer.await.expect("raw writer");
                    streams.lock().expect("streams").extend(part);
                }
            }
        });
    });
    started.recv().expect("raw server started")
}

/// The server side of the WebSocket opening handshake, by hand (RFC 6455 §4.2).
async fn raw_handshake(mut stream: TcpStream) -> std::io::Result<TcpStream> {
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        request.extend_from_slice(&buffer[..read]);
    }
    let request = String::from_utf8_lossy(&request);
    let key = request
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim().to_string())
        })
        .ok_or(std::io::ErrorKind::InvalidData)?;
    let accept = derive_accept_key(key.as_bytes());
    let reply = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    stream.write_all(reply.as_bytes()).await?;
    Ok(stream)
}

/// One final text frame carrying `text`, masked with `mask` (a client must mask, RFC
/// 6455 §5.3) or not (server to client).
fn text_frame(text: &str, mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut frame = Frame::message(text.as_bytes().to_vec(), TEXT, true);
    frame.header_mut().mask = mask;
    let mut encoded = Vec::with_capacity(text.len() + 14);
    frame.format(&mut encoded).expect("a frame in memory");
    encoded
}

/// A WebSocket client written for this load generator (RFC 6455): the handshake by hand
/// and frames read straight from the TCP stream into one buffer, with no message built
/// per frame. It shares the two cores with the server it measures, so it should take as
/// little of them as it can (a tungstenite client took about as much CPU per frame as
/// the server).
struct Client {
    stream: TcpStream,
    buffer: Vec<u8>,
    /// The bytes of the frame returned last, dropped at the next read.
    consumed: usize,
}

/// A server frame's opcode and payload.
type Received<'a> = (OpCode, &'a [u8]);

const TEXT: OpCode = OpCode::Data(Data::Text);
const CLOSE: OpCode = OpCode::Control(Control::Close);

impl Client {
    /// Opens `path` on `address` as a WebSocket.
    async fn connect(address: &str, path: &str) -> std::io::Result<Client> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        let mut client = Client {
            stream,
            buffer: Vec::with_capacity(READ_BUFFER),
            consumed: 0,
        };
        client.stream.write_all(request.as_bytes()).await?;
        let end = loop {
            if let Some(end) = client.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            client.fill().await?;
        };
        let reply = String::from_utf8_lossy(&client.buffer[..end]).to_ascii_lowercase();
        let accept = format!("sec-websocket-accept: {}", derive_accept_key(key.as_bytes())).to_ascii_lowercase();
        if !reply.starts_with("http/1.1 101") || !reply.contains(&accept) {
            return Err(std::io::Error::other(format!("no upgrade: {reply}")));
        }
        client.consumed = end;
        Ok(client)
    }

    /// Sends `text` as one masked text frame.
    async fn send(&mut self, text: &str) -> std::io::Result<()> {
        self.stream
            .write_all(&text_frame(text, Some([0x37, 0xfa, 0x21, 0x3d])))
            .await
    }

    /// The next frame from the server; its payload is valid until the next call.
    async fn next(&mut self) -> std::io::Result<Received<'_>> {
        self.buffer.drain(..self.consumed);
        self.consumed = 0;
        let (opcode, start, end) = loop {
            if let Some(frame) = frame_at(&self.buffer)? {
                break frame;
            }
            self.fill().await?;
        };
        self.consumed = end;
        Ok((opcode, &self.buffer[start..end]))
    }

    /// The next text frame whose payload contains `needle`, skipping others.
    async fn text_containing(&mut self, needle: &str) -> std::io::Result<String> {
        loop {
            match self.next().await? {
                (TEXT, payload) if contains(payload, needle) => {
                    return Ok(String::from_utf8_lossy(payload).into_owned());
                }
                (CLOSE, _) => return Err(std::io::ErrorKind::ConnectionAborted.into()),
                _ => {}
            }
        }
    }

    async fn fill(&mut self) -> std::io::Result<()> {
        if self.buffer.capacity() - self.buffer.len() < READ_BUFFER / 4 {
            self.buffer.reserve(READ_BUFFER);
        }
        if self.stream.read_buf(&mut self.buffer).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }
}

/// Each client's read buffer: a few frames.
const READ_BUFFER: usize = 4 * 1024;

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle.as_bytes())
}

/// The complete, unfragmented, unmasked frame at the start of `bytes`, if it has arrived:
/// its opcode and where its payload starts and ends.
fn frame_at(bytes: &[u8]) -> std::io::Result<Option<(OpCode, usize, usize)>> {
    let mut cursor = std::io::Cursor::new(bytes);
    let Some((header, length)) = FrameHeader::parse(&mut cursor).map_err(std::io::Error::other)? else {
        return Ok(None);
    };
    if !header.is_final || header.mask.is_some() {
        return Err(std::io::Error::other("a fragmented or masked server frame"));
    }
    let start = cursor.position() as usize;
    let end = start + length as usize;
    Ok((bytes.len() >= end).then_some((header.opcode, start, end)))
}
