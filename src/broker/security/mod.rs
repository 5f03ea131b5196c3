//! Authentication: who a connection is ([`principal::KafkaPrincipal`]), the SASL exchange of
//! a connection ([`sasl::SaslSession`]: PLAIN, SCRAM-SHA-256/512 and OAUTHBEARER), the SCRAM credentials
//! kept in the state store ([`credentials::ScramCredentials`]), and the JAAS lines that name
//! PLAIN users ([`jaas`]). TLS itself is the server's business; the authorizer will read the
//! principal that these produce.

pub mod credentials;
pub mod delegation;
pub mod error;
pub mod jaas;
pub mod oauthbearer;
pub mod plain;
pub mod principal;
pub mod sasl;
pub mod scram;

pub use error::SaslError;
pub use principal::KafkaPrincipal;

/// Now, in milliseconds since the epoch (token expiries are wall-clock times).
pub fn now_epoch_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
