//! The delegation token APIs (KIP-48): CreateDelegationToken, RenewDelegationToken,
//! ExpireDelegationToken and DescribeDelegationToken, over the broker's
//! [`DelegationTokens`](crate::broker::security::delegation::DelegationTokens).

pub mod create_delegation_token;
pub mod describe_delegation_token;
pub mod expire_delegation_token;
pub mod renew_delegation_token;

use kafka_protocol::error::ResponseError;

use super::error::storage_error_code;
use super::Call;
use crate::broker::security::delegation::TokenError;
use crate::config::SecurityProtocol;

/// Whether `call`'s connection may ask for tokens, as Kafka decides: not over PLAINTEXT,
/// not over TLS without a client certificate, and not when it authenticated with a token.
pub fn token_requests_allowed(call: &Call) -> bool {
    let token_authenticated = call.sasl.as_ref().is_some_and(|s| s.token_authenticated());
    match call.listener.protocol {
        SecurityProtocol::Plaintext => false,
        SecurityProtocol::Ssl => !call.principal.is_anonymous(),
        SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl => !token_authenticated,
    }
}

/// The error code of DELEGATION_TOKEN_REQUEST_NOT_ALLOWED.
pub fn not_allowed() -> i16 {
    ResponseError::DelegationTokenRequestNotAllowed.code()
}

/// The Kafka error code of a token error.
pub fn token_error_code(e: &TokenError) -> i16 {
    let err = match e {
        TokenError::Disabled => ResponseError::DelegationTokenAuthDisabled,
        TokenError::NotFound => ResponseError::DelegationTokenNotFound,
        TokenError::OwnerMismatch => ResponseError::DelegationTokenOwnerMismatch,
        TokenError::Expired => ResponseError::DelegationTokenExpired,
        TokenError::InvalidPrincipalType => ResponseError::InvalidPrincipalType,
        TokenError::Store(s) => return storage_error_code(s),
    };
    err.code()
}

pub use crate::broker::security::now_epoch_ms as now_ms;
