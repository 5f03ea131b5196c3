//! Authorization as Kafka's StandardAuthorizer: ACL bindings ([`acl`]) kept in the state
//! store ([`store::AclStore`]), and the decision of whether a principal connected from a host
//! may perform an operation on a resource ([`Authorizer::authorize`]).
//!
//! The rules are Kafka's: a super user (`super.users`) may do anything; otherwise the ACLs
//! that apply to the resource (LITERAL on its name, LITERAL `*`, PREFIXED on a prefix of its
//! name) and to the principal (itself or `User:*`) and host (its address or `*`) decide, a
//! DENY winning over any ALLOW. An ALLOW of READ, WRITE, DELETE or ALTER implies DESCRIBE, an
//! ALLOW of ALTER_CONFIGS implies DESCRIBE_CONFIGS, and ALL covers every operation (a DENY
//! implies nothing beyond its own operation, or every one for ALL). A resource no ACL names
//! is refused unless `allow.everyone.if.no.acl.found`.
//!
//! With no authorizer configured (`authorizer.class.name` empty) every request is allowed.
//! Each decision is logged at debug level on the `authorizer` tracing target.

pub mod acl;
pub mod store;

use std::collections::HashSet;
use std::sync::Arc;

pub use acl::{
    AccessControlEntry, AclBinding, AclBindingFilter, AclOperation, AclPermissionType, PatternType,
    ResourcePattern, ResourceType, CLUSTER_NAME, WILDCARD_HOST, WILDCARD_PRINCIPAL,
    WILDCARD_RESOURCE,
};
pub use store::AclStore;

use super::security::KafkaPrincipal;
use crate::config::Config;
use crate::storage::kv::StateStore;
use crate::storage::StorageError;

/// The class name that turns the authorizer on (`authorizer.class.name`).
pub use crate::config::listeners::STANDARD_AUTHORIZER;

/// Why the ACLs could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum AclError {
    /// The state store failed.
    #[error("cannot store ACLs: {0}")]
    Store(#[from] StorageError),
    /// A stored binding that does not decode.
    #[error("corrupt ACL `{0}` in the state store")]
    Corrupt(String),
}

/// Who asks: the connection's principal and the client's address, as Kafka's
/// `AuthorizableRequestContext` gives them to the authorizer.
#[derive(Debug, Clone, Copy)]
pub struct Requester<'a> {
    /// The authenticated principal.
    pub principal: &'a KafkaPrincipal,
    /// The client's address as text (`127.0.0.1`).
    pub host: &'a str,
}

/// The broker's authorizer: whether it is on, its super users, and the ACLs.
#[derive(Debug)]
pub struct Authorizer {
    enabled: bool,
    super_users: HashSet<String>,
    allow_everyone_if_no_acl_found: bool,
    acls: AclStore,
}

impl Authorizer {
    /// The authorizer `config` asks for, with the ACLs kept in `store` (`None`: in memory).
    pub fn open(config: &Config, store: Option<Arc<StateStore>>) -> Result<Authorizer, AclError> {
        Ok(Authorizer {
            enabled: config.authorizer_class_name == STANDARD_AUTHORIZER,
            super_users: config
                .super_users
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            allow_everyone_if_no_acl_found: config.allow_everyone_if_no_acl_found,
            acls: AclStore::open(store)?,
        })
    }

    /// Whether an authorizer is configured (else everything is allowed and the ACL APIs
    /// answer SECURITY_DISABLED).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The ACL bindings.
    pub fn acls(&self) -> &AclStore {
        &self.acls
    }

    fn is_super_user(&self, principal: &KafkaPrincipal) -> bool {
        self.super_users.contains(&principal.to_string())
    }

    /// Whether `who` may perform `operation` on the resource `resource_type`/`name`; the
    /// decision is logged on the `authorizer` target.
    pub fn authorize(
        &self,
        who: Requester<'_>,
        operation: AclOperation,
        resource_type: ResourceType,
        name: &str,
    ) -> bool {
        if !self.enabled {
            return true;
        }
        let (allowed, why) = self.decide(who, operation, resource_type, name);
        tracing::debug!(target: "authorizer", principal = %who.principal, host = who.host,
            operation = operation.name(), resource = %format!("{resource_type}:LITERAL:{name}"),
            result = if allowed { "ALLOWED" } else { "DENIED" }, rule = why, "authorization");
        allowed
    }

    /// The decision without logging, and the rule that made it.
    fn decide(
        &self,
        who: Requester<'_>,
        operation: AclOperation,
        resource_type: ResourceType,
        name: &str,
    ) -> (bool, &'static str) {
        if self.is_super_user(who.principal) {
            return (true, "super user");
        }
        let principal = who.principal.to_string();
        let acls = self.acls.snapshot();
        let mut resource_has_acls = false;
        let mut allowed = false;
        for b in acls.iter() {
            if !b.pattern.applies_to(resource_type, name) {
                continue;
            }
            resource_has_acls = true;
            match entry_result(&b.entry, &principal, who.host, operation) {
                Some(AclPermissionType::Deny) => return (false, "denied by ACL"),
                Some(AclPermissionType::Allow) => allowed = true,
                _ => {}
            }
        }
        if allowed {
            (true, "allowed by ACL")
        } else if resource_has_acls {
            (false, "no ACL allows it")
        } else if self.allow_everyone_if_no_acl_found {
            (
                true,
                "no ACL on the resource; allow.everyone.if.no.acl.found",
            )
        } else {
            (false, "no ACL on the resource")
        }
    }

    /// Whether `who` may perform `operation` on at least one resource of `resource_type`
    /// (Kafka's `Authorizer.authorizeByResourceType`: an ALLOW on some name or prefix that
    /// no DENY on the same literal name or on a shorter-or-equal prefix overrides). Kafka 4
    /// grants an idempotent producer id on WRITE to any topic this way.
    pub fn authorize_by_resource_type(
        &self,
        who: Requester<'_>,
        operation: AclOperation,
        resource_type: ResourceType,
    ) -> bool {
        if !self.enabled {
            return true;
        }
        // Kafka checks a made-up name first, so a super user (or a wildcard ALLOW, or an
        // open resource type) passes whatever the DENY ACLs say.
        if self.decide(who, operation, resource_type, "hardcode").0 {
            return true;
        }
        let principal = who.principal.to_string();
        let mut deny_literal = HashSet::new();
        let mut deny_prefixed = HashSet::new();
        let mut allow = Vec::new();
        for b in self.acls.snapshot().iter() {
            let e = &b.entry;
            if b.pattern.resource_type != resource_type
                || (e.host != WILDCARD_HOST && e.host != who.host)
                || (e.principal != principal && e.principal != WILDCARD_PRINCIPAL)
                || (e.operation != operation && e.operation != AclOperation::All)
            {
                continue;
            }
            let literal = b.pattern.pattern_type == PatternType::Literal;
            match e.permission_type {
                AclPermissionType::Deny if literal && b.pattern.name == WILDCARD_RESOURCE => {
                    return self.logged(who, operation, resource_type, false);
                }
                AclPermissionType::Deny if literal => {
                    deny_literal.insert(b.pattern.name.clone());
                }
                AclPermissionType::Deny => {
                    deny_prefixed.insert(b.pattern.name.clone());
                }
                AclPermissionType::Allow if literal && b.pattern.name == WILDCARD_RESOURCE => {
                    return self.logged(who, operation, resource_type, true);
                }
                AclPermissionType::Allow => allow.push((literal, b.pattern.name.clone())),
                _ => {}
            }
        }
        let allowed = allow.iter().any(|(literal, name)| {
            if *literal && deny_literal.contains(name) {
                return false;
            }
            !name
                .char_indices()
                .filter_map(|(i, c)| name.get(..i + c.len_utf8()))
                .any(|prefix| deny_prefixed.contains(prefix))
        });
        self.logged(who, operation, resource_type, allowed)
    }

    fn logged(
        &self,
        who: Requester<'_>,
        operation: AclOperation,
        resource_type: ResourceType,
        allowed: bool,
    ) -> bool {
        tracing::debug!(target: "authorizer", principal = %who.principal, host = who.host,
            operation = operation.name(), resource = %format!("{resource_type}:ANY"),
            result = if allowed { "ALLOWED" } else { "DENIED" }, "authorization by resource type");
        allowed
    }

    /// The operations `who` may perform on the resource (a bit per operation code, as the
    /// `*_authorized_operations` fields carry them; KIP-430): every supported operation
    /// without an authorizer.
    pub fn authorized_operations(
        &self,
        who: Requester<'_>,
        resource_type: ResourceType,
        name: &str,
    ) -> i32 {
        AclOperation::supported_by(resource_type)
            .iter()
            .filter(|op| !self.enabled || self.decide(who, **op, resource_type, name).0)
            .fold(0, |bits, op| bits | (1 << op.code()))
    }
}

/// What one entry says about `operation` for `principal` at `host`: ALLOW, DENY, or
/// nothing (`None`) when it does not apply.
fn entry_result(
    e: &AccessControlEntry,
    principal: &str,
    host: &str,
    operation: AclOperation,
) -> Option<AclPermissionType> {
    if e.principal != principal && e.principal != WILDCARD_PRINCIPAL {
        return None;
    }
    if e.host != WILDCARD_HOST && e.host != host {
        return None;
    }
    if e.operation != AclOperation::All {
        let applies = if e.permission_type == AclPermissionType::Allow {
            match operation {
                AclOperation::Describe => matches!(
                    e.operation,
                    AclOperation::Describe
                        | AclOperation::Read
                        | AclOperation::Write
                        | AclOperation::Delete
                        | AclOperation::Alter
                ),
                AclOperation::DescribeConfigs => matches!(
                    e.operation,
                    AclOperation::DescribeConfigs | AclOperation::AlterConfigs
                ),
                _ => e.operation == operation,
            }
        } else {
            e.operation == operation
        };
        if !applies {
            return None;
        }
    }
    Some(e.permission_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(
        rt: ResourceType,
        name: &str,
        pt: PatternType,
        principal: &str,
        host: &str,
        op: AclOperation,
        perm: AclPermissionType,
    ) -> AclBinding {
        AclBinding {
            pattern: ResourcePattern {
                resource_type: rt,
                name: name.into(),
                pattern_type: pt,
            },
            entry: AccessControlEntry {
                principal: principal.into(),
                host: host.into(),
                operation: op,
                permission_type: perm,
            },
        }
    }

    fn authorizer(settings: &[&str], acls: &[AclBinding]) -> Authorizer {
        let mut config = Config::default();
        config
            .set("authorizer.class.name", STANDARD_AUTHORIZER)
            .unwrap();
        for s in settings {
            config.apply_override(s).unwrap();
        }
        let a = Authorizer::open(&config, None).unwrap();
        a.acls().create(acls).unwrap();
        a
    }

    use AclOperation::*;
    use AclPermissionType::{Allow, Deny};
    use PatternType::{Literal, Prefixed};
    use ResourceType::{Cluster, Group, Topic};

    #[test]
    fn deny_wins_and_wildcards_apply() {
        let alice = KafkaPrincipal::user("alice");
        let bob = KafkaPrincipal::user("bob");
        let at = |p: &'static KafkaPrincipal, host: &'static str| Requester { principal: p, host };
        let alice: &'static KafkaPrincipal = Box::leak(Box::new(alice));
        let bob: &'static KafkaPrincipal = Box::leak(Box::new(bob));
        let a = authorizer(
            &[],
            &[
                acl(Topic, "orders", Literal, "User:*", "*", Read, Allow),
                acl(Topic, "orders", Literal, "User:bob", "*", Read, Deny),
                acl(
                    Topic,
                    "pay",
                    Prefixed,
                    "User:alice",
                    "10.0.0.1",
                    Write,
                    Allow,
                ),
                acl(Topic, "*", Literal, "User:alice", "*", Alter, Allow),
                acl(Group, "g", Literal, "User:alice", "*", All, Allow),
            ],
        );
        assert!(a.authorize(at(alice, "1.1.1.1"), Read, Topic, "orders"));
        assert!(!a.authorize(at(bob, "1.1.1.1"), Read, Topic, "orders"));
        // READ implies DESCRIBE for an ALLOW only; bob's DENY READ denies no DESCRIBE.
        assert!(a.authorize(at(bob, "1.1.1.1"), Describe, Topic, "orders"));
        assert!(!a.authorize(at(alice, "1.1.1.1"), Write, Topic, "orders"));
        assert!(a.authorize(at(alice, "10.0.0.1"), Write, Topic, "payments"));
        assert!(!a.authorize(at(alice, "10.0.0.2"), Write, Topic, "payments"));
        assert!(!a.authorize(at(bob, "10.0.0.1"), Write, Topic, "payments"));
        assert!(a.authorize(at(alice, "1.1.1.1"), Alter, Topic, "anything"));
        assert!(a.authorize(at(alice, "1.1.1.1"), Delete, Group, "g"));
        assert!(!a.authorize(at(alice, "1.1.1.1"), Read, Group, "h"));
        assert!(!a.authorize(at(alice, "1.1.1.1"), Describe, Cluster, CLUSTER_NAME));
        assert_eq!(
            a.authorized_operations(at(alice, "1.1.1.1"), Group, "g"),
            (1 << 3) | (1 << 8) | (1 << 6)
        );
        assert!(a.authorize_by_resource_type(at(alice, "10.0.0.1"), Write, Topic));
        assert!(!a.authorize_by_resource_type(at(bob, "10.0.0.1"), Write, Topic));
    }

    #[test]
    fn super_users_and_open_resources() {
        let admin: &'static KafkaPrincipal = Box::leak(Box::new(KafkaPrincipal::user("admin")));
        let bob: &'static KafkaPrincipal = Box::leak(Box::new(KafkaPrincipal::user("bob")));
        let deny_all = acl(Topic, "*", Literal, "User:*", "*", All, Deny);
        let a = authorizer(
            &["super.users=User:ops; User:admin"],
            std::slice::from_ref(&deny_all),
        );
        let who = |p| Requester {
            principal: p,
            host: "1.1.1.1",
        };
        assert!(a.authorize(who(admin), Write, Topic, "t"));
        assert!(!a.authorize(who(bob), Write, Topic, "t"));
        assert!(!a.authorize(who(bob), Read, Group, "g"));
        let open = authorizer(&["allow.everyone.if.no.acl.found=true"], &[deny_all]);
        assert!(open.authorize(who(bob), Read, Group, "g"));
        assert!(!open.authorize(who(bob), Read, Topic, "t"));
        let mut off = Config::default();
        off.set("super.users", "").unwrap();
        assert!(Authorizer::open(&off, None)
            .unwrap()
            .authorize(who(bob), Write, Topic, "t"));
    }

    #[test]
    fn by_resource_type_honours_dominating_denies() {
        let bob: &'static KafkaPrincipal = Box::leak(Box::new(KafkaPrincipal::user("bob")));
        let who = Requester {
            principal: bob,
            host: "1.1.1.1",
        };
        let a = authorizer(
            &[],
            &[
                acl(Topic, "abc", Literal, "User:bob", "*", Write, Allow),
                acl(Topic, "ab", Prefixed, "User:bob", "*", Write, Deny),
            ],
        );
        assert!(!a.authorize_by_resource_type(who, Write, Topic));
        a.acls()
            .create(&[acl(Topic, "x", Prefixed, "User:bob", "*", All, Allow)])
            .unwrap();
        assert!(a.authorize_by_resource_type(who, Write, Topic));
    }
}
