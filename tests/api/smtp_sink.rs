//! A small SMTP server for the tests: it speaks real SMTP (RFC 5321: greeting, EHLO/HELO,
//! MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT) on 127.0.0.1, keeps every
//! message it accepts, and can be told to answer the end of DATA with other replies
//! (`451` then `250`, `550`) or to be slow for one recipient.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent (headers and body, CRLF line ends).
    pub data: String,
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    /// Replies to the next ends of DATA, in order; empty: `250`.
    replies: VecDeque<String>,
    /// Every end-of-DATA reply given, accepted or not.
    attempts: usize,
    /// RCPT of an address containing this waits this long before answering.
    slow: Option<(String, Duration)>,
}

#[derive(Clone)]
pub struct SmtpSink {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        Self::start_on("127.0.0.1:0".parse().unwrap()).await
    }

    /// Listens on `addr` (a port a test reserved, to come back on after being down).
    pub async fn start_on(addr: SocketAddr) -> SmtpSink {
        let listener = TcpListener::bind(addr).await.expect("bind SMTP sink");
        let addr = listener.local_addr().unwrap();
        let inner: Arc<Mutex<Inner>> = Arc::default();
        let shared = inner.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let _ = session(stream, shared).await;
                });
            }
        });
        SmtpSink {
            addr,
            inner,
            task: Arc::new(task),
        }
    }

    /// `smtp_url` for voki: a plain LAN-relay connection.
    pub fn url(&self) -> String {
        format!("smtp://{}?tls=none", self.addr)
    }

    /// Answers the next ends of DATA with these replies, e.g. `["451 4.3.0 try later"]`.
    pub fn reply_with(&self, replies: &[&str]) {
        let mut inner = self.inner.lock().unwrap();
        inner.replies.extend(replies.iter().map(|r| r.to_string()));
    }

    pub fn slow_for(&self, recipient_part: &str, delay: Duration) {
        self.inner.lock().unwrap().slow = Some((recipient_part.to_string(), delay));
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    pub fn attempts(&self) -> usize {
        self.inner.lock().unwrap().attempts
    }

    /// Waits up to `secs` for `count` accepted messages; returns what arrived.
    pub async fn wait_for(&self, count: usize, secs: u64) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let received = self.received();
            if received.len() >= count || tokio::time::Instant::now() > deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The accepted messages sent to `address`.
    pub fn to(&self, address: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .collect()
    }

    /// Stops listening (open sessions end with the test).
    pub fn stop(&self) {
        self.task.abort();
    }
}

fn address(argument: &str) -> String {
    let start = argument.find('<').map_or(0, |i| i + 1);
    let end = argument.rfind('>').unwrap_or(argument.len());
    argument[start..end].to_string()
}

async fn session(stream: TcpStream, inner: Arc<Mutex<Inner>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_string();
        let verb = command.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => {
                write
                    .write_all(b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                    .await?
            }
            "HELO" => write.write_all(b"250 sink.test\r\n").await?,
            "MAIL" => {
                from = address(&command);
                to.clear();
                write.write_all(b"250 2.1.0 ok\r\n").await?;
            }
            "RCPT" => {
                let recipient = address(&command);
                let slow = inner.lock().unwrap().slow.clone();
                if let Some((part, delay)) = slow
                    && recipient.contains(&part)
                {
                    tokio::time::sleep(delay).await;
                }
                to.push(recipient);
                write.write_all(b"250 2.1.5 ok\r\n").await?;
            }
            "DATA" => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                let reply = {
                    let mut inner = inner.lock().unwrap();
                    inner.attempts += 1;
                    let reply = inner.replies.pop_front().unwrap_or_else(|| "250 2.0.0 queued".into());
                    if reply.starts_with('2') {
                        inner.received.push(Received {
                            from: from.clone(),
                            to: to.clone(),
                            data: data.clone(),
                        });
                    }
                    reply
                };
                write.write_all(format!("{reply}\r\n").as_bytes()).await?;
            }
            "RSET" => {
                to.clear();
                write.write_all(b"250 2.0.0 ok\r\n").await?;
            }
            "NOOP" => write.write_all(b"250 2.0.0 ok\r\n").await?,
            "QUIT" => {
                write.write_all(b"221 2.0.0 bye\r\n").await?;
                return Ok(());
            }
            _ => write.write_all(b"502 5.5.2 command not recognized\r\n").await?,
        }
    }
}
