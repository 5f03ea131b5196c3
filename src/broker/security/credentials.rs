//! The SCRAM credentials of the cluster, durable in the state store under
//! `scram/<mechanism code>/<user>` and held in memory for lookups during authentication.
//! Changes are written (and, under the store's `always` mode, synced) before they are visible,
//! so a credential acknowledged by AlterUserScramCredentials survives a restart or a kill -9.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::scram::{ScramCredential, ScramMechanism};
use super::SaslError;
use crate::storage::kv::{StateStore, WriteBatch};

const PREFIX: &str = "scram/";

fn key(user: &str, mechanism: ScramMechanism) -> String {
    format!("{PREFIX}{}/{user}", mechanism.code())
}

/// One change of a credential.
#[derive(Debug, Clone)]
pub enum CredentialChange {
    /// Set (create or replace) the credential of `user` for `mechanism`.
    Upsert {
        /// The user.
        user: String,
        /// The mechanism.
        mechanism: ScramMechanism,
        /// The credential.
        credential: ScramCredential,
    },
    /// Remove it.
    Delete {
        /// The user.
        user: String,
        /// The mechanism.
        mechanism: ScramMechanism,
    },
}

/// The SCRAM credentials, by user and mechanism.
pub struct ScramCredentials {
    store: Option<Arc<StateStore>>,
    map: RwLock<BTreeMap<(String, ScramMechanism), ScramCredential>>,
    write: Mutex<()>,
}

impl std::fmt::Debug for ScramCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramCredentials")
            .field("credentials", &self.map.read().len())
            .finish()
    }
}

impl ScramCredentials {
    /// The credentials kept in `store` (`None`: in memory only).
    pub fn open(store: Option<Arc<StateStore>>) -> Result<ScramCredentials, SaslError> {
        let mut map = BTreeMap::new();
        if let Some(s) = &store {
            for item in s.scan_prefix(PREFIX)? {
                let (k, v) = item?;
                let k = String::from_utf8_lossy(&k).into_owned();
                let parsed = k
                    .strip_prefix(PREFIX)
                    .and_then(|rest| rest.split_once('/'))
                    .and_then(|(code, user)| {
                        let mechanism = ScramMechanism::from_code(code.parse().ok()?)?;
                        Some((user.to_string(), mechanism, ScramCredential::decode(&v)?))
                    });
                let (user, mechanism, credential) =
                    parsed.ok_or_else(|| SaslError::Corrupt(k.clone()))?;
                map.insert((user, mechanism), credential);
            }
        }
        Ok(ScramCredentials {
            store,
            map: RwLock::new(map),
            write: Mutex::new(()),
        })
    }

    /// The credential of `user` for `mechanism`.
    pub fn get(&self, user: &str, mechanism: ScramMechanism) -> Option<ScramCredential> {
        self.map.read().get(&(user.to_string(), mechanism)).cloned()
    }

    /// Every user with a credential, each with the mechanisms and iterations it has.
    pub fn users(&self) -> BTreeMap<String, Vec<(ScramMechanism, i32)>> {
        let mut out: BTreeMap<String, Vec<(ScramMechanism, i32)>> = BTreeMap::new();
        for ((user, mechanism), c) in self.map.read().iter() {
            out.entry(user.clone())
                .or_default()
                .push((*mechanism, c.iterations));
        }
        out
    }

    /// The mechanisms and iterations of `user` (empty if it has none).
    pub fn describe(&self, user: &str) -> Vec<(ScramMechanism, i32)> {
        ScramMechanism::ALL
            .into_iter()
            .filter_map(|m| Some((m, self.get(user, m)?.iterations)))
            .collect()
    }

    /// Applies `changes` at once: written to the state store first, then visible.
    pub fn apply(&self, changes: &[CredentialChange]) -> Result<(), SaslError> {
        if changes.is_empty() {
            return Ok(());
        }
        let _serial = self.write.lock();
        if let Some(store) = &self.store {
            let mut batch = WriteBatch::new();
            for c in changes {
                match c {
                    CredentialChange::Upsert {
                        user,
                        mechanism,
                        credential,
                    } => {
                        batch.put(key(user, *mechanism), credential.encode());
                    }
                    CredentialChange::Delete { user, mechanism } => {
                        batch.delete(key(user, *mechanism));
                    }
                }
            }
            store.write(&batch)?;
        }
        let mut map = self.map.write();
        for c in changes {
            match c {
                CredentialChange::Upsert {
                    user,
                    mechanism,
                    credential,
                } => {
                    map.insert((user.clone(), *mechanism), credential.clone());
                }
                CredentialChange::Delete { user, mechanism } => {
                    map.remove(&(user.clone(), *mechanism));
                }
            }
        }
        Ok(())
    }
}

/// A `--add-scram` argument as `kafka-storage format` reads it:
/// `SCRAM-SHA-512=[name=alice,password=secret]`, with an optional `iterations=N`.
pub fn parse_add_scram(spec: &str) -> Result<CredentialChange, String> {
    let (mechanism, rest) = spec
        .split_once('=')
        .ok_or_else(|| format!("`{spec}` is not MECHANISM=[name=...,password=...]"))?;
    let mechanism = ScramMechanism::from_name(mechanism.trim())
        .ok_or_else(|| format!("`{mechanism}` is not SCRAM-SHA-256 or SCRAM-SHA-512"))?;
    let body = rest
        .trim()
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .ok_or_else(|| format!("`{rest}` is not [name=...,password=...]"))?;
    let mut name = None;
    let mut password = None;
    let mut iterations = super::scram::MIN_ITERATIONS;
    for field in body.split(',') {
        let (k, v) = field
            .split_once('=')
            .ok_or_else(|| format!("`{field}` is not key=value"))?;
        let v = v.trim().trim_matches('"').to_string();
        match k.trim() {
            "name" => name = Some(v),
            "password" => password = Some(v),
            "iterations" => {
                iterations = v
                    .parse()
                    .map_err(|_| format!("`{v}` is not a number of iterations"))?
            }
            other => {
                return Err(format!(
                    "unknown field `{other}` (name, password, iterations)"
                ))
            }
        }
    }
    let user = name
        .filter(|n| !n.is_empty())
        .ok_or("the user needs a name")?;
    let password = password.ok_or("the user needs a password")?;
    if !(super::scram::MIN_ITERATIONS..=super::scram::MAX_ITERATIONS).contains(&iterations) {
        return Err(format!(
            "iterations must be between {} and {}",
            super::scram::MIN_ITERATIONS,
            super::scram::MAX_ITERATIONS
        ));
    }
    let credential = ScramCredential::from_password(mechanism, &password, iterations)
        .map_err(|e| e.to_string())?;
    Ok(CredentialChange::Upsert {
        user,
        mechanism,
        credential,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::kv::StateStoreConfig;

    #[test]
    fn credentials_persist_in_the_state_store() {
        let dir = tempfile::tempdir().unwrap();
        let open = || Arc::new(StateStore::open(dir.path(), StateStoreConfig::default()).unwrap());
        let store = open();
        let creds = ScramCredentials::open(Some(Arc::clone(&store))).unwrap();
        let alice = parse_add_scram("SCRAM-SHA-512=[name=alice,password=secret]").unwrap();
        let bob = parse_add_scram("SCRAM-SHA-256=[name=bob,password=pw,iterations=8192]").unwrap();
        creds.apply(&[alice, bob]).unwrap();
        creds
            .apply(&[CredentialChange::Delete {
                user: "alice".into(),
                mechanism: ScramMechanism::Sha512,
            }])
            .unwrap();
        let again = parse_add_scram("SCRAM-SHA-512=[name=alice,password=other]").unwrap();
        creds.apply(&[again]).unwrap();
        store.close().unwrap();
        drop(creds);
        drop(store);
        let creds = ScramCredentials::open(Some(open())).unwrap();
        assert_eq!(creds.describe("bob"), vec![(ScramMechanism::Sha256, 8192)]);
        assert_eq!(
            creds.describe("alice"),
            vec![(ScramMechanism::Sha512, 4096)]
        );
        assert_eq!(creds.users().len(), 2);
    }

    #[test]
    fn add_scram_syntax() {
        assert!(parse_add_scram("SCRAM-SHA-1=[name=a,password=b]").is_err());
        assert!(parse_add_scram("SCRAM-SHA-256=[password=b]").is_err());
        assert!(parse_add_scram("SCRAM-SHA-256=[name=a,password=b,iterations=10]").is_err());
        assert!(parse_add_scram("SCRAM-SHA-256=name=a").is_err());
        assert!(parse_add_scram("SCRAM-SHA-256=[name=a,password=\"b\"]").is_ok());
    }
}
