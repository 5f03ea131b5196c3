#!/usr/bin/env python3
"""Seeds of the request_frames fuzz target from the compat wire probe's requests.

Usage: probe_seeds.py CORPUS_DIR

Runs compat/wire/probe.py's cases without a broker: every byte string a case would send
(hand-encoded requests, including the malformed ones) is written to CORPUS_DIR as
`seed-probe-NN-MODE`, preceded by the harness's mode byte, once with each mode (1: size
prefixes refitted; 0: sent as they are, for the framing cases). The probe's topic name is fixed ("compat-probe-0000000000"),
a topic the fuzz broker holds.
"""

import os
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "compat", "wire"))

import probe  # noqa: E402


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    sent = []

    def exchange(_bootstrap, raw, shutdown_write=False, responses=1):
        sent.append(raw)
        return "disconnect", None

    probe.exchange = exchange
    probe.still_serving = lambda _bootstrap: True
    probe.uuid.uuid4 = lambda: uuid.UUID(int=0)
    probe.run_cases("127.0.0.1:9")
    for i, raw in enumerate(sent):
        for mode in (0, 1):
            with open(os.path.join(out, f"seed-probe-{i:03}-{mode}"), "wb") as f:
                f.write(bytes([mode]) + raw)
    print(f"{2 * len(sent)} probe seeds in {out}")


if __name__ == "__main__":
    main()
