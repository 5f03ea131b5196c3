//! Kafka's `KafkaPrincipal`: a type and a name, printed `User:alice`.

use std::fmt;
use std::sync::{Arc, OnceLock};

/// The principal type of users (Kafka's `KafkaPrincipal.USER_TYPE`).
pub const USER_TYPE: &str = "User";

/// Who a connection authenticated as.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KafkaPrincipal {
    /// The principal type (`User`).
    pub principal_type: String,
    /// The name (a SASL user name, or a name mapped from a certificate's subject).
    pub name: String,
}

impl KafkaPrincipal {
    /// `User:<name>`.
    pub fn user(name: impl Into<String>) -> KafkaPrincipal {
        KafkaPrincipal {
            principal_type: USER_TYPE.to_string(),
            name: name.into(),
        }
    }

    /// `User:ANONYMOUS`, the principal of PLAINTEXT connections and of TLS clients without a
    /// certificate (one shared instance).
    pub fn anonymous() -> Arc<KafkaPrincipal> {
        static ANONYMOUS: OnceLock<Arc<KafkaPrincipal>> = OnceLock::new();
        Arc::clone(ANONYMOUS.get_or_init(|| Arc::new(KafkaPrincipal::user("ANONYMOUS"))))
    }

    /// Whether this is `User:ANONYMOUS`.
    pub fn is_anonymous(&self) -> bool {
        self.principal_type == USER_TYPE && self.name == "ANONYMOUS"
    }
}

impl fmt::Display for KafkaPrincipal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.principal_type, self.name)
    }
}
