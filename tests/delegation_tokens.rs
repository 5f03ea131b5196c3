//! Delegation tokens (KIP-48) on the wire: create, describe, renew and expire with Kafka's
//! rules and errors, SCRAM authentication with a token (`tokenauth=true`) as its owner, and
//! tokens surviving a restart.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed unwrap, expect, panic or index is a failed test"
)]

mod common;

use std::net::SocketAddr;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use bytes::Bytes;
use common::wire::Wire;
use kafka_protocol::messages::create_delegation_token_request::CreatableRenewers;
use kafka_protocol::messages::describe_delegation_token_request::DescribeDelegationTokenOwner;
use kafka_protocol::messages::{
    ApiKey, CreateDelegationTokenRequest, CreateDelegationTokenResponse,
    DescribeDelegationTokenRequest, DescribeDelegationTokenResponse, ExpireDelegationTokenRequest,
    ExpireDelegationTokenResponse, MetadataRequest, MetadataResponse, RenewDelegationTokenRequest,
    RenewDelegationTokenResponse, SaslAuthenticateRequest, SaslAuthenticateResponse,
    SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::StrBytes;
use skiff::broker::security::credentials::parse_add_scram;
use skiff::broker::security::scram::{client_final, ScramMechanism};
use skiff::config::Config;
use skiff::{Broker, BrokerHandle};

async fn start(dir: &Path, secret: bool) -> BrokerHandle {
    start_with(dir, secret, &[]).await
}

async fn start_with(dir: &Path, secret: bool, more: &[&str]) -> BrokerHandle {
    let mut config = Config::default();
    config.set("data.dir", dir.to_str().unwrap()).unwrap();
    for o in [
        "listeners=PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
        "sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512",
        "delegation.token.expiry.time.ms=60000",
        "delegation.token.max.lifetime.ms=600000",
        "connection.failed.authentication.delay.ms=10",
    ] {
        config.apply_override(o).unwrap();
    }
    if secret {
        config
            .apply_override("delegation.token.secret.key=token-secret")
            .unwrap();
    }
    for o in more {
        config.apply_override(o).unwrap();
    }
    Broker::start(config).await.unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// A SCRAM-SHA-256 login; with `token`, the user is a token id and the extension says so.
async fn scram_login(
    w: &mut Wire,
    user: &str,
    password: &str,
    token: bool,
) -> SaslAuthenticateResponse {
    let m = ScramMechanism::Sha256;
    let hs: SaslHandshakeResponse = w
        .call(
            ApiKey::SaslHandshake,
            1,
            &SaslHandshakeRequest::default().with_mechanism(s(m.name())),
        )
        .await;
    assert_eq!(hs.error_code, 0);
    let bare = format!("n={user},r=nonce42");
    let first = if token {
        format!("n,,{bare},tokenauth=true")
    } else {
        format!("n,,{bare}")
    };
    let auth =
        |bytes: Vec<u8>| SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(bytes));
    let r: SaslAuthenticateResponse = w
        .call(ApiKey::SaslAuthenticate, 2, &auth(first.into_bytes()))
        .await;
    if r.error_code != 0 {
        return r;
    }
    let server_first = std::str::from_utf8(&r.auth_bytes).unwrap().to_string();
    let client_first_bare = if token {
        format!("{bare},tokenauth=true")
    } else {
        bare
    };
    let fin = client_final(m, password, &client_first_bare, &server_first).unwrap();
    w.call(ApiKey::SaslAuthenticate, 2, &auth(fin.into_bytes()))
        .await
}

async fn login(addr: SocketAddr, user: &str, password: &str) -> Wire {
    let mut w = Wire::connect_addr(addr).await;
    let r = scram_login(&mut w, user, password, false).await;
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    w
}

async fn create(w: &mut Wire, renewers: &[&str]) -> CreateDelegationTokenResponse {
    let req = CreateDelegationTokenRequest::default()
        .with_renewers(
            renewers
                .iter()
                .map(|r| {
                    CreatableRenewers::default()
                        .with_principal_type(s("User"))
                        .with_principal_name(s(r))
                })
                .collect(),
        )
        .with_max_lifetime_ms(-1);
    w.call(ApiKey::CreateDelegationToken, 3, &req).await
}

async fn describe(w: &mut Wire, owners: Option<&[&str]>) -> DescribeDelegationTokenResponse {
    let req = DescribeDelegationTokenRequest::default().with_owners(owners.map(|o| {
        o.iter()
            .map(|n| {
                DescribeDelegationTokenOwner::default()
                    .with_principal_type(s("User"))
                    .with_principal_name(s(n))
            })
            .collect()
    }));
    w.call(ApiKey::DescribeDelegationToken, 3, &req).await
}

async fn renew(w: &mut Wire, hmac: &Bytes, period: i64) -> RenewDelegationTokenResponse {
    let req = RenewDelegationTokenRequest::default()
        .with_hmac(hmac.clone())
        .with_renew_period_ms(period);
    w.call(ApiKey::RenewDelegationToken, 2, &req).await
}

async fn expire(w: &mut Wire, hmac: &Bytes, period: i64) -> ExpireDelegationTokenResponse {
    let req = ExpireDelegationTokenRequest::default()
        .with_hmac(hmac.clone())
        .with_expiry_time_period_ms(period);
    w.call(ApiKey::ExpireDelegationToken, 2, &req).await
}

fn add_users(dir: &Path) {
    skiff::add_scram_credentials(
        dir,
        &[
            parse_add_scram("SCRAM-SHA-256=[name=alice,password=alice-secret]").unwrap(),
            parse_add_scram("SCRAM-SHA-256=[name=bob,password=bob-secret]").unwrap(),
            parse_add_scram("SCRAM-SHA-256=[name=carol,password=carol-secret]").unwrap(),
        ],
    )
    .unwrap();
}

#[test]
fn tokens_are_created_renewed_described_and_expired_as_kafka_does() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    add_users(dir.path());
    let broker = rt.block_on(start(dir.path(), true));
    let sasl = broker.listener_addr("SASL_PLAINTEXT").unwrap();
    let plain = broker.listener_addr("PLAINTEXT").unwrap();
    rt.block_on(async {
        // Over PLAINTEXT, tokens are not allowed.
        let mut w = Wire::connect_addr(plain).await;
        assert_eq!(
            create(&mut w, &[]).await.error_code,
            64,
            "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED"
        );
        assert_eq!(describe(&mut w, None).await.error_code, 64);

        let mut alice = login(sasl, "alice", "alice-secret").await;
        let created = create(&mut alice, &["bob"]).await;
        assert_eq!(created.error_code, 0);
        assert_eq!(created.principal_name.as_str(), "alice");
        assert_eq!(created.token_requester_principal_name.as_str(), "alice");
        assert_eq!(created.hmac.len(), 64, "HMAC-SHA512");
        assert_eq!(
            created.expiry_timestamp_ms - created.issue_timestamp_ms,
            60_000
        );
        assert_eq!(
            created.max_timestamp_ms - created.issue_timestamp_ms,
            600_000
        );
        let hmac = created.hmac.clone();

        // A non-User renewer is INVALID_PRINCIPAL_TYPE.
        let bad = CreateDelegationTokenRequest::default().with_renewers(vec![
            CreatableRenewers::default()
                .with_principal_type(s("Group"))
                .with_principal_name(s("g")),
        ]);
        let r: CreateDelegationTokenResponse =
            alice.call(ApiKey::CreateDelegationToken, 3, &bad).await;
        assert_eq!(r.error_code, 67, "INVALID_PRINCIPAL_TYPE");

        // The owner and the renewer see it; so does carol, as in Kafka without an
        // authorizer (whoever may DESCRIBE a token sees it).
        let d = describe(&mut alice, None).await;
        assert_eq!(d.tokens.len(), 1);
        assert_eq!(d.tokens[0].token_id, created.token_id);
        assert_eq!(d.tokens[0].renewers[0].principal_name.as_str(), "bob");
        let mut bob = login(sasl, "bob", "bob-secret").await;
        assert_eq!(describe(&mut bob, Some(&["alice"])).await.tokens.len(), 1);
        assert_eq!(describe(&mut bob, Some(&[])).await.tokens.len(), 0);
        let mut carol = login(sasl, "carol", "carol-secret").await;
        assert_eq!(describe(&mut carol, None).await.tokens.len(), 1);

        // bob may renew; carol may not; an unknown HMAC is not found.
        let r = renew(&mut bob, &hmac, 30_000).await;
        assert_eq!(r.error_code, 0);
        assert!(r.expiry_timestamp_ms < created.expiry_timestamp_ms + 30_000);
        assert_eq!(
            renew(&mut carol, &hmac, 1_000).await.error_code,
            63,
            "OWNER_MISMATCH"
        );
        assert_eq!(
            renew(&mut bob, &Bytes::from_static(b"nope"), 1_000)
                .await
                .error_code,
            62,
            "DELEGATION_TOKEN_NOT_FOUND"
        );

        // The token authenticates as its owner over SCRAM; a token-authenticated
        // connection may not ask for tokens; a wrong token password fails.
        let password = BASE64.encode(&hmac);
        let mut via_token = Wire::connect_addr(sasl).await;
        let r = scram_login(&mut via_token, created.token_id.as_str(), &password, true).await;
        assert_eq!(r.error_code, 0, "{:?}", r.error_message);
        let m: MetadataResponse = via_token
            .call(
                ApiKey::Metadata,
                12,
                &MetadataRequest::default().with_topics(None),
            )
            .await;
        assert_eq!(m.brokers.len(), 1);
        assert_eq!(create(&mut via_token, &[]).await.error_code, 64);
        let mut wrong = Wire::connect_addr(sasl).await;
        let r = scram_login(&mut wrong, created.token_id.as_str(), "not-the-hmac", true).await;
        assert_eq!(r.error_code, 58);
        // Without tokenauth, the token id is no user.
        let mut no_ext = Wire::connect_addr(sasl).await;
        let r = scram_login(&mut no_ext, created.token_id.as_str(), &password, false).await;
        assert_eq!(r.error_code, 58);

        // Expired at once: gone, and it authenticates no one.
        assert_eq!(expire(&mut carol, &hmac, -1).await.error_code, 63);
        let e = expire(&mut alice, &hmac, -1).await;
        assert_eq!(e.error_code, 0);
        assert_eq!(describe(&mut alice, None).await.tokens.len(), 0);
        let mut after = Wire::connect_addr(sasl).await;
        let r = scram_login(&mut after, created.token_id.as_str(), &password, true).await;
        assert_eq!(r.error_code, 58);
    });
    rt.block_on(broker.shutdown()).unwrap();
}

#[test]
fn tokens_survive_a_restart_and_need_a_secret_key() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    add_users(dir.path());
    let broker = rt.block_on(start(dir.path(), true));
    let sasl = broker.listener_addr("SASL_PLAINTEXT").unwrap();
    let created = rt.block_on(async {
        let mut alice = login(sasl, "alice", "alice-secret").await;
        create(&mut alice, &[]).await
    });
    assert_eq!(created.error_code, 0);
    rt.block_on(broker.shutdown()).unwrap();

    let broker = rt.block_on(start(dir.path(), true));
    let sasl = broker.listener_addr("SASL_PLAINTEXT").unwrap();
    rt.block_on(async {
        let mut alice = login(sasl, "alice", "alice-secret").await;
        let d = describe(&mut alice, None).await;
        assert_eq!(d.tokens.len(), 1);
        assert_eq!(d.tokens[0].hmac, created.hmac);
        let mut via_token = Wire::connect_addr(sasl).await;
        let r = scram_login(
            &mut via_token,
            created.token_id.as_str(),
            &BASE64.encode(&created.hmac),
            true,
        )
        .await;
        assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    });
    rt.block_on(broker.shutdown()).unwrap();

    // Without delegation.token.secret.key: DELEGATION_TOKEN_AUTH_DISABLED.
    let broker = rt.block_on(start(dir.path(), false));
    let sasl = broker.listener_addr("SASL_PLAINTEXT").unwrap();
    rt.block_on(async {
        let mut alice = login(sasl, "alice", "alice-secret").await;
        assert_eq!(create(&mut alice, &[]).await.error_code, 61);
        assert_eq!(describe(&mut alice, None).await.error_code, 61);
    });
    rt.block_on(broker.shutdown()).unwrap();
}

#[test]
fn with_the_authorizer_tokens_of_others_need_acls() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    add_users(dir.path());
    let broker = rt.block_on(start_with(
        dir.path(),
        true,
        &["authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer"],
    ));
    let sasl = broker.listener_addr("SASL_PLAINTEXT").unwrap();
    rt.block_on(async {
        let mut alice = login(sasl, "alice", "alice-secret").await;
        // Her own token needs no ACL; one owned by bob needs CREATE_TOKENS on User:bob.
        assert_eq!(create(&mut alice, &[]).await.error_code, 0);
        let for_bob = CreateDelegationTokenRequest::default()
            .with_owner_principal_type(Some(s("User")))
            .with_owner_principal_name(Some(s("bob")))
            .with_max_lifetime_ms(-1);
        let r: CreateDelegationTokenResponse =
            alice.call(ApiKey::CreateDelegationToken, 3, &for_bob).await;
        assert_eq!(r.error_code, 65, "DELEGATION_TOKEN_AUTHORIZATION_FAILED");
        // carol, with no ACL, sees none of alice's tokens; alice sees hers.
        let mut carol = login(sasl, "carol", "carol-secret").await;
        assert_eq!(describe(&mut carol, None).await.tokens.len(), 0);
        assert_eq!(describe(&mut alice, None).await.tokens.len(), 1);
    });
    rt.block_on(broker.shutdown()).unwrap();
}
