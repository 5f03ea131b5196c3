//! What a connection knows of the listener it came in on: the name, protocol and advertised
//! address handlers answer with, the TLS acceptor and the SASL settings.

use std::sync::Arc;

use super::tls::TlsListener;
use crate::api::spec::Listener;
use crate::broker::security::sasl::SaslConfig;

/// What a connection needs to know of the listener it came in on.
#[derive(Debug)]
pub struct ListenerRuntime {
    /// Name, protocol and advertised address, as handlers see them.
    pub info: Arc<Listener>,
    /// The TLS acceptor of SSL and SASL_SSL listeners.
    pub tls: Option<TlsListener>,
    /// The SASL settings of SASL_PLAINTEXT and SASL_SSL listeners.
    pub sasl: Option<Arc<SaslConfig>>,
}
