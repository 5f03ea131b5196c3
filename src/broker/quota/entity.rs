//! Client quota entities and filters, as Kafka's `ClientQuotaEntity` and
//! `ClientQuotaFilter` define them: an entity names up to one user, one client id and one
//! IP, each either by name or as the default (a null name), and a filter matches entities
//! by those components.

use std::collections::BTreeMap;
use std::fmt;

/// Entity type `user`.
pub const USER: &str = "user";
/// Entity type `client-id`.
pub const CLIENT_ID: &str = "client-id";
/// Entity type `ip`.
pub const IP: &str = "ip";

/// A quota entity: entity type → name (`None` is the default entity of that type). Kafka
/// keeps it as a map too, so a type given twice in a request keeps its last name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ClientQuotaEntity(pub BTreeMap<String, Option<String>>);

impl ClientQuotaEntity {
    /// The entity of these (type, name) pairs; a repeated type keeps its last name.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Self {
        ClientQuotaEntity(
            pairs
                .into_iter()
                .map(|(t, n)| (t.to_string(), n.map(str::to_string)))
                .collect(),
        )
    }

    /// A user entity (`None`: the default user).
    pub fn user(name: Option<&str>) -> Self {
        Self::from_pairs([(USER, name)])
    }

    /// A client-id entity (`None`: the default client id).
    pub fn client_id(name: Option<&str>) -> Self {
        Self::from_pairs([(CLIENT_ID, name)])
    }

    /// A user and client-id entity.
    pub fn user_client(user: Option<&str>, client_id: Option<&str>) -> Self {
        Self::from_pairs([(USER, user), (CLIENT_ID, client_id)])
    }

    /// The name of component `entity_type`: `None` if absent, `Some(None)` for the default.
    pub fn get(&self, entity_type: &str) -> Option<Option<&str>> {
        self.0.get(entity_type).map(|n| n.as_deref())
    }

    /// Whether it has a component of `entity_type`.
    pub fn has(&self, entity_type: &str) -> bool {
        self.0.contains_key(entity_type)
    }

    /// The state-store form: each component as `type=d` (default) or `type=n<hex name>`,
    /// joined by `/`; unambiguous whatever the names hold.
    pub fn store_key(&self) -> String {
        let mut out = String::new();
        for (t, n) in &self.0 {
            if !out.is_empty() {
                out.push('/');
            }
            out.push_str(&hex(t.as_bytes()));
            out.push('=');
            match n {
                None => out.push('d'),
                Some(n) => {
                    out.push('n');
                    out.push_str(&hex(n.as_bytes()));
                }
            }
        }
        out
    }

    /// Reads [`ClientQuotaEntity::store_key`]'s form back.
    pub fn from_store_key(key: &str) -> Option<ClientQuotaEntity> {
        let mut map = BTreeMap::new();
        for part in key.split('/') {
            let (t, n) = part.split_once('=')?;
            let t = String::from_utf8(unhex(t)?).ok()?;
            let n = match n.strip_prefix('n') {
                Some(h) => Some(String::from_utf8(unhex(h)?).ok()?),
                None if n == "d" => None,
                None => return None,
            };
            map.insert(t, n);
        }
        (!map.is_empty()).then_some(ClientQuotaEntity(map))
    }
}

/// As Kafka prints an entity in its messages: `ClientQuotaEntity(entries={user=alice})`.
impl fmt::Display for ClientQuotaEntity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientQuotaEntity(entries={{")?;
        for (i, (t, n)) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            match n {
                Some(n) => write!(f, "{t}={n}")?,
                None => write!(f, "{t}=null")?,
            }
        }
        write!(f, "}})")
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

/// How a filter component matches (DescribeClientQuotas' `match_type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchType {
    /// The entity's component has exactly this name (0, `Some`) or is the default (1).
    Exact(Option<String>),
    /// The entity has a component of this type, with any name or the default (2).
    Specified,
}

/// One component of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterComponent {
    /// The entity type.
    pub entity_type: String,
    /// How it matches.
    pub match_type: MatchType,
}

/// A DescribeClientQuotas filter: every component must match; `strict` also requires
/// the entity to have no other component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientQuotaFilter {
    /// The components.
    pub components: Vec<FilterComponent>,
    /// Whether entities with components beyond the filter's are left out.
    pub strict: bool,
}

impl ClientQuotaFilter {
    /// Whether `entity` matches.
    pub fn matches(&self, entity: &ClientQuotaEntity) -> bool {
        if self.strict && entity.0.len() != self.components.len() {
            return false;
        }
        self.components.iter().all(|c| match &c.match_type {
            MatchType::Exact(name) => entity.get(&c.entity_type) == Some(name.as_deref()),
            MatchType::Specified => entity.has(&c.entity_type),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_keys_round_trip() {
        for e in [
            ClientQuotaEntity::user(Some("a/b=c")),
            ClientQuotaEntity::user(None),
            ClientQuotaEntity::user_client(Some(""), None),
            ClientQuotaEntity::from_pairs([(IP, Some("10.0.0.1"))]),
        ] {
            assert_eq!(ClientQuotaEntity::from_store_key(&e.store_key()), Some(e));
        }
        assert_eq!(ClientQuotaEntity::from_store_key("zz=d"), None);
        assert_eq!(ClientQuotaEntity::from_store_key("75736572=x"), None);
    }

    #[test]
    fn filters_match_as_kafka_does() {
        let alice = ClientQuotaEntity::user(Some("alice"));
        let alice_app = ClientQuotaEntity::user_client(Some("alice"), Some("app"));
        let default_user = ClientQuotaEntity::user(None);
        let exact = |t: &str, n: Option<&str>, strict| ClientQuotaFilter {
            components: vec![FilterComponent {
                entity_type: t.into(),
                match_type: MatchType::Exact(n.map(str::to_string)),
            }],
            strict,
        };
        assert!(exact(USER, Some("alice"), false).matches(&alice));
        assert!(exact(USER, Some("alice"), false).matches(&alice_app));
        assert!(!exact(USER, Some("alice"), true).matches(&alice_app));
        assert!(!exact(USER, Some("alice"), false).matches(&default_user));
        assert!(exact(USER, None, true).matches(&default_user));
        let specified = ClientQuotaFilter {
            components: vec![FilterComponent {
                entity_type: USER.into(),
                match_type: MatchType::Specified,
            }],
            strict: true,
        };
        assert!(specified.matches(&alice) && specified.matches(&default_user));
        assert!(!specified.matches(&alice_app));
        let all = ClientQuotaFilter {
            components: vec![],
            strict: false,
        };
        assert!(all.matches(&alice_app));
        assert_eq!(
            alice_app.to_string(),
            "ClientQuotaEntity(entries={client-id=app, user=alice})"
        );
    }
}
