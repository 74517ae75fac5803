//! Files of a call on disk: `<data_dir>/files/<tenant>/<call_id>/<file_id>`. An upload is
//! streamed to `<file_id>.part`, counted against `max_upload_mb` as it arrives, and
//! renamed into place once complete, so a half-received file is never served.

use std::path::{Path, PathBuf};

use axum::extract::Multipart;
use axum::extract::multipart::{Field, MultipartError};
use axum::http::StatusCode;
use tokio::io::AsyncWriteExt;

use crate::error::ApiError;

/// What was received for the form field `file`.
#[derive(Debug)]
pub struct Received {
    pub filename: String,
    pub content_type: String,
    pub size: i64,
}

pub fn call_dir(data_dir: &Path, tenant: &str, call_id: &str) -> PathBuf {
    data_dir.join("files").join(tenant).join(call_id)
}

fn multipart_error(err: MultipartError) -> ApiError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        ApiError::BadRequest("Malformed multipart body".into())
    }
}

fn io_error(err: std::io::Error) -> ApiError {
    ApiError::internal(format!("file storage: {err}"))
}

/// Form fields other than `file` may hold this much (they are read and dropped).
const OTHER_PART_BYTES: usize = 64 * 1024;
/// Parts a form may have before the `file` one.
const MAX_PARTS: usize = 16;

/// Stores the form field `file` as `dir/file_id`; `None` when the form has no such field.
/// More than `limit` bytes → 413 and nothing kept.
pub async fn receive(
    multipart: &mut Multipart,
    dir: &Path,
    file_id: &str,
    limit: u64,
) -> Result<Option<Received>, ApiError> {
    let mut parts = 0;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(ApiError::PayloadTooLarge);
        }
        if field.name() != Some("file") {
            // Other fields are not used, but every part is limited: read through it
            // against the small limit instead of letting it run on unbounded.
            let mut size = 0;
            while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                size += chunk.len();
                if size > OTHER_PART_BYTES {
                    return Err(ApiError::PayloadTooLarge);
                }
            }
            continue;
        }
        let filename = clean_filename(field.file_name());
        let content_type = clean_content_type(field.content_type());
        tokio::fs::create_dir_all(dir).await.map_err(io_error)?;
        let partial = dir.join(format!("{file_id}.part"));
        let size = match write_field(&mut field, &partial, limit).await {
            Ok(size) => size,
            Err(err) => {
                let _ = tokio::fs::remove_file(&partial).await;
                return Err(err);
            }
        };
        tokio::fs::rename(&partial, dir.join(file_id)).await.map_err(io_error)?;
        return Ok(Some(Received {
            filename,
            content_type,
            size: i64::try_from(size).unwrap_or(i64::MAX),
        }));
    }
    Ok(None)
}

async fn write_field(field: &mut Field<'_>, path: &Path, limit: u64) -> Result<u64, ApiError> {
    let mut file = tokio::fs::File::create(path).await.map_err(io_error)?;
    let mut size: u64 = 0;
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        size += chunk.len() as u64;
        if size > limit {
            return Err(ApiError::PayloadTooLarge);
        }
        file.write_all(&chunk).await.map_err(io_error)?;
    }
    // Clinical documents: on disk before the row that points at them is committed.
    file.sync_all().await.map_err(io_error)?;
    Ok(size)
}

/// Removes a stored file whose row could not be written.
pub async fn discard(dir: &Path, file_id: &str) {
    let _ = tokio::fs::remove_file(dir.join(file_id)).await;
}

/// The bytes of a stored file; a missing file is a 404 like a missing row.
pub async fn read(dir: &Path, file_id: &str) -> Result<Vec<u8>, ApiError> {
    tokio::fs::read(dir.join(file_id)).await.map_err(|err| {
        if err.kind() == std::io::ErrorKind::NotFound {
            ApiError::not_found("File")
        } else {
            io_error(err)
        }
    })
}

/// The last path component of a client's file name, without control characters, at
/// most 255 characters; `file` when nothing is left.
fn clean_filename(name: Option<&str>) -> String {
    let base = name.unwrap_or_default().rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base.chars().filter(|c| !c.is_control()).take(255).collect();
    let clean = clean.trim();
    if clean.is_empty() || clean == "." || clean == ".." {
        "file".into()
    } else {
        clean.to_string()
    }
}

/// A plausible `type/subtype` as sent, else `application/octet-stream`.
fn clean_content_type(value: Option<&str>) -> String {
    match value.map(str::trim) {
        Some(mime)
            if mime.len() <= 255
                && mime
                    .split_once('/')
                    .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
                && mime.chars().all(|c| c.is_ascii_graphic() || c == ' ') =>
        {
            mime.to_ascii_lowercase()
        }
        _ => "application/octet-stream".into(),
    }
}

/// `attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266).
pub fn content_disposition(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_file_names_cannot_leave_the_call_folder() {
        assert_eq!(clean_filename(Some("../../etc/passwd")), "passwd");
        assert_eq!(clean_filename(Some("C:\\Users\\ana\\exame.pdf")), "exame.pdf");
        assert_eq!(clean_filename(Some("..")), "file");
        assert_eq!(clean_filename(None), "file");
    }

    #[test]
    fn content_types_are_kept_only_when_plausible() {
        assert_eq!(clean_content_type(Some("application/PDF")), "application/pdf");
        assert_eq!(
            clean_content_type(Some("text\r\nX-Evil: 1")),
            "application/octet-stream"
        );
        assert_eq!(clean_content_type(None), "application/octet-stream");
    }

    #[test]
    fn download_names_are_quoted_safely() {
        assert_eq!(
            content_disposition("exame \"Ana\".pdf"),
            "attachment; filename=\"exame _Ana_.pdf\"; filename*=UTF-8''exame%20%22Ana%22.pdf"
        );
        assert!(content_disposition("relatório.pdf").contains("filename*=UTF-8''relat%C3%B3rio.pdf"));
    }
}
