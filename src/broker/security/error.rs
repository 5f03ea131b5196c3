//! Why an authentication or a credential change failed (mapped to Kafka's error codes in
//! `api/error.rs`; the messages are the ones Kafka sends).

use crate::storage::StorageError;

/// A failed SASL exchange or credential change.
#[derive(Debug, thiserror::Error)]
pub enum SaslError {
    /// The client asked for a mechanism the listener does not offer
    /// (UNSUPPORTED_SASL_MECHANISM).
    #[error("Unsupported SASL mechanism {0}")]
    UnsupportedMechanism(String),
    /// A request out of the exchange's order (ILLEGAL_SASL_STATE).
    #[error("{0}")]
    IllegalState(String),
    /// The credentials or the exchange were refused; the message is what Kafka tells the
    /// client (SASL_AUTHENTICATION_FAILED).
    #[error("{0}")]
    AuthenticationFailed(String),
    /// A SCRAM credential Kafka would not accept (UNACCEPTABLE_CREDENTIAL).
    #[error("{0}")]
    UnacceptableCredential(String),
    /// A SCRAM mechanism code Kafka does not define (UNSUPPORTED_SASL_MECHANISM).
    #[error("Unknown SCRAM mechanism")]
    UnknownScramMechanism,
    /// No such credential (RESOURCE_NOT_FOUND).
    #[error("{0}")]
    NotFound(String),
    /// One user named twice in one request (DUPLICATE_RESOURCE).
    #[error("{0}")]
    Duplicate(String),
    /// The state store failed.
    #[error("cannot store SCRAM credentials: {0}")]
    Store(#[from] StorageError),
    /// A stored credential that does not decode.
    #[error("corrupt SCRAM credential `{0}` in the state store")]
    Corrupt(String),
}
