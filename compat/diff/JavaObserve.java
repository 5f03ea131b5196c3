// Differential observer for the Java client (kafka-clients 4.1.1): drives the AdminClient,
// the producer (plain, compressed, transactional) and consumers (classic and KIP-848 groups)
// through one scenario and writes everything the client observed as normalised JSON, so the
// same scenario against two brokers can be compared key by key (compat/diff/compare.py).
//
// Usage: java -cp 'target/kafka-libs/*' compat/diff/JavaObserve.java SCENARIO HOST:PORT OUT.json
//   SCENARIO: offsets | errors | configs | groups | features | cluster | telemetry | quotas | jbod
//   (jbod expects a broker with two log dirs)
//
// Normalisation: per-run topic and group names appear under their logical names (the run's
// random suffix never reaches the output); broker ids, hosts, ports, cluster ids, topic ids,
// member ids are written as "present"/"absent"; record timestamps are the fixed ones the
// scenario produces with (or, for broker-assigned times, a relation to the wall clock).
// Every admin call that fails is recorded as its Kafka error name (Errors.forException), so
// a wrong error code is a difference, not a crash. The program exits 0 whenever it could
// write the observation; only a scenario that cannot run at all (broker gone) exits 1.

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterPartitionReassignmentsOptions;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListConfigResourcesOptions;
import org.apache.kafka.clients.admin.ListPartitionReassignmentsOptions;
import org.apache.kafka.clients.admin.NewPartitionReassignment;
import org.apache.kafka.clients.admin.QuorumInfo;
import org.apache.kafka.clients.admin.RaftVoterEndpoint;
import org.apache.kafka.common.ElectionType;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.DescribeConfigsOptions;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class JavaObserve {
  static final long WAIT_MS = 30_000;
  /** Fixed record timestamps: far enough in the past to be accepted, never wall-clock. */
  static final long T0 = 1_700_000_000_000L;

  static String bootstrap;
  static final String RUN = UUID.randomUUID().toString().substring(0, 8);
  /** Real (per-run) name → logical name, for anything that might echo a name back. */
  static final Map<String, String> logical = new HashMap<>();

  static void step(String msg) {
    System.err.println("java-observe: " + msg);
  }

  static String topic(String name) {
    String real = "diff-" + name + "-" + RUN;
    logical.put(real, name);
    return real;
  }

  static String group(String name) {
    String real = "diffg-" + name + "-" + RUN;
    logical.put(real, name);
    return real;
  }

  static String logicalName(String real) {
    return logical.getOrDefault(real, "<other>");
  }

  static Map<String, Object> obj() {
    return new LinkedHashMap<>();
  }

  /** The Kafka error name a failure stands for ("NONE" for success). */
  static String errorName(Throwable t) {
    while ((t instanceof ExecutionException || t instanceof java.util.concurrent.CompletionException) && t.getCause() != null) {
      t = t.getCause();
    }
    if (t instanceof java.util.concurrent.TimeoutException) return "CLIENT_TIMEOUT";
    Errors e = Errors.forException(t);
    if (e == Errors.UNKNOWN_SERVER_ERROR && !(t instanceof org.apache.kafka.common.errors.UnknownServerException)) {
      return "CLIENT_EXCEPTION:" + t.getClass().getSimpleName();
    }
    return e.name();
  }

  interface Body<T> {
    T call() throws Exception;
  }

  /** Runs body; returns {"error": NAME} on failure, else {"error": "NONE", ...describe(result)}. */
  static <T> Map<String, Object> attempt(Body<T> body, java.util.function.Function<T, Map<String, Object>> describe) {
    Map<String, Object> out = obj();
    try {
      T v = body.call();
      out.put("error", "NONE");
      if (describe != null) out.putAll(describe.apply(v));
    } catch (Exception e) {
      out.put("error", errorName(e));
    }
    return out;
  }

  static <T> Map<String, Object> attempt(Body<T> body) {
    return attempt(body, null);
  }

  static <T> T get(KafkaFuture<T> f) throws Exception {
    return f.get(WAIT_MS, TimeUnit.MILLISECONDS);
  }

  static Admin admin() {
    return admin(25_000);
  }

  /** An admin client with a short API timeout, for requests the client retries until then. */
  static Admin quickAdmin() {
    return admin(5_000);
  }

  static Admin admin(int apiTimeoutMs) {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.CLIENT_ID_CONFIG, "skiff-diff-java-admin");
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Math.min(15_000, apiTimeoutMs));
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, apiTimeoutMs);
    return Admin.create(p);
  }

  static KafkaProducer<String, String> producer(Map<String, Object> extra) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "skiff-diff-java-producer");
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.LINGER_MS_CONFIG, 1000); // batches are cut by flush(), not by time
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30_000);
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000);
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 15_000);
    p.putAll(extra);
    return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
  }

  static KafkaConsumer<String, String> consumer(Map<String, Object> extra) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, "skiff-diff-java-consumer");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 100);
    p.putAll(extra);
    return new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer());
  }

  static void createTopic(Admin a, String real, int partitions, Map<String, String> configs) throws Exception {
    NewTopic t = new NewTopic(real, partitions, (short) 1);
    if (configs != null) t.configs(configs);
    get(a.createTopics(List.of(t)).all());
    awaitTopic(a, real, partitions);
  }

  static void awaitTopic(Admin a, String real, int partitions) throws Exception {
    // Wait until the topic is visible with every partition led, as clients need it.
    long deadline = System.currentTimeMillis() + WAIT_MS;
    while (true) {
      try {
        TopicDescription d = get(a.describeTopics(List.of(real)).topicNameValues().get(real));
        if (d.partitions().size() == partitions && d.partitions().stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty())) return;
      } catch (ExecutionException e) {
        // not there yet
      }
      if (System.currentTimeMillis() > deadline) throw new IllegalStateException("topic " + real + " never became ready");
      Thread.sleep(100);
    }
  }

  // ---------------------------------------------------------------------------------------
  // offsets

  static Map<String, Object> sendAll(KafkaProducer<String, String> p, String real, int partition, long[] tsDeltas, String tag) throws Exception {
    List<Future<RecordMetadata>> fs = new ArrayList<>();
    for (int i = 0; i < tsDeltas.length; i++) {
      fs.add(p.send(new ProducerRecord<>(real, partition, T0 + tsDeltas[i], tag + "-k" + i, tag + "-value-" + i + "-" + "x".repeat(200))));
    }
    p.flush();
    List<Object> offsets = new ArrayList<>();
    List<Object> timestamps = new ArrayList<>();
    String error = "NONE";
    for (Future<RecordMetadata> f : fs) {
      try {
        RecordMetadata md = f.get(WAIT_MS, TimeUnit.MILLISECONDS);
        offsets.add(md.offset());
        timestamps.add(md.timestamp() - T0);
      } catch (Exception e) {
        error = errorName(e);
        offsets.add(null);
        timestamps.add(null);
      }
    }
    Map<String, Object> o = obj();
    o.put("error", error);
    o.put("partition", partition);
    o.put("offsets", offsets);
    o.put("timestamps_minus_t0", timestamps);
    return o;
  }

  static Map<String, Object> listOffsets(Admin a, String real, int partitions, OffsetSpec spec, IsolationLevel iso) {
    Map<String, Object> out = obj();
    Map<TopicPartition, OffsetSpec> req = new LinkedHashMap<>();
    for (int p = 0; p < partitions; p++) req.put(new TopicPartition(real, p), spec);
    ListOffsetsResult r = a.listOffsets(req, new ListOffsetsOptions(iso));
    for (int p = 0; p < partitions; p++) {
      TopicPartition tp = new TopicPartition(real, p);
      out.put("p" + p, attempt(() -> get(r.partitionResult(tp)), info -> {
        Map<String, Object> m = obj();
        m.put("offset", info.offset());
        m.put("timestamp_minus_t0", relTimestamp(info.timestamp()));
        m.put("leader_epoch", info.leaderEpoch().map(e -> (Object) e).orElse("absent"));
        return m;
      }));
    }
    return out;
  }

  /** Waits until the partition's last stable offset equals its end offset (true), or 15 s. */
  static boolean awaitStable(Admin a, TopicPartition tp) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 15_000;
    while (System.currentTimeMillis() < deadline) {
      try {
        long hw = get(a.listOffsets(Map.of(tp, OffsetSpec.latest())).partitionResult(tp)).offset();
        long lso = get(a.listOffsets(Map.of(tp, OffsetSpec.latest()), new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).partitionResult(tp)).offset();
        if (hw == lso) return true;
      } catch (Exception e) {
        // retried until the deadline
      }
      Thread.sleep(100);
    }
    return false;
  }

  /** A record timestamp relative to T0; broker-assigned (wall-clock) times, such as those of
   *  transaction markers, as "broker_time"; negative sentinels as they are. */
  static Object relTimestamp(long ts) {
    if (ts < 0) return ts;
    if (ts > T0 + 1_000_000_000L) return "broker_time";
    return ts - T0;
  }

  /** Reads every record of the partition from its start; returns offsets (and keys) seen. */
  static Map<String, Object> readPartition(String real, int partition, String isolation) {
    Map<String, Object> out = obj();
    Map<String, Object> extra = new HashMap<>();
    extra.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
    try (KafkaConsumer<String, String> c = consumer(extra)) {
      TopicPartition tp = new TopicPartition(real, partition);
      c.assign(List.of(tp));
      c.seekToBeginning(List.of(tp));
      long start = c.position(tp, Duration.ofMillis(WAIT_MS));
      long end = c.endOffsets(List.of(tp), Duration.ofMillis(WAIT_MS)).get(tp);
      List<Object> offsets = new ArrayList<>();
      List<Object> keys = new ArrayList<>();
      long deadline = System.currentTimeMillis() + 15_000;
      while (c.position(tp) < end && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
          offsets.add(r.offset());
          keys.add(r.key());
        }
      }
      out.put("start_position", start);
      out.put("end_offset", end);
      out.put("final_position", c.position(tp));
      out.put("offsets", offsets);
      out.put("keys", keys);
    } catch (Exception e) {
      out.put("error", errorName(e));
    }
    return out;
  }

  static Map<String, Object> offsets() throws Exception {
    Map<String, Object> out = obj();
    String t = topic("offsets");
    String lat = topic("log-append-time");
    try (Admin a = admin()) {
      createTopic(a, t, 3, null);
      createTopic(a, lat, 1, Map.of("message.timestamp.type", "LogAppendTime"));

      step("plain producer, explicit partitions, several batches");
      Map<String, Object> produced = obj();
      try (KafkaProducer<String, String> p = producer(Map.of(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false))) {
        produced.put("p0_batch1", sendAll(p, t, 0, new long[] {0, 10, 20, 30, 40}, "a"));
        produced.put("p1_batch1", sendAll(p, t, 1, new long[] {5, 15, 25}, "b"));
        // Max timestamp in the middle of the partition: 90 at offset 6.
        produced.put("p0_batch2", sendAll(p, t, 0, new long[] {50, 90, 60}, "c"));
      }
      step("gzip producer: one compressed batch on p2 with a non-monotonic timestamp");
      try (KafkaProducer<String, String> p = producer(Map.of(ProducerConfig.COMPRESSION_TYPE_CONFIG, "gzip", ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false))) {
        produced.put("p2_gzip", sendAll(p, t, 2, new long[] {100, 110, 170, 130, 140, 150}, "z"));
      }
      step("idempotent producer (defaults) on p2");
      try (KafkaProducer<String, String> p = producer(Map.of())) {
        produced.put("p2_idempotent", sendAll(p, t, 2, new long[] {200, 210}, "i"));
      }
      step("transactional producer on p1: commit, abort, commit, then one left open");
      Map<String, Object> txn = obj();
      Map<String, Object> tx = new HashMap<>();
      tx.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "diff-txn-" + RUN);
      tx.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 60_000);
      KafkaProducer<String, String> tp = producer(tx);
      try {
        txn.put("init", attempt(() -> {
          tp.initTransactions();
          return null;
        }));
        tp.beginTransaction();
        txn.put("committed1", sendAll(tp, t, 1, new long[] {300, 310, 320}, "t1"));
        tp.commitTransaction();
        tp.beginTransaction();
        txn.put("aborted", sendAll(tp, t, 1, new long[] {330, 340}, "t2"));
        tp.abortTransaction();
        tp.beginTransaction();
        txn.put("committed2", sendAll(tp, t, 1, new long[] {350}, "t3"));
        tp.commitTransaction();
        tp.beginTransaction();
        txn.put("open", sendAll(tp, t, 1, new long[] {360, 370}, "t4"));
        Map<String, Object> open = obj();
        out.put("with_open_transaction", open);
        open.put("latest_read_uncommitted", listOffsets(a, t, 3, OffsetSpec.latest(), IsolationLevel.READ_UNCOMMITTED));
        open.put("latest_read_committed", listOffsets(a, t, 3, OffsetSpec.latest(), IsolationLevel.READ_COMMITTED));
        open.put("read_committed_p1", readPartition(t, 1, "read_committed"));
        tp.abortTransaction();
        // EndTxn answers before the coordinator has written the markers: wait (bounded) until
        // the abort marker is in, i.e. the last stable offset caught up with the end.
        txn.put("markers_settled", awaitStable(a, new TopicPartition(t, 1)));
      } catch (Exception e) {
        txn.put("error", errorName(e));
      } finally {
        tp.close(Duration.ofSeconds(10));
      }
      produced.put("transactions", txn);
      out.put("produced", produced);

      step("log append time topic");
      long before = System.currentTimeMillis();
      try (KafkaProducer<String, String> p = producer(Map.of(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false))) {
        Map<String, Object> r = sendAll(p, lat, 0, new long[] {0, 1}, "l");
        long after = System.currentTimeMillis();
        List<Object> rel = new ArrayList<>();
        for (Object ts : (List<?>) r.get("timestamps_minus_t0")) {
          if (ts == null) {
            rel.add(null);
            continue;
          }
          long abs = (Long) ts + T0;
          rel.add(abs >= before - 1000 && abs <= after + 1000 ? "broker_time_of_append" : (abs == T0 || abs == T0 + 1 ? "create_time" : "other"));
        }
        r.put("timestamps_minus_t0", rel);
        out.put("log_append_time_topic", r);
      }

      step("list offsets");
      Map<String, Object> lo = obj();
      lo.put("earliest", listOffsets(a, t, 3, OffsetSpec.earliest(), IsolationLevel.READ_UNCOMMITTED));
      lo.put("latest", listOffsets(a, t, 3, OffsetSpec.latest(), IsolationLevel.READ_UNCOMMITTED));
      lo.put("latest_read_committed", listOffsets(a, t, 3, OffsetSpec.latest(), IsolationLevel.READ_COMMITTED));
      lo.put("max_timestamp", listOffsets(a, t, 3, OffsetSpec.maxTimestamp(), IsolationLevel.READ_UNCOMMITTED));
      lo.put("earliest_local", listOffsets(a, t, 3, OffsetSpec.earliestLocal(), IsolationLevel.READ_UNCOMMITTED));
      lo.put("latest_tiered", listOffsets(a, t, 3, OffsetSpec.latestTiered(), IsolationLevel.READ_UNCOMMITTED));
      for (long d : new long[] {-1000, 0, 12, 40, 55, 95, 105, 165, 175, 315, 335, 10_000}) {
        lo.put("for_timestamp_t0" + (d >= 0 ? "+" : "") + d, listOffsets(a, t, 3, OffsetSpec.forTimestamp(T0 + d), IsolationLevel.READ_UNCOMMITTED));
      }
      out.put("list_offsets", lo);

      step("read back");
      Map<String, Object> read = obj();
      for (int p = 0; p < 3; p++) {
        read.put("p" + p + "_read_uncommitted", readPartition(t, p, "read_uncommitted"));
        read.put("p" + p + "_read_committed", readPartition(t, p, "read_committed"));
      }
      out.put("read", read);

      step("delete records");
      Map<String, Object> del = obj();
      TopicPartition p0 = new TopicPartition(t, 0);
      del.put("p0_before_3", attempt(() -> get(a.deleteRecords(Map.of(p0, RecordsToDelete.beforeOffset(3))).lowWatermarks().get(p0)),
          dr -> Map.of("low_watermark", dr.lowWatermark())));
      del.put("p0_before_2_again", attempt(() -> get(a.deleteRecords(Map.of(p0, RecordsToDelete.beforeOffset(2))).lowWatermarks().get(p0)),
          dr -> Map.of("low_watermark", dr.lowWatermark())));
      TopicPartition p2 = new TopicPartition(t, 2);
      // Inside the compressed batch (offsets 0..5): the log start moves to the exact offset.
      del.put("p2_before_2_inside_batch", attempt(() -> get(a.deleteRecords(Map.of(p2, RecordsToDelete.beforeOffset(2))).lowWatermarks().get(p2)),
          dr -> Map.of("low_watermark", dr.lowWatermark())));
      del.put("earliest_after", listOffsets(a, t, 3, OffsetSpec.earliest(), IsolationLevel.READ_UNCOMMITTED));
      del.put("latest_after", listOffsets(a, t, 3, OffsetSpec.latest(), IsolationLevel.READ_UNCOMMITTED));
      del.put("for_timestamp_t0+0_after", listOffsets(a, t, 3, OffsetSpec.forTimestamp(T0), IsolationLevel.READ_UNCOMMITTED));
      del.put("p0_read_after", readPartition(t, 0, "read_uncommitted"));
      del.put("p2_read_after", readPartition(t, 2, "read_uncommitted"));
      out.put("delete_records", del);

      step("group commits");
      Map<String, Object> g = obj();
      String grp = group("offsets-commit");
      Map<String, Object> ce = new HashMap<>();
      ce.put(ConsumerConfig.GROUP_ID_CONFIG, grp);
      try (KafkaConsumer<String, String> c = consumer(ce)) {
        List<TopicPartition> tps = List.of(new TopicPartition(t, 0), new TopicPartition(t, 1), new TopicPartition(t, 2));
        c.assign(tps);
        Map<TopicPartition, OffsetAndMetadata> commit = new LinkedHashMap<>();
        commit.put(tps.get(0), new OffsetAndMetadata(5, "meta-p0"));
        commit.put(tps.get(1), new OffsetAndMetadata(2));
        commit.put(tps.get(2), new OffsetAndMetadata(8, Optional.of(0), ""));
        g.put("commit_sync", attempt(() -> {
          c.commitSync(commit, Duration.ofMillis(WAIT_MS));
          return null;
        }));
        g.put("committed", attempt(() -> c.committed(Set.copyOf(tps), Duration.ofMillis(WAIT_MS)), m -> describeCommitted(m)));
        g.put("commit_beyond_end", attempt(() -> {
          c.commitSync(Map.of(tps.get(0), new OffsetAndMetadata(1000)), Duration.ofMillis(WAIT_MS));
          return null;
        }));
      }
      g.put("admin_list_offsets", attempt(() -> get(a.listConsumerGroupOffsets(grp).partitionsToOffsetAndMetadata()), m -> describeCommitted(m)));
      out.put("group_offsets", g);

      step("transactional offset commits");
      out.put("transactional_offsets", transactionalOffsets(a, t));

      a.deleteTopics(List.of(t, lat));
    }
    return out;
  }

  /** Offsets sent to a transaction: invisible while it is open (require_stable: the admin
   *  client waits for UNSTABLE_OFFSET_COMMIT to clear), visible after commit, dropped on abort. */
  static Map<String, Object> transactionalOffsets(Admin a, String t) {
    Map<String, Object> out = obj();
    String grp = group("txn-offsets");
    String side = topic("txn-side");
    TopicPartition tp0 = new TopicPartition(t, 0);
    Map<String, Object> tx = new HashMap<>();
    tx.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "diff-txn-offsets-" + RUN);
    try (Admin q = quickAdmin(); KafkaProducer<String, String> p = producer(tx)) {
      createTopic(a, side, 1, null);
      p.initTransactions();
      java.util.function.Supplier<Map<String, Object>> view = () -> {
        Map<String, Object> v = obj();
        var stable = new org.apache.kafka.clients.admin.ListConsumerGroupOffsetsOptions().requireStable(true);
        v.put("require_stable_partition", attempt(() -> get(q.listConsumerGroupOffsets(
            Map.of(grp, new org.apache.kafka.clients.admin.ListConsumerGroupOffsetsSpec().topicPartitions(List.of(tp0))), stable)
            .partitionsToOffsetAndMetadata(grp)), JavaObserve::describeCommitted));
        v.put("require_stable_all", attempt(() -> get(q.listConsumerGroupOffsets(grp, stable).partitionsToOffsetAndMetadata()), JavaObserve::describeCommitted));
        v.put("plain", attempt(() -> get(a.listConsumerGroupOffsets(grp).partitionsToOffsetAndMetadata()), JavaObserve::describeCommitted));
        return v;
      };
      p.beginTransaction();
      sendAll(p, side, 0, new long[] {0}, "s1");
      p.sendOffsetsToTransaction(Map.of(tp0, new OffsetAndMetadata(4, "txn-1")), new org.apache.kafka.clients.consumer.ConsumerGroupMetadata(grp));
      out.put("1_open", view.get());
      p.commitTransaction();
      // EndTxn answers before the group coordinator has applied the commit marker: wait
      // (bounded) until the offset is readable, then look.
      long deadline = System.currentTimeMillis() + 15_000;
      boolean visible = false;
      while (!visible && System.currentTimeMillis() < deadline) {
        try {
          OffsetAndMetadata om = get(a.listConsumerGroupOffsets(grp).partitionsToOffsetAndMetadata()).get(tp0);
          visible = om != null && om.offset() == 4;
        } catch (Exception e) {
          // retried until the deadline
        }
        if (!visible) Thread.sleep(100);
      }
      out.put("2_commit_visible", visible);
      out.put("2_committed", view.get());
      p.beginTransaction();
      sendAll(p, side, 0, new long[] {1}, "s2");
      p.sendOffsetsToTransaction(Map.of(tp0, new OffsetAndMetadata(6, "txn-2")), new org.apache.kafka.clients.consumer.ConsumerGroupMetadata(grp));
      p.abortTransaction();
      awaitStable(a, new TopicPartition(side, 0));
      out.put("3_aborted", view.get());
      a.deleteTopics(List.of(side));
    } catch (Exception e) {
      out.put("error", errorName(e));
    }
    return out;
  }

  static Map<String, Object> describeCommitted(Map<TopicPartition, OffsetAndMetadata> m) {
    Map<String, Object> out = new TreeMap<>();
    for (Map.Entry<TopicPartition, OffsetAndMetadata> e : m.entrySet()) {
      String key = logicalName(e.getKey().topic()) + "-" + e.getKey().partition();
      OffsetAndMetadata om = e.getValue();
      if (om == null) {
        out.put(key, "null");
        continue;
      }
      Map<String, Object> v = obj();
      v.put("offset", om.offset());
      v.put("metadata", om.metadata());
      v.put("leader_epoch", om.leaderEpoch().map(x -> (Object) x).orElse("absent"));
      out.put(key, v);
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------
  // errors

  static Map<String, Object> createOne(Admin a, NewTopic t, boolean validateOnly) {
    return attempt(() -> {
      CreateTopicsResult r = a.createTopics(List.of(t), new CreateTopicsOptions().validateOnly(validateOnly));
      get(r.all());
      return r;
    }, r -> {
      Map<String, Object> m = obj();
      try {
        m.put("num_partitions", get(r.numPartitions(t.name())));
        m.put("replication_factor", get(r.replicationFactor(t.name())));
      } catch (Exception e) {
        m.put("details_error", errorName(e));
      }
      return m;
    });
  }

  static Map<String, Object> alter(Admin a, ConfigResource res, AlterConfigOp... ops) {
    return attempt(() -> get(a.incrementalAlterConfigs(Map.of(res, List.of(ops))).values().get(res)));
  }

  static Map<String, Object> errors() throws Exception {
    Map<String, Object> out = obj();
    String t = topic("errors");
    String empty = topic("errors-empty");
    String grp = group("errors-active");
    try (Admin a = admin(); Admin q = quickAdmin()) {
      createTopic(a, t, 2, null);
      try (KafkaProducer<String, String> p = producer(Map.of(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false))) {
        sendAll(p, t, 0, new long[] {0, 1, 2}, "e");
      }

      step("create topics");
      Map<String, Object> c = obj();
      c.put("existing", createOne(a, new NewTopic(t, 1, (short) 1), false));
      c.put("existing_validate_only", createOne(a, new NewTopic(t, 1, (short) 1), true));
      c.put("bad_name_slash", createOne(a, new NewTopic("bad/name-" + RUN, 1, (short) 1), false));
      c.put("bad_name_dot", createOne(a, new NewTopic(".", 1, (short) 1), false));
      c.put("bad_name_too_long", createOne(a, new NewTopic("l".repeat(250), 1, (short) 1), false));
      c.put("zero_partitions", createOne(a, new NewTopic(topic("zero-partitions"), 0, (short) 1), false));
      c.put("negative_partitions", createOne(a, new NewTopic(topic("neg-partitions"), -5, (short) 1), false));
      c.put("replication_factor_3", createOne(a, new NewTopic(topic("rf3"), 1, (short) 3), false));
      c.put("replication_factor_0", createOne(a, new NewTopic(topic("rf0"), 1, (short) 0), false));
      c.put("unknown_config", createOne(a, new NewTopic(topic("unknown-config"), 1, (short) 1).configs(Map.of("no.such.config", "1")), false));
      c.put("cleanup_policy_bogus", createOne(a, new NewTopic(topic("bogus-policy"), 1, (short) 1).configs(Map.of("cleanup.policy", "bogus")), false));
      c.put("retention_ms_abc", createOne(a, new NewTopic(topic("retention-abc"), 1, (short) 1).configs(Map.of("retention.ms", "abc")), false));
      c.put("min_insync_replicas_0", createOne(a, new NewTopic(topic("min-isr-0"), 1, (short) 1).configs(Map.of("min.insync.replicas", "0")), false));
      c.put("segment_bytes_tiny", createOne(a, new NewTopic(topic("segment-tiny"), 1, (short) 1).configs(Map.of("segment.bytes", "100")), false));
      c.put("compression_type_bogus", createOne(a, new NewTopic(topic("compression-bogus"), 1, (short) 1).configs(Map.of("compression.type", "bogus")), false));
      c.put("broker_only_config", createOne(a, new NewTopic(topic("broker-config"), 1, (short) 1).configs(Map.of("num.partitions", "3")), false));
      // Valid Kafka topic configs, each set alone at creation.
      String[][] valid = {
        {"min.insync.replicas", "1"}, {"unclean.leader.election.enable", "false"}, {"compression.zstd.level", "5"},
        {"compression.gzip.level", "6"}, {"segment.index.bytes", "1048576"}, {"segment.jitter.ms", "0"},
        {"flush.messages", "1000"}, {"flush.ms", "1000"}, {"preallocate", "false"}, {"file.delete.delay.ms", "60000"},
        {"remote.storage.enable", "false"}, {"local.retention.ms", "-2"}, {"leader.replication.throttled.replicas", ""},
        {"message.timestamp.after.max.ms", "86400000"}};
      for (String[] kv : valid) {
        String name = topic("valid-" + kv[0].replace('.', '-'));
        c.put("valid_config_" + kv[0], createOne(a, new NewTopic(name, 1, (short) 1).configs(Map.of(kv[0], kv[1])), false));
        a.deleteTopics(List.of(name));
      }
      c.put("defaults_validate_only", createOne(a, new NewTopic(topic("validate-only"), Optional.empty(), Optional.empty()), true));
      c.put("validate_only_left_nothing", attempt(() -> get(a.listTopics().names()).contains("diff-validate-only-" + RUN), b -> Map.of("exists", b)));
      c.put("defaults", createOne(a, new NewTopic(topic("defaults"), Optional.empty(), Optional.empty()), false));
      int nodeId = get(a.describeCluster().nodes()).iterator().next().id();
      c.put("replica_assignment", createOne(a, new NewTopic(topic("assigned"), Map.of(0, List.of(nodeId), 1, List.of(nodeId))), false));
      c.put("replica_assignment_unknown_broker", createOne(a, new NewTopic(topic("assigned-bad"), Map.of(0, List.of(4242))), false));
      out.put("create_topics", c);

      step("create partitions");
      Map<String, Object> cp = obj();
      cp.put("decrease", attempt(() -> get(a.createPartitions(Map.of(t, NewPartitions.increaseTo(1))).all())));
      cp.put("same_count", attempt(() -> get(a.createPartitions(Map.of(t, NewPartitions.increaseTo(2))).all())));
      cp.put("unknown_topic", attempt(() -> get(a.createPartitions(Map.of(topic("no-such-topic"), NewPartitions.increaseTo(3))).all())));
      cp.put("increase_to_3", attempt(() -> get(a.createPartitions(Map.of(t, NewPartitions.increaseTo(3))).all())));
      cp.put("partitions_after", attempt(() -> get(a.describeTopics(List.of(t)).topicNameValues().get(t)), d -> Map.of("count", d.partitions().size())));
      out.put("create_partitions", cp);

      step("delete / describe unknown");
      Map<String, Object> u = obj();
      String missing = topic("missing");
      u.put("delete_topic", attempt(() -> get(a.deleteTopics(List.of(missing)).topicNameValues().get(missing))));
      u.put("describe_topic", attempt(() -> get(a.describeTopics(List.of(missing)).topicNameValues().get(missing))));
      ConfigResource missingRes = new ConfigResource(ConfigResource.Type.TOPIC, missing);
      u.put("describe_configs", attempt(() -> get(a.describeConfigs(List.of(missingRes)).values().get(missingRes))));
      u.put("alter_configs", alter(a, missingRes, new AlterConfigOp(new ConfigEntry("retention.ms", "1000"), AlterConfigOp.OpType.SET)));
      TopicPartition missingTp = new TopicPartition(missing, 0);
      u.put("list_offsets", attempt(() -> get(a.listOffsets(Map.of(missingTp, OffsetSpec.latest())).partitionResult(missingTp))));
      u.put("delete_records", attempt(() -> get(q.deleteRecords(Map.of(missingTp, RecordsToDelete.beforeOffset(0))).lowWatermarks().get(missingTp))));
      TopicPartition badPartition = new TopicPartition(t, 7);
      u.put("list_offsets_bad_partition", attempt(() -> get(q.listOffsets(Map.of(badPartition, OffsetSpec.latest())).partitionResult(badPartition))));
      u.put("delete_records_bad_partition", attempt(() -> get(q.deleteRecords(Map.of(badPartition, RecordsToDelete.beforeOffset(0))).lowWatermarks().get(badPartition))));
      out.put("unknown", u);

      step("alter configs");
      Map<String, Object> ac = obj();
      ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, t);
      ac.put("unknown_config", alter(a, res, new AlterConfigOp(new ConfigEntry("no.such.config", "1"), AlterConfigOp.OpType.SET)));
      ac.put("cleanup_policy_bogus", alter(a, res, new AlterConfigOp(new ConfigEntry("cleanup.policy", "bogus"), AlterConfigOp.OpType.SET)));
      ac.put("retention_ms_abc", alter(a, res, new AlterConfigOp(new ConfigEntry("retention.ms", "abc"), AlterConfigOp.OpType.SET)));
      ac.put("append_to_non_list", alter(a, res, new AlterConfigOp(new ConfigEntry("retention.ms", "5"), AlterConfigOp.OpType.APPEND)));
      ac.put("subtract_from_non_list", alter(a, res, new AlterConfigOp(new ConfigEntry("retention.ms", "5"), AlterConfigOp.OpType.SUBTRACT)));
      ac.put("delete_unknown_config", alter(a, res, new AlterConfigOp(new ConfigEntry("no.such.config", ""), AlterConfigOp.OpType.DELETE)));
      ac.put("broker_only_config_on_topic", alter(a, res, new AlterConfigOp(new ConfigEntry("num.partitions", "3"), AlterConfigOp.OpType.SET)));
      ac.put("valid_set", alter(a, res, new AlterConfigOp(new ConfigEntry("retention.ms", "3600000"), AlterConfigOp.OpType.SET)));
      String brokerId;
      try {
        brokerId = String.valueOf(get(a.describeCluster().nodes()).iterator().next().id());
      } catch (Exception e) {
        brokerId = "0";
      }
      ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER, brokerId);
      ac.put("broker_read_only_log_dirs", alter(a, broker, new AlterConfigOp(new ConfigEntry("log.dirs", "/tmp/nowhere"), AlterConfigOp.OpType.SET)));
      ac.put("broker_read_only_node_id", alter(a, broker, new AlterConfigOp(new ConfigEntry("node.id", "7"), AlterConfigOp.OpType.SET)));
      ac.put("broker_unknown_config", alter(a, broker, new AlterConfigOp(new ConfigEntry("no.such.config", "1"), AlterConfigOp.OpType.SET)));
      ConfigResource unknownBroker = new ConfigResource(ConfigResource.Type.BROKER, "4242");
      ac.put("describe_unknown_broker", attempt(() -> get(q.describeConfigs(List.of(unknownBroker)).values().get(unknownBroker))));
      out.put("alter_configs", ac);

      step("delete records");
      Map<String, Object> dr = obj();
      TopicPartition tp0 = new TopicPartition(t, 0);
      dr.put("beyond_high_watermark", attempt(() -> get(a.deleteRecords(Map.of(tp0, RecordsToDelete.beforeOffset(100))).lowWatermarks().get(tp0))));
      dr.put("at_high_watermark", attempt(() -> get(a.deleteRecords(Map.of(tp0, RecordsToDelete.beforeOffset(3))).lowWatermarks().get(tp0)), d -> Map.of("low_watermark", d.lowWatermark())));
      dr.put("minus_one_means_high_watermark", attempt(() -> get(a.deleteRecords(Map.of(tp0, RecordsToDelete.beforeOffset(-1))).lowWatermarks().get(tp0)), d -> Map.of("low_watermark", d.lowWatermark())));
      out.put("delete_records", dr);

      step("groups");
      Map<String, Object> g = obj();
      Map<String, Object> ce = new HashMap<>();
      ce.put(ConsumerConfig.GROUP_ID_CONFIG, grp);
      try (KafkaConsumer<String, String> member = consumer(ce)) {
        member.subscribe(List.of(t));
        long deadline = System.currentTimeMillis() + WAIT_MS;
        while (member.assignment().isEmpty() && System.currentTimeMillis() < deadline) member.poll(Duration.ofMillis(100));
        member.commitSync(Map.of(new TopicPartition(t, 0), new OffsetAndMetadata(1)));
        g.put("delete_non_empty_group", attempt(() -> get(a.deleteConsumerGroups(List.of(grp)).deletedGroups().get(grp))));
        g.put("alter_offsets_of_active_group", attempt(() -> get(a.alterConsumerGroupOffsets(grp, Map.of(new TopicPartition(t, 0), new OffsetAndMetadata(2))).all())));
        g.put("delete_offsets_of_subscribed_topic", attempt(() -> get(a.deleteConsumerGroupOffsets(grp, Set.of(new TopicPartition(t, 0))).all())));
        g.put("commit_unknown_partition", attempt(() -> {
          member.commitSync(Map.of(new TopicPartition(t, 9), new OffsetAndMetadata(1)), Duration.ofMillis(5_000));
          return null;
        }));
        g.put("commit_unknown_topic", attempt(() -> {
          member.commitSync(Map.of(new TopicPartition(missing, 0), new OffsetAndMetadata(1)), Duration.ofMillis(5_000));
          return null;
        }));
      }
      String unknownGroup = group("never-existed");
      g.put("describe_unknown_group", attempt(() -> get(a.describeConsumerGroups(List.of(unknownGroup)).describedGroups().get(unknownGroup)),
          d -> Map.of("state", String.valueOf(d.groupState()), "members", d.members().size(), "protocol_assignor", d.partitionAssignor())));
      g.put("describe_unknown_classic_group", attempt(() -> get(a.describeClassicGroups(List.of(unknownGroup)).describedGroups().get(unknownGroup)),
          d -> Map.of("state", String.valueOf(d.state()), "members", d.members().size())));
      g.put("delete_unknown_group", attempt(() -> get(a.deleteConsumerGroups(List.of(unknownGroup)).deletedGroups().get(unknownGroup))));
      g.put("list_offsets_unknown_group", attempt(() -> get(a.listConsumerGroupOffsets(unknownGroup).partitionsToOffsetAndMetadata()), JavaObserve::describeCommitted));
      g.put("alter_offsets_unknown_partition_empty_group", attempt(() -> get(a.alterConsumerGroupOffsets(grp, Map.of(new TopicPartition(t, 9), new OffsetAndMetadata(2))).all())));
      g.put("alter_offsets_unknown_topic_empty_group", attempt(() -> get(a.alterConsumerGroupOffsets(grp, Map.of(new TopicPartition(missing, 0), new OffsetAndMetadata(2))).all())));
      g.put("alter_offsets_empty_group", attempt(() -> get(a.alterConsumerGroupOffsets(grp, Map.of(new TopicPartition(t, 1), new OffsetAndMetadata(2))).all())));
      g.put("delete_offsets_empty_group", attempt(() -> get(a.deleteConsumerGroupOffsets(grp, Set.of(new TopicPartition(t, 0))).all())));
      g.put("offsets_after", attempt(() -> get(a.listConsumerGroupOffsets(grp).partitionsToOffsetAndMetadata()), JavaObserve::describeCommitted));
      g.put("delete_empty_group", attempt(() -> get(a.deleteConsumerGroups(List.of(grp)).deletedGroups().get(grp))));
      g.put("delete_deleted_group", attempt(() -> get(a.deleteConsumerGroups(List.of(grp)).deletedGroups().get(grp))));
      out.put("groups", g);

      step("producer errors");
      Map<String, Object> pe = obj();
      createTopic(a, empty, 1, Map.of("max.message.bytes", "2000"));
      try (KafkaProducer<String, String> p = producer(Map.of(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false, ProducerConfig.RETRIES_CONFIG, 0))) {
        pe.put("record_over_topic_max_message_bytes", attempt(() -> p.send(new ProducerRecord<>(empty, 0, T0, "k", "v".repeat(5000))).get(WAIT_MS, TimeUnit.MILLISECONDS)));
        pe.put("record_under_topic_max_message_bytes", attempt(() -> p.send(new ProducerRecord<>(empty, 0, T0, "k", "v".repeat(100))).get(WAIT_MS, TimeUnit.MILLISECONDS), md -> Map.of("offset", md.offset())));
        // Kafka 4 refuses create times more than message.timestamp.after.max.ms (1 h by default)
        // ahead of the broker's clock; a day ahead is far from any clock skew.
        long future = System.currentTimeMillis() + 24L * 3600 * 1000;
        pe.put("record_timestamp_one_day_ahead", attempt(() -> p.send(new ProducerRecord<>(empty, 0, future, "k", "v")).get(WAIT_MS, TimeUnit.MILLISECONDS)));
        long past = System.currentTimeMillis() - 400L * 24 * 3600 * 1000;
        pe.put("record_timestamp_400_days_old", attempt(() -> p.send(new ProducerRecord<>(empty, 0, past, "k", "v")).get(WAIT_MS, TimeUnit.MILLISECONDS)));
      }
      out.put("producer", pe);

      a.deleteTopics(List.of(t, empty, "diff-defaults-" + RUN, "diff-assigned-" + RUN));
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------
  // configs

  static Map<String, Object> entry(ConfigEntry e, boolean withValue) {
    Map<String, Object> m = obj();
    if (withValue) m.put("value", e.value());
    m.put("source", String.valueOf(e.source()));
    m.put("read_only", e.isReadOnly());
    m.put("sensitive", e.isSensitive());
    m.put("is_default", e.isDefault());
    m.put("type", String.valueOf(e.type()));
    return m;
  }

  static Map<String, Object> describeTopicConfigs(Admin a, String real, Set<String> only, boolean synonyms) {
    ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, real);
    return attempt(() -> get(a.describeConfigs(List.of(res), new DescribeConfigsOptions().includeSynonyms(synonyms).includeDocumentation(true)).values().get(res)), cfg -> {
      Map<String, Object> m = new TreeMap<>();
      for (ConfigEntry e : cfg.entries()) {
        if (only != null && !only.contains(e.name()) && e.source() == ConfigEntry.ConfigSource.DEFAULT_CONFIG) continue;
        Map<String, Object> v = entry(e, true);
        v.put("documentation", e.documentation() == null ? "absent" : "present");
        if (synonyms) {
          List<Object> syn = new ArrayList<>();
          for (ConfigEntry.ConfigSynonym s : e.synonyms()) syn.add(s.name() + "=" + s.value() + " (" + s.source() + ")");
          v.put("synonyms", syn);
        }
        m.put(e.name(), v);
      }
      Map<String, Object> r = obj();
      r.put("entries", m);
      return r;
    });
  }

  // ---- features ----------------------------------------------------------------------

  /** describeFeatures: supported ranges, finalized levels; the epoch only as present/absent. */
  static Map<String, Object> describeFeatures(Admin a) {
    return attempt(() -> get(a.describeFeatures().featureMetadata()), fm -> {
      Map<String, Object> m = obj();
      Map<String, Object> supported = new TreeMap<>();
      fm.supportedFeatures().forEach((n, r) -> supported.put(n, List.of(r.minVersion(), r.maxVersion())));
      Map<String, Object> finalized = new TreeMap<>();
      fm.finalizedFeatures().forEach((n, r) -> finalized.put(n, List.of(r.minVersionLevel(), r.maxVersionLevel())));
      m.put("supported", supported);
      m.put("finalized", finalized);
      m.put("finalized_epoch", fm.finalizedFeaturesEpoch().map(e -> e >= 0 ? "present" : "negative").orElse("absent"));
      return m;
    });
  }

  static long featuresEpoch(Admin a) throws Exception {
    return get(a.describeFeatures().featureMetadata()).finalizedFeaturesEpoch().orElse(-1L);
  }

  /** The finalized level of `name` (0 when not listed). */
  static short finalizedLevel(Admin a, String name) throws Exception {
    var r = get(a.describeFeatures().featureMetadata()).finalizedFeatures().get(name);
    return r == null ? 0 : r.maxVersionLevel();
  }

  /** Kafka applies an update through its metadata log after answering: poll (bounded). */
  static void awaitLevel(Admin a, String name, short level) throws Exception {
    long deadline = System.currentTimeMillis() + 15_000;
    while (finalizedLevel(a, name) != level && System.currentTimeMillis() < deadline) Thread.sleep(100);
  }

  static Map<String, Object> update(Admin a, String name, int level, org.apache.kafka.clients.admin.FeatureUpdate.UpgradeType type, boolean validateOnly) {
    var options = new org.apache.kafka.clients.admin.UpdateFeaturesOptions().validateOnly(validateOnly);
    var u = new org.apache.kafka.clients.admin.FeatureUpdate((short) level, type);
    return attempt(() -> get(a.updateFeatures(Map.of(name, u), options).all()));
  }

  static Map<String, Object> features() throws Exception {
    Map<String, Object> out = obj();
    var UPGRADE = org.apache.kafka.clients.admin.FeatureUpdate.UpgradeType.UPGRADE;
    var SAFE = org.apache.kafka.clients.admin.FeatureUpdate.UpgradeType.SAFE_DOWNGRADE;
    String tv = "transaction.version";
    try (Admin a = admin()) {
      step("describe");
      out.put("initial", describeFeatures(a));
      long epoch0 = featuresEpoch(a);
      step("refused updates");
      out.put("unknown_feature", update(a, "no.such.version", 1, UPGRADE, false));
      out.put("beyond_supported", update(a, tv, 3, UPGRADE, false));
      out.put("downgrade_as_upgrade", update(a, tv, 1, UPGRADE, false));
      out.put("downgrade_validate_only", update(a, tv, 1, SAFE, true));
      out.put("after_refused", describeFeatures(a));
      step("downgrade and upgrade");
      out.put("downgrade", update(a, tv, 1, SAFE, false));
      awaitLevel(a, tv, (short) 1);
      out.put("after_downgrade", describeFeatures(a));
      long epoch1 = featuresEpoch(a);
      out.put("epoch_grew_with_downgrade", epoch1 > epoch0);
      out.put("upgrade_again", update(a, tv, 2, UPGRADE, false));
      awaitLevel(a, tv, (short) 2);
      out.put("after_upgrade", describeFeatures(a));
      out.put("epoch_grew_with_upgrade", featuresEpoch(a) > epoch1);
    }
    return out;
  }

  // ---- quotas ------------------------------------------------------------------------
  // describe/alterClientQuotas: entities user, client-id and ip with defaults, Kafka's keys,
  // filters (exact, default, specified, strict), refused alterations with their messages,
  // validate-only and removals. Kafka applies an alteration through its metadata log after
  // answering, so every describe after a change polls (bounded) until the change is visible.

  static org.apache.kafka.common.quota.ClientQuotaEntity qEntity(String... kv) {
    Map<String, String> m = new HashMap<>();
    for (int i = 0; i < kv.length; i += 2) m.put(kv[i], kv[i + 1]);
    return new org.apache.kafka.common.quota.ClientQuotaEntity(m);
  }

  static org.apache.kafka.common.quota.ClientQuotaAlteration qAlter(org.apache.kafka.common.quota.ClientQuotaEntity e, Object... kv) {
    List<org.apache.kafka.common.quota.ClientQuotaAlteration.Op> ops = new ArrayList<>();
    for (int i = 0; i < kv.length; i += 2) {
      ops.add(new org.apache.kafka.common.quota.ClientQuotaAlteration.Op((String) kv[i], (Double) kv[i + 1]));
    }
    return new org.apache.kafka.common.quota.ClientQuotaAlteration(e, ops);
  }

  /** An entity as text: its components sorted, the default as <default>. */
  static String entityName(org.apache.kafka.common.quota.ClientQuotaEntity e) {
    List<String> parts = new ArrayList<>();
    e.entries().forEach((t, n) -> parts.add(t + "=" + (n == null ? "<default>" : n)));
    Collections.sort(parts);
    return String.join(",", parts);
  }

  static Map<String, Object> describeQuotas(Admin a, org.apache.kafka.common.quota.ClientQuotaFilter f) {
    return attempt(() -> get(a.describeClientQuotas(f).entities()), r -> {
      Map<String, Object> entities = new TreeMap<>();
      r.forEach((e, values) -> entities.put(entityName(e), new TreeMap<>(values)));
      Map<String, Object> m = obj();
      m.put("entities", entities);
      return m;
    });
  }

  static int quotaEntityCount(Admin a) throws Exception {
    return get(a.describeClientQuotas(org.apache.kafka.common.quota.ClientQuotaFilter.all()).entities()).size();
  }

  static void awaitQuotaEntities(Admin a, int n) throws Exception {
    long deadline = System.currentTimeMillis() + 15_000;
    while (quotaEntityCount(a) != n && System.currentTimeMillis() < deadline) Thread.sleep(100);
  }

  /** Each alteration alone: its error name and message ("NONE" when accepted). */
  static Map<String, Object> alterQuotas(Admin a, boolean validateOnly, org.apache.kafka.common.quota.ClientQuotaAlteration... alts) {
    Map<String, Object> out = new TreeMap<>();
    var options = new org.apache.kafka.clients.admin.AlterClientQuotasOptions().validateOnly(validateOnly);
    var result = a.alterClientQuotas(List.of(alts), options);
    result.values().forEach((e, f) -> {
      Map<String, Object> r = obj();
      try {
        get(f);
        r.put("error", "NONE");
      } catch (Exception ex) {
        r.put("error", errorName(ex));
        Throwable c = ex.getCause() != null ? ex.getCause() : ex;
        r.put("message", String.valueOf(c.getMessage()));
      }
      out.put(entityName(e), r);
    });
    return out;
  }

  static Map<String, Object> quotas() throws Exception {
    Map<String, Object> out = obj();
    var all = org.apache.kafka.common.quota.ClientQuotaFilter.all();
    var U = org.apache.kafka.common.quota.ClientQuotaEntity.USER;
    var C = org.apache.kafka.common.quota.ClientQuotaEntity.CLIENT_ID;
    var IP = org.apache.kafka.common.quota.ClientQuotaEntity.IP;
    try (Admin a = admin()) {
      step("describe empty");
      out.put("initial", describeQuotas(a, all));
      step("set");
      out.put("set", alterQuotas(a, false,
          qAlter(qEntity(U, "diff-alice"), "producer_byte_rate", 1048576.0, "request_percentage", 12.5),
          qAlter(qEntity(U, "diff-alice", C, null), "consumer_byte_rate", 2048.0),
          qAlter(qEntity(C, null), "controller_mutation_rate", 2.5),
          qAlter(qEntity(U, null, C, "diff-app"), "producer_byte_rate", 4096.0),
          qAlter(qEntity(IP, null), "connection_creation_rate", 10.0),
          qAlter(qEntity(IP, "10.1.2.3"), "connection_creation_rate", 20.0)));
      awaitQuotaEntities(a, 6);
      out.put("after_set", describeQuotas(a, all));
      step("filters");
      Map<String, Object> filters = obj();
      filters.put("user_exact", describeQuotas(a, org.apache.kafka.common.quota.ClientQuotaFilter.contains(List.of(
          org.apache.kafka.common.quota.ClientQuotaFilterComponent.ofEntity(U, "diff-alice")))));
      filters.put("user_exact_strict", describeQuotas(a, org.apache.kafka.common.quota.ClientQuotaFilter.containsOnly(List.of(
          org.apache.kafka.common.quota.ClientQuotaFilterComponent.ofEntity(U, "diff-alice")))));
      filters.put("default_client_strict", describeQuotas(a, org.apache.kafka.common.quota.ClientQuotaFilter.containsOnly(List.of(
          org.apache.kafka.common.quota.ClientQuotaFilterComponent.ofDefaultEntity(C)))));
      filters.put("default_user", describeQuotas(a, org.apache.kafka.common.quota.ClientQuotaFilter.contains(List.of(
          org.apache.kafka.common.quota.ClientQuotaFilterComponent.ofDefaultEntity(U)))));
      filters.put("any_client", describeQuotas(a, org.apache.kafka.common.quota.ClientQuotaFilter.contains(List.of(
          org.apache.kafka.common.quota.ClientQuotaFilterComponent.ofEntityType(C)))));
      filters.put("any_user_and_client", describeQuotas(a, org.apache.kafka.common.quota.ClientQuotaFilter.containsOnly(List.of(
          org.apache.kafka.common.quota.ClientQuotaFilterComponent.ofEntityType(U),
          org.apache.kafka.common.quota.ClientQuotaFilterComponent.ofEntityType(C)))));
      filters.put("any_ip", describeQuotas(a, org.apache.kafka.common.quota.ClientQuotaFilter.contains(List.of(
          org.apache.kafka.common.quota.ClientQuotaFilterComponent.ofEntityType(IP)))));
      filters.put("unknown_user", describeQuotas(a, org.apache.kafka.common.quota.ClientQuotaFilter.contains(List.of(
          org.apache.kafka.common.quota.ClientQuotaFilterComponent.ofEntity(U, "nobody")))));
      filters.put("unsupported_type", describeQuotas(a, org.apache.kafka.common.quota.ClientQuotaFilter.contains(List.of(
          org.apache.kafka.common.quota.ClientQuotaFilterComponent.ofEntityType("group")))));
      filters.put("type_twice", describeQuotas(a, org.apache.kafka.common.quota.ClientQuotaFilter.contains(List.of(
          org.apache.kafka.common.quota.ClientQuotaFilterComponent.ofEntityType(U),
          org.apache.kafka.common.quota.ClientQuotaFilterComponent.ofDefaultEntity(U)))));
      filters.put("ip_with_user", describeQuotas(a, org.apache.kafka.common.quota.ClientQuotaFilter.contains(List.of(
          org.apache.kafka.common.quota.ClientQuotaFilterComponent.ofEntityType(IP),
          org.apache.kafka.common.quota.ClientQuotaFilterComponent.ofEntityType(U)))));
      out.put("filters", filters);
      step("refused alterations");
      Map<String, Object> refused = obj();
      refused.put("empty_entity", alterQuotas(a, false, qAlter(qEntity(), "producer_byte_rate", 1.0)));
      refused.put("unknown_entity_type", alterQuotas(a, false, qAlter(qEntity("group", "g"), "producer_byte_rate", 1.0)));
      refused.put("empty_user_name", alterQuotas(a, false, qAlter(qEntity(U, ""), "producer_byte_rate", 1.0)));
      refused.put("unknown_key", alterQuotas(a, false, qAlter(qEntity(U, "diff-u"), "no_such_rate", 1.0)));
      refused.put("zero", alterQuotas(a, false, qAlter(qEntity(U, "diff-u"), "producer_byte_rate", 0.0)));
      refused.put("negative", alterQuotas(a, false, qAlter(qEntity(C, "diff-c"), "consumer_byte_rate", -5.0)));
      refused.put("fraction_of_a_long", alterQuotas(a, false, qAlter(qEntity(C, "diff-c"), "consumer_byte_rate", 1.5)));
      refused.put("too_large_for_a_long", alterQuotas(a, false, qAlter(qEntity(C, "diff-c"), "producer_byte_rate", 1e20)));
      refused.put("ip_key_on_user", alterQuotas(a, false, qAlter(qEntity(U, "diff-u"), "connection_creation_rate", 5.0)));
      refused.put("user_key_on_ip", alterQuotas(a, false, qAlter(qEntity(IP, null), "producer_byte_rate", 5.0)));
      refused.put("ip_with_user", alterQuotas(a, false, qAlter(qEntity(IP, "10.1.2.3", U, "diff-u"), "connection_creation_rate", 5.0)));
      refused.put("not_an_ip", alterQuotas(a, false, qAlter(qEntity(IP, "not an address"), "connection_creation_rate", 5.0)));
      refused.put("fraction_of_an_int", alterQuotas(a, false, qAlter(qEntity(IP, null), "connection_creation_rate", 2.5)));
      refused.put("key_twice", alterQuotas(a, false, qAlter(qEntity(U, "diff-u"), "producer_byte_rate", 1.0, "producer_byte_rate", 2.0)));
      refused.put("one_bad_op_of_two", alterQuotas(a, false, qAlter(qEntity(U, "diff-u"), "producer_byte_rate", 100.0, "consumer_byte_rate", 0.0)));
      out.put("refused", refused);
      out.put("validate_only", alterQuotas(a, true, qAlter(qEntity(U, "diff-v"), "producer_byte_rate", 100.0)));
      out.put("after_refused_and_validate_only", describeQuotas(a, all));
      step("remove");
      out.put("remove", alterQuotas(a, false,
          qAlter(qEntity(U, "diff-alice"), "request_percentage", null, "consumer_byte_rate", null),
          qAlter(qEntity(C, null), "controller_mutation_rate", null),
          qAlter(qEntity(IP, "10.1.2.3"), "connection_creation_rate", null)));
      awaitQuotaEntities(a, 4);
      out.put("after_remove", describeQuotas(a, all));
      step("clean up");
      out.put("remove_rest", alterQuotas(a, false,
          qAlter(qEntity(U, "diff-alice"), "producer_byte_rate", null),
          qAlter(qEntity(U, "diff-alice", C, null), "consumer_byte_rate", null),
          qAlter(qEntity(U, null, C, "diff-app"), "producer_byte_rate", null),
          qAlter(qEntity(IP, null), "connection_creation_rate", null)));
      awaitQuotaEntities(a, 0);
      out.put("after_clean_up", describeQuotas(a, all));
    }
    return out;
  }

  static Map<String, Object> configs() throws Exception {
    Map<String, Object> out = obj();
    String plain = topic("configs-plain");
    String over = topic("configs-overrides");
    try (Admin a = admin()) {
      step("create");
      NewTopic pt = new NewTopic(plain, 1, (short) 1);
      CreateTopicsResult cr = a.createTopics(List.of(pt));
      out.put("create_plain_returned_configs", attempt(() -> get(cr.config(plain)), cfg -> {
        Map<String, Object> m = new TreeMap<>();
        for (ConfigEntry e : cfg.entries()) m.put(e.name(), entry(e, true));
        return Map.of("entries", m);
      }));
      get(cr.all());
      awaitTopic(a, plain, 1);
      Map<String, String> overrides = new LinkedHashMap<>();
      overrides.put("cleanup.policy", "compact");
      overrides.put("retention.ms", "3600000");
      overrides.put("max.message.bytes", "65536");
      overrides.put("min.compaction.lag.ms", "1000");
      overrides.put("compression.type", "zstd");
      overrides.put("message.timestamp.type", "LogAppendTime");
      createTopic(a, over, 1, overrides);
      step("describe");
      out.put("new_topic", describeTopicConfigs(a, plain, null, false));
      Set<String> interesting = Set.of("cleanup.policy", "retention.ms", "max.message.bytes", "min.compaction.lag.ms", "compression.type", "message.timestamp.type", "segment.bytes", "retention.bytes");
      out.put("topic_with_overrides", describeTopicConfigs(a, over, interesting, false));
      out.put("topic_with_overrides_synonyms", describeTopicConfigs(a, over, interesting, true));

      step("incremental alter");
      ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, over);
      Map<String, Object> steps = obj();
      steps.put("set_retention_ms", alter(a, res, new AlterConfigOp(new ConfigEntry("retention.ms", "7200000"), AlterConfigOp.OpType.SET)));
      steps.put("set_segment_ms", alter(a, res, new AlterConfigOp(new ConfigEntry("segment.ms", "600000"), AlterConfigOp.OpType.SET)));
      steps.put("delete_max_message_bytes", alter(a, res, new AlterConfigOp(new ConfigEntry("max.message.bytes", ""), AlterConfigOp.OpType.DELETE)));
      steps.put("delete_never_set", alter(a, res, new AlterConfigOp(new ConfigEntry("retention.bytes", ""), AlterConfigOp.OpType.DELETE)));
      steps.put("append_cleanup_policy_delete", alter(a, res, new AlterConfigOp(new ConfigEntry("cleanup.policy", "delete"), AlterConfigOp.OpType.APPEND)));
      steps.put("append_cleanup_policy_again", alter(a, res, new AlterConfigOp(new ConfigEntry("cleanup.policy", "delete"), AlterConfigOp.OpType.APPEND)));
      out.put("alter_steps_1", steps);
      Set<String> touched = Set.of("cleanup.policy", "retention.ms", "max.message.bytes", "segment.ms", "retention.bytes", "compression.type");
      out.put("after_set_delete_append", describeTopicConfigs(a, over, touched, false));
      Map<String, Object> steps2 = obj();
      steps2.put("subtract_cleanup_policy_compact", alter(a, res, new AlterConfigOp(new ConfigEntry("cleanup.policy", "compact"), AlterConfigOp.OpType.SUBTRACT)));
      steps2.put("set_two_at_once", alter(a, res, new AlterConfigOp(new ConfigEntry("retention.ms", "1000"), AlterConfigOp.OpType.SET),
          new AlterConfigOp(new ConfigEntry("compression.type", "lz4"), AlterConfigOp.OpType.SET)));
      steps2.put("one_good_one_bad", alter(a, res, new AlterConfigOp(new ConfigEntry("retention.ms", "2000"), AlterConfigOp.OpType.SET),
          new AlterConfigOp(new ConfigEntry("cleanup.policy", "bogus"), AlterConfigOp.OpType.SET)));
      out.put("alter_steps_2", steps2);
      out.put("after_subtract_and_pair", describeTopicConfigs(a, over, touched, false));
      out.put("plain_topic_untouched", describeTopicConfigs(a, plain, Set.of(), false));

      step("broker");
      Map<String, Object> b = obj();
      try {
        var nodes = get(a.describeCluster().nodes());
        b.put("node_count", nodes.size());
        String id = String.valueOf(nodes.iterator().next().id());
        ConfigResource br = new ConfigResource(ConfigResource.Type.BROKER, id);
        Config cfg = get(a.describeConfigs(List.of(br)).values().get(br));
        Map<String, Object> sources = new TreeMap<>();
        for (ConfigEntry e : cfg.entries()) sources.put(e.name(), String.valueOf(e.source()));
        b.put("sources", sources);
        // Values where both brokers are configured the same way by the harness, or which are
        // Kafka's documented defaults a client might rely on.
        Set<String> valued = Set.of("num.partitions", "default.replication.factor", "auto.create.topics.enable", "message.max.bytes",
            "log.retention.hours", "log.retention.ms", "log.retention.bytes", "log.segment.bytes", "log.cleanup.policy", "compression.type",
            "offsets.topic.num.partitions", "offsets.retention.minutes", "group.initial.rebalance.delay.ms", "group.min.session.timeout.ms",
            "group.max.session.timeout.ms", "transaction.max.timeout.ms", "min.insync.replicas", "log.message.timestamp.type",
            "delete.topic.enable", "group.consumer.heartbeat.interval.ms", "group.consumer.session.timeout.ms", "transactional.id.expiration.ms",
            "log.message.timestamp.before.max.ms", "log.message.timestamp.after.max.ms", "max.incremental.fetch.session.cache.slots");
        Map<String, Object> values = new TreeMap<>();
        for (ConfigEntry e : cfg.entries()) {
          if (valued.contains(e.name())) values.put(e.name(), entry(e, true));
        }
        for (String n : valued) values.putIfAbsent(n, "absent");
        b.put("selected", values);
      } catch (Exception e) {
        b.put("error", errorName(e));
      }
      out.put("broker", b);
      a.deleteTopics(List.of(plain, over));
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------
  // cluster: the answers of a one-node cluster (issue 12): DescribeCluster v2,
  // DescribeQuorum, ListConfigResources, ElectLeaders, the partition reassignment APIs and
  // the broker's static configs as tools read them.

  /** The node id as "this_node", anything else as "other:ID" (a broker id a test chose). */
  static String nodeName(int id, int self) {
    return id == self ? "this_node" : "other:" + id;
  }

  /** Replaces the bootstrap address, then any other HOST:PORT, in a config value. */
  static String normalAddress(String value) {
    if (value == null) return null;
    String v = value.replace(bootstrap, "<bootstrap>");
    return v.replaceAll("127\\.0\\.0\\.1:\\d+", "127.0.0.1:<other-port>");
  }

  static Map<String, Object> quorumState(QuorumInfo.ReplicaState r, int self) {
    Map<String, Object> m = obj();
    m.put("replica_id", nodeName(r.replicaId(), self));
    m.put("log_end_offset", r.logEndOffset() >= 0 ? "present" : String.valueOf(r.logEndOffset()));
    m.put("last_fetch_timestamp", r.lastFetchTimestamp().isPresent() ? (r.lastFetchTimestamp().getAsLong() > 0 ? "present" : String.valueOf(r.lastFetchTimestamp().getAsLong())) : "absent");
    m.put("last_caught_up_timestamp", r.lastCaughtUpTimestamp().isPresent() ? (r.lastCaughtUpTimestamp().getAsLong() > 0 ? "present" : String.valueOf(r.lastCaughtUpTimestamp().getAsLong())) : "absent");
    return m;
  }

  static Map<String, Object> describeQuorum(Admin a, int self) {
    return attempt(() -> get(a.describeMetadataQuorum().quorumInfo()), q -> {
      Map<String, Object> m = obj();
      m.put("leader_id", nodeName(q.leaderId(), self));
      m.put("leader_epoch_positive", q.leaderEpoch() > 0);
      m.put("high_watermark", q.highWatermark() > 0 ? "positive" : String.valueOf(q.highWatermark()));
      List<Object> voters = new ArrayList<>();
      for (QuorumInfo.ReplicaState r : q.voters()) voters.add(quorumState(r, self));
      m.put("voters", voters);
      List<Object> observers = new ArrayList<>();
      for (QuorumInfo.ReplicaState r : q.observers()) observers.add(quorumState(r, self));
      m.put("observers", observers);
      Map<String, Object> nodes = new TreeMap<>();
      q.nodes().forEach((id, n) -> {
        List<Object> eps = new ArrayList<>();
        for (RaftVoterEndpoint e : n.endpoints()) eps.add(e.name() + " " + normalAddress(e.host() + ":" + e.port()));
        nodes.put(nodeName(id, self), eps);
      });
      m.put("nodes", nodes);
      return m;
    });
  }

  /** ListConfigResources of `types`: names by type, ours under their logical names. */
  static Map<String, Object> listConfigResources(Admin a, Set<ConfigResource.Type> types, int self) {
    return attempt(() -> get(a.listConfigResources(types, new ListConfigResourcesOptions()).all()), all -> {
      Map<String, Object> m = new TreeMap<>();
      Map<String, Set<String>> byType = new TreeMap<>();
      for (ConfigResource r : all) {
        String name = r.name();
        String shown;
        if (r.type() == ConfigResource.Type.BROKER || r.type() == ConfigResource.Type.BROKER_LOGGER) shown = name.equals(String.valueOf(self)) ? "this_node" : "other:" + name;
        else if (logical.containsKey(name)) shown = logicalName(name);
        else if (name.startsWith("__")) shown = "<internal>";
        else continue; // another scenario's topic: depends on what ran before
        byType.computeIfAbsent(String.valueOf(r.type()), k -> new java.util.TreeSet<>()).add(shown);
      }
      m.putAll(byType);
      return m;
    });
  }

  static Map<String, Object> elect(Admin a, ElectionType type, Set<TopicPartition> partitions) {
    Map<String, Object> out = obj();
    try {
      Map<TopicPartition, Optional<Throwable>> r = get(a.electLeaders(type, partitions).partitions());
      out.put("error", "NONE");
      Map<String, Object> per = new TreeMap<>();
      boolean others = false;
      for (var e : r.entrySet()) {
        String name = logicalName(e.getKey().topic());
        if (name.equals("<other>")) {
          others = true;
          continue;
        }
        per.put(name + "-" + e.getKey().partition(), e.getValue().map(JavaObserve::errorName).orElse("NONE"));
      }
      out.put("partitions", per);
      if (partitions == null) out.put("other_topics_listed", others);
    } catch (Exception e) {
      out.put("error", errorName(e));
    }
    return out;
  }

  static Map<String, Object> listReassignments(Admin a, Optional<Set<TopicPartition>> partitions) {
    return attempt(() -> get(a.listPartitionReassignments(partitions, new ListPartitionReassignmentsOptions()).reassignments()), r -> {
      Map<String, Object> m = new TreeMap<>();
      r.forEach((tp, pr) -> m.put(logicalName(tp.topic()) + "-" + tp.partition(),
          List.of(pr.replicas(), pr.addingReplicas(), pr.removingReplicas()).toString()));
      return Map.of("ongoing", m);
    });
  }

  static Map<String, Object> reassign(Admin a, TopicPartition tp, List<Integer> replicas, Boolean allowRfChange) {
    Optional<NewPartitionReassignment> target = replicas == null ? Optional.empty() : Optional.of(new NewPartitionReassignment(replicas));
    AlterPartitionReassignmentsOptions options = new AlterPartitionReassignmentsOptions();
    if (allowRfChange != null) options.allowReplicationFactorChange(allowRfChange);
    return attempt(() -> get(a.alterPartitionReassignments(Map.of(tp, target), options).values().get(tp)));
  }

  static Map<String, Object> cluster() throws Exception {
    Map<String, Object> out = obj();
    String t = topic("cluster");
    String grp = group("cluster");
    try (Admin a = admin(); Admin q = quickAdmin()) {
      createTopic(a, t, 2, null);
      // A group with committed offsets (an admin commit to an empty group creates it).
      get(a.alterConsumerGroupOffsets(grp, Map.of(new TopicPartition(t, 0), new OffsetAndMetadata(0))).all());
      int self = get(a.describeCluster().nodes()).iterator().next().id();

      step("describe cluster");
      Map<String, Object> dc = obj();
      for (boolean fenced : new boolean[] {false, true}) {
        DescribeClusterOptions o = new DescribeClusterOptions().includeAuthorizedOperations(true).includeFencedBrokers(fenced);
        Map<String, Object> one = obj();
        try {
          DescribeClusterResult r = a.describeCluster(o);
          List<Object> nodes = new ArrayList<>();
          for (Node n : get(r.nodes())) {
            nodes.add(nodeName(n.id(), self) + " " + normalAddress(n.host() + ":" + n.port()) + " rack=" + n.rack() + " fenced=" + n.isFenced());
          }
          one.put("nodes", nodes);
          Node c = get(r.controller());
          one.put("controller", c == null ? "absent" : nodeName(c.id(), self));
          one.put("cluster_id", get(r.clusterId()) == null ? "absent" : "present");
          Set<AclOperation> ops = get(r.authorizedOperations());
          one.put("authorized_operations", ops == null ? "absent" : new java.util.TreeSet<>(ops.stream().map(String::valueOf).toList()).toString());
          one.put("error", "NONE");
        } catch (Exception e) {
          one.put("error", errorName(e));
        }
        dc.put(fenced ? "include_fenced" : "default", one);
      }
      out.put("describe_cluster", dc);

      step("describe metadata quorum");
      out.put("describe_quorum", describeQuorum(a, self));

      step("list config resources");
      Map<String, Object> lc = obj();
      lc.put("all_types", listConfigResources(a, Set.of(), self));
      for (ConfigResource.Type type : List.of(ConfigResource.Type.TOPIC, ConfigResource.Type.BROKER, ConfigResource.Type.GROUP,
          ConfigResource.Type.CLIENT_METRICS, ConfigResource.Type.BROKER_LOGGER)) {
        lc.put(String.valueOf(type), listConfigResources(q, Set.of(type), self));
      }
      lc.put("TOPIC_and_GROUP", listConfigResources(a, Set.of(ConfigResource.Type.TOPIC, ConfigResource.Type.GROUP), self));
      out.put("list_config_resources", lc);

      step("elect leaders");
      Map<String, Object> el = obj();
      TopicPartition p0 = new TopicPartition(t, 0), p1 = new TopicPartition(t, 1);
      TopicPartition bad = new TopicPartition(t, 7), missing = new TopicPartition(topic("missing"), 0);
      el.put("preferred", elect(a, ElectionType.PREFERRED, Set.of(p0, p1)));
      el.put("unclean", elect(a, ElectionType.UNCLEAN, Set.of(p0)));
      el.put("preferred_unknown_topic", elect(q, ElectionType.PREFERRED, Set.of(missing)));
      el.put("preferred_unknown_partition", elect(q, ElectionType.PREFERRED, Set.of(bad)));
      el.put("unclean_unknown_topic", elect(q, ElectionType.UNCLEAN, Set.of(missing)));
      el.put("preferred_known_and_unknown", elect(q, ElectionType.PREFERRED, Set.of(p0, missing)));
      el.put("preferred_all", elect(a, ElectionType.PREFERRED, null));
      el.put("unclean_all", elect(a, ElectionType.UNCLEAN, null));
      out.put("elect_leaders", el);

      step("partition reassignments");
      Map<String, Object> pr = obj();
      pr.put("list_all_before", listReassignments(a, Optional.empty()));
      pr.put("list_one_before", listReassignments(a, Optional.of(Set.of(p0))));
      pr.put("list_unknown_topic", listReassignments(q, Optional.of(Set.of(missing))));
      pr.put("list_unknown_partition", listReassignments(q, Optional.of(Set.of(bad))));
      pr.put("to_this_node", reassign(a, p0, List.of(self), null));
      pr.put("list_after_to_this_node", listReassignments(a, Optional.empty()));
      pr.put("to_unknown_broker", reassign(q, p1, List.of(4242), null));
      pr.put("to_this_and_unknown_broker", reassign(q, p1, List.of(self, 4242), null));
      pr.put("to_this_and_unknown_broker_no_rf_change", reassign(q, p1, List.of(self, 4242), false));
      pr.put("duplicate_replicas", reassign(q, p1, List.of(self, self), null));
      pr.put("negative_broker", reassign(q, p1, List.of(-1), null));
      pr.put("cancel_none_in_progress", reassign(q, p0, null, null));
      pr.put("unknown_topic", reassign(q, missing, List.of(self), null));
      pr.put("unknown_partition", reassign(q, bad, List.of(self), null));
      pr.put("cancel_unknown_topic", reassign(q, missing, null, null));
      pr.put("list_all_after", listReassignments(a, Optional.empty()));
      pr.put("replicas_after", attempt(() -> get(a.describeTopics(List.of(t)).topicNameValues().get(t)), d -> {
        Map<String, Object> m = new TreeMap<>();
        d.partitions().forEach(p -> m.put(String.valueOf(p.partition()), p.replicas().stream().map(n -> nodeName(n.id(), self)).toList().toString()
            + " leader=" + (p.leader() == null ? "none" : nodeName(p.leader().id(), self))));
        return m;
      }));
      out.put("partition_reassignments", pr);

      step("broker static configs");
      Map<String, Object> bc = obj();
      ConfigResource br = new ConfigResource(ConfigResource.Type.BROKER, String.valueOf(self));
      // The static configs tools read (kafka-configs, kafka-metadata-quorum, UIs); the
      // harness's own settings are compared by the configs scenario.
      Set<String> names = Set.of("listeners", "advertised.listeners", "node.id", "broker.id", "process.roles", "log.dirs",
          "controller.listener.names", "controller.quorum.voters", "inter.broker.listener.name", "listener.security.protocol.map",
          "broker.rack");
      try {
        Config cfg = get(a.describeConfigs(List.of(br), new DescribeConfigsOptions().includeSynonyms(true)).values().get(br));
        for (ConfigEntry e : cfg.entries()) {
          if (!names.contains(e.name())) continue;
          Map<String, Object> v = entry(e, true);
          String value = e.value();
          if (value != null && e.name().equals("log.dirs")) value = value.startsWith("/") ? "<path>" : value;
          v.put("value", normalAddress(value));
          List<Object> syn = new ArrayList<>();
          for (ConfigEntry.ConfigSynonym s : e.synonyms()) syn.add(s.name() + " (" + s.source() + ")");
          v.put("synonyms", syn);
          bc.put(e.name(), v);
        }
        for (String n : new java.util.TreeSet<>(names)) bc.putIfAbsent(n, "absent");
        Map<String, Object> sorted = new TreeMap<>(bc);
        bc = obj();
        bc.putAll(sorted);
      } catch (Exception e) {
        bc.put("error", errorName(e));
      }
      out.put("broker_static_configs", bc);

      a.deleteConsumerGroups(List.of(grp));
      a.deleteTopics(List.of(t));
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------
  // jbod: a broker with two log dirs (compat/diff/run.sh starts both brokers so)

  /** Log dir paths by role: "p0-dir" (where partition 0 of the topic was created) and
   *  "other-dir" (brokers may pick another dir for partition 0: Kafka creates a new topic's
   *  partitions in the order of its metadata delta's hash map). */
  static final Map<String, String> dirNames = new HashMap<>();

  static String dirName(String path) {
    if (path == null) return "null";
    return dirNames.getOrDefault(path, "<other dir>");
  }

  static String sign(long v) {
    return v > 0 ? "positive" : v == 0 ? "zero" : String.valueOf(v);
  }

  /** describeLogDirs of this broker: every dir with its error, sizes (as signs) and the
   *  replicas of topic `real`. */
  static Map<String, Object> describeDirs(Admin a, int self, String real) {
    return attempt(() -> get(a.describeLogDirs(List.of(self)).allDescriptions()).get(self), dirs -> {
      Map<String, Object> m = obj();
      m.put("dirs", dirs.size());
      for (String path : new java.util.TreeSet<>(dirs.keySet())) {
        org.apache.kafka.clients.admin.LogDirDescription d = dirs.get(path);
        Map<String, Object> one = obj();
        one.put("error", d.error() == null ? "NONE" : errorName(d.error()));
        one.put("total_bytes", d.totalBytes().isPresent() ? sign(d.totalBytes().getAsLong()) : "absent");
        one.put("usable_bytes", d.usableBytes().isPresent() ? sign(d.usableBytes().getAsLong()) : "absent");
        one.put("usable_at_most_total", d.totalBytes().isPresent() && d.usableBytes().isPresent()
            && d.usableBytes().getAsLong() <= d.totalBytes().getAsLong());
        Map<String, Object> replicas = new TreeMap<>();
        d.replicaInfos().forEach((tp, info) -> {
          if (!tp.topic().equals(real)) return;
          replicas.put(tp.partition() + (info.isFuture() ? " future" : ""),
              "size=" + sign(info.size()) + " offset_lag=" + info.offsetLag());
        });
        one.put("replicas", replicas);
        m.put(dirName(path), one);
      }
      return m;
    });
  }

  static Map<String, Object> describeReplicaDirs(Admin a, List<org.apache.kafka.common.TopicPartitionReplica> replicas) {
    Map<String, Object> out = obj();
    var r = a.describeReplicaLogDirs(replicas);
    for (org.apache.kafka.common.TopicPartitionReplica rep : replicas) {
      out.put(logicalName(rep.topic()) + "-" + rep.partition(), attempt(() -> get(r.values().get(rep)), info -> {
        Map<String, Object> m = obj();
        m.put("current_dir", dirName(info.getCurrentReplicaLogDir()));
        m.put("current_offset_lag", info.getCurrentReplicaOffsetLag());
        m.put("future_dir", dirName(info.getFutureReplicaLogDir()));
        m.put("future_offset_lag", info.getFutureReplicaOffsetLag());
        return m;
      }));
    }
    return out;
  }

  static Map<String, Object> alterDir(Admin a, org.apache.kafka.common.TopicPartitionReplica rep, String path) {
    return attempt(() -> get(a.alterReplicaLogDirs(Map.of(rep, path)).values().get(rep)));
  }

  static Map<String, Object> jbod() throws Exception {
    Map<String, Object> out = obj();
    String t = topic("jbod");
    String missing = topic("missing");
    try (Admin a = admin(); Admin q = quickAdmin()) {
      createTopic(a, t, 2, null);
      int self = get(a.describeCluster().nodes()).iterator().next().id();
      var r0 = new org.apache.kafka.common.TopicPartitionReplica(t, 0, self);
      var r1 = new org.apache.kafka.common.TopicPartitionReplica(t, 1, self);
      var r7 = new org.apache.kafka.common.TopicPartitionReplica(t, 7, self);
      var rMissing = new org.apache.kafka.common.TopicPartitionReplica(missing, 0, self);
      Map<String, org.apache.kafka.clients.admin.LogDirDescription> dirs = get(a.describeLogDirs(List.of(self)).allDescriptions()).get(self);
      String home = get(a.describeReplicaLogDirs(List.of(r0)).values().get(r0)).getCurrentReplicaLogDir();
      int n = 0;
      for (String path : new java.util.TreeSet<>(dirs.keySet())) dirNames.put(path, path.equals(home) ? "p0-dir" : "other-dir-" + (++n));
      step("produce");
      try (KafkaProducer<String, String> p = producer(Map.of())) {
        for (int partition = 0; partition < 2; partition++) {
          out.put("produce_p" + partition, sendAll(p, t, partition, new long[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, "jbod"));
        }
      }

      step("describe log dirs");
      out.put("describe_log_dirs", describeDirs(a, self, t));

      step("describe replica log dirs");
      out.put("describe_replica_log_dirs", describeReplicaDirs(a, List.of(r0, r1, r7, rMissing)));

      step("alter replica log dirs");
      String current = get(a.describeReplicaLogDirs(List.of(r0)).values().get(r0)).getCurrentReplicaLogDir();
      String other = dirNames.keySet().stream().filter(d -> !d.equals(current)).sorted().findFirst().orElse(current);
      Map<String, Object> al = obj();
      al.put("to_the_same_dir", alterDir(q, r0, current));
      al.put("to_an_unknown_dir", alterDir(q, r0, "/nonexistent/skiff-diff-dir"));
      al.put("to_a_relative_dir", alterDir(q, r0, "relative-dir"));
      al.put("unknown_partition", alterDir(q, r7, current));
      al.put("unknown_topic", alterDir(q, rMissing, current));
      al.put("to_the_other_dir", alterDir(a, r0, other));
      // The move runs in the background: wait until the partition is in its new dir.
      long deadline = System.currentTimeMillis() + 30_000;
      String now = current;
      while (System.currentTimeMillis() < deadline) {
        var info = get(a.describeReplicaLogDirs(List.of(r0)).values().get(r0));
        now = info.getCurrentReplicaLogDir();
        if (other.equals(now) && info.getFutureReplicaLogDir() == null) break;
        Thread.sleep(100);
      }
      al.put("moved_to_the_other_dir", other.equals(now) && !other.equals(current));
      out.put("alter_replica_log_dirs", al);

      step("after the move");
      out.put("describe_replica_log_dirs_after", describeReplicaDirs(a, List.of(r0, r1)));
      out.put("describe_log_dirs_after", describeDirs(a, self, t));
      try (KafkaProducer<String, String> p = producer(Map.of())) {
        out.put("produce_after", sendAll(p, t, 0, new long[] {10, 11, 12}, "after"));
      }
      out.put("read_after", readPartition(t, 0, "read_uncommitted"));
      a.deleteTopics(List.of(t));
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------
  // groups

  static Map<String, Object> describeGroup(Admin a, String g) {
    Map<String, Object> out = obj();
    out.put("describe", attempt(() -> get(a.describeConsumerGroups(List.of(g)).describedGroups().get(g)), d -> {
      Map<String, Object> m = obj();
      m.put("state", String.valueOf(d.groupState()));
      m.put("type", String.valueOf(d.type()));
      m.put("partition_assignor", d.partitionAssignor());
      m.put("simple", d.isSimpleConsumerGroup());
      m.put("coordinator", d.coordinator() == null ? "absent" : "present");
      m.put("group_epoch", d.groupEpoch().isPresent() ? "present" : "absent");
      m.put("member_count", d.members().size());
      List<String> members = new ArrayList<>();
      for (MemberDescription md : d.members()) {
        StringBuilder s = new StringBuilder();
        s.append("client_id=").append(md.clientId());
        s.append(" member_id=").append(md.consumerId() == null || md.consumerId().isEmpty() ? "absent" : "present");
        s.append(" instance_id=").append(md.groupInstanceId().orElse("absent"));
        s.append(" host=").append(md.host() == null || md.host().isEmpty() ? "absent" : "present");
        s.append(" assignment=").append(partitions(md.assignment().topicPartitions()));
        s.append(" target=").append(md.targetAssignment().map(t -> partitions(t.topicPartitions())).orElse("absent"));
        s.append(" member_epoch=").append(md.memberEpoch().isPresent() ? "present" : "absent");
        s.append(" upgraded=").append(md.upgraded().map(String::valueOf).orElse("absent"));
        members.add(s.toString());
      }
      Collections.sort(members);
      m.put("members", members);
      return m;
    }));
    out.put("list", attempt(() -> get(a.listGroups().all()), all -> {
      Map<String, Object> m = obj();
      m.put("listed", "no");
      for (GroupListing l : all) {
        if (!l.groupId().equals(g)) continue;
        m.put("listed", "yes");
        m.put("type", l.type().map(String::valueOf).orElse("absent"));
        m.put("protocol", l.protocol());
        m.put("state", l.groupState().map(String::valueOf).orElse("absent"));
        m.put("simple", l.isSimpleConsumerGroup());
      }
      return m;
    }));
    return out;
  }

  static String partitions(Set<TopicPartition> tps) {
    List<String> s = new ArrayList<>();
    for (TopicPartition tp : tps) s.add(logicalName(tp.topic()) + "-" + tp.partition());
    Collections.sort(s);
    return "[" + String.join(",", s) + "]";
  }

  /** Polls every consumer until the assignments cover `total` partitions with none empty. */
  static boolean settle(List<KafkaConsumer<String, String>> cs, int total) {
    long deadline = System.currentTimeMillis() + 45_000;
    while (System.currentTimeMillis() < deadline) {
      int sum = 0;
      boolean allHave = true;
      for (KafkaConsumer<String, String> c : cs) {
        c.poll(Duration.ofMillis(100));
        sum += c.assignment().size();
        allHave &= !c.assignment().isEmpty();
      }
      if (sum == total && allHave) {
        for (int i = 0; i < 3; i++) for (KafkaConsumer<String, String> c : cs) c.poll(Duration.ofMillis(50));
        return true;
      }
    }
    return false;
  }

  /** Waits (bounded) until describe reports the wanted state and member count. */
  static void awaitGroup(Admin a, String g, String state, int members) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 20_000;
    while (System.currentTimeMillis() < deadline) {
      try {
        ConsumerGroupDescription d = get(a.describeConsumerGroups(List.of(g)).describedGroups().get(g));
        if (String.valueOf(d.groupState()).equalsIgnoreCase(state) && d.members().size() == members) return;
      } catch (Exception e) {
        if (state.equalsIgnoreCase("DEAD")) return;
      }
      Thread.sleep(200);
    }
  }

  static Map<String, Object> lifecycle(Admin a, String protocol) throws Exception {
    Map<String, Object> out = obj();
    String t = topic("groups-" + protocol);
    String g = group("lifecycle-" + protocol);
    createTopic(a, t, 4, null);
    Map<String, Object> ce = new HashMap<>();
    ce.put(ConsumerConfig.GROUP_ID_CONFIG, g);
    ce.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
    if (protocol.equals("classic")) {
      ce.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, "org.apache.kafka.clients.consumer.RangeAssignor");
    }
    out.put("0_before", describeGroup(a, g));
    KafkaConsumer<String, String> c1 = consumer(ce);
    KafkaConsumer<String, String> c2 = null;
    try {
      c1.subscribe(List.of(t));
      out.put("1_one_member_settled", settle(List.of(c1), 4));
      awaitGroup(a, g, "STABLE", 1);
      out.put("1_one_member", describeGroup(a, g));
      c2 = consumer(ce);
      c2.subscribe(List.of(t));
      out.put("2_two_members_settled", settle(List.of(c1, c2), 4));
      awaitGroup(a, g, "STABLE", 2);
      out.put("2_two_members", describeGroup(a, g));
      c1.commitSync(Duration.ofMillis(WAIT_MS));
      c2.commitSync(Duration.ofMillis(WAIT_MS));
      c2.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(10)));
      c2 = null;
      out.put("3_after_one_left_settled", settle(List.of(c1), 4));
      awaitGroup(a, g, "STABLE", 1);
      out.put("3_after_one_left", describeGroup(a, g));
      c1.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(10)));
      c1 = null;
      awaitGroup(a, g, "EMPTY", 0);
      out.put("4_after_all_left", describeGroup(a, g));
      out.put("4_committed", attempt(() -> get(a.listConsumerGroupOffsets(g).partitionsToOffsetAndMetadata()), JavaObserve::describeCommitted));
      out.put("5_delete", attempt(() -> get(a.deleteConsumerGroups(List.of(g)).deletedGroups().get(g))));
      out.put("5_after_delete", describeGroup(a, g));
    } finally {
      if (c2 != null) c2.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(5)));
      if (c1 != null) c1.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(5)));
      a.deleteTopics(List.of(t));
    }
    return out;
  }

  /** A static member (group.instance.id) of a classic group: closing it does not leave the
   *  group; the admin client removes it (KIP-345's removeMembersFromConsumerGroup). */
  static Map<String, Object> staticMember(Admin a) throws Exception {
    Map<String, Object> out = obj();
    String t = topic("groups-static");
    String g = group("static");
    createTopic(a, t, 2, null);
    Map<String, Object> ce = new HashMap<>();
    ce.put(ConsumerConfig.GROUP_ID_CONFIG, g);
    ce.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, "static-1");
    ce.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 30_000);
    ce.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, "org.apache.kafka.clients.consumer.RangeAssignor");
    try {
      KafkaConsumer<String, String> c = consumer(ce);
      try {
        c.subscribe(List.of(t));
        out.put("1_joined_settled", settle(List.of(c), 2));
        awaitGroup(a, g, "STABLE", 1);
        out.put("1_joined", describeGroup(a, g));
      } finally {
        c.close();
      }
      out.put("2_after_close", describeGroup(a, g));
      var unknown = new org.apache.kafka.clients.admin.MemberToRemove("static-9");
      out.put("3_remove_unknown_instance", attempt(() -> get(a.removeMembersFromConsumerGroup(g,
          new org.apache.kafka.clients.admin.RemoveMembersFromConsumerGroupOptions(List.of(unknown))).all())));
      var known = new org.apache.kafka.clients.admin.MemberToRemove("static-1");
      out.put("4_remove", attempt(() -> get(a.removeMembersFromConsumerGroup(g,
          new org.apache.kafka.clients.admin.RemoveMembersFromConsumerGroupOptions(List.of(known))).all())));
      awaitGroup(a, g, "EMPTY", 0);
      out.put("5_after_remove", describeGroup(a, g));
      out.put("6_remove_all_from_empty_group", attempt(() -> get(a.removeMembersFromConsumerGroup(g,
          new org.apache.kafka.clients.admin.RemoveMembersFromConsumerGroupOptions()).all())));
    } finally {
      a.deleteTopics(List.of(t));
    }
    return out;
  }

  static Map<String, Object> groups() throws Exception {
    Map<String, Object> out = obj();
    try (Admin a = admin()) {
      step("classic lifecycle");
      out.put("classic", lifecycle(a, "classic"));
      step("consumer (KIP-848) lifecycle");
      out.put("consumer", lifecycle(a, "consumer"));
      step("classic static member");
      out.put("classic_static", staticMember(a));
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------
  // JSON

  static void json(StringBuilder sb, Object v, int indent) {
    String pad = "  ".repeat(indent + 1), end = "  ".repeat(indent);
    if (v == null) {
      sb.append("null");
    } else if (v instanceof String s) {
      str(sb, s);
    } else if (v instanceof Boolean || v instanceof Integer || v instanceof Long || v instanceof Short) {
      sb.append(v);
    } else if (v instanceof Map<?, ?> m) {
      if (m.isEmpty()) {
        sb.append("{}");
        return;
      }
      sb.append("{\n");
      int i = 0;
      for (Map.Entry<?, ?> e : m.entrySet()) {
        sb.append(pad);
        str(sb, String.valueOf(e.getKey()));
        sb.append(": ");
        json(sb, e.getValue(), indent + 1);
        sb.append(++i < m.size() ? ",\n" : "\n");
      }
      sb.append(end).append("}");
    } else if (v instanceof Collection<?> c) {
      if (c.isEmpty()) {
        sb.append("[]");
        return;
      }
      sb.append("[\n");
      int i = 0;
      for (Object o : c) {
        sb.append(pad);
        json(sb, o, indent + 1);
        sb.append(++i < c.size() ? ",\n" : "\n");
      }
      sb.append(end).append("]");
    } else {
      str(sb, String.valueOf(v));
    }
  }

  static void str(StringBuilder sb, String s) {
    sb.append('"');
    for (char ch : s.toCharArray()) {
      switch (ch) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\t' -> sb.append("\\t");
        case '\r' -> sb.append("\\r");
        default -> {
          if (ch < 0x20) sb.append(String.format("\\u%04x", (int) ch));
          else sb.append(ch);
        }
      }
    }
    sb.append('"');
  }

  // ---- client telemetry (KIP-714) ------------------------------------------------------

  /** The configs of a client-metrics resource as described (synonyms and documentation asked for). */
  static Map<String, Object> describeClientMetrics(Admin a, String real) {
    ConfigResource res = new ConfigResource(ConfigResource.Type.CLIENT_METRICS, real);
    return attempt(() -> get(a.describeConfigs(List.of(res), new DescribeConfigsOptions().includeSynonyms(true).includeDocumentation(true)).values().get(res)), cfg -> {
      Map<String, Object> m = new TreeMap<>();
      for (ConfigEntry e : cfg.entries()) {
        Map<String, Object> v = entry(e, true);
        v.put("documentation", e.documentation() == null ? "absent" : "present");
        List<Object> syn = new ArrayList<>();
        for (ConfigEntry.ConfigSynonym sy : e.synonyms()) syn.add(sy.name() + "=" + sy.value() + " (" + sy.source() + ")");
        v.put("synonyms", syn);
        m.put(e.name(), v);
      }
      Map<String, Object> r = obj();
      r.put("entries", m);
      return r;
    });
  }

  static AlterConfigOp set(String name, String value) {
    return new AlterConfigOp(new ConfigEntry(name, value), AlterConfigOp.OpType.SET);
  }

  /**
   * Client-metrics subscriptions as config resources (set, refused, described, listed, appended
   * to, deleted), and what a producer sees of telemetry on a broker set up as the harness sets
   * it up (no ClientTelemetry plugin on Kafka; Skiff's receiver off by default).
   */
  static Map<String, Object> telemetry() throws Exception {
    Map<String, Object> out = obj();
    String subName = "diffcm-producers-" + RUN;
    logical.put(subName, "producers");
    String unset = "diffcm-unset-" + RUN;
    logical.put(unset, "unset");
    ConfigResource sub = new ConfigResource(ConfigResource.Type.CLIENT_METRICS, subName);
    ConfigResource bad = new ConfigResource(ConfigResource.Type.CLIENT_METRICS, "diffcm-bad-" + RUN);
    try (Admin a = admin(); Admin q = quickAdmin()) {
      int self = get(a.describeCluster().nodes()).iterator().next().id();
      step("client-metrics subscriptions");
      Map<String, Object> alters = obj();
      alters.put("set_valid", alter(a, sub, set("metrics", "org.apache.kafka.producer."), set("interval.ms", "1000"),
          set("match", "client_software_name=apache-kafka-java")));
      alters.put("interval_too_small", alter(q, bad, set("interval.ms", "99")));
      alters.put("interval_too_large", alter(q, bad, set("interval.ms", "3600001")));
      alters.put("interval_not_a_number", alter(q, bad, set("interval.ms", "soon")));
      alters.put("unknown_config", alter(q, bad, set("bogus", "1")));
      alters.put("match_unknown_selector", alter(q, bad, set("match", "nope=x")));
      alters.put("match_without_value", alter(q, bad, set("match", "client_id")));
      alters.put("match_bad_regex", alter(q, bad, set("match", "client_id=(")));
      alters.put("empty_name", alter(q, new ConfigResource(ConfigResource.Type.CLIENT_METRICS, ""), set("metrics", "*")));
      alters.put("validate_only", attempt(() -> get(a.incrementalAlterConfigs(Map.of(bad, List.of(set("metrics", "*"))),
          new org.apache.kafka.clients.admin.AlterConfigsOptions().validateOnly(true)).values().get(bad))));
      out.put("alter", alters);
      out.put("describe_set", describeClientMetrics(a, subName));
      out.put("describe_never_set", describeClientMetrics(a, unset));
      out.put("list_after_set", listConfigResources(a, Set.of(ConfigResource.Type.CLIENT_METRICS), self));
      out.put("append_metric", alter(a, sub, new AlterConfigOp(new ConfigEntry("metrics", "org.apache.kafka.consumer."), AlterConfigOp.OpType.APPEND)));
      out.put("describe_after_append", describeClientMetrics(a, subName));
      out.put("delete_all", alter(a, sub, new AlterConfigOp(new ConfigEntry("metrics", null), AlterConfigOp.OpType.DELETE),
          new AlterConfigOp(new ConfigEntry("interval.ms", null), AlterConfigOp.OpType.DELETE),
          new AlterConfigOp(new ConfigEntry("match", null), AlterConfigOp.OpType.DELETE)));
      out.put("describe_after_delete", describeClientMetrics(a, subName));
      out.put("list_after_delete", listConfigResources(a, Set.of(ConfigResource.Type.CLIENT_METRICS), self));
    }
    step("producer client instance id");
    try (KafkaProducer<String, String> p = producer(Map.of())) {
      out.put("producer_client_instance_id", attempt(() -> p.clientInstanceId(Duration.ofSeconds(3)),
          id -> { Map<String, Object> m = obj(); m.put("id", id == null ? "null" : "present"); return m; }));
    }
    return out;
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: JavaObserve.java offsets|errors|configs|groups|features|cluster|telemetry|quotas|jbod HOST:PORT OUT.json");
      System.exit(2);
    }
    bootstrap = args[1];
    Map<String, Object> obs;
    switch (args[0]) {
      case "offsets" -> obs = offsets();
      case "errors" -> obs = errors();
      case "configs" -> obs = configs();
      case "groups" -> obs = groups();
      case "features" -> obs = features();
      case "cluster" -> obs = cluster();
      case "telemetry" -> obs = telemetry();
      case "quotas" -> obs = quotas();
      case "jbod" -> obs = jbod();
      default -> {
        System.err.println("unknown scenario " + args[0]);
        System.exit(2);
        return;
      }
    }
    Map<String, Object> doc = obj();
    doc.put("observer", "java kafka-clients " + org.apache.kafka.common.utils.AppInfoParser.getVersion());
    doc.put("scenario", "java-" + args[0]);
    doc.put("observation", obs);
    StringBuilder sb = new StringBuilder();
    json(sb, doc, 0);
    sb.append('\n');
    Files.writeString(Path.of(args[2]), sb.toString(), StandardCharsets.UTF_8);
    step("wrote " + args[2]);
  }
}
