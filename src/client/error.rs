//! The client's errors, and the Kafka error codes they carry.

use kafka_protocol::ResponseError;

/// What can go wrong talking to a broker.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No bootstrap broker (or the node asked for) could be reached.
    #[error("cannot connect to {addr}: {reason}")]
    Connect {
        /// The address tried.
        addr: String,
        /// Why it failed.
        reason: String,
    },
    /// The connection failed or closed after it was made.
    #[error("connection to {addr} failed: {source}")]
    Io {
        /// The broker's address.
        addr: String,
        /// The socket error.
        source: std::io::Error,
    },
    /// The broker did not answer in time.
    #[error("{addr} did not answer {api} in time")]
    Timeout {
        /// The broker's address.
        addr: String,
        /// The request's API.
        api: String,
    },
    /// The broker and this client share no version of an API.
    #[error("the broker does not support {api} at any version this client speaks")]
    UnsupportedApi {
        /// The API's name.
        api: String,
    },
    /// A request could not be encoded or a response decoded.
    #[error("{api}: {message}")]
    Protocol {
        /// The API involved.
        api: String,
        /// What went wrong.
        message: String,
    },
    /// The broker answered with a Kafka error code.
    #[error("{context}: {} ({code}){}", kafka_error_name(*code), message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Kafka {
        /// What was asked (a topic, a group, an API).
        context: String,
        /// Kafka's error code.
        code: i16,
        /// The broker's error message, if it sent one.
        message: Option<String>,
    },
    /// A broker id that the cluster metadata does not list.
    #[error("broker {0} is not in the cluster metadata")]
    UnknownNode(i32),
    /// The TLS or SASL settings cannot be used.
    #[error("security: {0}")]
    Security(String),
}

impl ClientError {
    /// Whether the error means no usable connection to the cluster (as opposed to an
    /// answer from it).
    pub fn is_connection(&self) -> bool {
        matches!(
            self,
            ClientError::Connect { .. } | ClientError::Io { .. } | ClientError::Timeout { .. }
        )
    }

    /// `Err(Kafka)` for a non-zero error code, `Ok` otherwise.
    pub fn check(code: i16, context: impl Into<String>, message: Option<&str>) -> Result<()> {
        if code == 0 {
            return Ok(());
        }
        Err(ClientError::Kafka {
            context: context.into(),
            code,
            message: message.filter(|m| !m.is_empty()).map(str::to_string),
        })
    }
}

/// The client's result type.
pub type Result<T> = std::result::Result<T, ClientError>;

/// Kafka's name for an error code (`TOPIC_ALREADY_EXISTS`), as its `Errors` enum spells it.
pub fn kafka_error_name(code: i16) -> String {
    match ResponseError::try_from_code(code) {
        None => "NONE".to_string(),
        Some(ResponseError::Unknown(c)) => format!("UNKNOWN_ERROR_CODE_{c}"),
        Some(e) => {
            let camel = e.to_string();
            let mut out = String::with_capacity(camel.len() + 8);
            for (i, ch) in camel.chars().enumerate() {
                if ch.is_ascii_uppercase() && i > 0 {
                    out.push('_');
                }
                out.push(ch.to_ascii_uppercase());
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_are_kafkas() {
        assert_eq!(kafka_error_name(36), "TOPIC_ALREADY_EXISTS");
        assert_eq!(kafka_error_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
        assert_eq!(kafka_error_name(0), "NONE");
    }
}
