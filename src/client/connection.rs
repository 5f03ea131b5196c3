//! One connection to one broker: framing, correlation ids, and the API versions both sides
//! speak (negotiated with ApiVersions when the connection opens).

use std::collections::HashMap;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, Message, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::error::{ClientError, Result};
use super::security::{Security, Stream};

/// The largest response this client accepts (a fetch is bounded far below it).
const MAX_RESPONSE: usize = 256 * 1024 * 1024;

/// UNSUPPORTED_VERSION: an ApiVersions request above the broker's versions gets it, with a
/// v0 body listing what the broker speaks.
const UNSUPPORTED_VERSION: i16 = 35;

/// An open, version-negotiated connection to one broker.
pub struct Connection {
    addr: String,
    stream: Box<dyn Stream>,
    client_id: StrBytes,
    correlation_id: i32,
    timeout: Duration,
    /// Per API key: the broker's (min, max) versions.
    versions: HashMap<i16, (i16, i16)>,
    api_versions: ApiVersionsResponse,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("addr", &self.addr)
            .finish()
    }
}

/// The name a request's API goes by in errors.
fn api_name(key: i16) -> String {
    ApiKey::try_from(key)
        .map(|k| format!("{k:?}"))
        .unwrap_or_else(|()| format!("API {key}"))
}

impl Connection {
    /// Connects to `addr` (`HOST:PORT`), sets up TLS as `security` says, and negotiates API
    /// versions (SASL comes next, in `sasl::authenticate`).
    pub async fn open(
        addr: &str,
        client_id: &str,
        timeout: Duration,
        security: &Security,
    ) -> Result<Connection> {
        let connect_err = |reason: String| ClientError::Connect {
            addr: addr.to_string(),
            reason,
        };
        let tcp = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| connect_err("timed out".into()))?
            .map_err(|e| connect_err(e.to_string()))?;
        let _ = tcp.set_nodelay(true);
        let stream = security.wrap(addr, tcp, timeout).await?;
        let mut conn = Connection {
            addr: addr.to_string(),
            stream,
            client_id: StrBytes::from_string(client_id.to_string()),
            correlation_id: 0,
            timeout,
            versions: HashMap::new(),
            api_versions: ApiVersionsResponse::default(),
        };
        conn.negotiate().await?;
        Ok(conn)
    }

    /// The broker address this connection goes to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The broker's ApiVersions answer (APIs, supported and finalized features).
    pub fn api_versions(&self) -> &ApiVersionsResponse {
        &self.api_versions
    }

    /// The version a request of type `R` goes out at: the highest both sides speak.
    pub fn version_for<R: Request>(&self) -> Result<i16> {
        let ours = R::VERSIONS;
        let (min, max) =
            self.versions
                .get(&R::KEY)
                .copied()
                .ok_or_else(|| ClientError::UnsupportedApi {
                    api: api_name(R::KEY),
                })?;
        let top = max.min(ours.max);
        if top < min.max(ours.min) {
            return Err(ClientError::UnsupportedApi {
                api: api_name(R::KEY),
            });
        }
        Ok(top)
    }

    /// Sends the request `build` makes for the negotiated version and decodes the answer.
    pub async fn call<R: Request>(&mut self, build: impl FnOnce(i16) -> R) -> Result<R::Response> {
        let version = self.version_for::<R>()?;
        let request = build(version);
        self.call_at(&request, version).await
    }

    /// Sends `request` at `version` and decodes the answer.
    pub async fn call_at<R: Request>(&mut self, request: &R, version: i16) -> Result<R::Response> {
        let key = R::KEY;
        let api = api_name(key);
        let protocol = |message: String| ClientError::Protocol {
            api: api.clone(),
            message,
        };
        let api_key = ApiKey::try_from(key).map_err(|()| protocol("unknown API key".into()))?;
        let mut body = BytesMut::new();
        request
            .encode(&mut body, version)
            .map_err(|e| protocol(format!("encoding v{version}: {e}")))?;
        let response_header_version = if api_key == ApiKey::ApiVersions {
            0
        } else {
            api_key.response_header_version(version)
        };
        let mut frame = self
            .roundtrip(
                api_key,
                version,
                api_key.request_header_version(version),
                &body,
                response_header_version,
            )
            .await?;
        R::Response::decode(&mut frame, version)
            .map_err(|e| protocol(format!("decoding the v{version} response: {e}")))
    }

    /// Sends a request that gets no response (Produce with acks=0) at the negotiated
    /// version.
    pub async fn send_only<R: Request>(&mut self, build: impl FnOnce(i16) -> R) -> Result<()> {
        let version = self.version_for::<R>()?;
        let request = build(version);
        let api = api_name(R::KEY);
        let protocol = |message: String| ClientError::Protocol {
            api: api.clone(),
            message,
        };
        let api_key = ApiKey::try_from(R::KEY).map_err(|()| protocol("unknown API key".into()))?;
        let mut body = BytesMut::new();
        request
            .encode(&mut body, version)
            .map_err(|e| protocol(format!("encoding v{version}: {e}")))?;
        let header_version = api_key.request_header_version(version);
        self.write_request(api_key, version, header_version, &body)
            .await
            .map(|_| ())
    }

    /// Writes one request frame; returns its correlation id.
    async fn write_request(
        &mut self,
        api_key: ApiKey,
        version: i16,
        header_version: i16,
        body: &[u8],
    ) -> Result<i32> {
        let api = format!("{api_key:?}");
        self.correlation_id = self.correlation_id.wrapping_add(1);
        let correlation_id = self.correlation_id;
        let header = RequestHeader::default()
            .with_request_api_key(api_key as i16)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(self.client_id.clone()));
        let mut frame = BytesMut::with_capacity(body.len() + 64);
        frame.put_i32(0);
        header
            .encode(&mut frame, header_version)
            .map_err(|e| ClientError::Protocol {
                api: api.clone(),
                message: format!("encoding the request header: {e}"),
            })?;
        frame.extend_from_slice(body);
        let len = i32::try_from(frame.len() - 4).map_err(|_| ClientError::Protocol {
            api: api.clone(),
            message: "request too large".into(),
        })?;
        if let Some(size) = frame.get_mut(..4) {
            size.copy_from_slice(&len.to_be_bytes());
        }
        let addr = self.addr.clone();
        let io = |source| ClientError::Io {
            addr: addr.clone(),
            source,
        };
        let write = async {
            self.stream.write_all(&frame).await.map_err(io)?;
            self.stream.flush().await.map_err(io)
        };
        tokio::time::timeout(self.timeout, write)
            .await
            .map_err(|_| ClientError::Timeout {
                addr: self.addr.clone(),
                api,
            })??;
        Ok(correlation_id)
    }

    /// Writes one request frame and reads its response, returning the body after the
    /// response header.
    async fn roundtrip(
        &mut self,
        api_key: ApiKey,
        version: i16,
        header_version: i16,
        body: &[u8],
        response_header_version: i16,
    ) -> Result<Bytes> {
        let api = format!("{api_key:?}");
        let correlation_id = self
            .write_request(api_key, version, header_version, body)
            .await?;
        let addr = self.addr.clone();
        let io = |source| ClientError::Io {
            addr: addr.clone(),
            source,
        };
        let read = async {
            let size = self.stream.read_i32().await.map_err(io)?;
            let size = usize::try_from(size)
                .ok()
                .filter(|s| *s <= MAX_RESPONSE)
                .ok_or_else(|| ClientError::Protocol {
                    api: api.clone(),
                    message: format!("bad response size {size}"),
                })?;
            let mut buf = vec![0u8; size];
            self.stream.read_exact(&mut buf).await.map_err(io)?;
            Ok::<_, ClientError>(Bytes::from(buf))
        };
        let mut response = tokio::time::timeout(self.timeout, read)
            .await
            .map_err(|_| ClientError::Timeout {
                addr: self.addr.clone(),
                api: api.clone(),
            })??;
        let header =
            ResponseHeader::decode(&mut response, response_header_version).map_err(|e| {
                ClientError::Protocol {
                    api: api.clone(),
                    message: format!("decoding the response header: {e}"),
                }
            })?;
        if header.correlation_id != correlation_id {
            return Err(ClientError::Protocol {
                api,
                message: format!(
                    "response correlation id {} for request {correlation_id}",
                    header.correlation_id
                ),
            });
        }
        Ok(response)
    }

    /// ApiVersions at the highest version this client speaks; a broker that answers
    /// UNSUPPORTED_VERSION lists its own versions, and the request is sent again at the
    /// highest one both speak.
    async fn negotiate(&mut self) -> Result<()> {
        let mut version = ApiVersionsRequest::VERSIONS.max;
        for _ in 0..2 {
            let request = ApiVersionsRequest::default()
                .with_client_software_name(StrBytes::from_static_str("skiff-cli"))
                .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
            let protocol = |message: String| ClientError::Protocol {
                api: "ApiVersions".into(),
                message,
            };
            let mut body = BytesMut::new();
            request
                .encode(&mut body, version)
                .map_err(|e| protocol(format!("encoding v{version}: {e}")))?;
            let header_version = ApiKey::ApiVersions.request_header_version(version);
            let mut frame = self
                .roundtrip(ApiKey::ApiVersions, version, header_version, &body, 0)
                .await?;
            // The error code leads every version's body; UNSUPPORTED_VERSION comes with a
            // v0 body listing the broker's versions.
            let code = frame.first_chunk::<2>().map(|b| i16::from_be_bytes(*b));
            let decode_version = if code == Some(UNSUPPORTED_VERSION) {
                0
            } else {
                version
            };
            let response = ApiVersionsResponse::decode(&mut frame, decode_version)
                .map_err(|e| protocol(format!("decoding v{decode_version}: {e}")))?;
            if response.error_code == UNSUPPORTED_VERSION && version > 0 {
                let theirs = response
                    .api_keys
                    .iter()
                    .find(|k| k.api_key == ApiKey::ApiVersions as i16)
                    .map(|k| k.max_version)
                    .unwrap_or(0);
                version = theirs
                    .min(ApiVersionsRequest::VERSIONS.max)
                    .min(version - 1);
                continue;
            }
            ClientError::check(response.error_code, "ApiVersions", None)?;
            self.versions = response
                .api_keys
                .iter()
                .map(|k| (k.api_key, (k.min_version, k.max_version)))
                .collect();
            self.api_versions = response;
            return Ok(());
        }
        Err(ClientError::UnsupportedApi {
            api: "ApiVersions".into(),
        })
    }
}
