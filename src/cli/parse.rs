//! Small parsers of command-line values.

use super::error::CliError;

/// Splits `KEY=VALUE`.
pub fn key_value(s: &str) -> Result<(String, String), CliError> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| CliError::Usage(format!("expected KEY=VALUE, got {s:?}")))
}
