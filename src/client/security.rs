//! How a connection is secured: `security.protocol` as Kafka's clients name it.

use std::time::Duration;

use tokio::net::TcpStream;

use super::connection::{Connection, Stream};
use super::error::{ClientError, Result};

/// Kafka's `security.protocol` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecurityProtocol {
    /// Plain TCP, no authentication.
    #[default]
    Plaintext,
}

impl std::str::FromStr for SecurityProtocol {
    type Err = ClientError;

    fn from_str(s: &str) -> Result<SecurityProtocol> {
        match s.to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Ok(SecurityProtocol::Plaintext),
            other => Err(ClientError::Security(format!(
                "security protocol {other} is not supported by this client (PLAINTEXT)"
            ))),
        }
    }
}

/// The security settings of every connection a client opens.
#[derive(Debug, Clone, Default)]
pub struct Security {
    /// The protocol.
    pub protocol: SecurityProtocol,
}

impl Security {
    /// Wraps a connected socket as the protocol needs (TLS handshake, or nothing).
    pub(crate) async fn wrap(
        &self,
        _addr: &str,
        tcp: TcpStream,
        _timeout: Duration,
    ) -> Result<Box<dyn Stream>> {
        match self.protocol {
            SecurityProtocol::Plaintext => Ok(Box::new(tcp)),
        }
    }

    /// Authenticates a freshly negotiated connection (SASL), or does nothing.
    pub(crate) async fn authenticate(&self, _conn: &mut Connection) -> Result<()> {
        match self.protocol {
            SecurityProtocol::Plaintext => Ok(()),
        }
    }
}
