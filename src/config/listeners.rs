//! Listeners as Kafka names them: `listeners` (`NAME://HOST:PORT,…`), `advertised.listeners`,
//! `listener.security.protocol.map`, and the per-listener options `listener.name.<name>.<option>`
//! (`listener.name.sasl_ssl.ssl.client.auth`, `listener.name.sasl_ssl.plain.sasl.jaas.config`).
//!
//! With `listeners` empty the broker has one PLAINTEXT listener named `PLAINTEXT` on `listen`
//! (the `--listen` shorthand), advertised as `advertised.listener` if that is set.

/// Prefix of the per-listener options.
pub const LISTENER_PREFIX: &str = "listener.name.";

/// The SASL mechanisms whose JAAS line may be set per listener (`<mechanism>.sasl.jaas.config`,
/// the mechanism in lower case as Kafka writes it).
pub const JAAS_MECHANISMS: &[&str] = &[
    "plain",
    "scram-sha-256",
    "scram-sha-512",
    "gssapi",
    "oauthbearer",
];

/// Kafka's security protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityProtocol {
    /// No TLS, no authentication (principal `User:ANONYMOUS`).
    Plaintext,
    /// TLS; the principal comes from the client certificate, if any.
    Ssl,
    /// SASL authentication over plain TCP.
    SaslPlaintext,
    /// SASL authentication over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// The protocol of Kafka's name `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`.
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_uppercase().as_str() {
            "PLAINTEXT" => Some(Self::Plaintext),
            "SSL" => Some(Self::Ssl),
            "SASL_PLAINTEXT" => Some(Self::SaslPlaintext),
            "SASL_SSL" => Some(Self::SaslSsl),
            _ => None,
        }
    }

    /// Kafka's name of the protocol.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plaintext => "PLAINTEXT",
            Self::Ssl => "SSL",
            Self::SaslPlaintext => "SASL_PLAINTEXT",
            Self::SaslSsl => "SASL_SSL",
        }
    }

    /// Whether connections are TLS.
    pub fn uses_tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }

    /// Whether clients authenticate with SASL.
    pub fn uses_sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }
}

/// One `NAME://HOST:PORT` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The listener name, upper case as Kafka keeps it.
    pub name: String,
    /// The host (empty: every interface); IPv6 without brackets.
    pub host: String,
    /// The port (0: any free port, for binding).
    pub port: u16,
}

impl Endpoint {
    /// Parses `NAME://HOST:PORT` (`HOST` may be empty or a bracketed IPv6 address).
    pub fn parse(text: &str) -> Result<Endpoint, String> {
        let text = text.trim();
        let (name, rest) = text
            .split_once("://")
            .ok_or_else(|| format!("`{text}` is not NAME://HOST:PORT"))?;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!("`{name}` is not a listener name"));
        }
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| format!("`{text}` has no port"))?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let port = port
            .parse::<u16>()
            .map_err(|e| format!("bad port in `{text}`: {e}"))?;
        Ok(Endpoint {
            name: name.to_ascii_uppercase(),
            host: host.to_string(),
            port,
        })
    }

    /// `HOST:PORT` to bind (an empty host binds every interface).
    pub fn bind_address(&self) -> String {
        match self.host.as_str() {
            "" => format!("0.0.0.0:{}", self.port),
            h if h.contains(':') => format!("[{h}]:{}", self.port),
            h => format!("{h}:{}", self.port),
        }
    }
}

/// The `NAME://HOST:PORT` entries of a list.
pub fn endpoints(value: &str) -> Result<Vec<Endpoint>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(Endpoint::parse)
        .collect()
}

/// `listeners`: empty, or `NAME://HOST:PORT` entries with distinct names and ports.
pub fn check_listeners(value: &str) -> Result<(), String> {
    let list = endpoints(value)?;
    for (i, a) in list.iter().enumerate() {
        for b in list.iter().skip(i + 1) {
            if a.name == b.name {
                return Err(format!(
                    "each listener must have a different name: {}",
                    a.name
                ));
            }
            if a.port != 0 && a.port == b.port {
                return Err(format!(
                    "each listener must have a different port: {}",
                    a.port
                ));
            }
        }
    }
    Ok(())
}

/// `advertised.listeners`: empty, or `NAME://HOST:PORT` entries with distinct names.
pub fn check_advertised_listeners(value: &str) -> Result<(), String> {
    let list = endpoints(value)?;
    for (i, a) in list.iter().enumerate() {
        if list.iter().skip(i + 1).any(|b| b.name == a.name) {
            return Err(format!("listener {} is advertised twice", a.name));
        }
    }
    Ok(())
}

/// The `NAME:PROTOCOL` entries of `listener.security.protocol.map`.
pub fn protocol_map(value: &str) -> Result<Vec<(String, SecurityProtocol)>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            let (name, protocol) = item
                .split_once(':')
                .ok_or_else(|| format!("`{item}` is not NAME:PROTOCOL"))?;
            let protocol = SecurityProtocol::parse(protocol)
                .ok_or_else(|| format!("`{protocol}` is not a security protocol"))?;
            Ok((name.trim().to_ascii_uppercase(), protocol))
        })
        .collect()
}

/// `listener.security.protocol.map`: `NAME:PROTOCOL` entries.
pub fn check_protocol_map(value: &str) -> Result<(), String> {
    protocol_map(value).map(drop)
}

/// `ssl.principal.mapping.rules`: `DEFAULT` and `RULE:pattern/replacement/[LU]` entries.
pub fn check_principal_mapping_rules(value: &str) -> Result<(), String> {
    super::principal_rules::PrincipalMappingRules::parse(value).map(drop)
}

/// The `authorizer.class.name` that turns Kafka's StandardAuthorizer on (the one Skiff
/// implements, in `broker::authorizer`).
pub const STANDARD_AUTHORIZER: &str = "org.apache.kafka.metadata.authorizer.StandardAuthorizer";

/// `authorizer.class.name`: none, or Kafka's StandardAuthorizer.
pub fn check_authorizer_class_name(value: &str) -> Result<(), String> {
    if value.is_empty() || value == STANDARD_AUTHORIZER {
        Ok(())
    } else {
        Err(format!("the only authorizer is {STANDARD_AUTHORIZER}"))
    }
}

/// One listener as configured: where it binds, what it speaks, what it advertises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConfig {
    /// The listener name (upper case).
    pub name: String,
    /// Its security protocol.
    pub protocol: SecurityProtocol,
    /// `HOST:PORT` to bind.
    pub bind: String,
    /// `(host, port)` handed to clients; `None`: the bound address.
    pub advertised: Option<(String, u16)>,
}
