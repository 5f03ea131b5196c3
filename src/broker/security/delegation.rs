//! Delegation tokens (KIP-48), as Kafka's token manager keeps them: a token has an id, an
//! HMAC (HMAC-SHA512 of the id under `delegation.token.secret.key`), an owner, the principal
//! that requested it, renewers, and issue, expiry and maximum times. A client authenticates
//! with one over SCRAM (user name = token id, password = the base64 HMAC, extension
//! `tokenauth=true`) and is then its owner. Tokens are durable in the state store under
//! `dtoken/<token id>` and held in memory with their SCRAM credentials; expired ones are
//! swept out.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use parking_lot::{Mutex, RwLock};
use sha2::Sha512;

use super::principal::KafkaPrincipal;
use super::scram::{ScramCredential, ScramMechanism};
use crate::storage::kv::{StateStore, WriteBatch};
use crate::storage::StorageError;

const PREFIX: &str = "dtoken/";
/// Iterations of the SCRAM credentials made from a token's HMAC (as Kafka makes them).
const TOKEN_ITERATIONS: i32 = 4096;

/// Why a token request failed (each is one of Kafka's error codes, mapped in `api/error.rs`).
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// `delegation.token.secret.key` is not set (DELEGATION_TOKEN_AUTH_DISABLED).
    #[error("Delegation Token feature is not enabled")]
    Disabled,
    /// No token has this HMAC (DELEGATION_TOKEN_NOT_FOUND).
    #[error("Delegation Token is not found on server")]
    NotFound,
    /// The caller is neither the token's owner nor a renewer (DELEGATION_TOKEN_OWNER_MISMATCH).
    #[error("Specified Principal is not valid Owner/Renewer")]
    OwnerMismatch,
    /// The token has expired (DELEGATION_TOKEN_EXPIRED).
    #[error("Delegation Token is expired")]
    Expired,
    /// A renewer or owner that is not a `User` (INVALID_PRINCIPAL_TYPE).
    #[error("Invalid principal type")]
    InvalidPrincipalType,
    /// The state store failed.
    #[error("cannot store the delegation token: {0}")]
    Store(#[from] StorageError),
}

/// The token settings (`delegation.token.*`).
#[derive(Debug, Clone)]
pub struct TokenConfig {
    /// `delegation.token.secret.key`; tokens are disabled without it.
    pub secret_key: Option<String>,
    /// `delegation.token.max.lifetime.ms`.
    pub max_lifetime_ms: i64,
    /// `delegation.token.expiry.time.ms`: how long a new or renewed token lasts.
    pub expiry_time_ms: i64,
}

/// One delegation token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// The token id.
    pub token_id: String,
    /// HMAC-SHA512 of the id under the secret key.
    pub hmac: Vec<u8>,
    /// Who the token authenticates as.
    pub owner: KafkaPrincipal,
    /// Who asked for it.
    pub requester: KafkaPrincipal,
    /// Who may renew and expire it (besides the owner).
    pub renewers: Vec<KafkaPrincipal>,
    /// When it was issued (ms since the epoch).
    pub issue_ms: i64,
    /// When it expires unless renewed.
    pub expiry_ms: i64,
    /// The latest it can be renewed to.
    pub max_ms: i64,
}

impl TokenInfo {
    /// Whether `p` owns, requested or may renew the token (who may describe it).
    pub fn owner_or_renewer(&self, p: &KafkaPrincipal) -> bool {
        self.owner == *p || self.requester == *p || self.renewers.contains(p)
    }

    fn may_renew(&self, p: &KafkaPrincipal) -> bool {
        self.owner == *p || self.renewers.contains(p)
    }

    fn expired(&self, now_ms: i64) -> bool {
        self.max_ms < now_ms || self.expiry_ms < now_ms
    }

    fn encode(&self) -> Vec<u8> {
        let principal = |p: &KafkaPrincipal| format!("{}:{}", p.principal_type, p.name);
        let mut fields = vec![
            self.token_id.clone(),
            BASE64.encode(&self.hmac),
            principal(&self.owner),
            principal(&self.requester),
            self.issue_ms.to_string(),
            self.expiry_ms.to_string(),
            self.max_ms.to_string(),
        ];
        fields.extend(self.renewers.iter().map(principal));
        fields
            .iter()
            .map(|f| BASE64.encode(f))
            .collect::<Vec<_>>()
            .join(",")
            .into_bytes()
    }

    fn decode(bytes: &[u8]) -> Option<TokenInfo> {
        let text = std::str::from_utf8(bytes).ok()?;
        let fields: Vec<String> = text
            .split(',')
            .map(|f| {
                BASE64
                    .decode(f)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
            })
            .collect::<Option<_>>()?;
        let principal = |s: &str| {
            let (t, n) = s.split_once(':')?;
            Some(KafkaPrincipal {
                principal_type: t.to_string(),
                name: n.to_string(),
            })
        };
        let [id, hmac, owner, requester, issue, expiry, max, renewers @ ..] = fields.as_slice()
        else {
            return None;
        };
        Some(TokenInfo {
            token_id: id.clone(),
            hmac: BASE64.decode(hmac).ok()?,
            owner: principal(owner)?,
            requester: principal(requester)?,
            renewers: renewers
                .iter()
                .map(|r| principal(r))
                .collect::<Option<_>>()?,
            issue_ms: issue.parse().ok()?,
            expiry_ms: expiry.parse().ok()?,
            max_ms: max.parse().ok()?,
        })
    }
}

/// A token and the SCRAM credentials that authenticate with it.
#[derive(Debug, Clone)]
struct Held {
    info: TokenInfo,
    credentials: BTreeMap<ScramMechanism, ScramCredential>,
}

fn credentials_of(hmac: &[u8]) -> BTreeMap<ScramMechanism, ScramCredential> {
    let password = BASE64.encode(hmac);
    ScramMechanism::ALL
        .into_iter()
        .filter_map(|m| {
            Some((
                m,
                ScramCredential::from_password(m, &password, TOKEN_ITERATIONS).ok()?,
            ))
        })
        .collect()
}

/// A token's credential as SCRAM authentication needs it.
#[derive(Debug, Clone)]
pub struct TokenCredential {
    /// The SCRAM credential made from the token's HMAC.
    pub credential: ScramCredential,
    /// The owner, who the client authenticates as.
    pub owner: KafkaPrincipal,
    /// When the token expires (ms since the epoch).
    pub expiry_ms: i64,
}

/// The broker's delegation tokens.
pub struct DelegationTokens {
    config: TokenConfig,
    store: Option<Arc<StateStore>>,
    tokens: RwLock<BTreeMap<String, Held>>,
    write: Mutex<()>,
}

impl std::fmt::Debug for DelegationTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DelegationTokens")
            .field("tokens", &self.tokens.read().len())
            .field("enabled", &self.enabled())
            .finish()
    }
}

impl DelegationTokens {
    /// The tokens kept in `store` (`None`: in memory only). A stored token that does not
    /// decode is skipped with a warning (it can no longer authenticate anyone).
    pub fn open(
        config: TokenConfig,
        store: Option<Arc<StateStore>>,
    ) -> Result<DelegationTokens, TokenError> {
        let mut tokens = BTreeMap::new();
        if let Some(s) = &store {
            for item in s.scan_prefix(PREFIX)? {
                let (k, v) = item?;
                match TokenInfo::decode(&v) {
                    Some(info) => {
                        let credentials = credentials_of(&info.hmac);
                        tokens.insert(info.token_id.clone(), Held { info, credentials });
                    }
                    None => tracing::warn!(key = %String::from_utf8_lossy(&k),
                        "skipping a delegation token that does not decode"),
                }
            }
        }
        Ok(DelegationTokens {
            config,
            store,
            tokens: RwLock::new(tokens),
            write: Mutex::new(()),
        })
    }

    /// Whether tokens are enabled (a secret key is set).
    pub fn enabled(&self) -> bool {
        self.config
            .secret_key
            .as_deref()
            .is_some_and(|k| !k.is_empty())
    }

    fn hmac(&self, token_id: &str) -> Result<Vec<u8>, TokenError> {
        let key = self
            .config
            .secret_key
            .as_deref()
            .ok_or(TokenError::Disabled)?;
        let mut mac = <Hmac<Sha512> as KeyInit>::new_from_slice(key.as_bytes())
            .map_err(|_| TokenError::Disabled)?;
        mac.update(token_id.as_bytes());
        Ok(mac.finalize().into_bytes().to_vec())
    }

    fn persist(&self, put: Option<&TokenInfo>, delete: Option<&str>) -> Result<(), TokenError> {
        if let Some(store) = &self.store {
            let mut batch = WriteBatch::new();
            if let Some(info) = put {
                batch.put(format!("{PREFIX}{}", info.token_id), info.encode());
            }
            if let Some(id) = delete {
                batch.delete(format!("{PREFIX}{id}"));
            }
            store.write(&batch)?;
        }
        Ok(())
    }

    /// Creates a token owned by `owner` for `requester` at `now_ms`.
    pub fn create(
        &self,
        owner: KafkaPrincipal,
        requester: KafkaPrincipal,
        renewers: Vec<KafkaPrincipal>,
        max_lifetime_ms: i64,
        now_ms: i64,
    ) -> Result<TokenInfo, TokenError> {
        if !self.enabled() {
            return Err(TokenError::Disabled);
        }
        if renewers
            .iter()
            .any(|r| r.principal_type != super::principal::USER_TYPE)
        {
            return Err(TokenError::InvalidPrincipalType);
        }
        let max_lifetime = if max_lifetime_ms > 0 {
            self.config.max_lifetime_ms.min(max_lifetime_ms)
        } else {
            self.config.max_lifetime_ms
        };
        let max_ms = now_ms.saturating_add(max_lifetime);
        let expiry_ms = max_ms.min(now_ms.saturating_add(self.config.expiry_time_ms));
        let token_id = uuid::Uuid::new_v4().to_string();
        let hmac = self.hmac(&token_id)?;
        let info = TokenInfo {
            token_id: token_id.clone(),
            hmac: hmac.clone(),
            owner,
            requester,
            renewers,
            issue_ms: now_ms,
            expiry_ms,
            max_ms,
        };
        let credentials = credentials_of(&hmac);
        let _serial = self.write.lock();
        self.persist(Some(&info), None)?;
        self.tokens.write().insert(
            token_id,
            Held {
                info: info.clone(),
                credentials,
            },
        );
        Ok(info)
    }

    fn find(&self, hmac: &[u8]) -> Option<TokenInfo> {
        self.tokens
            .read()
            .values()
            .find(|h| h.info.hmac == hmac)
            .map(|h| h.info.clone())
    }

    fn set_expiry(&self, info: &TokenInfo, expiry_ms: i64) -> Result<(), TokenError> {
        let mut next = info.clone();
        next.expiry_ms = expiry_ms;
        self.persist(Some(&next), None)?;
        if let Some(h) = self.tokens.write().get_mut(&info.token_id) {
            h.info.expiry_ms = expiry_ms;
        }
        Ok(())
    }

    /// Renews the token with `hmac` for `renew_period_ms` (the default period if not
    /// positive), up to its maximum time: the new expiry.
    pub fn renew(
        &self,
        hmac: &[u8],
        renew_period_ms: i64,
        caller: &KafkaPrincipal,
        now_ms: i64,
    ) -> Result<i64, TokenError> {
        if !self.enabled() {
            return Err(TokenError::Disabled);
        }
        let _serial = self.write.lock();
        let info = self.find(hmac).ok_or(TokenError::NotFound)?;
        if info.expired(now_ms) {
            return Err(TokenError::Expired);
        }
        if !info.may_renew(caller) {
            return Err(TokenError::OwnerMismatch);
        }
        let period = if renew_period_ms > 0 {
            self.config.expiry_time_ms.min(renew_period_ms)
        } else {
            self.config.expiry_time_ms
        };
        let expiry = info.max_ms.min(now_ms.saturating_add(period));
        self.set_expiry(&info, expiry)?;
        Ok(expiry)
    }

    /// Expires the token with `hmac` after `period_ms` (at once, removing it, if
    /// negative): the new expiry.
    pub fn expire(
        &self,
        hmac: &[u8],
        period_ms: i64,
        caller: &KafkaPrincipal,
        now_ms: i64,
    ) -> Result<i64, TokenError> {
        if !self.enabled() {
            return Err(TokenError::Disabled);
        }
        let _serial = self.write.lock();
        let info = self.find(hmac).ok_or(TokenError::NotFound)?;
        if !info.may_renew(caller) {
            return Err(TokenError::OwnerMismatch);
        }
        if period_ms < 0 {
            self.persist(None, Some(&info.token_id))?;
            self.tokens.write().remove(&info.token_id);
            return Ok(now_ms);
        }
        if info.expired(now_ms) {
            return Err(TokenError::Expired);
        }
        let expiry = info.max_ms.min(now_ms.saturating_add(period_ms));
        self.set_expiry(&info, expiry)?;
        Ok(expiry)
    }

    /// Every token that `keep` accepts.
    pub fn tokens(&self, keep: impl Fn(&TokenInfo) -> bool) -> Vec<TokenInfo> {
        self.tokens
            .read()
            .values()
            .map(|h| &h.info)
            .filter(|i| keep(i))
            .cloned()
            .collect()
    }

    /// The SCRAM credential of token `token_id` for `mechanism`, if it exists and has not
    /// expired at `now_ms`.
    pub fn credential(
        &self,
        token_id: &str,
        mechanism: ScramMechanism,
        now_ms: i64,
    ) -> Option<TokenCredential> {
        let tokens = self.tokens.read();
        let held = tokens.get(token_id)?;
        if held.info.expired(now_ms) {
            return None;
        }
        Some(TokenCredential {
            credential: held.credentials.get(&mechanism)?.clone(),
            owner: held.info.owner.clone(),
            expiry_ms: held.info.expiry_ms,
        })
    }

    /// Removes the tokens expired at `now_ms` (Kafka's periodic sweep); how many.
    pub fn sweep(&self, now_ms: i64) -> Result<usize, TokenError> {
        let _serial = self.write.lock();
        let expired: Vec<String> = self
            .tokens
            .read()
            .values()
            .filter(|h| h.info.expired(now_ms))
            .map(|h| h.info.token_id.clone())
            .collect();
        for id in &expired {
            tracing::info!(token = %id, "delegation token expired");
            self.persist(None, Some(id))?;
            self.tokens.write().remove(id);
        }
        Ok(expired.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> TokenConfig {
        TokenConfig {
            secret_key: Some("secret".into()),
            max_lifetime_ms: 10_000,
            expiry_time_ms: 1_000,
        }
    }

    #[test]
    fn tokens_follow_kafkas_lifetime_rules() {
        let t = DelegationTokens::open(config(), None).unwrap();
        let alice = KafkaPrincipal::user("alice");
        let bob = KafkaPrincipal::user("bob");
        let carol = KafkaPrincipal::user("carol");
        let info = t
            .create(alice.clone(), alice.clone(), vec![bob.clone()], -1, 100)
            .unwrap();
        assert_eq!((info.expiry_ms, info.max_ms), (1_100, 10_100));
        assert_eq!(info.hmac.len(), 64);
        assert!(matches!(
            t.renew(&info.hmac, 500, &carol, 200),
            Err(TokenError::OwnerMismatch)
        ));
        assert_eq!(t.renew(&info.hmac, 500, &bob, 200).unwrap(), 700);
        assert_eq!(
            t.renew(&info.hmac, -1, &alice, 9_500)
                .unwrap_err()
                .to_string(),
            TokenError::Expired.to_string()
        );
        assert!(t
            .credential(&info.token_id, ScramMechanism::Sha256, 600)
            .is_some());
        assert!(t
            .credential(&info.token_id, ScramMechanism::Sha256, 800)
            .is_none());
        assert!(matches!(
            t.renew(b"nope", 1, &alice, 300),
            Err(TokenError::NotFound)
        ));
        assert_eq!(t.expire(&info.hmac, -1, &alice, 300).unwrap(), 300);
        assert!(t.tokens(|_| true).is_empty());
        let disabled = DelegationTokens::open(
            TokenConfig {
                secret_key: None,
                ..config()
            },
            None,
        )
        .unwrap();
        assert!(matches!(
            disabled.create(alice.clone(), alice, vec![], -1, 0),
            Err(TokenError::Disabled)
        ));
    }

    #[test]
    fn token_info_round_trips() {
        let info = TokenInfo {
            token_id: "id-1".into(),
            hmac: vec![1, 2, 3],
            owner: KafkaPrincipal::user("a,b:c"),
            requester: KafkaPrincipal::user("r"),
            renewers: vec![KafkaPrincipal::user("x"), KafkaPrincipal::user("y")],
            issue_ms: 1,
            expiry_ms: 2,
            max_ms: 3,
        };
        assert_eq!(TokenInfo::decode(&info.encode()), Some(info));
        assert_eq!(TokenInfo::decode(b"garbage"), None);
    }
}
