//! A raw Kafka client connection for tests that speak the protocol by hand
//! (kafka-protocol types, explicit API versions).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, MetadataRequest, MetadataResponse, RequestHeader, ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use skiff::BrokerHandle;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A raw client connection.
pub struct Wire {
    stream: TcpStream,
    next_correlation: i32,
    client_id: &'static str,
}

impl Wire {
    /// Connects to the broker.
    pub async fn connect(broker: &BrokerHandle) -> Wire {
        Wire::connect_as(broker, "wire-test").await
    }

    /// Connects to a broker's address (a listener, or a `skiff serve` child process).
    pub async fn connect_addr(addr: impl tokio::net::ToSocketAddrs) -> Wire {
        Wire {
            stream: TcpStream::connect(addr).await.unwrap(),
            next_correlation: 1,
            client_id: "wire-test",
        }
    }

    /// Connects with a given client id in every request header.
    pub async fn connect_as(broker: &BrokerHandle, client_id: &'static str) -> Wire {
        Wire {
            stream: TcpStream::connect(broker.local_addr()).await.unwrap(),
            next_correlation: 1,
            client_id,
        }
    }

    /// Frames a request whose body is already encoded: size prefix, header, body.
    fn frame_bytes(&mut self, key: ApiKey, version: i16, body: &[u8]) -> (i32, BytesMut) {
        let correlation_id = self.next_correlation;
        self.next_correlation += 1;
        let mut payload = BytesMut::new();
        RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(StrBytes::from_static_str(self.client_id)))
            .encode(&mut payload, key.request_header_version(version))
            .unwrap();
        payload.extend_from_slice(body);
        let mut framed = BytesMut::new();
        framed.put_i32(payload.len() as i32);
        framed.extend_from_slice(&payload);
        (correlation_id, framed)
    }

    /// Frames a request without sending it (tests that split or batch writes).
    pub fn frame<T: Encodable>(&mut self, key: ApiKey, version: i16, body: &T) -> (i32, BytesMut) {
        let mut b = BytesMut::new();
        body.encode(&mut b, version).unwrap();
        self.frame_bytes(key, version, &b)
    }

    /// Sends a request; returns its correlation id.
    pub async fn send<T: Encodable>(&mut self, key: ApiKey, version: i16, body: &T) -> i32 {
        let mut b = BytesMut::new();
        body.encode(&mut b, version).unwrap();
        self.send_bytes(key, version, &b).await
    }

    /// Sends a request whose body is given as bytes (for bodies kafka-protocol can't encode).
    pub async fn send_bytes(&mut self, key: ApiKey, version: i16, body: &[u8]) -> i32 {
        let (id, framed) = self.frame_bytes(key, version, body);
        self.stream.write_all(&framed).await.unwrap();
        id
    }

    /// Writes bytes as they are (broken framing).
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Closes the write side (the broker sees end of input).
    pub async fn shutdown_write(&mut self) {
        self.stream.shutdown().await.unwrap();
    }

    /// The next response frame, or `None` once the broker closed the connection.
    pub async fn recv_frame(&mut self) -> Option<Bytes> {
        let mut size = [0u8; 4];
        match self.stream.read_exact(&mut size).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return None,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return None,
            Err(e) => panic!("read failed: {e}"),
        }
        let mut buf = vec![0u8; i32::from_be_bytes(size) as usize];
        self.stream.read_exact(&mut buf).await.unwrap();
        Some(Bytes::from(buf))
    }

    /// Reads a response of `key`/`version` past its header: correlation id and body bytes.
    pub async fn recv_bytes(&mut self, key: ApiKey, version: i16) -> (i32, Bytes) {
        let mut frame = self.recv_frame().await.expect("connection closed");
        // ApiVersions responses always use header v0.
        let header_version = if key == ApiKey::ApiVersions {
            0
        } else {
            key.response_header_version(version)
        };
        let header = ResponseHeader::decode(&mut frame, header_version).unwrap();
        (header.correlation_id, frame)
    }

    /// Reads a response of `key`/`version`; returns its correlation id and body.
    pub async fn recv<T: Decodable>(&mut self, key: ApiKey, version: i16) -> (i32, T) {
        let (id, mut frame) = self.recv_bytes(key, version).await;
        let body = T::decode(&mut frame, version).unwrap();
        assert!(
            !frame.has_remaining(),
            "trailing bytes in {key:?} v{version} response"
        );
        (id, body)
    }

    /// Sends a request and reads its response, checking the correlation id.
    pub async fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        body: &Req,
    ) -> Resp {
        let id = self.send(key, version, body).await;
        let (got, resp) = self.recv(key, version).await;
        assert_eq!(got, id, "correlation id");
        resp
    }

    /// Creates `topic` through a Metadata v12 request allowed to auto-create it.
    pub async fn create_topic(&mut self, topic: &str) {
        let req = MetadataRequest::default()
            .with_allow_auto_topic_creation(true)
            .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(
                TopicName(StrBytes::from_string(topic.to_string())),
            ))]));
        let r: MetadataResponse = self.call(ApiKey::Metadata, 12, &req).await;
        assert_eq!(r.topics[0].error_code, 0, "creating {topic}");
    }

    /// Asserts the broker closes the connection (after sending nothing more).
    pub async fn expect_closed(&mut self) {
        assert!(self.recv_frame().await.is_none(), "expected a disconnect");
    }
}
