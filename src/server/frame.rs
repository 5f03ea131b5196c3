//! Kafka framing: 4-byte big-endian size, then a request header and body; responses are a
//! size, a response header and a body.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::api::chunks::Chunks;
use crate::api::registry;
use crate::api::spec::ApiEntry;
use crate::api::{api_versions, ApiContext, ResponseBody};

/// A connection-ending problem with a client's bytes.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The client closed the connection between requests.
    #[error("connection closed")]
    Closed,
    /// A socket error.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// A size prefix that is negative or above `socket.request.max.bytes`.
    #[error("request size {size} outside [0, {max}]")]
    BadSize {
        /// The size prefix read.
        size: i32,
        /// The configured maximum.
        max: usize,
    },
    /// A frame too short to hold a request header.
    #[error("request of {0} bytes is too short for a header")]
    TooShort(usize),
    /// An API key Kafka does not define or Skiff does not serve.
    #[error("unknown or unserved API key {0}")]
    UnknownApi(i16),
    /// A version of a served API outside the advertised range.
    #[error("unsupported version {version} of {key:?}")]
    UnsupportedVersion {
        /// The API.
        key: ApiKey,
        /// The version asked for.
        version: i16,
    },
    /// A header or body that does not decode.
    #[error("cannot decode {key:?} v{version}: {message}")]
    Decode {
        /// The API.
        key: ApiKey,
        /// Its version.
        version: i16,
        /// The decoder's message.
        message: String,
    },
    /// A response that cannot be encoded (a bug).
    #[error("cannot encode response: {0}")]
    Encode(String),
}

/// Bytes reserved up front for a frame; larger frames grow as their bytes arrive.
const INITIAL_FRAME_CAPACITY: usize = 1024 * 1024;

/// Reads one frame's payload, checking the size prefix before allocating.
pub async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    max_size: usize,
) -> Result<Bytes, FrameError> {
    let mut size = [0u8; 4];
    match reader.read_exact(&mut size).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(e.into()),
    }
    let size = i32::from_be_bytes(size);
    let len = usize::try_from(size).map_err(|_| FrameError::BadSize {
        size,
        max: max_size,
    })?;
    if len > max_size {
        return Err(FrameError::BadSize {
            size,
            max: max_size,
        });
    }
    // Grow the buffer as bytes arrive, so a client announcing a large frame and sending it
    // slowly (or never) holds only what it actually sent.
    let mut buf = Vec::with_capacity(len.min(INITIAL_FRAME_CAPACITY));
    let read = reader.take(len as u64).read_to_end(&mut buf).await?;
    if read < len {
        return Err(FrameError::Io(std::io::ErrorKind::UnexpectedEof.into()));
    }
    Ok(Bytes::from(buf))
}

/// A request taken off the wire.
#[derive(Debug)]
pub enum Decoded {
    /// A request to hand to its API: the header, the registry row, and the body, which the
    /// pre-check found well-formed (the API's `serve` decodes it).
    Request {
        /// The decoded header.
        header: RequestHeader,
        /// The API's registry row.
        api: &'static ApiEntry,
        /// The body's bytes.
        body: Bytes,
    },
    /// An ApiVersions request at a version above the known ones: answered with
    /// UNSUPPORTED_VERSION in a v0 body.
    ApiVersionsTooNew {
        /// Correlation id to answer with.
        correlation_id: i32,
    },
}

/// Decodes a frame's header and checks its body's structure.
pub fn decode_request(frame: Bytes) -> Result<Decoded, FrameError> {
    // API key, API version and correlation id lead every request header.
    let lead: [u8; 8] = frame
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or(FrameError::TooShort(frame.len()))?;
    let [k0, k1, v0, v1, c0, c1, c2, c3] = lead;
    let raw_key = i16::from_be_bytes([k0, k1]);
    let version = i16::from_be_bytes([v0, v1]);
    let key = ApiKey::try_from(raw_key).map_err(|_| FrameError::UnknownApi(raw_key))?;
    let api = registry::lookup(key).ok_or(FrameError::UnknownApi(raw_key))?;
    tracing::trace!(api = ?key, version, "request");
    // Produce v0-v2 are advertised (older librdkafka needs v0 listed to enable compression)
    // but, as in Kafka 4, a request at those versions closes the connection.
    if !api.serves(version) {
        if key == ApiKey::ApiVersions && version > api.max_version {
            let correlation_id = i32::from_be_bytes([c0, c1, c2, c3]);
            return Ok(Decoded::ApiVersionsTooNew { correlation_id });
        }
        return Err(FrameError::UnsupportedVersion { key, version });
    }
    let decode_err = |message: String| FrameError::Decode {
        key,
        version,
        message,
    };
    let mut body = frame;
    let header = RequestHeader::decode(&mut body, key.request_header_version(version))
        .map_err(|e| decode_err(e.to_string()))?;
    super::precheck::check_body(key, version, &body).map_err(|e| decode_err(e.to_string()))?;
    Ok(Decoded::Request { header, api, body })
}

/// Appends one size-prefixed response to `out`.
pub fn encode_response(
    out: &mut Chunks,
    correlation_id: i32,
    key: ApiKey,
    version: i16,
    body: &dyn ResponseBody,
) -> Result<(), FrameError> {
    let header_version = if key == ApiKey::ApiVersions {
        0
    } else {
        key.response_header_version(version)
    };
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let fail = |e: String| FrameError::Encode(format!("{key:?} v{version}: {e}"));
    if let Some(chunks) = body.encode_chunked(version) {
        // Records travel as chunks of their own: the size is known only once the body is
        // encoded, so the header goes into a buffer of its own first.
        let chunks = chunks.map_err(fail)?;
        let mut head = BytesMut::new();
        header
            .encode(&mut head, header_version)
            .map_err(|e| FrameError::Encode(e.to_string()))?;
        let size = i32::try_from(head.len() + chunks.len())
            .map_err(|_| FrameError::Encode("response larger than 2 GiB".into()))?;
        out.tail().put_i32(size);
        out.tail().extend_from_slice(&head);
        out.append(chunks);
        return Ok(());
    }
    let out = out.tail();
    let start = out.len();
    out.put_i32(0);
    header
        .encode(out, header_version)
        .map_err(|e| FrameError::Encode(e.to_string()))?;
    body.encode_body(out, version).map_err(fail)?;
    let size = i32::try_from(out.len() - start - 4)
        .map_err(|_| FrameError::Encode("response larger than 2 GiB".into()))?;
    let Some(prefix) = out.get_mut(start..start + 4) else {
        return Err(FrameError::Encode("response lost its size prefix".into()));
    };
    prefix.copy_from_slice(&size.to_be_bytes());
    Ok(())
}

/// The UNSUPPORTED_VERSION answer to a too-new ApiVersions request (v0 header and body).
pub fn encode_api_versions_too_new(
    out: &mut Chunks,
    correlation_id: i32,
    ctx: &ApiContext,
) -> Result<(), FrameError> {
    let body = api_versions::unsupported_version(ctx);
    encode_response(out, correlation_id, ApiKey::ApiVersions, 0, &body)
}
