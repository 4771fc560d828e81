//! Errors of the harness itself: it could not do its job (exit code 2). A bad plugin is never
//! one of these; it is a finding in the plugin's verdict.

use std::path::{Path, PathBuf};

/// The harness could not go on: an unreadable file, a missing plugin directory, a corpus line
/// that is not an event. Every message names the file (and the line where there is one).
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: no such plugin (expected a directory with plugin.json, a crate, or a .wasm)", path.display())]
    NoSuchPlugin { path: PathBuf },
    #[error("{}:{line}: {message}", path.display())]
    BadLine {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    BadFile { path: PathBuf, message: String },
    #[error("{0}")]
    Other(String),
}

impl HarnessError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        HarnessError::Io {
            path: path.to_owned(),
            source,
        }
    }

    pub fn bad_file(path: &Path, message: impl Into<String>) -> Self {
        HarnessError::BadFile {
            path: path.to_owned(),
            message: message.into(),
        }
    }
}

/// Reads a file, naming it in the error.
pub fn read(path: &Path) -> Result<Vec<u8>, HarnessError> {
    std::fs::read(path).map_err(|e| HarnessError::io(path, e))
}

/// Reads a UTF-8 file, naming it in the error.
pub fn read_to_string(path: &Path) -> Result<String, HarnessError> {
    std::fs::read_to_string(path).map_err(|e| HarnessError::io(path, e))
}

/// Formats a serde_json error as `file:line:column: message` (one line).
pub fn json_error(path: &Path, error: &serde_json::Error) -> String {
    let message = error.to_string();
    // serde_json appends " at line L column C"; we put the position in front instead.
    let message = match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message,
    };
    if error.line() == 0 {
        format!("{}: {message}", path.display())
    } else {
        format!(
            "{}:{}:{}: {message}",
            path.display(),
            error.line(),
            error.column()
        )
    }
}
