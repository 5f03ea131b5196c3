#!/usr/bin/env python3
"""Set or remove a client id's producer_byte_rate quota, for the quota scenarios' set-up.

Usage: client_quota.py set HOST:PORT CLIENT_ID BYTES_PER_SECOND
       client_quota.py remove HOST:PORT CLIENT_ID

Sends AlterClientQuotas through kafka-python's own protocol classes (its KafkaAdminClient
has no quota call), then polls DescribeClientQuotas until the change is visible: Kafka
applies it through its metadata log after answering.
"""

import sys
import time

from kafka.admin import KafkaAdminClient
from kafka.protocol.admin import AlterClientQuotasRequest, DescribeClientQuotasRequest

KEY = "producer_byte_rate"


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in ("set", "remove") or (sys.argv[1] == "set") != (len(sys.argv) == 5):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    action, bootstrap, client_id = sys.argv[1], sys.argv[2], sys.argv[3]
    rate = float(sys.argv[4]) if action == "set" else None
    a = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="skiff-quota-setup", request_timeout_ms=15000)

    async def send(req):
        return await a._manager.send(req)

    try:
        Entry = AlterClientQuotasRequest.EntryData
        req = AlterClientQuotasRequest(
            entries=[Entry(
                entity=[Entry.EntityData(entity_type="client-id", entity_name=client_id)],
                ops=[Entry.OpData(key=KEY, value=rate or 0.0, remove=rate is None)],
            )],
            validate_only=False,
        )
        resp = a._manager.run(send, req)
        for e in resp.entries:
            if e.error_code != 0:
                raise SystemExit(f"AlterClientQuotas failed: {e.error_code} {e.error_message}")
        Component = DescribeClientQuotasRequest.ComponentData
        describe = DescribeClientQuotasRequest(
            components=[Component(entity_type="client-id", match_type=0, match=client_id)], strict=True)
        deadline = time.monotonic() + 15
        while True:
            resp = a._manager.run(send, describe)
            values = {v.key: v.value for e in (resp.entries or []) for v in e.values}
            if values.get(KEY) == rate:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"quota of {client_id} not visible: {values}")
            time.sleep(0.1)
    finally:
        a.close()
    print(f"client quota: {action} {client_id} {KEY}={rate}", file=sys.stderr)


if __name__ == "__main__":
    main()
