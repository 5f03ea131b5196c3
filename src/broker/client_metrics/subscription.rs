//! One client-metrics subscription: its configs (`metrics`, `interval.ms`, `match`) checked
//! as Kafka checks them, its `match` selectors compiled, and how its configs are stored.

use std::collections::BTreeMap;

use regex::Regex;

use crate::config::ConfigType;

use crate::storage::record::compression::{decompress as decompress_codec, Compression};

/// `metrics`: the metric name prefixes to push (`*` for all).
pub const METRICS: &str = "metrics";
/// `interval.ms`: how often to push.
pub const INTERVAL_MS: &str = "interval.ms";
/// `match`: `selector=regex` pairs a client must all match.
pub const MATCH: &str = "match";
/// The configs a client-metrics resource takes: name, Kafka type code, default, doc.
pub const CLIENT_METRICS_CONFIGS: &[(&str, ConfigType, &str, &str)] = &[
    (INTERVAL_MS, ConfigType::Int, "300000", "How often matching clients push their metrics (ms)."),
    (MATCH, ConfigType::List, "", "selector=regex entries a client must all match to get this subscription (selectors: client_instance_id, client_id, client_software_name, client_software_version, client_source_address, client_source_port); none matches every client."),
    (METRICS, ConfigType::List, "", "Prefixes of the metric names matching clients push; * for all of them."),
];

/// Push interval of a subscription without `interval.ms`, and of a client that no
/// subscription matches (Kafka's default).
pub const DEFAULT_PUSH_INTERVAL_MS: i32 = 5 * 60 * 1000;

/// `*` in `metrics`: every metric.
pub const ALL_METRICS: &str = "*";

pub(super) const CLIENT_INSTANCE_ID: &str = "client_instance_id";
pub(super) const CLIENT_ID: &str = "client_id";
pub(super) const CLIENT_SOFTWARE_NAME: &str = "client_software_name";
pub(super) const CLIENT_SOFTWARE_VERSION: &str = "client_software_version";
pub(super) const CLIENT_SOURCE_ADDRESS: &str = "client_source_address";
pub(super) const CLIENT_SOURCE_PORT: &str = "client_source_port";
const SELECTORS: [&str; 6] = [
    CLIENT_INSTANCE_ID,
    CLIENT_ID,
    CLIENT_SOFTWARE_NAME,
    CLIENT_SOFTWARE_VERSION,
    CLIENT_SOURCE_ADDRESS,
    CLIENT_SOURCE_PORT,
];

const MIN_INTERVAL_MS: i64 = 100;
const MAX_INTERVAL_MS: i64 = 3_600_000;

/// Largest decompressed telemetry payload kept (a bound against decompression bombs).
const MAX_DECOMPRESSED: usize = 16 * 1024 * 1024;

/// Why a subscription's configs were refused, or could not be kept.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SubscriptionError {
    /// The resource name is empty.
    #[error("Subscription name can't be empty")]
    EmptyName,
    /// A config a client-metrics resource does not have.
    #[error("Unknown client metrics configuration: {0}")]
    UnknownConfig(String),
    /// `interval.ms` not an integer.
    #[error("Invalid value {0} for configuration interval.ms: Not a number of type INT")]
    IntervalNotANumber(String),
    /// `interval.ms` outside [100, 3600000].
    #[error(
        "Invalid value {0} for interval.ms, interval must be between 100 and 3600000 (1 hour)"
    )]
    BadInterval(String),
    /// A `match` entry that is not `selector=regex` with a known selector and a valid regex.
    #[error("Illegal client matching pattern: {0}")]
    BadMatch(String),
    /// The state store failed.
    #[error("cannot store the client-metrics subscription: {0}")]
    Store(String),
    /// A stored subscription that cannot be read back.
    #[error("bad client-metrics subscription `{0}` in the state store")]
    Corrupt(String),
}

/// A subscription, checked.
#[derive(Debug, Clone)]
pub struct Subscription {
    configs: BTreeMap<String, String>,
    metrics: Vec<String>,
    interval_ms: i32,
    selectors: Vec<(String, Regex)>,
}

fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

impl Subscription {
    /// Checks `configs` (every name known, `interval.ms` in range, `match` entries valid).
    pub fn new(name: &str, configs: BTreeMap<String, String>) -> Result<Self, SubscriptionError> {
        if name.is_empty() {
            return Err(SubscriptionError::EmptyName);
        }
        if let Some(unknown) = configs
            .keys()
            .find(|k| !CLIENT_METRICS_CONFIGS.iter().any(|(n, ..)| n == k))
        {
            return Err(SubscriptionError::UnknownConfig(unknown.clone()));
        }
        let interval_ms = match configs.get(INTERVAL_MS) {
            None => DEFAULT_PUSH_INTERVAL_MS,
            Some(v) => {
                let i = v
                    .trim()
                    .parse::<i32>()
                    .map_err(|_| SubscriptionError::IntervalNotANumber(v.clone()))?;
                if !(MIN_INTERVAL_MS..=MAX_INTERVAL_MS).contains(&i64::from(i)) {
                    return Err(SubscriptionError::BadInterval(v.clone()));
                }
                i
            }
        };
        let mut selectors = Vec::new();
        for pattern in configs.get(MATCH).map(|m| list(m)).unwrap_or_default() {
            let bad = || SubscriptionError::BadMatch(pattern.clone());
            let (selector, regex) = pattern.split_once('=').ok_or_else(bad)?;
            let selector = selector.trim();
            if regex.contains('=') || !SELECTORS.contains(&selector) {
                return Err(bad());
            }
            // Kafka matches the whole value (Java's `Matcher.matches`).
            let regex = Regex::new(&format!("^(?:{})$", regex.trim())).map_err(|_| bad())?;
            selectors.push((selector.to_string(), regex));
        }
        let metrics = configs.get(METRICS).map(|m| list(m)).unwrap_or_default();
        Ok(Subscription {
            configs,
            metrics,
            interval_ms,
            selectors,
        })
    }

    /// The configs as set.
    pub fn configs(&self) -> &BTreeMap<String, String> {
        &self.configs
    }

    /// The metric name prefixes.
    pub fn metrics(&self) -> &[String] {
        &self.metrics
    }

    /// The push interval.
    pub fn interval_ms(&self) -> i32 {
        self.interval_ms
    }

    /// Whether a client whose selector values `value` gives matches every `match` entry
    /// (a selector the client has no value for does not match).
    pub fn matches(&self, value: impl Fn(&str) -> Option<String>) -> bool {
        self.selectors
            .iter()
            .all(|(selector, regex)| value(selector).is_some_and(|v| regex.is_match(&v)))
    }
}

/// The subscription id of a set of metrics and an interval for one instance: a CRC32C of
/// both mixed with the instance id, so that it changes when either changes.
pub(super) fn subscription_id(metrics: &[String], interval_ms: i32, id: uuid::Uuid) -> i32 {
    let text = format!("{}{}", metrics.join(","), interval_ms);
    let crc = crc32c::crc32c(text.as_bytes());
    let (hi, lo) = id.as_u64_pair();
    let mixed = hi ^ lo;
    // Folding the 64-bit mix into 32 bits keeps the low and high halves of the id.
    let folded = (mixed ^ (mixed >> 32)) as u32;
    i32::from_ne_bytes((crc ^ folded).to_ne_bytes())
}

/// Encodes configs for the state store: per entry, name and value each as a 4-byte
/// big-endian length and the bytes.
pub(super) fn encode_configs(configs: &BTreeMap<String, String>) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in configs {
        for s in [k, v] {
            let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
    out
}

/// Decodes what [`encode_configs`] wrote; `None` if it is damaged.
pub(super) fn decode_configs(mut bytes: &[u8]) -> Option<BTreeMap<String, String>> {
    fn next(bytes: &mut &[u8]) -> Option<String> {
        let (len, rest) = bytes.split_first_chunk::<4>()?;
        let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
        let (text, rest) = rest.split_at_checked(len)?;
        let s = std::str::from_utf8(text).ok()?.to_string();
        *bytes = rest;
        Some(s)
    }
    let mut out = BTreeMap::new();
    while !bytes.is_empty() {
        let k = next(&mut bytes)?;
        out.insert(k, next(&mut bytes)?);
    }
    Some(out)
}

/// Decompresses a pushed payload (Kafka's codec ids, as in record batches).
pub(super) fn decompress(compression_type: i8, data: &[u8]) -> Result<bytes::Bytes, String> {
    let codec = Compression::from_id(i16::from(compression_type))
        .ok_or_else(|| format!("unknown compression type {compression_type}"))?;
    decompress_codec(codec, data, MAX_DECOMPRESSED)
        .map(bytes::Bytes::from)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn kafka_checks() {
        assert_eq!(
            Subscription::new("", BTreeMap::new()).err(),
            Some(SubscriptionError::EmptyName)
        );
        assert!(matches!(
            Subscription::new("s", configs(&[("bogus", "1")])),
            Err(SubscriptionError::UnknownConfig(_))
        ));
        assert!(matches!(
            Subscription::new("s", configs(&[(INTERVAL_MS, "soon")])),
            Err(SubscriptionError::IntervalNotANumber(_))
        ));
        for bad in ["99", "3600001"] {
            assert!(matches!(
                Subscription::new("s", configs(&[(INTERVAL_MS, bad)])),
                Err(SubscriptionError::BadInterval(_))
            ));
        }
        for bad in ["client_id", "nope=x", "client_id=a=b", "client_id=("] {
            assert!(
                matches!(
                    Subscription::new("s", configs(&[(MATCH, bad)])),
                    Err(SubscriptionError::BadMatch(_))
                ),
                "{bad}"
            );
        }
        let s = Subscription::new(
            "s",
            configs(&[
                (METRICS, "org.apache.kafka.producer., *"),
                (INTERVAL_MS, "100"),
            ]),
        )
        .expect("valid");
        assert_eq!(s.metrics(), ["org.apache.kafka.producer.", "*"]);
        assert_eq!(s.interval_ms(), 100);
    }

    #[test]
    fn match_is_whole_value_and_needs_every_selector() {
        let s = Subscription::new(
            "s",
            configs(&[(MATCH, "client_id=app-.*,client_software_name=librdkafka")]),
        )
        .expect("valid");
        let client = |id: &'static str, sw: Option<&'static str>| {
            move |sel: &str| match sel {
                CLIENT_ID => Some(id.to_string()),
                CLIENT_SOFTWARE_NAME => sw.map(String::from),
                _ => None,
            }
        };
        assert!(s.matches(client("app-1", Some("librdkafka"))));
        assert!(!s.matches(client("my-app-1", Some("librdkafka"))));
        assert!(!s.matches(client("app-1", Some("librdkafka2"))));
        assert!(!s.matches(client("app-1", None)));
    }

    #[test]
    fn stored_configs_round_trip_and_damage_is_seen() {
        let c = configs(&[(METRICS, "a,b"), (MATCH, "client_id=x=")]);
        let bytes = encode_configs(&c);
        assert_eq!(decode_configs(&bytes), Some(c));
        assert_eq!(decode_configs(&bytes[..bytes.len() - 1]), None);
        assert_eq!(decode_configs(&[]), Some(BTreeMap::new()));
    }
}
