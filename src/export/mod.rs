//! CSV exports (SPEC §4.8): RFC 4180 (comma, CRLF, quotes only where needed), streamed
//! from a read transaction so an export of any size holds only one buffer in memory,
//! and every text cell guarded against formula injection.

pub mod routes;

use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, Row, params_from_iter};
use tokio::sync::mpsc;

use crate::db::Database;
use crate::error::ApiError;

/// Bytes gathered before a chunk goes to the client.
const CHUNK_BYTES: usize = 64 * 1024;
/// Chunks that may wait for a slow client before the query pauses.
const CHUNKS_IN_FLIGHT: usize = 4;

/// A text cell a spreadsheet will not run as a formula (the OWASP "CSV injection" rule):
/// text starting with `=`, `@`, a tab or a carriage return gets a leading `'`, and so does
/// text starting with `+` or `-` unless it is a plain number or a phone number such as
/// `+5511999998888`.
pub fn neutralise(text: &str) -> Cow<'_, str> {
    let dangerous = match text.chars().next() {
        Some('=' | '@' | '\t' | '\r') => true,
        Some('+' | '-') => !(is_plain_number(text) || is_phone(text)),
        _ => false,
    };
    if dangerous {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// `-12`, `+3.5`, `-0,25`: a sign, digits, and at most one decimal separator between digits.
fn is_plain_number(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let mut parts = unsigned.splitn(2, ['.', ',']);
    let digits = |part: Option<&str>| part.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let integer = parts.next();
    match parts.next() {
        None => digits(integer),
        fraction => digits(integer) && digits(fraction),
    }
}

/// `+55 (11) 99999-8888`: a `+`, then only digits, spaces, `-`, `.` and parentheses, with
/// at least seven digits (no arithmetic a spreadsheet could evaluate into something else).
fn is_phone(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('+') else {
        return false;
    };
    rest.starts_with(|c: char| c.is_ascii_digit())
        && rest.chars().all(|c| c.is_ascii_digit() || " -.()".contains(c))
        && rest.chars().filter(char::is_ascii_digit).count() >= 7
}

/// The cells of a row as text: NULL is empty, numbers as written, text guarded.
pub fn text_cells(row: &Row<'_>, count: usize) -> rusqlite::Result<Vec<String>> {
    (0..count)
        .map(|index| {
            Ok(match row.get_ref(index)? {
                ValueRef::Null | ValueRef::Blob(_) => String::new(),
                ValueRef::Integer(number) => number.to_string(),
                ValueRef::Real(number) => number.to_string(),
                ValueRef::Text(bytes) => neutralise(&String::from_utf8_lossy(bytes)).into_owned(),
            })
        })
        .collect()
}

/// Turns a result row into the cells of a CSV record.
pub type RowCells = Box<dyn Fn(&Row<'_>) -> rusqlite::Result<Vec<String>> + Send>;

/// One export: the header, and the query (with its parameters) whose rows become records.
pub struct Export {
    pub header: &'static [&'static str],
    pub sql: String,
    pub params: Vec<SqlValue>,
    pub cells: RowCells,
}

/// Streams the export that `build` describes (on a read connection of its own, so a
/// long download never holds one of the pooled readers) as
/// `filename`. Problems before the first byte (bad filters, a query that cannot run) are
/// an ordinary error answer; a failure later cuts the response short, so a client never
/// takes a truncated file for a complete one.
pub async fn stream<F>(db: Arc<Database>, filename: &'static str, build: F) -> Result<Response, ApiError>
where
    F: FnOnce(&Connection) -> Result<Export, ApiError> + Send + 'static,
{
    let (chunks, mut received) = mpsc::channel::<Result<Bytes, ApiError>>(CHUNKS_IN_FLIGHT);
    let failed = chunks.clone();
    tokio::spawn(async move {
        if let Err(err) = db.read_alone(move |conn| write_csv(conn, build(conn)?, chunks)).await {
            let _ = failed.send(Err(err)).await;
        }
    });
    let first = match received.recv().await {
        Some(Ok(first)) => first,
        Some(Err(err)) => return Err(err),
        None => return Err(ApiError::internal("export ended before its header")),
    };
    let rest = futures_util::stream::unfold(received, |mut received| async move {
        let next = received.recv().await?;
        Some((next.map_err(|err| io::Error::other(err.to_string())), received))
    });
    let body = futures_util::StreamExt::chain(futures_util::stream::once(async { Ok(first) }), rest);
    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let disposition = format!("attachment; filename=\"{filename}\"");
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Why writing an export stopped early.
enum Stop {
    /// The client went away; nothing to report.
    ClientGone,
    Failed(ApiError),
}

impl From<rusqlite::Error> for Stop {
    fn from(err: rusqlite::Error) -> Stop {
        Stop::Failed(err.into())
    }
}

impl From<csv::Error> for Stop {
    fn from(err: csv::Error) -> Stop {
        match err.kind() {
            csv::ErrorKind::Io(io) if io.kind() == io::ErrorKind::BrokenPipe => Stop::ClientGone,
            _ => Stop::Failed(ApiError::internal(format!("writing CSV: {err}"))),
        }
    }
}

impl From<io::Error> for Stop {
    fn from(err: io::Error) -> Stop {
        Stop::from(csv::Error::from(err))
    }
}

/// Runs the query (one statement: one consistent snapshot) and sends the CSV in chunks.
fn write_csv(conn: &Connection, export: Export, chunks: mpsc::Sender<Result<Bytes, ApiError>>) -> Result<(), ApiError> {
    match write_records(conn, &export, ChunkSender { chunks }) {
        Ok(()) | Err(Stop::ClientGone) => Ok(()),
        Err(Stop::Failed(err)) => Err(err),
    }
}

fn write_records(conn: &Connection, export: &Export, sink: ChunkSender) -> Result<(), Stop> {
    // Prepared before the header is sent, so a query that cannot run is still an
    // ordinary error answer.
    let mut statement = conn.prepare(&export.sql)?;
    let mut rows = statement.query(params_from_iter(export.params.iter()))?;
    let mut csv = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .buffer_capacity(CHUNK_BYTES)
        .from_writer(sink);
    csv.write_record(export.header)?;
    csv.flush()?;
    while let Some(row) = rows.next()? {
        csv.write_record((export.cells)(row)?)?;
    }
    csv.flush()?;
    Ok(())
}

/// Each write of the CSV writer (a full buffer) becomes one chunk of the response.
struct ChunkSender {
    chunks: mpsc::Sender<Result<Bytes, ApiError>>,
}

impl Write for ChunkSender {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.chunks
            .blocking_send(Ok(Bytes::copy_from_slice(bytes)))
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_get_a_leading_quote() {
        for hostile in [
            "=HYPERLINK(\"http://evil.example\")",
            "@SUM(A1:A9)",
            "+cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0",
            "\tfoo",
            "\rfoo",
            "+1-2",
            "-",
        ] {
            assert_eq!(neutralise(hostile), format!("'{hostile}"), "{hostile:?}");
        }
    }

    #[test]
    fn numbers_phones_and_ordinary_text_stay_as_they_are() {
        for harmless in [
            "+5511999998888",
            "+55 (11) 99999-8888",
            "-12",
            "+3.5",
            "-0,25",
            "Maria da Silva",
            "maria@example.com",
            "",
            "2026-02-15T14:30:00Z",
            " =not a formula",
        ] {
            assert_eq!(neutralise(harmless), harmless, "{harmless:?}");
        }
    }
}
