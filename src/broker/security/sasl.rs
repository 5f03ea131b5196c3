//! One connection's SASL exchange, as Kafka's server authenticator runs it: SaslHandshake
//! picks an enabled mechanism, then SaslAuthenticate requests (or, after a v0 handshake, bare
//! size-prefixed tokens) carry the mechanism's messages until it completes or fails. The
//! connection reads [`SaslSession::stage`] after each request to know what it may take next.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::credentials::ScramCredentials;
use super::principal::KafkaPrincipal;
use super::scram::{ScramMechanism, ScramServer, ScramStep};
use super::{plain, SaslError};

/// The mechanism names Skiff serves.
pub const SUPPORTED_MECHANISMS: &[&str] = &["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

/// A SASL listener's settings.
#[derive(Debug, Clone)]
pub struct SaslConfig {
    /// `sasl.enabled.mechanisms` of the listener, in the configured order.
    pub mechanisms: Vec<String>,
    /// PLAIN users and passwords (the listener's PlainLoginModule JAAS line).
    pub plain_users: BTreeMap<String, String>,
    /// `connection.failed.authentication.delay.ms`.
    pub failed_authentication_delay: Duration,
    /// The SCRAM credentials.
    pub credentials: Arc<ScramCredentials>,
}

/// Where a connection's authentication is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Before SaslHandshake: ApiVersions and SaslHandshake are accepted.
    Handshake,
    /// After a SaslHandshake v1: SaslAuthenticate requests carry the tokens.
    Authenticate,
    /// After a SaslHandshake v0: the next frames are bare tokens.
    RawTokens,
    /// Authenticated as this principal.
    Complete(Arc<KafkaPrincipal>),
    /// Failed: the connection closes once the failure is answered.
    Failed,
}

#[derive(Debug)]
enum Mechanism {
    Plain,
    Scram(Box<ScramServer>),
}

#[derive(Debug)]
struct State {
    stage: Stage,
    mechanism: Option<(String, Mechanism)>,
}

/// The SASL state of one connection.
#[derive(Debug)]
pub struct SaslSession {
    config: Arc<SaslConfig>,
    state: Mutex<State>,
}

impl SaslSession {
    /// A connection that has not authenticated yet.
    pub fn new(config: Arc<SaslConfig>) -> SaslSession {
        SaslSession {
            config,
            state: Mutex::new(State {
                stage: Stage::Handshake,
                mechanism: None,
            }),
        }
    }

    /// The listener's settings.
    pub fn config(&self) -> &SaslConfig {
        &self.config
    }

    /// Where the exchange is.
    pub fn stage(&self) -> Stage {
        self.state.lock().stage.clone()
    }

    /// Whether the connection has authenticated.
    pub fn stage_is_complete(&self) -> bool {
        matches!(self.state.lock().stage, Stage::Complete(_))
    }

    /// The mechanisms to list in a SaslHandshake answer.
    pub fn enabled_mechanisms(&self) -> &[String] {
        &self.config.mechanisms
    }

    /// SaslHandshake at `version` for `mechanism`.
    pub fn handshake(&self, mechanism: &str, version: i16) -> Result<(), SaslError> {
        let mut state = self.state.lock();
        match state.stage {
            Stage::Handshake => {}
            Stage::Complete(_) => {
                return Err(SaslError::IllegalState(
                    "SaslHandshake request received after successful authentication".into(),
                ))
            }
            _ => {
                state.stage = Stage::Failed;
                return Err(SaslError::IllegalState(
                    "Unexpected Kafka request of type SASL_HANDSHAKE during SASL authentication."
                        .into(),
                ));
            }
        }
        if !self.config.mechanisms.iter().any(|m| m == mechanism) {
            state.stage = Stage::Failed;
            return Err(SaslError::UnsupportedMechanism(mechanism.to_string()));
        }
        let server = match ScramMechanism::from_name(mechanism) {
            Some(m) => Mechanism::Scram(Box::new(ScramServer::new(m))),
            None if mechanism == "PLAIN" => Mechanism::Plain,
            None => {
                state.stage = Stage::Failed;
                return Err(SaslError::UnsupportedMechanism(mechanism.to_string()));
            }
        };
        state.mechanism = Some((mechanism.to_string(), server));
        state.stage = if version == 0 {
            Stage::RawTokens
        } else {
            Stage::Authenticate
        };
        Ok(())
    }

    /// One token of the exchange: the token to answer with. A failure leaves the session
    /// [`Stage::Failed`].
    pub fn authenticate(&self, token: &[u8]) -> Result<Vec<u8>, SaslError> {
        let mut state = self.state.lock();
        match state.stage {
            Stage::Authenticate | Stage::RawTokens => {}
            Stage::Complete(_) => {
                return Err(SaslError::IllegalState(
                    "SaslAuthenticate request received after successful authentication".into(),
                ))
            }
            _ => {
                state.stage = Stage::Failed;
                return Err(SaslError::IllegalState(
                    "Unexpected SaslAuthenticate request before SaslHandshake".into(),
                ));
            }
        }
        let result = match &mut state.mechanism {
            Some((_, Mechanism::Plain)) => plain::authenticate(token, &self.config.plain_users)
                .map(|user| (Vec::new(), Some(user))),
            Some((name, Mechanism::Scram(server))) => {
                let mechanism = ScramMechanism::from_name(name);
                let credentials = &self.config.credentials;
                server
                    .step(token, |user| credentials.get(user, mechanism?))
                    .map(|step| match step {
                        ScramStep::Continue(reply) => (reply, None),
                        ScramStep::Complete { message, user } => (message, Some(user)),
                    })
            }
            None => Err(SaslError::IllegalState("no SASL mechanism chosen".into())),
        };
        match result {
            Ok((reply, Some(user))) => {
                state.stage = Stage::Complete(Arc::new(KafkaPrincipal::user(user)));
                state.mechanism = None;
                Ok(reply)
            }
            Ok((reply, None)) => Ok(reply),
            Err(e) => {
                state.stage = Stage::Failed;
                state.mechanism = None;
                Err(e)
            }
        }
    }

    /// Marks the exchange failed (a request out of order, an oversized frame).
    pub fn fail(&self) {
        let mut state = self.state.lock();
        state.stage = Stage::Failed;
        state.mechanism = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::security::credentials::parse_add_scram;
    use crate::broker::security::scram::client_final;

    fn config() -> Arc<SaslConfig> {
        let credentials = Arc::new(ScramCredentials::open(None).unwrap());
        credentials
            .apply(&[parse_add_scram("SCRAM-SHA-256=[name=alice,password=secret]").unwrap()])
            .unwrap();
        Arc::new(SaslConfig {
            mechanisms: vec!["PLAIN".into(), "SCRAM-SHA-256".into()],
            plain_users: [("bob".to_string(), "pw".to_string())].into(),
            failed_authentication_delay: Duration::from_millis(0),
            credentials,
        })
    }

    #[test]
    fn plain_then_complete() {
        let s = SaslSession::new(config());
        assert!(
            s.authenticate(b"\0bob\0pw").is_err(),
            "before the handshake"
        );
        let s = SaslSession::new(config());
        s.handshake("PLAIN", 1).unwrap();
        assert_eq!(s.stage(), Stage::Authenticate);
        s.authenticate(b"\0bob\0pw").unwrap();
        assert_eq!(
            s.stage(),
            Stage::Complete(Arc::new(KafkaPrincipal::user("bob")))
        );
        assert!(matches!(
            s.authenticate(b"x"),
            Err(SaslError::IllegalState(_))
        ));
        assert!(matches!(
            s.handshake("PLAIN", 1),
            Err(SaslError::IllegalState(_))
        ));
    }

    #[test]
    fn scram_exchange_over_raw_tokens() {
        let s = SaslSession::new(config());
        s.handshake("SCRAM-SHA-256", 0).unwrap();
        assert_eq!(s.stage(), Stage::RawTokens);
        let first = s.authenticate(b"n,,n=alice,r=nonce1").unwrap();
        let fin = client_final(
            ScramMechanism::Sha256,
            "secret",
            "n=alice,r=nonce1",
            std::str::from_utf8(&first).unwrap(),
        )
        .unwrap();
        s.authenticate(fin.as_bytes()).unwrap();
        assert!(matches!(s.stage(), Stage::Complete(p) if p.name == "alice"));
    }

    #[test]
    fn unknown_or_disabled_mechanisms_fail() {
        let s = SaslSession::new(config());
        assert!(matches!(
            s.handshake("SCRAM-SHA-512", 1),
            Err(SaslError::UnsupportedMechanism(_))
        ));
        assert_eq!(s.stage(), Stage::Failed);
        let s = SaslSession::new(config());
        s.handshake("PLAIN", 1).unwrap();
        assert!(s.authenticate(b"\0bob\0nope").is_err());
        assert_eq!(s.stage(), Stage::Failed);
    }
}
