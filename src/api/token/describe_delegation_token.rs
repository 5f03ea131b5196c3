//! DescribeDelegationToken (v1–v3): the tokens of the owners named (all owners when the
//! list is null, none when it is empty) that the caller owns, requested or may renew, or
//! may describe by ACL (DESCRIBE on the token, DESCRIBE_TOKENS on its owner).

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::describe_delegation_token_response::{
    DescribedDelegationToken, DescribedDelegationTokenRenewer,
};
use kafka_protocol::messages::{
    ApiKey, DescribeDelegationTokenRequest, DescribeDelegationTokenResponse,
};

use super::{not_allowed, now_ms, token_error_code, token_requests_allowed};
use crate::api::spec::{AclOperation, Api, Authorization, ResourceType};
use crate::api::{text, ApiContext, Call, Handled};
use crate::broker::security::delegation::TokenError;
use crate::broker::security::KafkaPrincipal;

/// DescribeDelegationToken: lists tokens.
pub struct DescribeDelegationToken;

impl Api for DescribeDelegationToken {
    type Request = DescribeDelegationTokenRequest;
    type Response = DescribeDelegationTokenResponse;
    const KEY: ApiKey = ApiKey::DescribeDelegationToken;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 3;
    // Which tokens are shown depends on the caller (owner, requester, renewer).
    const AUTHORIZATION: Authorization = Authorization::Open;

    fn handle(
        ctx: &Arc<ApiContext>,
        call: &Call,
        request: DescribeDelegationTokenRequest,
    ) -> Handled<DescribeDelegationTokenResponse> {
        let response = DescribeDelegationTokenResponse::default();
        if !token_requests_allowed(call) {
            return response.with_error_code(not_allowed()).into();
        }
        if !ctx.tokens.enabled() {
            return response
                .with_error_code(token_error_code(&TokenError::Disabled))
                .into();
        }
        let owners: Option<Vec<KafkaPrincipal>> = request.owners.as_ref().map(|owners| {
            owners
                .iter()
                .map(|o| KafkaPrincipal {
                    principal_type: o.principal_type.to_string(),
                    name: o.principal_name.to_string(),
                })
                .collect()
        });
        let caller = &call.principal;
        let now = now_ms();
        // As Kafka: a token is shown to its owner, requester and renewers, and to whoever
        // may DESCRIBE it or DESCRIBE_TOKENS of its owner (everyone, without an authorizer).
        let tokens = ctx.tokens.tokens(|t| {
            let owner_named = owners.as_ref().is_none_or(|o| o.contains(&t.owner));
            let visible = t.owner_or_renewer(caller)
                || ctx.authorize(
                    call,
                    AclOperation::Describe,
                    ResourceType::DelegationToken,
                    &t.token_id,
                )
                || ctx.authorize(
                    call,
                    AclOperation::DescribeTokens,
                    ResourceType::User,
                    &t.owner.to_string(),
                );
            owner_named && visible && t.max_ms >= now && t.expiry_ms >= now
        });
        let described = tokens
            .into_iter()
            .map(|t| {
                DescribedDelegationToken::default()
                    .with_principal_type(text(t.owner.principal_type))
                    .with_principal_name(text(t.owner.name))
                    .with_token_requester_principal_type(text(t.requester.principal_type))
                    .with_token_requester_principal_name(text(t.requester.name))
                    .with_issue_timestamp(t.issue_ms)
                    .with_expiry_timestamp(t.expiry_ms)
                    .with_max_timestamp(t.max_ms)
                    .with_token_id(text(t.token_id))
                    .with_hmac(Bytes::from(t.hmac))
                    .with_renewers(
                        t.renewers
                            .into_iter()
                            .map(|r| {
                                DescribedDelegationTokenRenewer::default()
                                    .with_principal_type(text(r.principal_type))
                                    .with_principal_name(text(r.name))
                            })
                            .collect(),
                    )
            })
            .collect();
        response.with_tokens(described).into()
    }
}
