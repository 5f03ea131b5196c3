//! Broker configuration: built-in defaults, a TOML file, and `--set name=value` overrides.
//!
//! Every option is described once, in `config/defs.rs`: its Kafka name, type, default,
//! documentation, scope (broker, topic or both), run-time update mode and validation. The
//! [`Config`] struct (one typed field per broker option), its `Default`, [`Config::set`]
//! and [`Config::get`] are generated from that table.
//!
//! Options carry Kafka's names (`num.partitions`, `log.segment.bytes`, …). A TOML file may
//! write them as dotted keys (`log.segment.bytes = 1073741824`), quoted keys
//! (`"log.segment.bytes" = …`) or tables (`[log]` then `segment.bytes = …`): every leaf is
//! flattened to its dotted name and applied through [`Config::set`], the same validation path
//! as the command line. Unknown names are errors.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A configuration problem: unreadable file, bad TOML, unknown option or bad value.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML.
    #[error("invalid TOML in {path}: {message}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// An option name that Skiff does not know.
    #[error("unknown config option `{0}`")]
    UnknownOption(String),
    /// A value that does not parse or is out of range for its option.
    #[error("invalid value `{value}` for `{name}`: {reason}")]
    InvalidValue {
        /// The option.
        name: String,
        /// The value given.
        value: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A `--set` argument without `=`.
    #[error("expected NAME=VALUE, got `{0}`")]
    MalformedOverride(String),
}

/// When appended data is forced to disk (`log.fsync.policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicyName {
    /// fsync before an acks=all produce is answered (group commit).
    #[default]
    Always,
    /// fsync every `log.fsync.interval.ms`.
    Interval,
    /// Leave it to the operating system.
    Never,
}

impl FsyncPolicyName {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "always" => Some(Self::Always),
            "interval" => Some(Self::Interval),
            "never" => Some(Self::Never),
            _ => None,
        }
    }

    /// The name as written in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::Interval => "interval",
            Self::Never => "never",
        }
    }
}

/// Which timestamp a stored batch carries (`log.message.timestamp.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TimestampTypeName {
    /// The producer's timestamps are kept.
    #[default]
    CreateTime,
    /// The broker stamps each batch with its append time.
    LogAppendTime,
}

/// Declares the broker options: each entry becomes a typed field of [`Config`] and a
/// [`ConfigDef`] of [`BROKER_OPTIONS`], and `Config`'s `Default`, `set` and `get` are
/// generated from the same entries.
macro_rules! broker_options {
    ($(
        $field:ident: $ty:ty = $name:literal, $kind:ident, $default:literal, $mode:ident,
            $check:expr, $(topic $topic:literal $(($tcheck:expr))?,)? $doc:literal;
    )*) => {
        /// The broker's configuration: one typed field per broker option, in the order of
        /// [`BROKER_OPTIONS`].
        #[derive(Debug, Clone, PartialEq)]
        pub struct Config {
            $(
                #[doc = concat!("`", $name, "`: ", $doc, " Default `", $default, "`.")]
                pub $field: $ty,
            )*
            /// The per-listener options, `listener.name.<listener>.<option>` (listener name
            /// in lower case) to value; see [`Config::listener_option`].
            pub listener_overrides: std::collections::BTreeMap<String, String>,
        }

        /// Every broker option, in the order `config/skiff.toml` lists them.
        pub const BROKER_OPTIONS: &[ConfigDef] = &[$(
            ConfigDef {
                name: $name,
                topic_name: broker_options!(@some $($topic)?),
                scope: broker_options!(@scope $($topic)?),
                kind: ConfigType::$kind,
                default: $default,
                mode: UpdateMode::$mode,
                check: $check,
                topic_check: broker_options!(@some $($($tcheck)?)?),
                doc: $doc,
            },
        )*];

        impl Default for Config {
            fn default() -> Self {
                // Every default parses (a unit test checks it); the type's own default is
                // never used.
                Config {
                    $($field: <$ty as $crate::config::OptionValue>::parse_value($default)
                        .unwrap_or_default(),)*
                    listener_overrides: std::collections::BTreeMap::new(),
                }
            }
        }

        impl Config {
            /// Stores an already validated value in the field of option `name`; `None` if
            /// there is no such option.
            pub(super) fn assign(&mut self, name: &str, value: &str) -> Option<Result<(), String>> {
                $(
                    if name == $name {
                        return Some(
                            <$ty as $crate::config::OptionValue>::parse_value(value)
                                .map(|v| self.$field = v),
                        );
                    }
                )*
                None
            }

            /// The value of option `name` as text (the inverse of [`Config::set`]).
            pub fn get(&self, name: &str) -> Option<String> {
                $(
                    if name == $name {
                        return Some($crate::config::OptionValue::render(&self.$field));
                    }
                )*
                self.listener_overrides.get(name).cloned()
            }
        }
    };
    (@some) => { None };
    (@some $e:expr) => { Some($e) };
    (@scope) => { Scope::Broker };
    (@scope $e:expr) => { Scope::Both };
}

mod defs;
pub mod listeners;
pub mod principal_rules;

pub use defs::*;
pub use listeners::{ListenerConfig, SecurityProtocol};

/// A value type of a [`Config`] field: parsed from and rendered to the text of its option.
pub trait OptionValue: Sized + Default {
    /// Parses a value that passed its descriptor's validation.
    fn parse_value(text: &str) -> Result<Self, String>;
    /// The value as text.
    fn render(&self) -> String;
}

macro_rules! numeric_option_value {
    ($($t:ty),*) => {$(
        impl OptionValue for $t {
            fn parse_value(text: &str) -> Result<Self, String> {
                text.trim().parse::<$t>().map_err(|e| e.to_string())
            }
            fn render(&self) -> String {
                self.to_string()
            }
        }
    )*};
}

numeric_option_value!(i32, i64, u32, u64, usize, f64);

impl OptionValue for bool {
    fn parse_value(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err("expected true or false".into()),
        }
    }
    fn render(&self) -> String {
        self.to_string()
    }
}

impl OptionValue for String {
    fn parse_value(text: &str) -> Result<Self, String> {
        Ok(text.to_string())
    }
    fn render(&self) -> String {
        self.clone()
    }
}

impl OptionValue for Option<String> {
    fn parse_value(text: &str) -> Result<Self, String> {
        Ok((!text.is_empty()).then(|| text.to_string()))
    }
    fn render(&self) -> String {
        self.clone().unwrap_or_default()
    }
}

impl OptionValue for PathBuf {
    fn parse_value(text: &str) -> Result<Self, String> {
        Ok(PathBuf::from(text))
    }
    fn render(&self) -> String {
        self.display().to_string()
    }
}

impl OptionValue for FsyncPolicyName {
    fn parse_value(text: &str) -> Result<Self, String> {
        FsyncPolicyName::parse(text.trim())
            .ok_or_else(|| "expected always, interval or never".into())
    }
    fn render(&self) -> String {
        self.as_str().into()
    }
}

impl OptionValue for TimestampTypeName {
    fn parse_value(text: &str) -> Result<Self, String> {
        match text.trim() {
            "CreateTime" => Ok(Self::CreateTime),
            "LogAppendTime" => Ok(Self::LogAppendTime),
            _ => Err("expected CreateTime or LogAppendTime".into()),
        }
    }
    fn render(&self) -> String {
        match self {
            Self::CreateTime => "CreateTime".into(),
            Self::LogAppendTime => "LogAppendTime".into(),
        }
    }
}

/// The descriptor of broker option `name`.
pub fn broker_option(name: &str) -> Option<&'static ConfigDef> {
    BROKER_OPTIONS.iter().find(|d| d.name == name)
}

/// Every descriptor: the broker options, then the topic-only configs.
pub fn all_configs() -> impl Iterator<Item = &'static ConfigDef> {
    BROKER_OPTIONS.iter().chain(TOPIC_ONLY_CONFIGS)
}

/// The descriptor of topic config `name` (a topic-only config, or a broker option whose
/// topic-level name it is).
pub fn topic_config(name: &str) -> Option<&'static ConfigDef> {
    all_configs().find(|d| d.topic_name == Some(name))
}

fn invalid(name: &str, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidValue {
        name: name.into(),
        value: value.into(),
        reason: reason.into(),
    }
}

/// A list value with its items trimmed (`a, b` becomes `a,b`).
fn normalize(def: &ConfigDef, value: &str) -> String {
    if def.kind == ConfigType::List {
        value
            .split(',')
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(",")
    } else {
        value.to_string()
    }
}

impl Config {
    /// The directories of the partition logs: `log.dirs`, else `log.dir`, else `data.dir`
    /// (as Kafka prefers `log.dirs` over `log.dir`).
    pub fn log_dirs(&self) -> Vec<PathBuf> {
        let listed = self
            .log_dirs
            .as_deref()
            .or(self.log_dir.as_deref())
            .filter(|v| !v.trim().is_empty());
        match listed {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
                .collect(),
            None => vec![self.data_dir.clone()],
        }
    }

    /// Sets one option by its Kafka-style name from its textual value, checked against
    /// its descriptor.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        if name.starts_with(listeners::LISTENER_PREFIX) {
            return self.set_listener_option(name, value);
        }
        let def =
            broker_option(name).ok_or_else(|| ConfigError::UnknownOption(name.to_string()))?;
        def.validate(value)
            .map_err(|reason| invalid(name, value, reason))?;
        match self.assign(name, &normalize(def, value)) {
            Some(result) => result.map_err(|reason| invalid(name, value, reason)),
            None => Err(ConfigError::UnknownOption(name.to_string())),
        }
    }

    /// Applies a `NAME=VALUE` override.
    pub fn apply_override(&mut self, arg: &str) -> Result<(), ConfigError> {
        let (name, value) = arg
            .split_once('=')
            .ok_or_else(|| ConfigError::MalformedOverride(arg.to_string()))?;
        self.set(name.trim(), value)
    }

    /// Applies every option of a TOML document on top of `self`.
    pub fn apply_toml(&mut self, text: &str, origin: &Path) -> Result<(), ConfigError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Toml {
                path: origin.to_path_buf(),
                message: e.to_string(),
            })?;
        let mut leaves = Vec::new();
        flatten("", &table, &mut leaves);
        for (name, value) in leaves {
            let text = match value {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Float(f) => f.to_string(),
                other => {
                    return Err(invalid(
                        &name,
                        &other.to_string(),
                        "unsupported TOML value type",
                    ))
                }
            };
            self.set(&name, &text)?;
        }
        Ok(())
    }

    /// Built-in defaults overlaid with the TOML file at `path`.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Config::default();
        config.apply_toml(&text, path)?;
        Ok(config)
    }
}

fn flatten<'a>(prefix: &str, table: &'a toml::Table, out: &mut Vec<(String, &'a toml::Value)>) {
    for (key, value) in table {
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => flatten(&name, inner, out),
            leaf => out.push((name, leaf)),
        }
    }
}

/// Checks the suffix of a `listener.name.<listener>.<suffix>` option and its value.
fn check_listener_option(suffix: &str, value: &str) -> Result<(), String> {
    if let Some(def) = broker_option(suffix) {
        if suffix.starts_with("ssl.") || suffix.starts_with("sasl.") {
            return def.validate(value);
        }
    }
    match suffix.split_once('.') {
        Some((mechanism, "sasl.jaas.config" | "sasl.server.callback.handler.class"))
            if listeners::JAAS_MECHANISMS.contains(&mechanism) =>
        {
            Ok(())
        }
        Some((mechanism, "connections.max.reauth.ms"))
            if listeners::JAAS_MECHANISMS.contains(&mechanism) =>
        {
            value
                .parse::<u64>()
                .map(|_| ())
                .map_err(|_| format!("`{value}` is not a number of milliseconds"))
        }
        _ => Err(format!(
            "`{suffix}` cannot be set per listener (ssl.*, sasl.*, <mechanism>.sasl.jaas.config, <mechanism>.sasl.server.callback.handler.class and <mechanism>.connections.max.reauth.ms can)"
        )),
    }
}

impl Config {
    /// Sets a `listener.name.<listener>.<option>` option (the listener name is kept in lower
    /// case, as Kafka writes these prefixes).
    fn set_listener_option(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        let rest = name
            .strip_prefix(listeners::LISTENER_PREFIX)
            .ok_or_else(|| ConfigError::UnknownOption(name.to_string()))?;
        let (listener, suffix) = rest
            .split_once('.')
            .filter(|(l, s)| !l.is_empty() && !s.is_empty())
            .ok_or_else(|| ConfigError::UnknownOption(name.to_string()))?;
        check_listener_option(suffix, value).map_err(|reason| invalid(name, value, reason))?;
        let key = format!(
            "{}{}.{suffix}",
            listeners::LISTENER_PREFIX,
            listener.to_ascii_lowercase()
        );
        self.listener_overrides
            .insert(key, value.trim().to_string());
        Ok(())
    }

    /// The value of `option` for `listener`: its `listener.name.<listener>.<option>` override,
    /// else the broker-wide option (`None` if neither exists or the value is empty).
    pub fn listener_option(&self, listener: &str, option: &str) -> Option<String> {
        let key = format!(
            "{}{}.{option}",
            listeners::LISTENER_PREFIX,
            listener.to_ascii_lowercase()
        );
        self.listener_overrides
            .get(&key)
            .cloned()
            .or_else(|| self.get(option))
            .filter(|v| !v.is_empty())
    }

    /// The listeners to open, in the order configured.
    pub fn listener_configs(&self) -> Result<Vec<ListenerConfig>, ConfigError> {
        let map = listeners::protocol_map(&self.listener_security_protocol_map).map_err(|r| {
            invalid(
                "listener.security.protocol.map",
                &self.listener_security_protocol_map,
                r,
            )
        })?;
        let configured = self.listeners.clone().unwrap_or_default();
        let list = if configured.trim().is_empty() {
            vec![
                listeners::Endpoint::parse(&format!("PLAINTEXT://{}", self.listen))
                    .map_err(|r| invalid("listen", &self.listen, r))?,
            ]
        } else {
            listeners::endpoints(&configured).map_err(|r| invalid("listeners", &configured, r))?
        };
        let advertised_text = self.advertised_listeners.clone().unwrap_or_default();
        let advertised = listeners::endpoints(&advertised_text)
            .map_err(|r| invalid("advertised.listeners", &advertised_text, r))?;
        if let Some(a) = advertised
            .iter()
            .find(|a| !list.iter().any(|l| l.name == a.name))
        {
            return Err(invalid(
                "advertised.listeners",
                &advertised_text,
                format!("listener {} is advertised but not in listeners", a.name),
            ));
        }
        let single = match &self.advertised_listener {
            Some(text) if list.len() == 1 => {
                let (host, port) = text
                    .rsplit_once(':')
                    .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
                    .ok_or_else(|| invalid("advertised.listener", text, "expected HOST:PORT"))?;
                Some((host, port))
            }
            Some(text) => {
                return Err(invalid(
                    "advertised.listener",
                    text,
                    "it names one address; with several listeners use advertised.listeners",
                ))
            }
            None => None,
        };
        list.into_iter()
            .map(|e| {
                let protocol = map
                    .iter()
                    .find(|(n, _)| *n == e.name)
                    .map(|(_, p)| *p)
                    .ok_or_else(|| {
                        invalid(
                            "listener.security.protocol.map",
                            &self.listener_security_protocol_map,
                            format!("no security protocol defined for listener {}", e.name),
                        )
                    })?;
                let advertised = advertised
                    .iter()
                    .find(|a| a.name == e.name)
                    .map(|a| (a.host.clone(), a.port))
                    .or_else(|| single.clone());
                Ok(ListenerConfig {
                    bind: e.bind_address(),
                    name: e.name,
                    protocol,
                    advertised,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod listener_tests {
    use super::*;

    #[test]
    fn the_default_is_one_plaintext_listener_on_listen() {
        let c = Config::default();
        let l = c.listener_configs().unwrap();
        assert_eq!(
            l,
            vec![ListenerConfig {
                name: "PLAINTEXT".into(),
                protocol: SecurityProtocol::Plaintext,
                bind: "127.0.0.1:9092".into(),
                advertised: None,
            }]
        );
    }

    #[test]
    fn several_named_listeners_with_their_protocols_and_advertised_addresses() {
        let mut c = Config::default();
        c.set(
            "listeners",
            "PLAINTEXT://127.0.0.1:0, INTERNAL://:9095,SECURE://[::1]:9096",
        )
        .unwrap();
        c.set(
            "listener.security.protocol.map",
            "PLAINTEXT:PLAINTEXT,INTERNAL:SASL_PLAINTEXT,SECURE:SASL_SSL",
        )
        .unwrap();
        c.set("advertised.listeners", "INTERNAL://kafka.example:19095")
            .unwrap();
        let l = c.listener_configs().unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l[1].name, "INTERNAL");
        assert_eq!(l[1].protocol, SecurityProtocol::SaslPlaintext);
        assert_eq!(l[1].bind, "0.0.0.0:9095");
        assert_eq!(l[1].advertised, Some(("kafka.example".into(), 19095)));
        assert_eq!(l[2].bind, "[::1]:9096");
        assert_eq!(l[2].protocol, SecurityProtocol::SaslSsl);
        assert_eq!(l[0].advertised, None);
    }

    #[test]
    fn bad_listener_settings_are_refused() {
        let mut c = Config::default();
        assert!(c
            .set("listeners", "PLAINTEXT://a:1,PLAINTEXT://b:2")
            .is_err());
        assert!(c.set("listeners", "A://a:1,B://b:1").is_err());
        assert!(c.set("listeners", "127.0.0.1:9092").is_err());
        assert!(c.set("listener.security.protocol.map", "A:TLS").is_err());
        c.set("listeners", "OTHER://127.0.0.1:0").unwrap();
        assert!(c.listener_configs().is_err(), "OTHER has no protocol");
        c.set("advertised.listeners", "NOPE://h:1").unwrap();
        assert!(c.listener_configs().is_err());
    }

    #[test]
    fn per_listener_options_override_the_broker_wide_ones() {
        let mut c = Config::default();
        c.set("ssl.client.auth", "requested").unwrap();
        c.set("listener.name.SASL_SSL.ssl.client.auth", "required")
            .unwrap();
        c.set(
            "listener.name.sasl_ssl.plain.sasl.jaas.config",
            "x required user_a=\"b\";",
        )
        .unwrap();
        assert_eq!(
            c.listener_option("SASL_SSL", "ssl.client.auth").as_deref(),
            Some("required")
        );
        assert_eq!(
            c.listener_option("SSL", "ssl.client.auth").as_deref(),
            Some("requested")
        );
        assert!(c
            .listener_option("sasl_ssl", "plain.sasl.jaas.config")
            .is_some());
        assert_eq!(
            c.get("listener.name.sasl_ssl.ssl.client.auth").as_deref(),
            Some("required")
        );
        assert!(c.set("listener.name.x.ssl.client.auth", "maybe").is_err());
        assert!(c.set("listener.name.x.num.partitions", "3").is_err());
        assert!(c.set("listener.name.x.md5.sasl.jaas.config", "y").is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_kafka() {
        let c = Config::default();
        assert_eq!(c.num_partitions, 1);
        assert_eq!(c.message_max_bytes, 1_048_588);
        assert_eq!(c.socket_request_max_bytes, 104_857_600);
        assert_eq!(c.node_id, 1);
        assert!(c.auto_create_topics_enable);
        assert_eq!(c.data_dir, PathBuf::from("./data"));
    }

    #[test]
    fn toml_accepts_dotted_quoted_and_table_keys() {
        let mut c = Config::default();
        c.apply_toml(
            "num.partitions = 4\n\"log.segment.bytes\" = 1024\nlisten = \"0.0.0.0:9999\"\n\
             [log.fsync]\npolicy = \"never\"\n",
            Path::new("x.toml"),
        )
        .unwrap();
        assert_eq!(c.num_partitions, 4);
        assert_eq!(c.log_segment_bytes, 1024);
        assert_eq!(c.listen, "0.0.0.0:9999");
        assert_eq!(c.log_fsync_policy, FsyncPolicyName::Never);
    }

    #[test]
    fn unknown_option_is_an_error() {
        let mut c = Config::default();
        assert!(matches!(
            c.apply_override("num.partition=3"),
            Err(ConfigError::UnknownOption(n)) if n == "num.partition"
        ));
        assert!(matches!(
            c.apply_toml("bogus = 1", Path::new("x")),
            Err(ConfigError::UnknownOption(_))
        ));
    }

    #[test]
    fn bad_values_are_rejected() {
        let mut c = Config::default();
        assert!(c.apply_override("num.partitions=0").is_err());
        assert!(c.apply_override("num.partitions=abc").is_err());
        assert!(c.apply_override("log.fsync.policy=sometimes").is_err());
        assert!(c.apply_override("listen=nohost").is_err());
        assert!(c.apply_override("auto.create.topics.enable=yes").is_err());
        assert!(c.apply_override("log.retention.ms=-2").is_err());
        assert!(c.apply_override("max.connections=4294967296").is_err());
        assert!(c.apply_override("no-equals-sign").is_err());
        assert_eq!(c, Config::default());
    }

    #[test]
    fn overrides_apply_in_order() {
        let mut c = Config::default();
        c.apply_override("log.fsync.policy=interval").unwrap();
        c.apply_override("log.fsync.policy=always").unwrap();
        c.apply_override("advertised.listener=example.com:19092")
            .unwrap();
        assert_eq!(c.log_fsync_policy, FsyncPolicyName::Always);
        assert_eq!(c.advertised_listener.as_deref(), Some("example.com:19092"));
    }

    #[test]
    fn every_option_round_trips_through_get_and_set() {
        let defaults = Config::default();
        let mut c = Config::default();
        for def in BROKER_OPTIONS {
            let name = def.name;
            let v = defaults.get(name).unwrap();
            if name == "advertised.listener" || name == "cluster.id" {
                continue;
            }
            c.set(name, &v).unwrap();
        }
        assert_eq!(c, defaults);
    }

    #[test]
    fn shipped_skiff_toml_equals_builtin_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/skiff.toml");
        let c = Config::from_file(&path).unwrap();
        assert_eq!(c, Config::default());
        let text = std::fs::read_to_string(&path).unwrap();
        let table: toml::Table = text.parse().unwrap();
        let mut leaves = Vec::new();
        flatten("", &table, &mut leaves);
        for def in BROKER_OPTIONS {
            let name = def.name;
            match leaves.iter().find(|(n, _)| n == name) {
                Some((_, value)) => {
                    let value = match value {
                        toml::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    assert_eq!(
                        value, def.default,
                        "config/skiff.toml sets {name} to another value than its default"
                    );
                }
                // An option whose default is "none" is shown commented out.
                None => assert!(
                    def.default.is_empty() && text.contains(&format!("# {name} = ")),
                    "config/skiff.toml does not list {name} with its default"
                ),
            }
        }
    }

    #[test]
    fn every_default_is_valid_and_is_the_typed_default() {
        let c = Config::default();
        for def in all_configs() {
            def.validate(def.default)
                .unwrap_or_else(|e| panic!("{}: default {}: {e}", def.name, def.default));
            def.validate_topic(def.default)
                .unwrap_or_else(|e| panic!("{}: default {}: {e}", def.name, def.default));
            if def.scope != Scope::Topic {
                assert_eq!(
                    c.get(def.name).as_deref(),
                    Some(def.default),
                    "{}",
                    def.name
                );
            }
        }
        let mut names: Vec<&str> = all_configs().map(|d| d.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "a name is described twice");
    }

    #[test]
    fn topic_names_lead_to_their_broker_synonyms() {
        let d = topic_config("retention.ms").unwrap();
        assert_eq!((d.name, d.scope), ("log.retention.ms", Scope::Both));
        assert_eq!(d.mode, UpdateMode::ClusterWide);
        let d = topic_config("remote.storage.enable").unwrap();
        assert_eq!(d.scope, Scope::Topic);
        assert!(topic_config("log.retention.ms").is_none());
        let d = topic_config("segment.bytes").unwrap();
        assert!(
            d.validate("1024").is_ok(),
            "a broker accepts small segments"
        );
        assert!(d.validate_topic("1024").is_err(), "a topic does not");
        assert_eq!(
            broker_option("num.partitions").unwrap().mode,
            UpdateMode::ReadOnly
        );
    }
}
