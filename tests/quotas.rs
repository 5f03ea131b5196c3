//! Client quotas: DescribeClientQuotas and AlterClientQuotas on the wire (Kafka's answers
//! and error codes, persistence across a restart), and their enforcement through real
//! clients (throttle_time_ms reported, the channel muted, nothing lost, no disconnect).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap, expect, panic or index is a failed test"
)]

mod common;

use common::start_broker;
use common::wire::Wire;
use kafka_protocol::messages::alter_client_quotas_request::{EntityData, EntryData, OpData};
use kafka_protocol::messages::describe_client_quotas_request::ComponentData;
use kafka_protocol::messages::{
    AlterClientQuotasRequest, AlterClientQuotasResponse, ApiKey, DescribeClientQuotasRequest,
    DescribeClientQuotasResponse,
};
use kafka_protocol::protocol::StrBytes;

const INVALID_REQUEST: i16 = 42;
const UNSUPPORTED_VERSION: i16 = 35;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// An AlterClientQuotas entry: entity components (type, name) and ops (key, value or
/// `None` to remove).
fn entry(entity: &[(&str, Option<&str>)], ops: &[(&str, Option<f64>)]) -> EntryData {
    EntryData::default()
        .with_entity(
            entity
                .iter()
                .map(|(t, n)| {
                    EntityData::default()
                        .with_entity_type(s(t))
                        .with_entity_name(n.map(s))
                })
                .collect(),
        )
        .with_ops(
            ops.iter()
                .map(|(k, v)| {
                    OpData::default()
                        .with_key(s(k))
                        .with_value(v.unwrap_or(0.0))
                        .with_remove(v.is_none())
                })
                .collect(),
        )
}

async fn alter(
    w: &mut Wire,
    version: i16,
    entries: Vec<EntryData>,
    validate_only: bool,
) -> Vec<(i16, Option<String>)> {
    let req = AlterClientQuotasRequest::default()
        .with_entries(entries)
        .with_validate_only(validate_only);
    let r: AlterClientQuotasResponse = w.call(ApiKey::AlterClientQuotas, version, &req).await;
    r.entries
        .iter()
        .map(|e| {
            (
                e.error_code,
                e.error_message.as_ref().map(|m| m.to_string()),
            )
        })
        .collect()
}

/// A filter component: (entity type, match type, match).
fn component(t: &str, match_type: i8, m: Option<&str>) -> ComponentData {
    ComponentData::default()
        .with_entity_type(s(t))
        .with_match_type(match_type)
        .with_match(m.map(s))
}

/// Entities (as sorted (type, name) lists) with their sorted (key, value) quotas.
type Described = Vec<(Vec<(String, Option<String>)>, Vec<(String, f64)>)>;

async fn describe(
    w: &mut Wire,
    version: i16,
    components: Vec<ComponentData>,
    strict: bool,
) -> Result<Described, (i16, String)> {
    let req = DescribeClientQuotasRequest::default()
        .with_components(components)
        .with_strict(strict);
    let r: DescribeClientQuotasResponse = w.call(ApiKey::DescribeClientQuotas, version, &req).await;
    if r.error_code != 0 {
        assert!(r.entries.is_none());
        return Err((
            r.error_code,
            r.error_message.map(|m| m.to_string()).unwrap_or_default(),
        ));
    }
    let mut out: Described = r
        .entries
        .unwrap()
        .iter()
        .map(|e| {
            let mut entity: Vec<_> = e
                .entity
                .iter()
                .map(|c| {
                    (
                        c.entity_type.to_string(),
                        c.entity_name.as_ref().map(|n| n.to_string()),
                    )
                })
                .collect();
            entity.sort();
            let mut values: Vec<_> = e
                .values
                .iter()
                .map(|v| (v.key.to_string(), v.value))
                .collect();
            values.sort_by(|a, b| a.0.cmp(&b.0));
            (entity, values)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn entity(parts: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
    let mut v: Vec<_> = parts
        .iter()
        .map(|(t, n)| (t.to_string(), n.map(str::to_string)))
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alter_and_describe_client_quotas_on_the_wire_and_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    for version in [0, 1] {
        assert_eq!(describe(&mut w, version, vec![], false).await, Ok(vec![]));
    }
    // Set: a user, a user's default client, the default client id, a user with a client.
    let r = alter(
        &mut w,
        1,
        vec![
            entry(
                &[("user", Some("alice"))],
                &[
                    ("producer_byte_rate", Some(1024.0)),
                    ("request_percentage", Some(12.5)),
                ],
            ),
            entry(
                &[("user", Some("alice")), ("client-id", None)],
                &[("consumer_byte_rate", Some(2048.0))],
            ),
            entry(
                &[("client-id", None)],
                &[("controller_mutation_rate", Some(2.5))],
            ),
            entry(
                &[("user", Some("bob")), ("client-id", Some("app"))],
                &[("producer_byte_rate", Some(10.0))],
            ),
            entry(
                &[("ip", None)],
                &[("connection_creation_rate", Some(100.0))],
            ),
        ],
        false,
    )
    .await;
    assert_eq!(r, vec![(0, None); 5]);
    let all = describe(&mut w, 1, vec![], false).await.unwrap();
    assert_eq!(all.len(), 5);
    // Exact user match, not strict: alice and alice with the default client.
    let alice = describe(&mut w, 1, vec![component("user", 0, Some("alice"))], false)
        .await
        .unwrap();
    assert_eq!(
        alice,
        vec![
            (
                entity(&[("user", Some("alice")), ("client-id", None)]),
                vec![("consumer_byte_rate".into(), 2048.0)]
            ),
            (
                entity(&[("user", Some("alice"))]),
                vec![
                    ("producer_byte_rate".into(), 1024.0),
                    ("request_percentage".into(), 12.5)
                ]
            ),
        ]
    );
    // Strict: only the entity that has nothing but the user.
    let strict = describe(&mut w, 1, vec![component("user", 0, Some("alice"))], true)
        .await
        .unwrap();
    assert_eq!(strict.len(), 1);
    // Default client id, strict; any client id (specified).
    let default_client = describe(&mut w, 0, vec![component("client-id", 1, None)], true)
        .await
        .unwrap();
    assert_eq!(
        default_client,
        vec![(
            entity(&[("client-id", None)]),
            vec![("controller_mutation_rate".into(), 2.5)]
        )]
    );
    let any_client = describe(&mut w, 1, vec![component("client-id", 2, None)], false)
        .await
        .unwrap();
    assert_eq!(any_client.len(), 3);
    // validate_only changes nothing; removal drops a key, the last key drops the entity.
    let r = alter(
        &mut w,
        1,
        vec![entry(
            &[("client-id", None)],
            &[("controller_mutation_rate", None)],
        )],
        true,
    )
    .await;
    assert_eq!(r, vec![(0, None)]);
    assert_eq!(describe(&mut w, 1, vec![], false).await.unwrap().len(), 5);
    let r = alter(
        &mut w,
        1,
        vec![
            entry(
                &[("client-id", None)],
                &[("controller_mutation_rate", None)],
            ),
            entry(
                &[("user", Some("alice"))],
                &[("request_percentage", None), ("consumer_byte_rate", None)],
            ),
        ],
        false,
    )
    .await;
    assert_eq!(r, vec![(0, None), (0, None)]);
    let before = describe(&mut w, 1, vec![], false).await.unwrap();
    assert_eq!(before.len(), 4);
    assert!(before.contains(&(
        entity(&[("user", Some("alice"))]),
        vec![("producer_byte_rate".into(), 1024.0)]
    )));
    drop(w);
    broker.shutdown().await.unwrap();

    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    assert_eq!(describe(&mut w, 1, vec![], false).await.unwrap(), before);
    drop(w);
    broker.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_quota_requests_get_kafkas_errors() {
    let dir = tempfile::tempdir().unwrap();
    let broker = start_broker(dir.path(), &[]).await;
    let mut w = Wire::connect(&broker).await;
    let cases: Vec<(EntryData, &str)> = vec![
        (entry(&[], &[("producer_byte_rate", Some(1.0))]), "Invalid empty client quota entity"),
        (entry(&[("group", Some("g"))], &[("producer_byte_rate", Some(1.0))]), "Unhandled client quota entity type: group"),
        (entry(&[("user", Some(""))], &[("producer_byte_rate", Some(1.0))]), "Empty user not supported"),
        (entry(&[("user", Some("u"))], &[("no_such_key", Some(1.0))]), "Invalid configuration key no_such_key"),
        (entry(&[("user", Some("u"))], &[("producer_byte_rate", Some(0.0))]), "Quota producer_byte_rate must be greater than 0"),
        (entry(&[("client-id", Some("c"))], &[("consumer_byte_rate", Some(-1.0))]), "Quota consumer_byte_rate must be greater than 0"),
        (entry(&[("client-id", Some("c"))], &[("consumer_byte_rate", Some(10.5))]), "consumer_byte_rate cannot be a fractional value."),
        (entry(&[("user", Some("u"))], &[("connection_creation_rate", Some(1.0))]), "Invalid configuration key connection_creation_rate"),
        (entry(&[("ip", Some("10.0.0.1")), ("user", Some("u"))], &[("connection_creation_rate", Some(1.0))]), "Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId"),
        (entry(&[("ip", None)], &[("producer_byte_rate", Some(1.0))]), "Invalid configuration key producer_byte_rate"),
    ];
    for (e, message) in cases {
        let r = alter(&mut w, 1, vec![e], false).await;
        assert_eq!(r, vec![(INVALID_REQUEST, Some(message.to_string()))]);
    }
    // One bad entity does not stop the others.
    let r = alter(
        &mut w,
        0,
        vec![
            entry(
                &[("user", Some("u"))],
                &[
                    ("producer_byte_rate", Some(1.0)),
                    ("consumer_byte_rate", Some(0.0)),
                ],
            ),
            entry(&[("user", Some("v"))], &[("producer_byte_rate", Some(5.0))]),
        ],
        false,
    )
    .await;
    assert_eq!(r[0].0, INVALID_REQUEST);
    assert_eq!(r[1], (0, None));
    assert_eq!(
        describe(&mut w, 1, vec![], false).await.unwrap(),
        vec![(
            entity(&[("user", Some("v"))]),
            vec![("producer_byte_rate".into(), 5.0)]
        )]
    );
    // Filters.
    let filters: Vec<(Vec<ComponentData>, i16, &str)> = vec![
        (vec![component("", 0, Some("x"))], INVALID_REQUEST, "Invalid empty entity type."),
        (vec![component("user", 2, None), component("user", 1, None)], INVALID_REQUEST, "Entity type user cannot appear more than once in the filter."),
        (vec![component("group", 2, None)], UNSUPPORTED_VERSION, "Unsupported entity type group"),
        (vec![component("user", 0, None)], INVALID_REQUEST, "Request specified MATCH_TYPE_EXACT, but set match string to null."),
        (vec![component("user", 1, Some("x"))], INVALID_REQUEST, "Request specified MATCH_TYPE_DEFAULT, but also specified a match string."),
        (vec![component("user", 2, Some("x"))], INVALID_REQUEST, "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string."),
        (vec![component("user", 9, None)], INVALID_REQUEST, "Unknown match type 9"),
        (vec![component("ip", 2, None), component("client-id", 2, None)], INVALID_REQUEST, "Invalid entity filter component combination. IP filter component should not be used with user or clientId filter component."),
    ];
    for (components, code, message) in filters {
        assert_eq!(
            describe(&mut w, 1, components, false).await,
            Err((code, message.to_string()))
        );
    }
    drop(w);
    broker.shutdown().await.unwrap();
}
