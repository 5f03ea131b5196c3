//! What an ACL is made of, in Kafka's vocabulary and with Kafka's codes: the resource
//! pattern (resource type, name, pattern type), the access control entry (principal, host,
//! operation, permission type), the binding of both ([`AclBinding`]) and the filters that
//! DescribeAcls and DeleteAcls match bindings with ([`AclBindingFilter`]).

/// The resource name that stands for every resource of its type (a LITERAL `*`).
pub const WILDCARD_RESOURCE: &str = "*";
/// The principal that stands for every user (`User:*`).
pub const WILDCARD_PRINCIPAL: &str = "User:*";
/// The host that stands for every host.
pub const WILDCARD_HOST: &str = "*";
/// The name of the one cluster resource (Kafka's `kafka-cluster`).
pub const CLUSTER_NAME: &str = "kafka-cluster";

macro_rules! kafka_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $code:expr, $text:expr;)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(i8)]
        pub enum $name {
            $($(#[$vdoc])* $variant = $code,)*
        }

        impl $name {
            /// Every value, in code order.
            pub const ALL_VALUES: &'static [$name] = &[$($name::$variant,)*];

            /// The value of a wire code (`None` for codes Kafka calls UNKNOWN or does not
            /// define).
            pub fn from_code(code: i8) -> Option<$name> {
                match code {
                    $($code => Some($name::$variant),)*
                    _ => None,
                }
            }

            /// The wire code.
            pub fn code(self) -> i8 {
                self as i8
            }

            /// Kafka's name of the value (`READ`, `TOPIC`, `PREFIXED`, `ALLOW`).
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

kafka_enum!(
    /// Kafka's ACL operations (`AclOperation`). ANY only appears in filters.
    AclOperation {
        /// Matches every operation (filters only).
        Any = 1, "ANY";
        /// Every operation.
        All = 2, "ALL";
        /// READ.
        Read = 3, "READ";
        /// WRITE.
        Write = 4, "WRITE";
        /// CREATE.
        Create = 5, "CREATE";
        /// DELETE.
        Delete = 6, "DELETE";
        /// ALTER.
        Alter = 7, "ALTER";
        /// DESCRIBE.
        Describe = 8, "DESCRIBE";
        /// CLUSTER_ACTION.
        ClusterAction = 9, "CLUSTER_ACTION";
        /// DESCRIBE_CONFIGS.
        DescribeConfigs = 10, "DESCRIBE_CONFIGS";
        /// ALTER_CONFIGS.
        AlterConfigs = 11, "ALTER_CONFIGS";
        /// IDEMPOTENT_WRITE.
        IdempotentWrite = 12, "IDEMPOTENT_WRITE";
        /// CREATE_TOKENS.
        CreateTokens = 13, "CREATE_TOKENS";
        /// DESCRIBE_TOKENS.
        DescribeTokens = 14, "DESCRIBE_TOKENS";
        /// TWO_PHASE_COMMIT.
        TwoPhaseCommit = 15, "TWO_PHASE_COMMIT";
    }
);

kafka_enum!(
    /// Kafka's resource types (`ResourceType`). ANY only appears in filters.
    ResourceType {
        /// Matches every resource type (filters only).
        Any = 1, "ANY";
        /// TOPIC.
        Topic = 2, "TOPIC";
        /// GROUP.
        Group = 3, "GROUP";
        /// CLUSTER.
        Cluster = 4, "CLUSTER";
        /// TRANSACTIONAL_ID.
        TransactionalId = 5, "TRANSACTIONAL_ID";
        /// DELEGATION_TOKEN.
        DelegationToken = 6, "DELEGATION_TOKEN";
        /// USER.
        User = 7, "USER";
    }
);

kafka_enum!(
    /// Kafka's pattern types (`PatternType`). ANY and MATCH only appear in filters.
    PatternType {
        /// Matches bindings of every pattern type (filters only).
        Any = 1, "ANY";
        /// Matches the bindings that apply to the filter's name (filters only).
        Match = 2, "MATCH";
        /// The name is the resource's name (or `*` for all).
        Literal = 3, "LITERAL";
        /// The name is a prefix of the resources' names.
        Prefixed = 4, "PREFIXED";
    }
);

kafka_enum!(
    /// Kafka's permission types (`AclPermissionType`). ANY only appears in filters.
    AclPermissionType {
        /// Matches both (filters only).
        Any = 1, "ANY";
        /// The operation is refused.
        Deny = 2, "DENY";
        /// The operation is allowed.
        Allow = 3, "ALLOW";
    }
);

impl AclOperation {
    /// The operations a resource type supports (what authorized-operations fields and
    /// Kafka's validation of new ACLs consider), ALL excluded.
    pub fn supported_by(resource_type: ResourceType) -> &'static [AclOperation] {
        use AclOperation::*;
        match resource_type {
            ResourceType::Topic => &[
                Read,
                Write,
                Create,
                Describe,
                Delete,
                Alter,
                DescribeConfigs,
                AlterConfigs,
            ],
            ResourceType::Group => &[Read, Describe, Delete],
            ResourceType::Cluster => &[
                Create,
                ClusterAction,
                DescribeConfigs,
                AlterConfigs,
                IdempotentWrite,
                Alter,
                Describe,
            ],
            ResourceType::TransactionalId => &[Describe, Write, TwoPhaseCommit],
            ResourceType::DelegationToken => &[Describe],
            ResourceType::User => &[CreateTokens, DescribeTokens],
            ResourceType::Any => &[],
        }
    }
}

/// A resource pattern: which resources an ACL applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourcePattern {
    /// The resource type (never ANY).
    pub resource_type: ResourceType,
    /// The name, the prefix, or `*`.
    pub name: String,
    /// LITERAL or PREFIXED.
    pub pattern_type: PatternType,
}

impl ResourcePattern {
    /// Whether the pattern applies to the resource `resource_type`/`name`.
    pub fn applies_to(&self, resource_type: ResourceType, name: &str) -> bool {
        if self.resource_type != resource_type {
            return false;
        }
        match self.pattern_type {
            PatternType::Literal => self.name == name || self.name == WILDCARD_RESOURCE,
            PatternType::Prefixed => name.starts_with(&self.name),
            _ => false,
        }
    }
}

/// An access control entry: who, from where, what, and whether it is allowed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccessControlEntry {
    /// The principal, `Type:name` (`User:alice`, `User:*`).
    pub principal: String,
    /// The client's host address, or `*`.
    pub host: String,
    /// The operation (never ANY).
    pub operation: AclOperation,
    /// ALLOW or DENY.
    pub permission_type: AclPermissionType,
}

/// One ACL: a resource pattern and an access control entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AclBinding {
    /// The resources it applies to.
    pub pattern: ResourcePattern,
    /// Who may or may not do what.
    pub entry: AccessControlEntry,
}

impl std::fmt::Display for AclBinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "(resource={}:{}:{}, principal={}, host={}, operation={}, permission={})",
            self.pattern.resource_type,
            self.pattern.pattern_type,
            self.pattern.name,
            self.entry.principal,
            self.entry.host,
            self.entry.operation,
            self.entry.permission_type
        )
    }
}

/// A filter over bindings (DescribeAcls, DeleteAcls): each `None` field matches anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclBindingFilter {
    /// The resource type, or ANY.
    pub resource_type: ResourceType,
    /// The resource name, or `None` for any.
    pub name: Option<String>,
    /// The pattern type: ANY, MATCH, LITERAL or PREFIXED.
    pub pattern_type: PatternType,
    /// The principal, or `None` for any.
    pub principal: Option<String>,
    /// The host, or `None` for any.
    pub host: Option<String>,
    /// The operation, or ANY.
    pub operation: AclOperation,
    /// The permission type, or ANY.
    pub permission_type: AclPermissionType,
}

impl AclBindingFilter {
    /// Whether `binding` matches the filter, as Kafka's `AclBindingFilter.matches`.
    pub fn matches(&self, binding: &AclBinding) -> bool {
        self.matches_pattern(&binding.pattern) && self.matches_entry(&binding.entry)
    }

    fn matches_pattern(&self, p: &ResourcePattern) -> bool {
        if self.resource_type != ResourceType::Any && self.resource_type != p.resource_type {
            return false;
        }
        match self.pattern_type {
            PatternType::Any => self.name.as_ref().is_none_or(|n| *n == p.name),
            PatternType::Literal | PatternType::Prefixed => {
                self.pattern_type == p.pattern_type
                    && self.name.as_ref().is_none_or(|n| *n == p.name)
            }
            PatternType::Match => match &self.name {
                None => true,
                Some(n) => match p.pattern_type {
                    PatternType::Literal => *n == p.name || p.name == WILDCARD_RESOURCE,
                    PatternType::Prefixed => n.starts_with(&p.name),
                    _ => false,
                },
            },
        }
    }

    fn matches_entry(&self, e: &AccessControlEntry) -> bool {
        self.principal.as_ref().is_none_or(|p| *p == e.principal)
            && self.host.as_ref().is_none_or(|h| *h == e.host)
            && (self.operation == AclOperation::Any || self.operation == e.operation)
            && (self.permission_type == AclPermissionType::Any
                || self.permission_type == e.permission_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(rt: ResourceType, name: &str, pt: PatternType) -> AclBinding {
        AclBinding {
            pattern: ResourcePattern {
                resource_type: rt,
                name: name.into(),
                pattern_type: pt,
            },
            entry: AccessControlEntry {
                principal: "User:alice".into(),
                host: "*".into(),
                operation: AclOperation::Read,
                permission_type: AclPermissionType::Allow,
            },
        }
    }

    fn filter(name: Option<&str>, pt: PatternType) -> AclBindingFilter {
        AclBindingFilter {
            resource_type: ResourceType::Topic,
            name: name.map(String::from),
            pattern_type: pt,
            principal: None,
            host: None,
            operation: AclOperation::Any,
            permission_type: AclPermissionType::Any,
        }
    }

    #[test]
    fn match_filters_find_the_bindings_that_apply_to_a_name() {
        let lit = binding(ResourceType::Topic, "orders", PatternType::Literal);
        let star = binding(ResourceType::Topic, "*", PatternType::Literal);
        let pre = binding(ResourceType::Topic, "ord", PatternType::Prefixed);
        let other = binding(ResourceType::Topic, "x", PatternType::Prefixed);
        let f = filter(Some("orders"), PatternType::Match);
        assert!(f.matches(&lit) && f.matches(&star) && f.matches(&pre));
        assert!(!f.matches(&other));
        let f = filter(Some("orders"), PatternType::Any);
        assert!(f.matches(&lit) && !f.matches(&star) && !f.matches(&pre));
        let f = filter(None, PatternType::Prefixed);
        assert!(!f.matches(&lit) && f.matches(&pre) && f.matches(&other));
        let group = binding(ResourceType::Group, "orders", PatternType::Literal);
        assert!(!filter(None, PatternType::Any).matches(&group));
    }

    #[test]
    fn codes_round_trip() {
        for op in AclOperation::ALL_VALUES {
            assert_eq!(AclOperation::from_code(op.code()), Some(*op));
        }
        assert_eq!(AclOperation::from_code(0), None);
        assert_eq!(ResourceType::from_code(7), Some(ResourceType::User));
        assert_eq!(PatternType::Prefixed.name(), "PREFIXED");
    }
}
