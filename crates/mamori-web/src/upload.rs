//! File uploads from pages: a multipart form with text fields (the CSRF token among them) and
//! at most one file, read with limits, and the CSRF check for such forms.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::multipart::{Multipart, MultipartError};
use axum::http::StatusCode;

use crate::AppError;
use crate::session::{Viewer, constant_time_eq};

/// Longest text field accepted in an upload form.
pub const MAX_FIELD_BYTES: usize = 16 * 1024;

/// A multipart form as read.
#[derive(Debug, Default)]
pub struct Upload {
    /// Text fields by name (the last value wins).
    pub fields: HashMap<String, String>,
    /// The file field's name as uploaded (empty when no file was chosen).
    pub file_name: String,
    /// The file's bytes.
    pub file: Bytes,
}

impl Upload {
    /// A text field, empty when absent.
    pub fn text(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or("")
    }

    /// Whether a file was chosen.
    pub fn has_file(&self) -> bool {
        !self.file_name.is_empty() || !self.file.is_empty()
    }
}

/// Reads a multipart form whose file field is named `file_field`. Text fields longer than
/// [`MAX_FIELD_BYTES`] are refused; the body as a whole is bounded by the server's limit.
pub async fn read(mut multipart: Multipart, file_field: &str) -> Result<Upload, AppError> {
    let unreadable = |e: MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge
        } else {
            AppError::bad("送信されたフォームを読み取れませんでした")
        }
    };
    let mut upload = Upload::default();
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        let Some(name) = field.name().map(str::to_owned) else {
            continue;
        };
        if name == file_field {
            upload.file_name = field.file_name().unwrap_or_default().to_owned();
            upload.file = field.bytes().await.map_err(unreadable)?;
        } else {
            let value = field.bytes().await.map_err(unreadable)?;
            if value.len() > MAX_FIELD_BYTES {
                return Err(AppError::bad("フォームの項目が長すぎます"));
            }
            let text = String::from_utf8(value.to_vec())
                .map_err(|_| AppError::bad("フォームの項目が UTF-8 ではありません"))?;
            upload.fields.insert(name, text);
        }
    }
    Ok(upload)
}

/// The multipart counterpart of [`crate::session::CsrfForm`]: the form's `csrf` field must
/// equal the session's token. Only a browser session has one; an empty token never matches.
pub fn check_csrf(viewer: &Viewer, upload: &Upload) -> Result<(), AppError> {
    let expected = viewer.csrf();
    let token = upload.text("csrf");
    if viewer.session.is_none()
        || expected.is_empty()
        || !constant_time_eq(token.as_bytes(), expected.as_bytes())
    {
        return Err(AppError::Csrf);
    }
    Ok(())
}
