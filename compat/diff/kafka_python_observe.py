#!/usr/bin/env python3
"""Differential observer for kafka-python (pure Python, its own protocol code): the raw
answers of KafkaAdminClient, whose 3.x API hands back per-topic error codes as sent.

Usage: kafka_python_observe.py admin|features|cluster HOST:PORT OUT.json

Observes: the advertised API version ranges (ApiVersions, name → [min, max]); CreateTopics
per-topic error codes (and whether an error message came along), num_partitions and
replication_factor answered; CreatePartitions; DeleteTopics; DescribeConfigs of an unknown
topic; AlterConfigs (legacy and incremental) error codes; DeleteRecords; ListOffsets;
DescribeGroups / DeleteGroups / ListGroups of unknown groups; dynamic broker configs
(IncrementalAlterConfigs on the cluster-wide default and on this broker, DescribeConfigs of
both and of a topic, with synonyms); DescribeCluster (counts and presence only). Normalised as in JavaObserve.java: logical topic names, no ids, hosts or
ports. `features`: the raw features of ApiVersions v3 and v4 and describe_features.
`cluster`: describe_metadata_quorum, list_config_resources, elect_leaders and the partition
reassignment calls of a one-node cluster. Exits 0
whenever the observation was written.
"""

import json
import re
import sys
import time
import uuid

from kafka import TopicPartition
from kafka.admin import AlterConfigOp, ConfigResource, ConfigResourceType, KafkaAdminClient, NewPartitions, NewTopic

RUN = uuid.uuid4().hex[:8]
LOGICAL = {}


def step(msg):
    print(f"kafka-python-observe: {msg}", file=sys.stderr, flush=True)


def topic(name):
    real = f"diffk-{name}-{RUN}"
    LOGICAL[real] = name
    return real


def error_text(value):
    """'[Error 40] InvalidConfigurationError: ...' → 'InvalidConfigurationError(40)'."""
    m = re.search(r"\[Error (-?\d+)\] (\w+)", str(value))
    return f"{m.group(2)}({m.group(1)})" if m else str(value)


def attempt(fn, describe=lambda r: {"result": r}):
    try:
        value = fn()
    except Exception as e:  # every failure is an observation
        return {"error": error_text(e) if "[Error" in str(e) else f"CLIENT_EXCEPTION:{type(e).__name__}"}
    out = {"error": "NONE"}
    out.update(describe(value))
    return out


def topic_results(resp):
    """CreateTopics/DeleteTopics answers by logical topic name, without ids and texts."""
    out = {}
    for t in resp.get("topics", []):
        name = LOGICAL.get(t["name"], "<other>")
        entry = {"error_code": t["error_code"], "error_message": "present" if t.get("error_message") else "absent"}
        for key in ("num_partitions", "replication_factor", "topic_config_error_code"):
            if key in t:
                entry[key] = t[key]
        if "topic_id" in t:
            entry["topic_id"] = "present" if t["topic_id"] else "absent"
        if "configs" in t:
            entry["configs_returned"] = len(t["configs"] or {}) > 0
        out[name] = entry
    return out


def broker_configs_observation(a, t):
    """Dynamic broker configs: IncrementalAlterConfigs SET / DELETE of message.max.bytes on
    the cluster-wide default resource (name "") and on this broker (its node id), and the
    DescribeConfigs answers (value, source, read-only, synonyms) of both resources and of
    topic t's max.message.bytes after each change. kafka-python's public API refuses the
    empty resource name, so requests are built and sent with its own (private) helpers.
    Kafka applies a change through its metadata log after answering: every describe after a
    change polls (bounded) until the value set is in force. Everything set is deleted again."""
    from kafka.errors import for_code

    node = str(sorted(b.node_id for b in a._manager.cluster.brokers())[0])

    async def send(req):
        return await a._manager.send(req)

    def alter(resource, configs, validate_only=False):
        cr = ConfigResource(ConfigResourceType.BROKER, resource, configs=configs)
        try:
            resp = a._manager.run(send, a._alter_configs_request([cr], validate_only, True))
        except Exception as e:  # noqa: BLE001 - every failure is an observation
            return f"CLIENT_EXCEPTION:{type(e).__name__}"
        code = resp.responses[0].error_code
        return "NONE" if code == 0 else f"{for_code(code).__name__}({code})"

    def describe(rtype, resource, names):
        cr = ConfigResource(rtype, resource, configs=names)
        resp = a._manager.run(send, a._describe_configs_request([cr], True))
        res = a._describe_configs_process_responses([resp], "all")
        ent = res.get(rtype.name.lower(), {}).get(resource, {})
        return {n: {"value": e.get("value"), "source": str(e.get("config_source")), "read_only": e.get("read_only"),
                    "synonyms": [[y.get("name"), y.get("value"), str(y.get("source"))] for y in e.get("synonyms") or []]}
                for n, e in sorted(ent.items())}

    def settled(value):
        """This broker's message.max.bytes once it is `value` (polled, at most 15 s)."""
        deadline = time.time() + 15
        while True:
            cur = describe(ConfigResourceType.BROKER, node, ["message.max.bytes"])
            if cur.get("message.max.bytes", {}).get("value") == value or time.time() > deadline:
                return cur
            time.sleep(0.1)

    def snapshot(value):
        return {"broker": settled(value),
                "default_resource": describe(ConfigResourceType.BROKER, "", None),
                "topic": describe(ConfigResourceType.TOPIC, t, ["max.message.bytes"])}

    mmb = "message.max.bytes"
    b = {"before": snapshot("1048588")}
    b["set_default_validate_only"] = alter("", {mmb: "2000000"}, validate_only=True)
    b["after_validate_only"] = snapshot("1048588")
    b["set_default"] = alter("", {mmb: "2000000"})
    b["after_set_default"] = snapshot("2000000")
    b["set_broker"] = alter(node, {mmb: "3000000"})
    b["after_set_broker"] = snapshot("3000000")
    b["set_broker_read_only"] = alter(node, {"node.id": "5"})
    b["set_broker_bad_value"] = alter(node, {mmb: "-5"})
    b["set_default_bad_value"] = alter("", {mmb: "abc"})
    b["set_unknown_broker"] = alter("7", {mmb: "2000000"})
    b["delete_broker"] = alter(node, {mmb: (AlterConfigOp.DELETE, None)})
    b["after_delete_broker"] = snapshot("2000000")
    b["delete_default"] = alter("", {mmb: (AlterConfigOp.DELETE, None)})
    b["after_delete_default"] = snapshot("1048588")
    return b


def admin_observation(bootstrap):
    out = {}
    a = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="skiff-diff-kafka-python", request_timeout_ms=15000)
    try:
        step("api versions")
        out["api_versions"] = {
            getattr(k, "name", str(k)): list(v) for k, v in sorted(a.api_versions().items(), key=lambda kv: int(kv[0]))
        }

        step("create topics")
        t = topic("admin")
        c = {}
        c["create"] = topic_results(a.create_topics([NewTopic(t, 2, 1)], raise_errors=False))
        batch = [
            NewTopic(t, 1, 1),
            NewTopic(topic("rf3"), 1, 3),
            NewTopic(topic("zero"), 0, 1),
            NewTopic(topic("unknown-config"), 1, 1, topic_configs={"no.such.config": "1"}),
            NewTopic(topic("bogus-policy"), 1, 1, topic_configs={"cleanup.policy": "bogus"}),
            NewTopic(topic("defaults"), -1, -1),
        ]
        c["batch"] = topic_results(a.create_topics(batch, raise_errors=False))
        c["bad_name"] = {"error": error_text(
            attempt(lambda: a.create_topics([NewTopic(f"bad/name-{RUN}", 1, 1)]))["error"])}
        c["validate_only"] = topic_results(a.create_topics([NewTopic(topic("validate"), 3, 1)], validate_only=True,
                                                          raise_errors=False))
        out["create_topics"] = c

        step("create partitions")
        cp = {}
        for label, name, n in (("decrease", t, 1), ("same", t, 2), ("unknown", topic("nope"), 4), ("grow", t, 3)):
            r = a.create_partitions({name: NewPartitions(n)}, raise_errors=False)
            cp[label] = [{"error_code": x.error_code, "error_message": "present" if x.error_message else "absent"}
                         for x in r.results]
        out["create_partitions"] = cp

        step("delete topics")
        out["delete_unknown_topic"] = topic_results(a.delete_topics([topic("missing")], raise_errors=False))

        step("configs")
        cfg = {}
        missing = topic("missing")
        cfg["describe_unknown_topic"] = attempt(
            lambda: a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, missing)], config_filter="all"),
            lambda r: {"entries": len(r.get("topic", {}).get(missing, {}))})
        cfg["describe_modified"] = attempt(
            lambda: a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t)], config_filter="modified"),
            lambda r: {"entries": sorted(r.get("topic", {}).get(t, {}))})

        def alter(configs, incremental=False, name=t):
            return attempt(lambda: a.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name, configs=configs)],
                                                   raise_on_unknown=False, incremental=incremental),
                           lambda r: {"result": error_text(r.get("topic", {}).get(name))})

        cfg["legacy_bad_value"] = alter({"retention.ms": "abc"})
        cfg["legacy_unknown_name"] = alter({"no.such.config": "1"})
        cfg["legacy_set"] = alter({"retention.ms": "1000", "cleanup.policy": "compact"})
        cfg["after_legacy_set"] = attempt(
            lambda: a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t)], config_filter="modified"),
            lambda r: {"entries": {k: v.get("value") for k, v in sorted(r.get("topic", {}).get(t, {}).items())}})
        cfg["legacy_set_one_more"] = alter({"segment.ms": "600000"})
        cfg["after_legacy_set_one_more"] = attempt(
            lambda: a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t)], config_filter="modified"),
            lambda r: {"entries": {k: v.get("value") for k, v in sorted(r.get("topic", {}).get(t, {}).items())}})
        cfg["incremental_set"] = alter({"retention.ms": "2000"}, incremental=True)
        cfg["incremental_unknown_name"] = alter({"no.such.config": "1"}, incremental=True)
        cfg["after_incremental"] = attempt(
            lambda: a.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t)], config_filter="modified"),
            lambda r: {"entries": {k: v.get("value") for k, v in sorted(r.get("topic", {}).get(t, {}).items())}})
        cfg["incremental_unknown_topic"] = alter({"retention.ms": "2000"}, incremental=True, name=missing)
        out["configs"] = cfg

        step("records and offsets")
        r = {}
        tp = TopicPartition(t, 0)
        # The topic is compacted by now (cleanup.policy=compact above; kafka-python's legacy
        # AlterConfigs sends the other current overrides along).
        r["delete_records_compacted_beyond_end"] = attempt(lambda: a.delete_records({tp: 5}))
        r["delete_records_compacted_at_end"] = attempt(lambda: a.delete_records({tp: 0}),
                                             lambda x: {"low_watermarks": sorted(v for v in x.values())
                                                        if isinstance(x, dict) else str(type(x))})
        r["list_offsets_latest"] = attempt(lambda: a.list_partition_offsets({tp: -1}),
                                           lambda x: {"offsets": [(o.offset, o.timestamp, o.leader_epoch) for o in x.values()]})
        r["list_offsets_earliest"] = attempt(lambda: a.list_partition_offsets({tp: -2}),
                                             lambda x: {"offsets": [(o.offset, o.timestamp, o.leader_epoch) for o in x.values()]})
        out["records"] = r

        step("groups")
        g = {}
        unknown = f"diffkg-never-{RUN}"

        def describe_unknown():
            # The first FindCoordinator of a fresh Kafka may answer COORDINATOR_NOT_AVAILABLE
            # while __consumer_offsets is created: retried (bounded).
            deadline = time.time() + 20
            while True:
                try:
                    return a.describe_groups([unknown])
                except Exception as e:
                    if "CoordinatorNotAvailable" not in str(e) or time.time() > deadline:
                        raise
                    time.sleep(0.2)

        g["describe_unknown"] = attempt(describe_unknown, lambda x: {
            "state": x[unknown].get("group_state"), "protocol_type": x[unknown].get("protocol_type"),
            "members": len(x[unknown].get("members") or []), "error": error_text(x[unknown].get("error"))})
        g["delete_unknown"] = attempt(lambda: a.delete_groups([unknown]), lambda x: {"result": str(x.get(unknown))})
        g["list_has_unknown"] = attempt(lambda: a.list_groups(), lambda x: {"listed": any(
            (grp.get("group_id") if isinstance(grp, dict) else grp[0]) == unknown for grp in x)})
        out["groups"] = g

        step("broker configs")
        out["broker_configs"] = broker_configs_observation(a, t)

        step("cluster")
        out["describe_cluster"] = attempt(a.describe_cluster, lambda x: {
            "cluster_id": "present" if x.get("cluster_id") else "absent",
            "controller_id": "present" if x.get("controller_id", -1) >= 0 else "absent",
            "brokers": len(x.get("brokers", [])),
            "authorized_operations": x.get("authorized_operations")})
        a.delete_topics([t, f"diffk-defaults-{RUN}"], raise_errors=False)
    finally:
        a.close()
    return out


def features_observation(bootstrap):
    """The raw features of ApiVersions v3 and v4 (KIP-584; v3 leaves out supported features
    whose minimum is 0, KIP-1022): supported ranges, finalized levels (min and max level as
    sent), and the finalized epoch as present/absent (Kafka's is a metadata log offset)."""
    from kafka.protocol.metadata import ApiVersionsRequest

    out = {}
    a = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="skiff-diff-kafka-python", request_timeout_ms=15000)
    try:
        async def send(req):
            return await a._manager.send(req)

        for version in (3, 4):
            step(f"api versions v{version}")
            req = ApiVersionsRequest(client_software_name="skiff-diff", client_software_version="1",
                                     min_version=version, max_version=version)

            def describe(resp):
                return {
                    "error_code": resp.error_code,
                    "supported": {f.name: [f.min_version, f.max_version]
                                  for f in sorted(resp.supported_features or [], key=lambda f: f.name)},
                    "finalized": {f.name: [f.min_version_level, f.max_version_level]
                                  for f in sorted(resp.finalized_features or [], key=lambda f: f.name)},
                    "finalized_epoch": "present" if (resp.finalized_features_epoch or -1) >= 0 else "absent",
                }

            out[f"v{version}"] = attempt(lambda: a._manager.run(send, req), describe)
        out["describe_features"] = attempt(a.describe_features, lambda r: {
            "features": {n: {k: (list(v) if isinstance(v, tuple) else ("present" if v is not None else "absent"))
                             for k, v in sorted(f.items())} for n, f in sorted(r.items())}})
    finally:
        a.close()
    return out


def cluster_observation(bootstrap):
    """The answers of a one-node cluster through KafkaAdminClient (issue 12):
    describe_metadata_quorum (raw DescribeQuorum), list_config_resources (and raw
    ListConfigResources v0 and v1 with an unknown type), elect_leaders (raw per-partition
    codes), alter_partition_reassignments and list_partition_reassignments. Node ids are
    "this_node"/"other:ID", ports and offsets present/absent, topic names logical."""
    from kafka.protocol.admin import ListConfigResourcesRequest

    out = {}
    a = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="skiff-diff-kafka-python", request_timeout_ms=15000)
    try:
        t = topic("cluster")
        a.create_topics([NewTopic(t, 2, 1)], raise_errors=False)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            parts = (a.describe_topics([t]) or [{}])[0].get("partitions") or []
            if len(parts) == 2 and all(p.get("leader_id", -1) >= 0 for p in parts):
                break
            time.sleep(0.1)
        self_id = a.describe_cluster()["brokers"][0]["broker_id"]

        def node(i):
            return "this_node" if i == self_id else f"other:{i}"

        def replica(r):
            return {
                "replica_id": node(r["replica_id"]),
                "log_end_offset": "present" if r["log_end_offset"] >= 0 else r["log_end_offset"],
                "last_fetch_timestamp": "present" if r.get("last_fetch_timestamp", -1) > 0 else r.get("last_fetch_timestamp"),
                "last_caught_up_timestamp": "present" if r.get("last_caught_up_timestamp", -1) > 0 else r.get("last_caught_up_timestamp"),
                "replica_directory_id": "present" if r.get("replica_directory_id") not in (None, "AAAAAAAAAAAAAAAAAAAAAA")
                and str(r.get("replica_directory_id")) not in ("None", "AAAAAAAAAAAAAAAAAAAAAA") else "absent",
            }

        def quorum(r):
            topics = {}
            for tp in r["topics"]:
                parts = {}
                for p in tp["partitions"]:
                    parts[str(p["partition_index"])] = {
                        "error": p["error"],
                        "leader_id": node(p["leader_id"]),
                        "leader_epoch_positive": p["leader_epoch"] > 0,
                        "high_watermark": "positive" if p["high_watermark"] > 0 else p["high_watermark"],
                        "current_voters": [replica(v) for v in p["current_voters"]],
                        "observers": [replica(v) for v in p["observers"]],
                    }
                topics[tp["topic_name"]] = parts
            nodes = {node(n["node_id"]): sorted(f"{l['name']} {'<bootstrap-port>' if bootstrap.endswith(':' + str(l['port'])) else '<other-port>'}"
                                                for l in n["listeners"]) for n in r.get("nodes", [])}
            return {"topics": topics, "nodes": nodes}

        step("describe metadata quorum")
        out["describe_metadata_quorum"] = attempt(a.describe_metadata_quorum, quorum)

        step("list config resources")

        def names(r):
            shown = {}
            for kind, listed in sorted(r.items()):
                vals = set()
                for n in listed:
                    if kind in ("broker", "broker_logger"):
                        vals.add(node(int(n)) if n.isdigit() else n)
                    elif n in LOGICAL:
                        vals.add(LOGICAL[n])
                    # other scenarios' topics and the internal ones depend on what ran before
                shown[kind] = sorted(vals)
            return {"resources": shown}

        lc = {"all": attempt(a.list_config_resources, names)}
        for kind in ("TOPIC", "BROKER", "GROUP", "CLIENT_METRICS", "BROKER_LOGGER"):
            lc[kind] = attempt(lambda: a.list_config_resources([kind]), names)

        async def send(req):
            return await a._manager.send(req)

        def raw(resp):
            return {"error_code": resp.error_code, "count_by_type": {
                str(getattr(c, "resource_type", "v0")): "some" for c in resp.config_resources}}

        lc["raw_v0"] = attempt(lambda: a._manager.run(send, ListConfigResourcesRequest(min_version=0, max_version=0)), raw)
        lc["raw_v1_unknown_type"] = attempt(
            lambda: a._manager.run(send, ListConfigResourcesRequest(resource_types=[99], min_version=1, max_version=1)), raw)
        lc["raw_v1_type_unknown_0"] = attempt(
            lambda: a._manager.run(send, ListConfigResourcesRequest(resource_types=[0], min_version=1, max_version=1)), raw)
        out["list_config_resources"] = lc

        step("elect leaders")

        def elect(r):
            res = {"top_error_code": getattr(r, "error_code", None)}
            per = {}
            for tr in r.replica_election_results:
                for p in tr.partition_result:
                    per[f"{LOGICAL.get(tr.topic, '<other>')}-{p.partition_id}"] = [p.error_code, "message" if p.error_message else "no message"]
            res["partitions"] = dict(sorted((k, v) for k, v in per.items() if not k.startswith("<other>")))
            return res

        el = {}
        for label, kind in (("preferred", 0), ("unclean", 1)):
            el[label] = attempt(lambda: a.elect_leaders(kind, {t: [0, 1]}, raise_errors=False), elect)
            el[label + "_unknown_topic"] = attempt(lambda: a.elect_leaders(kind, {topic("missing"): [0]}, raise_errors=False), elect)
            el[label + "_unknown_partition"] = attempt(lambda: a.elect_leaders(kind, {t: [9]}, raise_errors=False), elect)
            el[label + "_all"] = attempt(lambda: a.elect_leaders(kind, None, raise_errors=False), elect)
        out["elect_leaders"] = el

        step("partition reassignments")

        def reassigned(r):
            return {"partitions": {f"{LOGICAL.get(tp.topic, '<other>')}-{tp.partition}": (e.__name__ if e else None)
                                   for tp, e in sorted(r.items())}}

        def listed(r):
            return {"ongoing": {f"{LOGICAL.get(tp.topic, '<other>')}-{tp.partition}": v for tp, v in sorted(r.items())}}

        pr = {"list_all_before": attempt(a.list_partition_reassignments, listed)}
        pr["to_this_node"] = attempt(lambda: a.alter_partition_reassignments({TopicPartition(t, 0): [self_id]}), reassigned)
        pr["mixed"] = attempt(lambda: a.alter_partition_reassignments({
            TopicPartition(t, 1): [4242],
            TopicPartition(t, 0): None,
            TopicPartition(topic("missing"), 0): [self_id],
            TopicPartition(t, 9): [self_id],
        }), reassigned)
        pr["list_some"] = attempt(lambda: a.list_partition_reassignments([TopicPartition(t, 0), TopicPartition(topic("missing"), 0)]), listed)
        pr["list_all_after"] = attempt(a.list_partition_reassignments, listed)
        out["partition_reassignments"] = pr
        a.delete_topics([t], raise_errors=False)
    finally:
        a.close()
    return out


def main():
    modes = {"admin": admin_observation, "features": features_observation, "cluster": cluster_observation}
    if len(sys.argv) != 4 or sys.argv[1] not in modes:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    import kafka

    mode = sys.argv[1]
    obs = modes[mode](sys.argv[2])
    doc = {"observer": f"kafka-python {kafka.__version__}", "scenario": f"kafka-python-{mode}", "observation": obs}
    with open(sys.argv[3], "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    step(f"wrote {sys.argv[3]}")


if __name__ == "__main__":
    main()
