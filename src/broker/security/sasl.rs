//! One connection's SASL exchange, as Kafka's server authenticator runs it: SaslHandshake
//! picks an enabled mechanism, then SaslAuthenticate requests (or, after a v0 handshake, bare
//! size-prefixed tokens) carry the mechanism's messages until it completes or fails. The
//! connection reads [`SaslSession::stage`] after each request to know what it may take next.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::credentials::ScramCredentials;
use super::delegation::DelegationTokens;
use super::oauthbearer::{OAuthBearerServer, OAuthStep, TokenValidator};
use super::principal::KafkaPrincipal;
use super::scram::{ScramIdentity, ScramLookup, ScramMechanism, ScramServer, ScramStep};
use super::{plain, SaslError};

/// The mechanism names Skiff serves.
pub const SUPPORTED_MECHANISMS: &[&str] =
    &["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"];

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
    /// The delegation tokens (SCRAM with `tokenauth=true`).
    pub tokens: Option<Arc<DelegationTokens>>,
    /// How OAUTHBEARER tokens are validated (when OAUTHBEARER is enabled).
    pub oauthbearer: Option<TokenValidator>,
    /// `connections.max.reauth.ms` (KIP-368) of each enabled mechanism (the listener's
    /// `<mechanism>.connections.max.reauth.ms`, else the broker's): the longest an
    /// authentication holds before the client must re-authenticate on the same
    /// connection; 0 for no limit.
    pub max_reauth_ms: BTreeMap<String, u64>,
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
    /// Re-authenticating (KIP-368) after a SaslHandshake on an authenticated connection:
    /// only SaslAuthenticate requests are taken until it completes.
    Reauthenticate,
    /// Failed: the connection closes once the failure is answered.
    Failed,
}

#[derive(Debug)]
enum Mechanism {
    Plain,
    Scram(Box<ScramServer>),
    OAuthBearer(OAuthBearerServer),
    /// A re-authentication asked for another mechanism than the first authentication's:
    /// its SaslAuthenticate fails with this message (Kafka's REAUTH_BAD_MECHANISM).
    Refused(String),
}

/// A completed authentication of the connection.
#[derive(Debug, Clone)]
struct Session {
    principal: Arc<KafkaPrincipal>,
    mechanism: String,
    /// When the authentication expires (the client must re-authenticate before).
    expires_at: Option<Instant>,
    /// Authenticated with a delegation token (which may not ask for tokens).
    token_authenticated: bool,
}

#[derive(Debug)]
struct State {
    stage: Stage,
    mechanism: Option<(String, Mechanism)>,
    /// The last completed authentication (kept while re-authenticating).
    session: Option<Session>,
    /// The client sent SaslAuthenticate v1 or later, so it knows to re-authenticate.
    supports_reauthentication: bool,
}

/// The answer to one SASL token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaslReply {
    /// The server's token.
    pub token: Vec<u8>,
    /// On completion, how long the authentication holds in milliseconds (0: no limit); the
    /// client re-authenticates before it ends (SaslAuthenticate's `session_lifetime_ms`).
    pub session_lifetime_ms: i64,
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
                session: None,
                supports_reauthentication: false,
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

    /// SaslHandshake at `version` for `mechanism`. On an authenticated connection whose
    /// client re-authenticates (KIP-368), a v1 handshake starts a re-authentication.
    pub fn handshake(&self, mechanism: &str, version: i16) -> Result<(), SaslError> {
        let mut state = self.state.lock();
        let reauthenticating = match state.stage {
            Stage::Handshake => false,
            Stage::Complete(_) if state.supports_reauthentication && version >= 1 => true,
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
        };
        if !self.config.mechanisms.iter().any(|m| m == mechanism) {
            state.stage = Stage::Failed;
            return Err(SaslError::UnsupportedMechanism(mechanism.to_string()));
        }
        let previous = state.session.as_ref().map(|s| s.mechanism.clone());
        let server = match (ScramMechanism::from_name(mechanism), previous) {
            (_, Some(previous)) if reauthenticating && previous != mechanism => {
                Mechanism::Refused(format!(
                    "SASL mechanism '{mechanism}' requested by client is not supported for re-authentication of mechanism '{previous}'"
                ))
            }
            (Some(m), _) => Mechanism::Scram(Box::new(ScramServer::new(m))),
            (None, _) if mechanism == "PLAIN" => Mechanism::Plain,
            (None, _) if mechanism == "OAUTHBEARER" && self.config.oauthbearer.is_some() => {
                Mechanism::OAuthBearer(OAuthBearerServer::new())
            }
            (None, _) => {
                state.stage = Stage::Failed;
                return Err(SaslError::UnsupportedMechanism(mechanism.to_string()));
            }
        };
        state.mechanism = Some((mechanism.to_string(), server));
        state.stage = if reauthenticating {
            Stage::Reauthenticate
        } else if version == 0 {
            Stage::RawTokens
        } else {
            Stage::Authenticate
        };
        Ok(())
    }

    /// When the connection's authentication expires, if it does: a request after that
    /// (other than those of a re-authentication under way) closes the connection.
    pub fn expires_at(&self) -> Option<Instant> {
        let state = self.state.lock();
        match state.stage {
            Stage::Reauthenticate => None,
            _ => state.session.as_ref().and_then(|s| s.expires_at),
        }
    }

    /// One token of the exchange, from a SaslAuthenticate request of `version` (or a bare
    /// token, version 0): the answer. A failure leaves the session [`Stage::Failed`].
    pub fn authenticate(&self, token: &[u8], version: i16) -> Result<SaslReply, SaslError> {
        let mut state = self.state.lock();
        match state.stage {
            Stage::Authenticate | Stage::RawTokens | Stage::Reauthenticate => {}
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
        let reauthenticating = state.stage == Stage::Reauthenticate;
        if !reauthenticating && version > 0 {
            state.supports_reauthentication = true;
        }
        // (reply, Some(identity)) once complete.
        let plain_identity = |user: String| ScramIdentity {
            user,
            token_authenticated: false,
            expires_at_ms: None,
        };
        let result =
            match &mut state.mechanism {
                Some((_, Mechanism::Plain)) => plain::authenticate(token, &self.config.plain_users)
                    .map(|user| (Vec::new(), Some(plain_identity(user)))),
                Some((name, Mechanism::Scram(server))) => {
                    let mechanism = ScramMechanism::from_name(name);
                    let config = &self.config;
                    server
                        .step(token, |user, token_auth| {
                            scram_lookup(config, user, token_auth, mechanism?)
                        })
                        .map(|step| match step {
                            ScramStep::Continue(reply) => (reply, None),
                            ScramStep::Complete { message, identity } => (message, Some(identity)),
                        })
                }
                Some((_, Mechanism::OAuthBearer(server))) => match &self.config.oauthbearer {
                    Some(validator) => server.step(token, validator, super::now_epoch_ms()).map(
                        |step| match step {
                            OAuthStep::Challenge(reply) => (reply, None),
                            OAuthStep::Complete(t) => (
                                Vec::new(),
                                Some(ScramIdentity {
                                    user: t.principal,
                                    token_authenticated: false,
                                    expires_at_ms: Some(t.expires_at_ms),
                                }),
                            ),
                        },
                    ),
                    None => Err(SaslError::IllegalState(
                        "OAUTHBEARER is not configured".into(),
                    )),
                },
                Some((_, Mechanism::Refused(message))) => {
                    Err(SaslError::AuthenticationFailed(message.clone()))
                }
                None => Err(SaslError::IllegalState("no SASL mechanism chosen".into())),
            };
        let result = match result {
            Ok((reply, Some(identity))) => {
                let principal = Arc::new(KafkaPrincipal::user(identity.user.clone()));
                match state.session.as_ref().filter(|_| reauthenticating) {
                    Some(previous) if previous.principal != principal => {
                        Err(SaslError::AuthenticationFailed(format!(
                            "Cannot change principals during re-authentication from {}.{}: {}.{}",
                            previous.principal.principal_type,
                            previous.principal.name,
                            principal.principal_type,
                            principal.name
                        )))
                    }
                    _ => Ok((reply, Some((principal, identity)))),
                }
            }
            Ok((reply, None)) => Ok((reply, None)),
            Err(e) => Err(e),
        };
        match result {
            Ok((reply, Some((principal, identity)))) => {
                let mechanism = state
                    .mechanism
                    .take()
                    .map(|(name, _)| name)
                    .unwrap_or_default();
                let lifetime_ms = self.session_lifetime_ms(&mechanism, identity.expires_at_ms);
                state.session = Some(Session {
                    principal: Arc::clone(&principal),
                    mechanism,
                    expires_at: (lifetime_ms > 0).then(|| {
                        Instant::now() + Duration::from_millis(lifetime_ms.unsigned_abs())
                    }),
                    token_authenticated: identity.token_authenticated,
                });
                state.stage = Stage::Complete(principal);
                Ok(SaslReply {
                    token: reply,
                    session_lifetime_ms: lifetime_ms,
                })
            }
            Ok((reply, None)) => Ok(SaslReply {
                token: reply,
                session_lifetime_ms: 0,
            }),
            Err(e) => {
                state.stage = Stage::Failed;
                state.mechanism = None;
                Err(e)
            }
        }
    }

    /// Whether the connection authenticated with a delegation token.
    pub fn token_authenticated(&self) -> bool {
        self.state
            .lock()
            .session
            .as_ref()
            .is_some_and(|s| s.token_authenticated)
    }

    /// The session lifetime Kafka gives an authentication ending now: the shorter of
    /// `connections.max.reauth.ms` and the time left on the credential (an OAUTHBEARER
    /// token's expiry), 0 when neither applies.
    fn session_lifetime_ms(&self, mechanism: &str, credential_expiry_ms: Option<i64>) -> i64 {
        let max = self
            .config
            .max_reauth_ms
            .get(mechanism)
            .copied()
            .unwrap_or(0);
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let left = credential_expiry_ms.map(|exp| (exp - super::now_epoch_ms()).max(0));
        match (left, max > 0) {
            (None, false) => 0,
            (None, true) => max,
            (Some(left), false) => left,
            (Some(left), true) => left.min(max),
        }
    }

    /// Marks the exchange failed (a request out of order, an oversized frame).
    pub fn fail(&self) {
        let mut state = self.state.lock();
        state.stage = Stage::Failed;
        state.mechanism = None;
    }
}

/// The SCRAM credential of `user` for `mechanism`: a user's own, or with `tokenauth`, that
/// of the delegation token whose id is `user` (authenticating as the token's owner).
fn scram_lookup(
    config: &SaslConfig,
    user: &str,
    token_auth: bool,
    mechanism: ScramMechanism,
) -> Option<ScramLookup> {
    if token_auth {
        let token = config
            .tokens
            .as_ref()?
            .credential(user, mechanism, super::now_epoch_ms())?;
        return Some(ScramLookup {
            credential: token.credential,
            identity: ScramIdentity {
                user: token.owner.name,
                token_authenticated: true,
                expires_at_ms: Some(token.expiry_ms),
            },
        });
    }
    Some(ScramLookup {
        credential: config.credentials.get(user, mechanism)?,
        identity: ScramIdentity {
            user: user.to_string(),
            token_authenticated: false,
            expires_at_ms: None,
        },
    })
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
            tokens: None,
            oauthbearer: None,
            max_reauth_ms: BTreeMap::new(),
        })
    }

    #[test]
    fn plain_then_complete() {
        let s = SaslSession::new(config());
        assert!(
            s.authenticate(b"\0bob\0pw", 1).is_err(),
            "before the handshake"
        );
        let s = SaslSession::new(config());
        s.handshake("PLAIN", 1).unwrap();
        assert_eq!(s.stage(), Stage::Authenticate);
        // SaslAuthenticate v0: a client that does not re-authenticate.
        s.authenticate(b"\0bob\0pw", 0).unwrap();
        assert_eq!(
            s.stage(),
            Stage::Complete(Arc::new(KafkaPrincipal::user("bob")))
        );
        assert!(matches!(
            s.authenticate(b"x", 1),
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
        let first = s.authenticate(b"n,,n=alice,r=nonce1", 0).unwrap().token;
        let fin = client_final(
            ScramMechanism::Sha256,
            "secret",
            "n=alice,r=nonce1",
            std::str::from_utf8(&first).unwrap(),
        )
        .unwrap();
        s.authenticate(fin.as_bytes(), 0).unwrap();
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
        assert!(s.authenticate(b"\0bob\0nope", 1).is_err());
        assert_eq!(s.stage(), Stage::Failed);
    }
}
