// Differential observer for share groups (KIP-932) with kafka-clients 4.4.0: drives the
// AdminClient and KafkaShareConsumers through one fixed script and writes everything the
// client observed as normalised JSON, compared key by key with the recording made against
// Kafka 4.4.0 (compat/diff/compare.py, compat/diff/reference-kafka-4.4.0/java-share.json).
// A file of its own beside JavaObserve.java because it needs the 4.4.0 client, while the
// other Java observers run with the reference broker's 4.1.1.
//
// Usage: java -cp 'target/kafka-client-libs-4.4.0/*' compat/diff/JavaShareObserve.java share HOST:PORT OUT.json
// The broker must run with the share suite's settings (compat/lib.sh SHARE_START_ARGS: a 5 s
// acquisition lock, minimum 1 s, delivery count limit 3); compat/diff/observe.sh says so.
//
// Normalisation: per-run topic and group names appear under their logical names; member ids,
// hosts, coordinators are "present"/"absent"; epochs are "present" (positive) and compared
// with each other (equal, grew), never written as values; member lists are sorted; every
// failed call is its Kafka error name (Errors.forException), a client-side exception
// "CLIENT_EXCEPTION:<class>". Waits are bounded polls on observable state (an assignment
// described, a state reached, a record delivered again), never sleeps. Exits 0 whenever the
// observation could be written.

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
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.AlterConfigsOptions;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.DescribeConfigsOptions;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListGroupsOptions;
import org.apache.kafka.clients.admin.ListShareGroupOffsetsSpec;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ShareGroupDescription;
import org.apache.kafka.clients.admin.ShareMemberDescription;
import org.apache.kafka.clients.admin.SharePartitionOffsetInfo;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.TopicIdPartition;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.protocol.Errors;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class JavaShareObserve {
  static final long WAIT_MS = 30_000;
  /** The broker's group.share.delivery.count.limit (compat/lib.sh SHARE_START_ARGS). */
  static final int DELIVERY_COUNT_LIMIT = 3;
  static final Duration POLL = Duration.ofMillis(100);

  static String bootstrap;
  static final String RUN = UUID.randomUUID().toString().substring(0, 8);
  /** Real (per-run) name → logical name. */
  static final Map<String, String> logical = new HashMap<>();

  static void step(String msg) {
    System.err.println("java-share-observe: " + msg);
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

  /** The error name of a call that returns nothing ("NONE" when it did not throw). */
  static String outcome(Runnable r) {
    try {
      r.run();
      return "NONE";
    } catch (Exception e) {
      return errorName(e);
    }
  }

  static <T> T get(KafkaFuture<T> f) throws Exception {
    return f.get(WAIT_MS, TimeUnit.MILLISECONDS);
  }

  /** Waits until cond holds or WAIT_MS passed; returns whether it held. */
  static boolean await(BooleanSupplier cond) throws InterruptedException {
    long deadline = System.currentTimeMillis() + WAIT_MS;
    while (!cond.getAsBoolean()) {
      if (System.currentTimeMillis() > deadline) return false;
      Thread.sleep(100);
    }
    return true;
  }

  static Admin admin() {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.CLIENT_ID_CONFIG, "skiff-diff-java-share-admin");
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 15_000);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 25_000);
    return Admin.create(p);
  }

  static KafkaShareConsumer<String, String> consumer(String group, String clientId, boolean explicit) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("group.id", group);
    p.put("client.id", clientId);
    p.put("max.poll.records", "100");
    p.put("share.acknowledgement.mode", explicit ? "explicit" : "implicit");
    return new KafkaShareConsumer<>(p, new StringDeserializer(), new StringDeserializer());
  }

  static void createTopic(Admin a, String real, int partitions) throws Exception {
    get(a.createTopics(List.of(new NewTopic(real, partitions, (short) 1))).all());
    boolean ready = await(() -> {
      try {
        TopicDescription d = get(a.describeTopics(List.of(real)).topicNameValues().get(real));
        return d.partitions().size() == partitions && d.partitions().stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty());
      } catch (Exception e) {
        return false;
      }
    });
    if (!ready) throw new IllegalStateException("topic " + real + " never became ready");
  }

  /** Produces n records to each partition, one small batch per flush; values "v-P-I". */
  static void produce(String real, int partitions, int n) throws Exception {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "skiff-diff-java-share-producer");
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.LINGER_MS_CONFIG, 0);
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
      for (int part = 0; part < partitions; part++) {
        List<Future<RecordMetadata>> fs = new ArrayList<>();
        for (int i = 0; i < n; i++) fs.add(producer.send(new ProducerRecord<>(real, part, null, "v-" + part + "-" + i)));
        producer.flush();
        for (Future<RecordMetadata> f : fs) f.get(WAIT_MS, TimeUnit.MILLISECONDS);
      }
    }
  }

  static String tp(TopicPartition t) {
    return logicalName(t.topic()) + "-" + t.partition();
  }

  static String partitions(Collection<TopicPartition> tps) {
    List<String> s = new ArrayList<>();
    for (TopicPartition t : tps) s.add(tp(t));
    Collections.sort(s);
    return "[" + String.join(",", s) + "]";
  }

  // ---- share.version -------------------------------------------------------------------

  static Map<String, Object> features(Admin a) {
    return attempt(() -> get(a.describeFeatures().featureMetadata()), fm -> {
      Map<String, Object> m = obj();
      var s = fm.supportedFeatures().get("share.version");
      m.put("supported", s == null ? "absent" : List.of(s.minVersion(), s.maxVersion()));
      var f = fm.finalizedFeatures().get("share.version");
      m.put("finalized", f == null ? "absent" : List.of(f.minVersionLevel(), f.maxVersionLevel()));
      return m;
    });
  }

  // ---- GROUP config resource -------------------------------------------------------------

  /** DescribeConfigs of a GROUP resource: every share.* entry (value, source, flags, type,
   *  synonyms, documentation present) and the names of the other group configs. */
  static Map<String, Object> describeGroupConfigs(Admin a, String real) {
    ConfigResource res = new ConfigResource(ConfigResource.Type.GROUP, real);
    return attempt(() -> get(a.describeConfigs(List.of(res), new DescribeConfigsOptions().includeSynonyms(true).includeDocumentation(true)).values().get(res)), cfg -> {
      Map<String, Object> share = new TreeMap<>();
      Set<String> others = new TreeSet<>();
      for (ConfigEntry e : cfg.entries()) {
        if (!e.name().startsWith("share.")) {
          others.add(e.name());
          continue;
        }
        Map<String, Object> v = obj();
        v.put("value", e.value());
        v.put("source", String.valueOf(e.source()));
        v.put("read_only", e.isReadOnly());
        v.put("sensitive", e.isSensitive());
        v.put("is_default", e.isDefault());
        v.put("type", String.valueOf(e.type()));
        v.put("documentation", e.documentation() == null ? "absent" : "present");
        List<Object> syn = new ArrayList<>();
        for (ConfigEntry.ConfigSynonym s : e.synonyms()) syn.add(s.name() + "=" + s.value() + " (" + s.source() + ")");
        v.put("synonyms", syn);
        share.put(e.name(), v);
      }
      Map<String, Object> m = obj();
      m.put("share_entries", share);
      m.put("other_names", new ArrayList<>(others));
      return m;
    });
  }

  /** The value of one group config as described (null when not described). */
  static String groupConfigValue(Admin a, String real, String name) {
    ConfigResource res = new ConfigResource(ConfigResource.Type.GROUP, real);
    try {
      ConfigEntry e = get(a.describeConfigs(List.of(res)).values().get(res)).get(name);
      return e == null ? null : e.value();
    } catch (Exception e) {
      return null;
    }
  }

  static AlterConfigOp op(String name, String value, AlterConfigOp.OpType type) {
    return new AlterConfigOp(new ConfigEntry(name, value), type);
  }

  static Map<String, Object> alterGroup(Admin a, String real, boolean validateOnly, AlterConfigOp... ops) {
    ConfigResource res = new ConfigResource(ConfigResource.Type.GROUP, real);
    return attempt(() -> get(a.incrementalAlterConfigs(Map.of(res, List.of(ops)), new AlterConfigsOptions().validateOnly(validateOnly)).all()));
  }

  static Map<String, Object> groupConfigs(Admin a) throws Exception {
    Map<String, Object> out = obj();
    String g = group("configs");
    var SET = AlterConfigOp.OpType.SET;
    var DELETE = AlterConfigOp.OpType.DELETE;
    var APPEND = AlterConfigOp.OpType.APPEND;
    out.put("0_never_set", describeGroupConfigs(a, g));
    Map<String, Object> refused = obj();
    refused.put("lock_duration_below_min", alterGroup(a, g, false, op("share.record.lock.duration.ms", "500", SET)));
    refused.put("lock_duration_above_max", alterGroup(a, g, false, op("share.record.lock.duration.ms", "70000", SET)));
    refused.put("lock_duration_not_a_number", alterGroup(a, g, false, op("share.record.lock.duration.ms", "soon", SET)));
    refused.put("delivery_count_limit_1", alterGroup(a, g, false, op("share.delivery.count.limit", "1", SET)));
    refused.put("delivery_count_limit_11", alterGroup(a, g, false, op("share.delivery.count.limit", "11", SET)));
    refused.put("session_timeout_below_min", alterGroup(a, g, false, op("share.session.timeout.ms", "1000", SET)));
    refused.put("heartbeat_interval_below_min", alterGroup(a, g, false, op("share.heartbeat.interval.ms", "10", SET)));
    refused.put("auto_offset_reset_bogus", alterGroup(a, g, false, op("share.auto.offset.reset", "bogus", SET)));
    refused.put("auto_offset_reset_by_duration_negative", alterGroup(a, g, false, op("share.auto.offset.reset", "by_duration:-PT1H", SET)));
    refused.put("isolation_level_bogus", alterGroup(a, g, false, op("share.isolation.level", "read_most", SET)));
    refused.put("unknown_share_config", alterGroup(a, g, false, op("share.no.such.config", "1", SET)));
    refused.put("append_to_a_non_list", alterGroup(a, g, false, op("share.auto.offset.reset", "earliest", APPEND)));
    refused.put("one_good_one_bad", alterGroup(a, g, false, op("share.auto.offset.reset", "earliest", SET), op("share.delivery.count.limit", "1", SET)));
    refused.put("empty_group_name", alterGroup(a, "", false, op("share.auto.offset.reset", "earliest", SET)));
    out.put("1_refused", refused);
    out.put("2_validate_only", alterGroup(a, g, true, op("share.auto.offset.reset", "earliest", SET)));
    out.put("2_after_refused_and_validate_only", describeGroupConfigs(a, g));
    out.put("3_set", alterGroup(a, g, false,
        op("share.auto.offset.reset", "by_duration:PT1H", SET),
        op("share.record.lock.duration.ms", "10000", SET),
        op("share.delivery.count.limit", "4", SET),
        op("share.isolation.level", "read_committed", SET)));
    // Kafka applies a group config through its metadata log after answering: poll (bounded).
    out.put("3_visible", await(() -> "read_committed".equals(groupConfigValue(a, g, "share.isolation.level"))));
    out.put("3_after_set", describeGroupConfigs(a, g));
    out.put("4_delete", alterGroup(a, g, false,
        op("share.record.lock.duration.ms", null, DELETE),
        op("share.isolation.level", null, DELETE)));
    out.put("4_delete_never_set", alterGroup(a, g, false, op("share.session.timeout.ms", null, DELETE)));
    out.put("4_visible", await(() -> "read_uncommitted".equals(groupConfigValue(a, g, "share.isolation.level"))));
    out.put("4_after_delete", describeGroupConfigs(a, g));
    out.put("5_listed_as_group", attempt(() -> get(a.listGroups().all()), all -> {
      Map<String, Object> m = obj();
      m.put("listed", all.stream().anyMatch(l -> l.groupId().equals(g)));
      return m;
    }));
    return out;
  }

  // ---- a share group's life through the Admin client ---------------------------------------

  /** describeShareGroups normalised; epochs as present, their relations by the caller. */
  static Map<String, Object> describe(Admin a, String g) {
    return attempt(() -> get(a.describeShareGroups(List.of(g)).describedGroups().get(g)), d -> {
      Map<String, Object> m = obj();
      m.put("group_id", logicalName(d.groupId()));
      m.put("state", String.valueOf(d.groupState()));
      m.put("coordinator", d.coordinator() == null ? "absent" : "present");
      m.put("group_epoch", d.groupEpoch() > 0 ? "positive" : String.valueOf(d.groupEpoch()));
      m.put("target_assignment_epoch", d.targetAssignmentEpoch() > 0 ? "positive" : String.valueOf(d.targetAssignmentEpoch()));
      m.put("member_count", d.members().size());
      List<String> members = new ArrayList<>();
      List<Integer> sizes = new ArrayList<>();
      Set<TopicPartition> union = new java.util.HashSet<>();
      boolean epochsMatch = true;
      for (ShareMemberDescription md : d.members()) {
        StringBuilder s = new StringBuilder();
        s.append("client_id=").append(md.clientId());
        s.append(" member_id=").append(md.consumerId() == null || md.consumerId().isEmpty() ? "absent" : "present");
        s.append(" host=").append(md.host() == null || md.host().isEmpty() ? "absent" : "present");
        s.append(" rack=").append(md.rackId().orElse("absent"));
        s.append(" member_epoch=").append(md.memberEpoch() > 0 ? "positive" : String.valueOf(md.memberEpoch()));
        members.add(s.toString());
        sizes.add(md.assignment().topicPartitions().size());
        union.addAll(md.assignment().topicPartitions());
        epochsMatch &= md.memberEpoch() == d.groupEpoch();
      }
      Collections.sort(members);
      Collections.sort(sizes);
      m.put("members", members);
      m.put("assignment_sizes", sizes);
      m.put("assignment_union", partitions(union));
      m.put("member_epochs_equal_group_epoch", epochsMatch);
      m.put("target_assignment_epoch_equals_group_epoch", d.targetAssignmentEpoch() == d.groupEpoch());
      return m;
    });
  }

  static int groupEpoch(Admin a, String g) {
    try {
      return get(a.describeShareGroups(List.of(g)).describedGroups().get(g)).groupEpoch();
    } catch (Exception e) {
      return -1;
    }
  }

  /** The group as listGroups shows it with these options (listed, type, protocol, state). */
  static Map<String, Object> listing(Admin a, String g, ListGroupsOptions options) {
    return attempt(() -> get(a.listGroups(options).all()), all -> {
      Map<String, Object> m = obj();
      m.put("listed", false);
      for (GroupListing l : all) {
        if (!l.groupId().equals(g)) continue;
        m.put("listed", true);
        m.put("type", l.type().map(String::valueOf).orElse("absent"));
        m.put("protocol", l.protocol());
        m.put("state", l.groupState().map(String::valueOf).orElse("absent"));
        m.put("simple", l.isSimpleConsumerGroup());
      }
      return m;
    });
  }

  static Map<String, Object> listings(Admin a, String g) {
    Map<String, Object> m = obj();
    m.put("all", listing(a, g, new ListGroupsOptions()));
    m.put("share", listing(a, g, ListGroupsOptions.forShareGroups()));
    m.put("consumer", listing(a, g, ListGroupsOptions.forConsumerGroups()));
    m.put("types_share_classic", listing(a, g, new ListGroupsOptions().withTypes(Set.of(GroupType.SHARE, GroupType.CLASSIC))));
    m.put("states_stable", listing(a, g, new ListGroupsOptions().inGroupStates(Set.of(GroupState.STABLE))));
    m.put("states_empty", listing(a, g, new ListGroupsOptions().inGroupStates(Set.of(GroupState.EMPTY))));
    m.put("share_states_empty", listing(a, g, ListGroupsOptions.forShareGroups().inGroupStates(Set.of(GroupState.EMPTY))));
    return m;
  }

  /** listShareGroupOffsets of the group (every partition, or the ones named): start offset,
   *  leader epoch as present, lag. */
  static Map<String, Object> shareOffsets(Admin a, String g, Collection<TopicPartition> only) {
    return shareOffsets(a, g, only, -1);
  }

  /** As above; with upTo >= 0 a start offset within 0..upTo is written as "0..upTo": once
   *  every record is acknowledged Kafka reports the share-partition start offset it last
   *  persisted, which moves later than the acknowledgements (the lag is 0 either way). */
  static Map<String, Object> shareOffsets(Admin a, String g, Collection<TopicPartition> only, long upTo) {
    ListShareGroupOffsetsSpec spec = new ListShareGroupOffsetsSpec();
    if (only != null) spec.topicPartitions(only);
    return attempt(() -> get(a.listShareGroupOffsets(Map.of(g, spec)).partitionsToOffsetInfo(g)), m -> {
      Map<String, Object> out = new TreeMap<>();
      m.forEach((t, info) -> out.put(tp(t), info == null ? "null" : offsetInfo(info, upTo)));
      Map<String, Object> r = obj();
      r.put("partitions", out);
      return r;
    });
  }

  static Map<String, Object> offsetInfo(SharePartitionOffsetInfo info, long upTo) {
    Map<String, Object> o = obj();
    long start = info.startOffset();
    o.put("start_offset", upTo >= 0 && start >= 0 && start <= upTo ? "0.." + upTo : (Object) start);
    o.put("leader_epoch", info.leaderEpoch().map(e -> e >= 0 ? "present" : String.valueOf(e)).orElse("absent"));
    o.put("lag", info.lag().map(l -> (Object) l).orElse("absent"));
    return o;
  }

  /** Waits until every one of the group's partitions of topic t shows lag 0. */
  static boolean awaitLag0(Admin a, String g, String t, int partitions) throws InterruptedException {
    return await(() -> {
      try {
        Map<TopicPartition, SharePartitionOffsetInfo> m = get(a.listShareGroupOffsets(Map.of(g, new ListShareGroupOffsetsSpec())).partitionsToOffsetInfo(g));
        int zero = 0;
        for (var e : m.entrySet()) {
          if (e.getKey().topic().equals(t) && e.getValue() != null && e.getValue().lag().equals(Optional.of(0L))) zero++;
        }
        return zero == partitions;
      } catch (Exception e) {
        return false;
      }
    });
  }

  /** Polls the consumers until describe shows `members` members whose assignments together
   *  cover `partitions` partitions, epochs settled (every member at the group epoch). */
  static boolean settle(Admin a, String g, List<KafkaShareConsumer<String, String>> cs, int members, int partitions) throws InterruptedException {
    return await(() -> {
      for (KafkaShareConsumer<String, String> c : cs) pollInto(c);
      try {
        ShareGroupDescription d = get(a.describeShareGroups(List.of(g)).describedGroups().get(g));
        Set<TopicPartition> union = new java.util.HashSet<>();
        boolean all = d.members().size() == members && d.groupState() == GroupState.STABLE;
        for (ShareMemberDescription md : d.members()) {
          union.addAll(md.assignment().topicPartitions());
          all &= !md.assignment().topicPartitions().isEmpty() && md.memberEpoch() == d.groupEpoch();
        }
        return all && union.size() == partitions && d.targetAssignmentEpoch() == d.groupEpoch();
      } catch (Exception e) {
        return false;
      }
    });
  }

  static boolean awaitState(Admin a, String g, GroupState state, int members) throws InterruptedException {
    return await(() -> {
      try {
        ShareGroupDescription d = get(a.describeShareGroups(List.of(g)).describedGroups().get(g));
        return d.groupState() == state && d.members().size() == members;
      } catch (Exception e) {
        return false;
      }
    });
  }

  /** What each implicit-mode consumer received ("topic-partition:offset"), and the delivery
   *  counts seen, whichever poll it came from (settle polls too). */
  static final Map<KafkaShareConsumer<String, String>, Set<String>> received = new HashMap<>();
  static final Map<KafkaShareConsumer<String, String>, Set<Integer>> counts = new HashMap<>();

  static void pollInto(KafkaShareConsumer<String, String> c) {
    for (ConsumerRecord<String, String> r : c.poll(POLL)) {
      received.computeIfAbsent(c, x -> new TreeSet<>()).add(logicalName(r.topic()) + "-" + r.partition() + ":" + r.offset());
      counts.computeIfAbsent(c, x -> new TreeSet<>()).add((int) r.deliveryCount().orElse((short) -1));
    }
  }

  /** Polls c until it has received `n` records (implicit acknowledgement), then commitSync;
   *  returns the sorted "partition:offset" list and the commit's result. */
  static Map<String, Object> consumeAll(KafkaShareConsumer<String, String> c, int n) throws InterruptedException {
    await(() -> {
      pollInto(c);
      return received.getOrDefault(c, Set.of()).size() >= n;
    });
    Map<String, Object> m = obj();
    m.put("received", new ArrayList<>(received.getOrDefault(c, Set.of())));
    m.put("delivery_counts", new ArrayList<>(counts.getOrDefault(c, Set.of())));
    m.put("commit", commitResult(c));
    return m;
  }

  /** commitSync's outcome: the distinct error names of its per-partition results other than
   *  NONE (an empty list when every partition succeeded; which partitions still had
   *  acknowledgements to commit depends on how polls batched the records), or "thrown X". */
  static List<String> commitResult(KafkaShareConsumer<String, String> c) {
    try {
      Map<TopicIdPartition, Optional<KafkaException>> res = c.commitSync(Duration.ofMillis(WAIT_MS));
      Set<String> errors = new TreeSet<>();
      res.forEach((tip, err) -> err.ifPresent(e -> errors.add(errorName(e))));
      return new ArrayList<>(errors);
    } catch (Exception e) {
      return List.of("thrown " + errorName(e));
    }
  }

  static Map<String, Object> lifecycle(Admin a) throws Exception {
    Map<String, Object> out = obj();
    String t = topic("share-life");
    String g = group("life");
    createTopic(a, t, 2);
    TopicPartition p0 = new TopicPartition(t, 0), p1 = new TopicPartition(t, 1);
    produce(t, 2, 4);
    out.put("00_describe_before", describe(a, g));
    out.put("00_list_before", listings(a, g));
    out.put("00_offsets_before", shareOffsets(a, g, null));
    out.put("01_set_earliest", alterGroup(a, g, false, op("share.auto.offset.reset", "earliest", AlterConfigOp.OpType.SET)));
    await(() -> "earliest".equals(groupConfigValue(a, g, "share.auto.offset.reset")));
    KafkaShareConsumer<String, String> c1 = consumer(g, "share-member-1", false);
    KafkaShareConsumer<String, String> c2 = null;
    try {
      c1.subscribe(List.of(t));
      out.put("10_one_member_settled", settle(a, g, List.of(c1), 1, 2));
      out.put("10_one_member", describe(a, g));
      out.put("10_list", listings(a, g));
      int epoch1 = groupEpoch(a, g);
      out.put("11_consumed", consumeAll(c1, 8));
      out.put("11_lag_0", awaitLag0(a, g, t, 2));
      out.put("11_offsets", shareOffsets(a, g, null, 4));
      out.put("11_offsets_p1_only", shareOffsets(a, g, List.of(p1), 4));
      c2 = consumer(g, "share-member-2", false);
      c2.subscribe(List.of(t));
      out.put("20_two_members_settled", settle(a, g, List.of(c1, c2), 2, 2));
      out.put("20_two_members", describe(a, g));
      int epoch2 = groupEpoch(a, g);
      out.put("20_group_epoch_grew", epoch2 > epoch1);
      out.put("21_alter_offsets_active", attempt(() -> get(a.alterShareGroupOffsets(g, Map.of(p0, 1L)).all())));
      out.put("21_delete_offsets_active", attempt(() -> get(a.deleteShareGroupOffsets(g, Set.of(t)).all())));
      out.put("21_delete_group_active", attempt(() -> get(a.deleteShareGroups(List.of(g)).deletedGroups().get(g))));
      out.put("21_after_refused", describe(a, g));
      c2.close(Duration.ofSeconds(30));
      c2 = null;
      out.put("30_one_left_settled", settle(a, g, List.of(c1), 1, 2));
      out.put("30_one_left", describe(a, g));
      out.put("30_group_epoch_grew", groupEpoch(a, g) > epoch2);
      c1.close(Duration.ofSeconds(30));
      c1 = null;
      out.put("40_empty_reached", awaitState(a, g, GroupState.EMPTY, 0));
      out.put("40_empty", describe(a, g));
      out.put("40_list", listings(a, g));
      out.put("41_offsets", shareOffsets(a, g, null, 4));
      out.put("42_alter_offsets", attempt(() -> get(a.alterShareGroupOffsets(g, Map.of(p0, 1L, p1, 2L)).all())));
      out.put("42_offsets_after_alter", shareOffsets(a, g, null));
      out.put("43_alter_unknown_partition", attempt(() -> get(a.alterShareGroupOffsets(g, Map.of(new TopicPartition(t, 7), 0L)).all())));
      out.put("43_alter_unknown_topic", attempt(() -> get(a.alterShareGroupOffsets(g, Map.of(new TopicPartition(topic("no-such-topic"), 0), 0L)).all())));
      out.put("43_offsets_after_refused", shareOffsets(a, g, null));
      try (KafkaShareConsumer<String, String> c3 = consumer(g, "share-member-3", false)) {
        c3.subscribe(List.of(t));
        out.put("44_consumed_after_alter", consumeAll(c3, 5));
      }
      out.put("44_empty_again", awaitState(a, g, GroupState.EMPTY, 0));
      out.put("44_alter_negative", attempt(() -> get(a.alterShareGroupOffsets(g, Map.of(p0, -5L)).all())));
      out.put("44_offsets_after_negative", shareOffsets(a, g, null, 4));
      out.put("45_delete_offsets_unknown_topic", attempt(() -> get(a.deleteShareGroupOffsets(g, Set.of(topic("no-such-topic"))).all())));
      out.put("45_delete_offsets", attempt(() -> get(a.deleteShareGroupOffsets(g, Set.of(t)).all())));
      out.put("45_offsets_after_delete", shareOffsets(a, g, null));
      out.put("50_delete_group", attempt(() -> get(a.deleteShareGroups(List.of(g)).deletedGroups().get(g))));
      out.put("50_describe_after_delete", describe(a, g));
      out.put("50_list_after_delete", listings(a, g));
      out.put("50_offsets_after_delete", shareOffsets(a, g, null));
      out.put("51_delete_again", attempt(() -> get(a.deleteShareGroups(List.of(g)).deletedGroups().get(g))));
    } finally {
      if (c2 != null) c2.close(Duration.ofSeconds(5));
      if (c1 != null) c1.close(Duration.ofSeconds(5));
    }
    return out;
  }

  /** The share-group admin calls on a group that does not exist and on a classic group's id. */
  static Map<String, Object> otherGroups(Admin a) throws Exception {
    Map<String, Object> out = obj();
    String t = topic("share-other");
    createTopic(a, t, 1);
    String unknown = group("unknown");
    Map<String, Object> u = obj();
    u.put("describe", describe(a, unknown));
    u.put("list_offsets", shareOffsets(a, unknown, null));
    u.put("delete_offsets", attempt(() -> get(a.deleteShareGroupOffsets(unknown, Set.of(t)).all())));
    u.put("delete", attempt(() -> get(a.deleteShareGroups(List.of(unknown)).deletedGroups().get(unknown))));
    out.put("unknown_group", u);
    // A classic group made by committing an offset through the Admin client.
    String classic = group("classic");
    out.put("classic_commit", attempt(() -> get(a.alterConsumerGroupOffsets(classic, Map.of(new TopicPartition(t, 0), new OffsetAndMetadata(0))).all())));
    Map<String, Object> c = obj();
    c.put("describe", describe(a, classic));
    c.put("list_offsets", shareOffsets(a, classic, null));
    c.put("alter_offsets", attempt(() -> get(a.alterShareGroupOffsets(classic, Map.of(new TopicPartition(t, 0), 0L)).all())));
    c.put("delete_offsets", attempt(() -> get(a.deleteShareGroupOffsets(classic, Set.of(t)).all())));
    c.put("delete", attempt(() -> get(a.deleteShareGroups(List.of(classic)).deletedGroups().get(classic))));
    c.put("listed", listing(a, classic, new ListGroupsOptions()));
    out.put("classic_group", c);
    // alterShareGroupOffsets of a group that does not exist yet (last: it may create one).
    String fresh = group("altered-before-use");
    Map<String, Object> f = obj();
    f.put("alter_offsets", attempt(() -> get(a.alterShareGroupOffsets(fresh, Map.of(new TopicPartition(t, 0), 0L)).all())));
    f.put("describe", describe(a, fresh));
    f.put("list_offsets", shareOffsets(a, fresh, null));
    f.put("listed", listing(a, fresh, new ListGroupsOptions()));
    out.put("alter_unknown_group", f);
    return out;
  }

  // ---- explicit acknowledgement ----------------------------------------------------------

  /** One explicit-mode consumer acknowledging by a fixed plan: offset 0 RELEASE then ACCEPT,
   *  1 REJECT, 2 RELEASE always, 3 ACCEPT; a marker record produced once offsets 0 and 2 are
   *  done. Records every delivery count and every commitSync result. */
  static Map<String, Object> acknowledgements(Admin a, String name, Map<String, String> groupConfigs, int limit) throws Exception {
    Map<String, Object> out = obj();
    String t = topic("share-ack-" + name);
    String g = group("ack-" + name);
    createTopic(a, t, 1);
    List<AlterConfigOp> ops = new ArrayList<>();
    ops.add(op("share.auto.offset.reset", "earliest", AlterConfigOp.OpType.SET));
    groupConfigs.forEach((k, v) -> ops.add(op(k, v, AlterConfigOp.OpType.SET)));
    out.put("set_group_configs", alterGroup(a, g, false, ops.toArray(new AlterConfigOp[0])));
    await(() -> "earliest".equals(groupConfigValue(a, g, "share.auto.offset.reset")));
    produce(t, 1, 4);
    Map<Long, List<Object>> deliveries = new TreeMap<>();
    Set<String> commitErrors = new TreeSet<>();
    long marker = -1;
    boolean markerSeen = false;
    try (KafkaShareConsumer<String, String> c = consumer(g, "share-ack-" + name, true)) {
      c.subscribe(List.of(t));
      long deadline = System.currentTimeMillis() + 2 * WAIT_MS;
      while (!markerSeen && System.currentTimeMillis() < deadline) {
        ConsumerRecords<String, String> rs = c.poll(POLL);
        for (ConsumerRecord<String, String> r : rs) {
          short dc = r.deliveryCount().orElse((short) -1);
          deliveries.computeIfAbsent(r.offset(), o -> new ArrayList<>()).add((int) dc);
          AcknowledgeType ack;
          if (r.offset() == 0) ack = dc == 1 ? AcknowledgeType.RELEASE : AcknowledgeType.ACCEPT;
          else if (r.offset() == 1) ack = AcknowledgeType.REJECT;
          else if (r.offset() == 2) ack = AcknowledgeType.RELEASE;
          else ack = AcknowledgeType.ACCEPT;
          c.acknowledge(r, ack);
          if (r.offset() == marker) markerSeen = true;
        }
        if (!rs.isEmpty()) commitErrors.addAll(commitResult(c));
        if (marker < 0 && deliveries.getOrDefault(0L, List.of()).size() == 2 && deliveries.getOrDefault(2L, List.of()).size() == limit) {
          produce(t, 1, 1);
          marker = 4;
        }
      }
    }
    out.put("deliveries", deliveryMap(deliveries));
    out.put("marker_seen", markerSeen);
    out.put("commit_errors", new ArrayList<>(commitErrors));
    out.put("lag_0", awaitLag0(a, g, t, 1));
    out.put("offsets", shareOffsets(a, g, null, 5));
    return out;
  }

  static Map<String, Object> deliveryMap(Map<Long, List<Object>> d) {
    Map<String, Object> m = new TreeMap<>();
    d.forEach((o, counts) -> m.put(String.valueOf(o), counts));
    return m;
  }

  /** Client-side misuse and a late acknowledgement: errors the client lets one cause. */
  static Map<String, Object> misuse(Admin a) throws Exception {
    Map<String, Object> out = obj();
    String t = topic("share-misuse");
    String g = group("misuse");
    createTopic(a, t, 1);
    alterGroup(a, g, false, op("share.auto.offset.reset", "earliest", AlterConfigOp.OpType.SET));
    await(() -> "earliest".equals(groupConfigValue(a, g, "share.auto.offset.reset")));
    produce(t, 1, 3);
    KafkaShareConsumer<String, String> c = consumer(g, "share-misuse-1", true);
    KafkaShareConsumer<String, String> other = null;
    try {
      c.subscribe(List.of(t));
      List<ConsumerRecord<String, String>> got = new ArrayList<>();
      await(() -> {
        for (ConsumerRecord<String, String> r : c.poll(POLL)) got.add(r);
        return got.size() >= 3;
      });
      got.sort((x, y) -> Long.compare(x.offset(), y.offset()));
      out.put("received", got.size());
      if (got.size() < 3) return out;
      ConsumerRecord<String, String> r0 = got.get(0), r1 = got.get(1), r2 = got.get(2);
      out.put("ack_first", outcome(() -> c.acknowledge(r0, AcknowledgeType.ACCEPT)));
      out.put("ack_twice_same_type", outcome(() -> c.acknowledge(r0, AcknowledgeType.ACCEPT)));
      out.put("ack_twice_other_type", outcome(() -> c.acknowledge(r0, AcknowledgeType.REJECT)));
      out.put("ack_by_coordinates_not_delivered", outcome(() -> c.acknowledge(t, 0, 99, AcknowledgeType.ACCEPT)));
      out.put("ack_by_coordinates_unknown_topic", outcome(() -> c.acknowledge(topic("no-such-topic"), 0, 1, AcknowledgeType.ACCEPT)));
      out.put("ack_by_coordinates_delivered", outcome(() -> c.acknowledge(t, 0, r1.offset(), AcknowledgeType.ACCEPT)));
      out.put("commit_first", commitResult(c));
      // acknowledge(topic, partition, offset, type) is for records the client could not
      // deserialize: offsets 1 and 2 stay unacknowledged, and poll refuses to go on.
      out.put("poll_with_unacknowledged", outcome(() -> c.poll(POLL)));
      // Its lock (5 s) expires; another member gets it with delivery count 2; the first
      // member's late ACCEPT then fails for the partition.
      other = consumer(g, "share-misuse-2", true);
      other.subscribe(List.of(t));
      List<Integer> otherCounts = new ArrayList<>();
      KafkaShareConsumer<String, String> o = other;
      out.put("redelivered_to_other", await(() -> {
        for (ConsumerRecord<String, String> r : o.poll(POLL)) {
          if (r.offset() == r2.offset()) otherCounts.add((int) r.deliveryCount().orElse((short) -1));
        }
        return !otherCounts.isEmpty();
      }));
      out.put("redelivered_delivery_counts", otherCounts);
      out.put("late_ack", outcome(() -> c.acknowledge(r2, AcknowledgeType.ACCEPT)));
      out.put("late_commit", commitResult(c));
      c.close(Duration.ofSeconds(30));
      out.put("ack_after_close", outcome(() -> c.acknowledge(r2, AcknowledgeType.ACCEPT)));
      out.put("poll_after_close", outcome(() -> c.poll(POLL)));
      out.put("commit_after_close", commitResult(c));
    } finally {
      c.close(Duration.ofSeconds(5));
      if (other != null) other.close(Duration.ofSeconds(5));
    }
    return out;
  }

  static Map<String, Object> share() throws Exception {
    Map<String, Object> out = obj();
    try (Admin a = admin()) {
      step("share.version");
      out.put("share_version", features(a));
      step("GROUP configs");
      out.put("group_configs", groupConfigs(a));
      step("a share group's life");
      out.put("lifecycle", lifecycle(a));
      step("unknown and classic groups");
      out.put("other_groups", otherGroups(a));
      step("explicit acknowledgements, broker's delivery count limit");
      out.put("acks_broker_limit", acknowledgements(a, "broker-limit", Map.of(), DELIVERY_COUNT_LIMIT));
      step("explicit acknowledgements, group's delivery count limit 2");
      out.put("acks_group_limit_2", acknowledgements(a, "group-limit", Map.of("share.delivery.count.limit", "2"), 2));
      step("misuse");
      out.put("misuse", misuse(a));
    }
    return out;
  }

  // ---- JSON ------------------------------------------------------------------------------

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

  public static void main(String[] args) throws Exception {
    if (args.length != 3 || !args[0].equals("share")) {
      System.err.println("usage: JavaShareObserve.java share HOST:PORT OUT.json");
      System.exit(2);
    }
    bootstrap = args[1];
    Map<String, Object> obs = share();
    Map<String, Object> doc = obj();
    doc.put("observer", "java kafka-clients " + org.apache.kafka.common.utils.internals.AppInfoParser.getVersion());
    doc.put("scenario", "java-" + args[0]);
    doc.put("observation", obs);
    StringBuilder sb = new StringBuilder();
    json(sb, doc, 0);
    sb.append('\n');
    Files.writeString(Path.of(args[2]), sb.toString(), StandardCharsets.UTF_8);
    step("wrote " + args[2]);
    System.exit(0);
  }
}
