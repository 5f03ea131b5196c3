//! Why a verb failed, and the exit code each failure maps to.

use crate::client::ClientError;

/// Why a verb failed; each maps to an exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad arguments or input (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The broker's answer or the connection (exit 1 or 3).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The cluster answered but is not healthy (exit 1).
    #[error("{0}")]
    Unhealthy(String),
    /// Reading input or writing output failed (exit 1).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl CliError {
    /// The process exit code: 1 a Kafka error, 2 usage, 3 connection failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Client(e) if e.is_connection() => 3,
            CliError::Client(ClientError::Security(_)) => 2,
            _ => 1,
        }
    }
}
