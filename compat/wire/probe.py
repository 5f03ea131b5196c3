#!/usr/bin/env python3
"""Raw-wire probe: what a broker answers to well-formed and malformed requests.

Usage: probe.py HOST:PORT [--record FILE] [--expect FILE]
  (or BOOTSTRAP=HOST:PORT in the environment)

Each case opens a fresh TCP connection, sends hand-encoded bytes (no client library) and
records what came back as a short observation: "error N" (the Kafka error code of the
interesting field), "disconnect" (the broker closed the connection), "no answer" (nothing
within the read timeout), plus a few informational facts. After every case a fresh
connection must still get an ApiVersions answer (the broker keeps serving). Cases named
"info: ..." (advertised versions, default partition count) are facts, not compared.

--record FILE writes the observations as JSON (to keep the reference Kafka's answers);
--expect FILE compares against such a file and exits 1 on any difference: the
differential check between Skiff and the reference Kafka. Only standard library.
"""

import json
import os
import random
import socket
import struct
import sys
import time
import uuid

READ_TIMEOUT = float(os.environ.get("PROBE_READ_TIMEOUT", "5"))

# --- primitive encoders (non-flexible versions only) --------------------------------------


def i8(v):
    return struct.pack(">b", v)


def i16(v):
    return struct.pack(">h", v)


def i32(v):
    return struct.pack(">i", v)


def i64(v):
    return struct.pack(">q", v)


def string(s):
    if s is None:
        return i16(-1)
    b = s.encode()
    return i16(len(b)) + b


def array(items):
    return i32(len(items)) + b"".join(items)


def varint(v):
    v = (v << 1) ^ (v >> 63)  # zigzag
    out = b""
    while True:
        if v & ~0x7F:
            out += bytes([(v & 0x7F) | 0x80])
            v >>= 7
        else:
            return out + bytes([v])


def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def record_batch(values, corrupt_crc=False, ts=None):
    """A v2 record batch (no compression) holding one record per value (key b"k")."""
    ts = int(time.time() * 1000) if ts is None else ts
    recs = b""
    for i, v in enumerate(values):
        body = i8(0) + varint(0) + varint(i) + varint(1) + b"k" + varint(len(v)) + v + varint(0)
        recs += varint(len(body)) + body
    after_crc = (
        i16(0)  # attributes
        + i32(len(values) - 1)  # last offset delta
        + i64(ts)
        + i64(ts)
        + i64(-1)  # producer id
        + i16(-1)  # producer epoch
        + i32(-1)  # base sequence
        + i32(len(values))
        + recs
    )
    crc = crc32c(after_crc)
    if corrupt_crc:
        crc ^= 0xDEADBEEF
    after_len = i32(-1) + i8(2) + struct.pack(">I", crc) + after_crc  # leader epoch, magic, crc
    return i64(0) + i32(len(after_len)) + after_len


# --- framing and decoding -------------------------------------------------------------------


class Reader:
    def __init__(self, data):
        self.d, self.o = data, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.o)
        self.o += struct.calcsize(fmt)
        return v[0]

    def i8(self):
        return self.take(">b")

    def i16(self):
        return self.take(">h")

    def i32(self):
        return self.take(">i")

    def i64(self):
        return self.take(">q")

    def string(self):
        n = self.i16()
        if n < 0:
            return None
        s = self.d[self.o : self.o + n].decode()
        self.o += n
        return s

    def bytes_(self):
        n = self.i32()
        if n < 0:
            return None
        b = self.d[self.o : self.o + n]
        self.o += n
        return b


def request(api_key, version, body, corr=1, client_id="skiff-probe", flexible=False):
    """A framed request; flexible=True uses request header v2 (empty tagged fields)."""
    hdr = i16(api_key) + i16(version) + i32(corr) + string(client_id)
    if flexible:
        hdr += b"\x00"
    msg = hdr + body
    return i32(len(msg)) + msg


def uvarint(v):
    out = b""
    while v & ~0x7F:
        out += bytes([(v & 0x7F) | 0x80])
        v >>= 7
    return out + bytes([v])


def compact_string(s):
    b = s.encode()
    return uvarint(len(b) + 1) + b


def api_versions_v3_body():
    """ApiVersions v3+ body: client software name and version, no tagged fields."""
    return compact_string("skiff-probe") + compact_string("1.0") + b"\x00"


def exchange(bootstrap, raw, shutdown_write=False, responses=1):
    """Send raw bytes on a fresh connection; return ('response', bytes-after-size),
    ('disconnect', None) or ('no answer', None). With responses=k > 1 the payload is the
    list of the k response bodies, read in arrival order."""
    host, port = bootstrap.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=READ_TIMEOUT) as s:
        try:
            s.sendall(raw)
            if shutdown_write:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            return "disconnect", None

        def read(n):
            buf = b""
            while len(buf) < n:
                chunk = s.recv(n - len(buf))
                if not chunk:
                    raise EOFError
                buf += chunk
            return buf

        try:
            got = []
            for _ in range(responses):
                (size,) = struct.unpack(">i", read(4))
                got.append(read(size))
            return "response", got[0] if responses == 1 else got
        except (EOFError, ConnectionResetError):
            return "disconnect", None
        except socket.timeout:
            return "no answer", None


def still_serving(bootstrap):
    kind, data = exchange(bootstrap, request(18, 0, b"", corr=99))
    return kind == "response" and struct.unpack_from(">ih", data)[1] == 0


# --- the cases ------------------------------------------------------------------------------


def parse_api_versions_v0(data):
    r = Reader(data)
    corr = r.i32()
    err = r.i16()
    apis = {}
    for _ in range(r.i32()):
        k, lo, hi = r.i16(), r.i16(), r.i16()
        apis[k] = (lo, hi)
    return corr, err, apis


def metadata_v4(topics, auto_create):
    return request(3, 4, array([string(t) for t in topics]) + i8(1 if auto_create else 0))


def metadata_topic_errors(data):
    r = Reader(data)
    r.i32()  # correlation id
    r.i32()  # throttle
    for _ in range(r.i32()):  # brokers
        r.i32(), r.string(), r.i32(), r.string()
    r.string()  # cluster id
    r.i32()  # controller
    out = {}
    for _ in range(r.i32()):
        err = r.i16()
        name = r.string()
        r.i8()  # internal
        parts = []
        for _ in range(r.i32()):
            perr, pidx = r.i16(), r.i32()
            r.i32()  # leader
            for _ in range(r.i32()):
                r.i32()
            for _ in range(r.i32()):
                r.i32()
            parts.append((pidx, perr))
        out[name] = (err, parts)
    return out


def produce_v7(topic, partition, records, acks=-1):
    return request(
        0,
        7,
        string(None) + i16(acks) + i32(10_000) + array([string(topic) + array([i32(partition) + i32(len(records)) + records])]),
    )


def produce_result(data):
    r = Reader(data)
    r.i32()
    r.i32()  # topics array length (one)
    r.string()
    r.i32()  # partitions length (one)
    r.i32()  # partition
    err = r.i16()
    base = r.i64()
    return err, base


def fetch_v4(topic, partition, offset):
    body = i32(-1) + i32(100) + i32(1) + i32(1_048_576) + i8(0)
    body += array([string(topic) + array([i32(partition) + i64(offset) + i32(1_048_576)])])
    return request(1, 4, body)


def fetch_error(data):
    r = Reader(data)
    r.i32()
    r.i32()  # throttle
    r.i32()
    r.string()
    r.i32()
    r.i32()
    return r.i16()


def fetch_v4_partition(data):
    """(error, high watermark, last stable offset, records length or -1 for null)."""
    r = Reader(data)
    r.i32()
    r.i32()  # throttle
    r.i32()
    r.string()
    r.i32()
    r.i32()  # partition
    err, hw, lso = r.i16(), r.i64(), r.i64()
    n = r.i32()
    for _ in range(max(n, 0)):
        r.i64(), r.i64()
    return err, hw, lso, r.i32()


def fetch_v11(topic, partition, offset, current_leader_epoch):
    body = i32(-1) + i32(100) + i32(1) + i32(1_048_576) + i8(0) + i32(0) + i32(-1)
    body += array([string(topic) + array([i32(partition) + i32(current_leader_epoch) + i64(offset) + i64(-1) + i32(1_048_576)])])
    body += array([]) + string("")
    return request(1, 11, body)


def fetch_v11_partition(data):
    """(top-level error, partition error, high watermark, log start offset)."""
    r = Reader(data)
    r.i32()
    r.i32()  # throttle
    top = r.i16()
    r.i32()  # session id
    r.i32()
    r.string()
    r.i32()
    r.i32()  # partition
    err, hw, _lso, lso_start = r.i16(), r.i64(), r.i64(), r.i64()
    return top, err, hw, lso_start


def offset_for_leader_epoch_v3(topic, partition, current_leader_epoch, leader_epoch):
    body = i32(-1) + array([string(topic) + array([i32(partition) + i32(current_leader_epoch) + i32(leader_epoch)])])
    return request(23, 3, body)


def offset_for_leader_epoch_result(data):
    r = Reader(data)
    r.i32()
    r.i32()  # throttle
    r.i32()
    r.string()
    r.i32()
    err, _part, epoch, end = r.i16(), r.i32(), r.i32(), r.i64()
    return f"error {err}; leader epoch {epoch}; end offset {end}"


def list_offsets_v1(topic, partition, ts):
    return request(2, 1, i32(-1) + array([string(topic) + array([i32(partition) + i64(ts)])]))


def list_offsets_result(data):
    r = Reader(data)
    r.i32()
    r.i32()
    r.string()
    r.i32()
    r.i32()
    err = r.i16()
    r.i64()
    return err, r.i64()


def observe(kind, data, decode):
    if kind != "response":
        return kind
    try:
        return decode(data)
    except Exception as e:  # an undecodable answer is an observation too
        return f"undecodable response ({type(e).__name__}: {e}; {len(data)} B)"


def run_cases(bootstrap):
    topic = f"compat-probe-{uuid.uuid4().hex[:10]}"
    cases = {}

    def case(name, raw, decode, shutdown_write=False):
        kind, data = exchange(bootstrap, raw, shutdown_write)
        cases[name] = observe(kind, data, decode)
        if not still_serving(bootstrap):
            cases[name + " (then ApiVersions on a new connection)"] = "broker not serving"

    # ApiVersions
    def av0(data):
        corr, err, apis = parse_api_versions_v0(data)
        wanted = {0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 18: "ApiVersions"}
        ranges = ", ".join(f"{n} {apis[k][0]}-{apis[k][1]}" for k, n in wanted.items() if k in apis)
        cases["info: advertised versions"] = f"{ranges}; {len(apis)} APIs"
        return f"error {err}; correlation {'ok' if corr == 1 else corr}"

    def av_bad(data):
        corr, err, apis = parse_api_versions_v0(data)
        return f"error {err}; v0 body with {'ApiVersions' if 18 in apis else 'no ApiVersions'} listed"

    def av3(data):
        # Response header v0 (no tagged fields) even though the request is flexible:
        # correlation id, then error code, then a compact array of (key, min, max, tags).
        r = Reader(data)
        corr, err = r.i32(), r.i16()
        n, shift, b = 0, 0, 0x80
        while b & 0x80:
            b = r.i8() & 0xFF
            n |= (b & 0x7F) << shift
            shift += 7
        keys = []
        for _ in range(n - 1):
            keys.append(r.i16())
            r.i16(), r.i16(), r.i8()
        r.i32()  # throttle
        return f"error {err}; response header v0; correlation {'ok' if corr == 1 else corr}"

    case("ApiVersions v0", request(18, 0, b""), av0)
    case("ApiVersions v3 (flexible)", request(18, 3, api_versions_v3_body(), flexible=True), av3)
    case("ApiVersions v4 (flexible)", request(18, 4, api_versions_v3_body(), flexible=True), av3)
    case(
        "ApiVersions v99 (unknown version, flexible header)",
        request(18, 99, api_versions_v3_body(), flexible=True),
        av_bad,
    )
    case("unknown API key 9999", request(9999, 0, b""), lambda d: f"response of {len(d)} B")
    # Metadata: auto-create, then an invalid name
    case(
        "Metadata v4 auto-create new topic",
        metadata_v4([topic], True),
        lambda d: f"error {metadata_topic_errors(d)[topic][0]}",
    )
    # Wait until the new topic has a leader (auto-creation is asynchronous in Kafka).
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        kind, data = exchange(bootstrap, metadata_v4([topic], False))
        if kind == "response":
            err, parts = metadata_topic_errors(data)[topic]
            if err == 0 and parts and all(e == 0 for _, e in parts):
                cases["Metadata v4 after auto-create"] = "all partitions have a leader"
                cases["info: partitions of an auto-created topic"] = str(len(parts))
                break
        time.sleep(0.2)
    else:
        cases["Metadata v4 after auto-create"] = "topic never became available"
    case(
        "Metadata v4 invalid topic name",
        metadata_v4(["bad/name"], True),
        lambda d: f"error {metadata_topic_errors(d)['bad/name'][0]}",
    )
    case(
        "Metadata v4 unknown topic, no auto-create",
        metadata_v4([topic + "-absent"], False),
        lambda d: f"error {metadata_topic_errors(d)[topic + '-absent'][0]}",
    )
    # Produce
    good = record_batch([b"v0", b"v1"])

    def pr(d):
        err, base = produce_result(d)
        return f"error {err}" + (f"; base offset {base}" if err == 0 else "")

    case("Produce v7 ok (2 records)", produce_v7(topic, 0, good), pr)
    case("Produce v7 again (offsets continue)", produce_v7(topic, 0, good), pr)
    case("Produce v2 (below Kafka 4's minimum)", request(0, 2, i16(-1) + i32(1000) + array([])), lambda d: f"response of {len(d)} B")
    case("Produce v7 unknown topic", produce_v7(topic + "-absent", 0, good), pr)
    case("Produce v7 partition 99", produce_v7(topic, 99, good), pr)
    case("Produce v7 corrupt CRC", produce_v7(topic, 0, record_batch([b"x"], corrupt_crc=True)), pr)
    case("Produce v7 batch over message.max.bytes", produce_v7(topic, 0, record_batch([b"x" * 1_100_000])), pr)
    case("Produce v7 acks=2", produce_v7(topic, 0, good, acks=2), pr)
    junk = bytes(random.Random(7).getrandbits(8) for _ in range(80))
    case("Produce v7 records not a batch (garbage)", produce_v7(topic, 0, junk), pr)
    # Fetch / ListOffsets
    case("Fetch v4 offset 0", fetch_v4(topic, 0, 0), lambda d: f"error {fetch_error(d)}")
    case("Fetch v4 offset past end (100)", fetch_v4(topic, 0, 100), lambda d: f"error {fetch_error(d)}")
    case("Fetch v4 partition 99", fetch_v4(topic, 99, 0), lambda d: f"error {fetch_error(d)}")

    def lo(d):
        err, off = list_offsets_result(d)
        return f"error {err}; offset {off}"

    def f4(d):
        err, hw, lso, n = fetch_v4_partition(d)
        return f"error {err}; high watermark {hw}; last stable {lso}; records {'null' if n < 0 else f'{n} B' if n == 0 else 'non-empty'}"

    case("Fetch v4 at the end offset (4): empty records", fetch_v4(topic, 0, 4), f4)

    def f11(d):
        top, err, hw, start = fetch_v11_partition(d)
        return f"error {top}/{err}; high watermark {hw}; log start {start}"

    case("Fetch v11 current leader epoch 0", fetch_v11(topic, 0, 0, 0), f11)
    case("Fetch v11 current leader epoch -1 (no check)", fetch_v11(topic, 0, 0, -1), f11)
    case("Fetch v11 current leader epoch 99 (future)", fetch_v11(topic, 0, 0, 99), f11)
    case("OffsetForLeaderEpoch v3 epoch 0", offset_for_leader_epoch_v3(topic, 0, -1, 0), offset_for_leader_epoch_result)
    case("OffsetForLeaderEpoch v3 epoch 5 (unknown, above current)", offset_for_leader_epoch_v3(topic, 0, -1, 5), offset_for_leader_epoch_result)
    case("OffsetForLeaderEpoch v3 current leader epoch 99", offset_for_leader_epoch_v3(topic, 0, 99, 0), offset_for_leader_epoch_result)
    case("OffsetForLeaderEpoch v3 partition 99", offset_for_leader_epoch_v3(topic, 99, -1, 0), offset_for_leader_epoch_result)

    # Connection semantics: acks=0 gets no response; pipelined requests answer in order.
    def corr_ids(d):
        bodies = d if isinstance(d, list) else [d]
        return "responses with correlation ids " + ",".join(str(struct.unpack_from(">i", b)[0]) for b in bodies)

    acks0 = produce_v7(topic, 1, record_batch([b"a0"]), acks=0)
    acks0 = acks0[:8] + i32(21) + acks0[12:]  # correlation id 21
    case("Produce acks=0 (corr 21) then ApiVersions (corr 22)", acks0 + request(18, 0, b"", corr=22), corr_ids)
    pipelined = (
        request(18, 0, b"", corr=31)
        + metadata_v4([topic], False)[:8] + i32(32) + metadata_v4([topic], False)[12:]
        + list_offsets_v1(topic, 0, -1)[:8] + i32(33) + list_offsets_v1(topic, 0, -1)[12:]
        + fetch_v4(topic, 0, 0)[:8] + i32(34) + fetch_v4(topic, 0, 0)[12:]
    )
    kind, data = exchange(bootstrap, pipelined, responses=4)
    cases["4 pipelined requests on one connection"] = corr_ids(data) if kind == "response" else kind

    case("ListOffsets v1 latest", list_offsets_v1(topic, 0, -1), lo)
    case("ListOffsets v1 earliest", list_offsets_v1(topic, 0, -2), lo)
    case("ListOffsets v1 timestamp 0", list_offsets_v1(topic, 0, 0), lo)
    case("ListOffsets v1 timestamp in the future", list_offsets_v1(topic, 0, int(time.time() * 1000) + 3_600_000), lo)
    case("ListOffsets v1 partition 99", list_offsets_v1(topic, 99, -1), lo)
    # Malformed framing
    case("garbage bytes (size 64, all 0xff)", i32(64) + b"\xff" * 64, lambda d: f"response of {len(d)} B")
    case("size prefix 2 GiB", struct.pack(">I", 0x7FFFFFFF) + b"\0" * 64, lambda d: f"response of {len(d)} B")
    case("negative size prefix", i32(-5) + b"\0" * 16, lambda d: f"response of {len(d)} B")
    case(
        "truncated body (size 100, 20 bytes sent, write side closed)",
        i32(100) + request(18, 0, b"")[4:] + b"\0" * 2,
        lambda d: f"response of {len(d)} B",
        shutdown_write=True,
    )
    return cases


def main():
    args = sys.argv[1:]
    record = expect = None
    if "--record" in args:
        i = args.index("--record")
        record = args[i + 1]
        del args[i : i + 2]
    if "--expect" in args:
        i = args.index("--expect")
        expect = args[i + 1]
        del args[i : i + 2]
    bootstrap = args[0] if args else os.environ.get("BOOTSTRAP")
    if not bootstrap:
        print("usage: probe.py HOST:PORT [--record FILE] [--expect FILE]", file=sys.stderr)
        return 2
    try:
        cases = run_cases(bootstrap)
    except OSError as e:
        print(f"wire probe FAILED: cannot talk to {bootstrap}: {e}", file=sys.stderr)
        return 1
    width = max(len(k) for k in cases)
    for k, v in cases.items():
        print(f"{k:<{width}}  {v}")
    if record:
        with open(record, "w") as f:
            json.dump(cases, f, indent=2)
            f.write("\n")
    if expect:
        with open(expect) as f:
            want = json.load(f)
        diffs = []
        for k in sorted(set(want) | set(cases)):
            if k.startswith("info:") or want.get(k) == cases.get(k):
                continue
            accepted = ACCEPTED_DIFFERENCES.get(k)
            if accepted and cases.get(k) == accepted[0]:
                print(f"accepted difference: {k}: reference {want.get(k)!r}, observed "
                      f"{cases.get(k)!r} ({accepted[1]})")
                continue
            diffs.append(
                f"  {k}: reference {want.get(k, '(no such case)')!r}, "
                f"observed {cases.get(k, '(not observed)')!r}"
            )
        if diffs:
            print(f"wire probe FAILED: {len(diffs)} case(s) differ from {expect}:", file=sys.stderr)
            print("\n".join(diffs), file=sys.stderr)
            return 1
        print(f"wire probe: OK (all {len(cases)} cases match {os.path.basename(expect)})")
    return 0


# Differences from the reference that Skiff makes on purpose: case -> (Skiff's answer, why).
# They are printed, not failed; any other difference fails the probe.
ACCEPTED_DIFFERENCES = {
    "Metadata v4 auto-create new topic": (
        "error 0",
        "Skiff creates the topic synchronously and answers it at once; Kafka answers error 3 "
        "(UNKNOWN_TOPIC_OR_PARTITION) and the client retries after its metadata backoff",
    ),
}


if __name__ == "__main__":
    sys.exit(main())
