//! How a connection is secured: `security.protocol` as Kafka's clients name it, the SASL
//! settings, and TLS through rustls (the broker's own TLS stack). The SASL exchange itself
//! is in `sasl.rs`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::error::{ClientError, Result};

/// A byte stream to a broker: plain TCP or TLS.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Kafka's `security.protocol` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecurityProtocol {
    /// Plain TCP, no authentication.
    #[default]
    Plaintext,
    /// TLS, no SASL.
    Ssl,
    /// SASL over plain TCP.
    SaslPlaintext,
    /// SASL over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// Whether connections use TLS.
    pub fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    /// Whether connections authenticate with SASL.
    pub fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

impl std::str::FromStr for SecurityProtocol {
    type Err = ClientError;

    fn from_str(s: &str) -> Result<SecurityProtocol> {
        match s.to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Ok(SecurityProtocol::Plaintext),
            "SSL" => Ok(SecurityProtocol::Ssl),
            "SASL_PLAINTEXT" => Ok(SecurityProtocol::SaslPlaintext),
            "SASL_SSL" => Ok(SecurityProtocol::SaslSsl),
            other => Err(ClientError::Security(format!(
                "unknown security protocol {other} (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)"
            ))),
        }
    }
}

/// SASL mechanisms this client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslMechanism {
    /// PLAIN (RFC 4616).
    Plain,
    /// SCRAM-SHA-256.
    ScramSha256,
    /// SCRAM-SHA-512.
    ScramSha512,
}

impl SaslMechanism {
    /// The mechanism's name in SaslHandshake.
    pub fn name(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

impl std::str::FromStr for SaslMechanism {
    type Err = ClientError;

    fn from_str(s: &str) -> Result<SaslMechanism> {
        match s.to_ascii_uppercase().as_str() {
            "PLAIN" => Ok(SaslMechanism::Plain),
            "SCRAM-SHA-256" => Ok(SaslMechanism::ScramSha256),
            "SCRAM-SHA-512" => Ok(SaslMechanism::ScramSha512),
            other => Err(ClientError::Security(format!(
                "unknown SASL mechanism {other} (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)"
            ))),
        }
    }
}

/// The security settings of every connection a client opens.
#[derive(Debug, Clone, Default)]
pub struct Security {
    /// The protocol.
    pub protocol: SecurityProtocol,
    /// The SASL mechanism (SASL protocols; PLAIN if not given).
    pub mechanism: Option<SaslMechanism>,
    /// SASL user name.
    pub user: Option<String>,
    /// SASL password.
    pub password: Option<String>,
    /// PEM file of the CA certificates that sign the brokers' certificates (TLS).
    pub tls_ca: Option<PathBuf>,
}

impl Security {
    /// Wraps a connected socket as the protocol needs (TLS handshake, or nothing).
    pub(crate) async fn wrap(
        &self,
        addr: &str,
        tcp: TcpStream,
        timeout: Duration,
    ) -> Result<Box<dyn Stream>> {
        if !self.protocol.uses_tls() {
            return Ok(Box::new(tcp));
        }
        let config = self.tls_config()?;
        let host = addr
            .rsplit_once(':')
            .map(|(h, _)| h.trim_start_matches('[').trim_end_matches(']'))
            .unwrap_or(addr);
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| ClientError::Security(format!("{host}: {e}")))?;
        let connect = TlsConnector::from(config).connect(name, tcp);
        let tls = tokio::time::timeout(timeout, connect)
            .await
            .map_err(|_| ClientError::Connect {
                addr: addr.to_string(),
                reason: "TLS handshake timed out".into(),
            })?
            .map_err(|e| ClientError::Connect {
                addr: addr.to_string(),
                reason: format!("TLS handshake: {e}"),
            })?;
        Ok(Box::new(tls))
    }

    fn tls_config(&self) -> Result<Arc<ClientConfig>> {
        let path = self.tls_ca.as_ref().ok_or_else(|| {
            ClientError::Security("TLS needs --tls-ca FILE (the CA certificates, PEM)".into())
        })?;
        let bad = |e: String| ClientError::Security(format!("{}: {e}", path.display()));
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))? {
            let cert = cert.map_err(|e| bad(e.to_string()))?;
            roots.add(cert).map_err(|e| bad(e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(bad("no certificate in the file".into()));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ClientError::Security(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}
