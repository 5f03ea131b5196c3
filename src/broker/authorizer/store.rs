//! The ACL bindings, durable in the state store under `acl/<binding>` and held in memory
//! for the authorizer. Changes are written (and, under the store's `always` mode, synced)
//! before they are visible, so an ACL acknowledged by CreateAcls or DeleteAcls survives a
//! restart or a kill -9.
//!
//! A binding's key is its fields in a fixed order, each string length-prefixed, so any name,
//! principal or host (including `/`) round-trips; the value is empty.

use std::collections::BTreeSet;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::acl::{
    AccessControlEntry, AclBinding, AclBindingFilter, AclOperation, AclPermissionType, PatternType,
    ResourcePattern, ResourceType,
};
use super::AclError;
use crate::storage::kv::{StateStore, WriteBatch};

const PREFIX: &str = "acl/";

fn push_str(out: &mut String, s: &str) {
    out.push_str(&s.len().to_string());
    out.push(':');
    out.push_str(s);
}

/// The state-store key of `binding`.
fn key(b: &AclBinding) -> String {
    let mut k = format!(
        "{PREFIX}{}/{}/{}/{}/",
        b.pattern.resource_type.code(),
        b.pattern.pattern_type.code(),
        b.entry.operation.code(),
        b.entry.permission_type.code()
    );
    push_str(&mut k, &b.pattern.name);
    push_str(&mut k, &b.entry.principal);
    push_str(&mut k, &b.entry.host);
    k
}

/// Reads one length-prefixed string off the front of `rest`.
fn take_str<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let (len, tail) = rest.split_once(':')?;
    let len: usize = len.parse().ok()?;
    let s = tail.get(..len)?;
    *rest = tail.get(len..)?;
    Some(s)
}

fn parse_key(k: &str) -> Option<AclBinding> {
    let rest = k.strip_prefix(PREFIX)?;
    let mut parts = rest.splitn(5, '/');
    let mut code = || -> Option<i8> { parts.next()?.parse().ok() };
    let resource_type = ResourceType::from_code(code()?)?;
    let pattern_type = PatternType::from_code(code()?)?;
    let operation = AclOperation::from_code(code()?)?;
    let permission_type = AclPermissionType::from_code(code()?)?;
    let mut rest = parts.next()?;
    let name = take_str(&mut rest)?.to_string();
    let principal = take_str(&mut rest)?.to_string();
    let host = take_str(&mut rest)?.to_string();
    if !rest.is_empty() {
        return None;
    }
    Some(AclBinding {
        pattern: ResourcePattern {
            resource_type,
            name,
            pattern_type,
        },
        entry: AccessControlEntry {
            principal,
            host,
            operation,
            permission_type,
        },
    })
}

/// The cluster's ACL bindings.
pub struct AclStore {
    store: Option<Arc<StateStore>>,
    acls: RwLock<Arc<BTreeSet<AclBinding>>>,
    write: Mutex<()>,
}

impl std::fmt::Debug for AclStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AclStore")
            .field("acls", &self.acls.read().len())
            .finish()
    }
}

impl AclStore {
    /// The bindings kept in `store` (`None`: in memory only).
    pub fn open(store: Option<Arc<StateStore>>) -> Result<AclStore, AclError> {
        let mut acls = BTreeSet::new();
        if let Some(s) = &store {
            for item in s.scan_prefix(PREFIX)? {
                let (k, _) = item?;
                let k = String::from_utf8_lossy(&k).into_owned();
                let binding = parse_key(&k).ok_or_else(|| AclError::Corrupt(k.clone()))?;
                acls.insert(binding);
            }
        }
        Ok(AclStore {
            store,
            acls: RwLock::new(Arc::new(acls)),
            write: Mutex::new(()),
        })
    }

    /// A snapshot of every binding (cheap: shared until the next change).
    pub fn snapshot(&self) -> Arc<BTreeSet<AclBinding>> {
        Arc::clone(&self.acls.read())
    }

    /// The bindings that match `filter`.
    pub fn describe(&self, filter: &AclBindingFilter) -> Vec<AclBinding> {
        self.snapshot()
            .iter()
            .filter(|b| filter.matches(b))
            .cloned()
            .collect()
    }

    /// Adds `bindings` (one already present is left as it is): written to the state store
    /// first, then visible.
    pub fn create(&self, bindings: &[AclBinding]) -> Result<(), AclError> {
        let _serial = self.write.lock();
        let current = self.snapshot();
        let new: Vec<&AclBinding> = bindings.iter().filter(|b| !current.contains(b)).collect();
        if new.is_empty() {
            return Ok(());
        }
        if let Some(store) = &self.store {
            let mut batch = WriteBatch::new();
            for b in &new {
                batch.put(key(b), b"");
            }
            store.write(&batch)?;
        }
        let mut next = (*current).clone();
        next.extend(new.into_iter().cloned());
        *self.acls.write() = Arc::new(next);
        Ok(())
    }

    /// Removes the bindings each filter matches, all at once; for each filter, the
    /// bindings it removed.
    pub fn delete(&self, filters: &[AclBindingFilter]) -> Result<Vec<Vec<AclBinding>>, AclError> {
        let _serial = self.write.lock();
        let current = self.snapshot();
        let matched: Vec<Vec<AclBinding>> = filters
            .iter()
            .map(|f| current.iter().filter(|b| f.matches(b)).cloned().collect())
            .collect();
        let gone: BTreeSet<&AclBinding> = matched.iter().flatten().collect();
        if gone.is_empty() {
            return Ok(matched);
        }
        if let Some(store) = &self.store {
            let mut batch = WriteBatch::new();
            for b in &gone {
                batch.delete(key(b));
            }
            store.write(&batch)?;
        }
        let next: BTreeSet<AclBinding> = current
            .iter()
            .filter(|b| !gone.contains(b))
            .cloned()
            .collect();
        *self.acls.write() = Arc::new(next);
        Ok(matched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::kv::StateStoreConfig;

    fn binding(name: &str, principal: &str, host: &str) -> AclBinding {
        AclBinding {
            pattern: ResourcePattern {
                resource_type: ResourceType::Topic,
                name: name.into(),
                pattern_type: PatternType::Prefixed,
            },
            entry: AccessControlEntry {
                principal: principal.into(),
                host: host.into(),
                operation: AclOperation::Write,
                permission_type: AclPermissionType::Deny,
            },
        }
    }

    #[test]
    fn keys_round_trip_any_text() {
        for b in [
            binding("a/b:c", "User:x/y", "*"),
            binding("", "User:", "::1"),
            binding("ü1:2", "User:3:4", "10.0.0.1"),
        ] {
            assert_eq!(parse_key(&key(&b)), Some(b));
        }
        assert_eq!(parse_key("acl/2/3/4/3/1:a1:b1:cX"), None);
        assert_eq!(parse_key("acl/0/3/4/3/1:a1:b1:c"), None);
    }

    #[test]
    fn bindings_persist_in_the_state_store() {
        let dir = tempfile::tempdir().unwrap();
        let open = || Arc::new(StateStore::open(dir.path(), StateStoreConfig::default()).unwrap());
        let store = open();
        let acls = AclStore::open(Some(Arc::clone(&store))).unwrap();
        let a = binding("orders", "User:alice", "*");
        let b = binding("pay/", "User:bob", "127.0.0.1");
        acls.create(&[a.clone(), b.clone(), a.clone()]).unwrap();
        let only_bob = AclBindingFilter {
            resource_type: ResourceType::Any,
            name: None,
            pattern_type: PatternType::Any,
            principal: Some("User:bob".into()),
            host: None,
            operation: AclOperation::Any,
            permission_type: AclPermissionType::Any,
        };
        assert_eq!(acls.delete(&[only_bob]).unwrap(), vec![vec![b]]);
        store.close().unwrap();
        drop(acls);
        drop(store);
        let acls = AclStore::open(Some(open())).unwrap();
        assert_eq!(acls.snapshot().iter().cloned().collect::<Vec<_>>(), vec![a]);
    }
}
