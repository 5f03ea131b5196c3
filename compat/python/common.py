"""Shared pieces of the Python smoke scenarios: arguments, the records they produce, and
an exact comparison that names the first difference."""

import os
import sys
import time
import uuid
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

Header = Tuple[str, Optional[bytes]]


class Mismatch(Exception):
    """What a client observed differs from what the scenario expects."""


def bootstrap_from_args(prog: str) -> str:
    """The bootstrap address: argv[1], else $BOOTSTRAP; exits with usage otherwise."""
    if len(sys.argv) > 1 and sys.argv[1] not in ("-h", "--help"):
        return sys.argv[1]
    if os.environ.get("BOOTSTRAP") and len(sys.argv) == 1:
        return os.environ["BOOTSTRAP"]
    print(f"usage: {prog} HOST:PORT (or set BOOTSTRAP)", file=sys.stderr)
    sys.exit(2)


def unique_topic(prefix: str) -> str:
    """A topic name no earlier run used."""
    return f"{prefix}-{int(time.time())}-{uuid.uuid4().hex[:8]}"


def check(cond: bool, what: str) -> None:
    """Raise Mismatch(what) unless cond holds."""
    if not cond:
        raise Mismatch(what)


def step(name: str, msg: str) -> None:
    """A progress line on stderr."""
    print(f"{name}: {msg}", file=sys.stderr, flush=True)


@dataclass
class Rec:
    """One record as produced or as observed."""

    partition: int
    key: Optional[bytes]
    value: Optional[bytes]
    headers: List[Header]
    timestamp: int
    offset: int = -1

    def brief(self) -> str:
        """A short printable form for mismatch messages."""

        def cut(b: Optional[bytes]) -> str:
            if b is None:
                return "None"
            return repr(b[:24]) + (f"...({len(b)} B)" if len(b) > 24 else "")

        return (
            f"p{self.partition}@{self.offset} ts={self.timestamp} key={cut(self.key)} "
            f"value={cut(self.value)} headers={[(k, cut(v)) for k, v in self.headers]}"
        )


def make_records(n: int, partitions: int, base_ts: int, salt: str, null_header_values: bool = True) -> List[Rec]:
    """n records spread round-robin over the partitions, with every shape a client must
    round-trip: null/empty keys, null/empty values, duplicate header keys in order, a null
    header value, no headers, a large incompressible value and compressible text.
    Timestamps increase by 10 ms from base_ts, so offsets_for_times has exact answers.
    null_header_values=False leaves out the null header value (kafka-python cannot send one)."""
    recs = []
    for i in range(n):
        if i % 17 == 5:
            key = None
        elif i % 19 == 7:
            key = b""
        else:
            key = f"key-{salt}-{i}".encode()
        if i % 23 == 11:
            value = None
        elif i % 29 == 13:
            value = b""
        elif i == n - 1:
            value = os.urandom(200_000)  # larger than a default socket read, incompressible
        else:
            value = (f"value {i} of {salt}; " * (1 + i % 40)).encode()
        if i % 3 == 0:
            headers: List[Header] = [("dup", b"1"), ("other", b"x"), ("dup", b"2"), ("dup", b"3")]
        elif i % 3 == 1:
            headers = [("empty", b""), ("nullv", None), ("bin", bytes([0, 255, i % 256]))]
            if not null_header_values:
                headers = [h for h in headers if h[1] is not None]
        else:
            headers = []
        recs.append(Rec(i % partitions, key, value, headers, base_ts + 10 * i))
    return recs


def compare_partition(label: str, want: Sequence[Rec], got: Sequence[Rec]) -> None:
    """Exact comparison of one partition's records (offsets included)."""
    for i, (w, g) in enumerate(zip(want, got)):
        for field in ("partition", "offset", "key", "value", "headers", "timestamp"):
            if getattr(w, field) != getattr(g, field):
                raise Mismatch(
                    f"{label}: record #{i} differs in {field}\n  want {w.brief()}\n  got  {g.brief()}"
                )
    check(
        len(want) == len(got),
        f"{label}: want {len(want)} records, got {len(got)}"
        + (f"; first extra: {got[len(want)].brief()}" if len(got) > len(want) else ""),
    )


def run_main(name: str, body) -> None:
    """Run body(), print one OK/FAILED line, exit 0/1."""
    started = time.monotonic()
    try:
        body()
    except Mismatch as e:
        print(f"{name} FAILED: {e}", file=sys.stderr)
        sys.exit(1)
    except Exception as e:  # a client error is a failure of the scenario too
        import traceback

        traceback.print_exc()
        print(f"{name} FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"{name}: OK ({time.monotonic() - started:.1f}s)")
