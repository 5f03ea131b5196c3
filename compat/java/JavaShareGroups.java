// Share groups (KIP-932) through kafka-clients' KafkaShareConsumer and Admin: the "share" suite.
//
// Usage: java -cp 'target/kafka-client-libs-4.4.0/*' compat/java/JavaShareGroups.java HOST:PORT MODE
//        (compat/run.sh --suite share runs every mode; the broker starts with lib.sh's
//        SHARE_START_ARGS: a 5 s acquisition lock, delivery count limit 3)
// Modes:
//   --basic        3 share consumers (implicit acknowledgement) in one group share 10,000
//                  records, on a 1-partition and then a 4-partition topic: every record is
//                  received and accepted exactly once across the members (the acknowledgement
//                  commit callbacks), no gap, and every member receives some.
//   --explicit     explicit acknowledgement: RELEASE gives a redelivery with delivery count 2,
//                  REJECT gives none, a record released at every delivery is archived after
//                  the broker's delivery count limit (3) and never delivered again.
//   --member-kill  a member in its own JVM (--hold, below) acquires records and is killed with
//                  SIGKILL before acknowledging: the others get those records (delivery count
//                  2 or more) once the acquisition lock has expired.
//   --admin        Admin listGroups (share type), describeShareGroups (state, members,
//                  assignment), listShareGroupOffsets, alterShareGroupOffsets,
//                  deleteShareGroupOffsets and deleteShareGroups, each checked against what
//                  the consumers did.
//   --restart-consume=DIR   the Java half of compat/share/broker-restart.sh: 3 consumers
//                  (explicit acknowledgement, commitSync) share 10,000 records; at a fifth of
//                  them each member holds one more poll unacknowledged and writes DIR/midway;
//                  they go on once DIR/restarted exists. No record is delivered again after its
//                  acceptance was confirmed (commitSync without error), and every record is
//                  accepted in the end.
//   --hold TOPIC GROUP   (--member-kill's child) poll once in explicit mode, print the records
//                  held ("HELD partition offset deliveryCount"), then "READY", and wait.
// Exits 1 with a message naming the first mismatch; each mode prints what it checked.

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.GroupListing;
import org.apache.kafka.clients.admin.ListGroupsOptions;
import org.apache.kafka.clients.admin.ListShareGroupOffsetsSpec;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ShareGroupDescription;
import org.apache.kafka.clients.admin.ShareMemberDescription;
import org.apache.kafka.clients.admin.SharePartitionOffsetInfo;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicIdPartition;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class JavaShareGroups {
  static final String NAME = "java share";
  static final int RECORDS = 10_000;
  static final int MEMBERS = 3;
  /** The broker's group.share.delivery.count.limit (compat/lib.sh SHARE_START_ARGS). */
  static final int DELIVERY_COUNT_LIMIT = 3;
  static final long TIMEOUT_MS = 60_000;
  static final Duration POLL = Duration.ofMillis(200);

  static final class Mismatch extends RuntimeException {
    Mismatch(String m) {
      super(m);
    }
  }

  static void check(boolean cond, String what) {
    if (!cond) throw new Mismatch(what);
  }

  static void step(String msg) {
    System.err.println(NAME + ": " + msg);
  }

  /** What a mode checked, on stdout. */
  static void checked(String msg) {
    System.out.println(NAME + ": checked: " + msg);
  }

  static String unique(String prefix) {
    return prefix + "-" + (System.currentTimeMillis() / 1000) + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  static String key(int partition, long offset) {
    return partition + ":" + offset;
  }

  /** Waits until cond holds, checking every 50 ms; fails with what after TIMEOUT_MS. */
  static void await(BooleanSupplier cond, String what) throws InterruptedException {
    await(cond, () -> what);
  }

  /** As await(cond, what), the message made when it fails. */
  static void await(BooleanSupplier cond, Supplier<String> what) throws InterruptedException {
    long deadline = System.currentTimeMillis() + TIMEOUT_MS;
    while (!cond.getAsBoolean()) {
      check(System.currentTimeMillis() < deadline, "timed out after " + TIMEOUT_MS + " ms waiting for " + what.get());
      Thread.sleep(50);
    }
  }

  final String bootstrap;
  final Admin admin;

  JavaShareGroups(String bootstrap) {
    this.bootstrap = bootstrap;
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.CLIENT_ID_CONFIG, "skiff-compat-java-share-admin");
    this.admin = Admin.create(p);
  }

  /** A new topic with the given partitions; returns once the Admin client describes it. */
  void createTopic(String topic, int partitions) throws Exception {
    admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
    await(() -> {
      try {
        return admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size() == partitions;
      } catch (Exception e) {
        return false;
      }
    }, "topic " + topic + " to be described");
  }

  /** share.auto.offset.reset=earliest on the group (a GROUP config), so records produced
   * before the share partitions start are delivered too. */
  void earliest(String group) throws Exception {
    ConfigResource res = new ConfigResource(ConfigResource.Type.GROUP, group);
    AlterConfigOp op = new AlterConfigOp(new ConfigEntry("share.auto.offset.reset", "earliest"), AlterConfigOp.OpType.SET);
    admin.incrementalAlterConfigs(Map.of(res, List.of(op))).all().get(30, TimeUnit.SECONDS);
  }

  /** Produces n records round-robin over the partitions (value "v-i"); returns their
   * "partition:offset" keys. */
  Set<String> produce(String topic, int partitions, int n) throws Exception {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "skiff-compat-java-share-producer");
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    // Small batches: a share consumer acquires whole batches, so one batch of thousands of
    // records would go to one member of a 1-partition topic.
    p.put(ProducerConfig.BATCH_SIZE_CONFIG, 1024);
    Set<String> keys = new HashSet<>();
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
      List<Future<RecordMetadata>> fs = new ArrayList<>();
      for (int i = 0; i < n; i++) fs.add(producer.send(new ProducerRecord<>(topic, i % partitions, null, "v-" + i)));
      producer.flush();
      for (Future<RecordMetadata> f : fs) {
        RecordMetadata md = f.get(30, TimeUnit.SECONDS);
        keys.add(key(md.partition(), md.offset()));
      }
    }
    check(keys.size() == n, "produced " + n + " records but got " + keys.size() + " distinct offsets");
    return keys;
  }

  KafkaShareConsumer<String, String> consumer(String group, String clientId, boolean explicit) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("group.id", group);
    p.put("client.id", clientId);
    p.put("max.poll.records", "100");
    p.put("share.acknowledgement.mode", explicit ? "explicit" : "implicit");
    return new KafkaShareConsumer<>(p, new StringDeserializer(), new StringDeserializer());
  }

  /** Waits until describeShareGroups shows the group with `members` members, each assigned a
   * partition (members join on their first polls). */
  ShareGroupDescription awaitMembers(String group, int members) throws InterruptedException {
    ShareGroupDescription[] last = new ShareGroupDescription[1];
    await(() -> {
      try {
        ShareGroupDescription d = admin.describeShareGroups(List.of(group)).describedGroups().get(group).get();
        last[0] = d;
        return d.members().size() == members && d.members().stream().allMatch(m -> !m.assignment().topicPartitions().isEmpty());
      } catch (Exception e) {
        return false;
      }
    }, () -> "share group " + group + " to have " + members + " members with assignments (last: " + last[0] + ")");
    return last[0];
  }

  /** One member of a shared consumption in its own thread: polls until told to stop, records
   * every delivery and every accepted (acknowledgement-confirmed) offset. */
  static final class Member implements Runnable {
    final String name;
    final KafkaShareConsumer<String, String> consumer;
    final String topic;
    final Map<String, String> received;
    final Map<String, String> accepted;
    final List<String> problems;
    final AtomicBoolean stop;
    final AtomicInteger count = new AtomicInteger();

    Member(String name, KafkaShareConsumer<String, String> consumer, String topic, Map<String, String> received,
        Map<String, String> accepted, List<String> problems, AtomicBoolean stop) {
      this.name = name;
      this.consumer = consumer;
      this.topic = topic;
      this.received = received;
      this.accepted = accepted;
      this.problems = problems;
      this.stop = stop;
    }

    @Override
    public void run() {
      try {
        consumer.setAcknowledgementCommitCallback((offsets, ex) -> {
          if (ex != null) {
            problems.add(name + ": acknowledgement of " + offsets + " failed: " + ex);
            return;
          }
          offsets.forEach((tip, set) -> set.forEach(o -> {
            String prev = accepted.putIfAbsent(key(tip.partition(), o), name);
            if (prev != null) problems.add(name + ": " + key(tip.partition(), o) + " accepted again (first by " + prev + ")");
          }));
        });
        consumer.subscribe(List.of(topic));
        while (!stop.get()) {
          for (ConsumerRecord<String, String> r : consumer.poll(POLL)) {
            count.incrementAndGet();
            String prev = received.putIfAbsent(key(r.partition(), r.offset()), name);
            if (prev != null) {
              problems.add(name + ": " + key(r.partition(), r.offset()) + " delivered again (first to " + prev
                  + "), delivery count " + r.deliveryCount().orElse((short) -1));
            }
          }
        }
      } catch (Exception e) {
        problems.add(name + ": " + e);
      } finally {
        try {
          consumer.close(Duration.ofSeconds(30));
        } catch (Exception e) {
          problems.add(name + ": close: " + e);
        }
      }
    }
  }

  // ---- --basic --------------------------------------------------------------------------

  void basic() throws Exception {
    for (int partitions : new int[] {1, 4}) {
      String topic = unique("share-basic-p" + partitions);
      String group = unique("share-basic");
      createTopic(topic, partitions);
      earliest(group);
      Map<String, String> received = new ConcurrentHashMap<>();
      Map<String, String> accepted = new ConcurrentHashMap<>();
      List<String> problems = new CopyOnWriteArrayList<>();
      AtomicBoolean stop = new AtomicBoolean();
      List<Member> members = new ArrayList<>();
      List<Thread> threads = new ArrayList<>();
      for (int m = 0; m < MEMBERS; m++) {
        String name = "member-" + m;
        Member member = new Member(name, consumer(group, "skiff-compat-share-" + name, false), topic, received, accepted, problems, stop);
        members.add(member);
        Thread t = new Thread(member, name);
        threads.add(t);
        t.start();
      }
      awaitMembers(group, MEMBERS);
      step(partitions + " partition(s): " + MEMBERS + " members assigned; producing " + RECORDS + " records");
      Set<String> produced = produce(topic, partitions, RECORDS);
      await(() -> accepted.size() >= RECORDS || !problems.isEmpty(), () -> "all " + RECORDS + " records to be accepted (accepted " + accepted.size() + ")");
      stop.set(true);
      for (Thread t : threads) t.join(60_000);
      check(problems.isEmpty(), partitions + " partition(s): " + problems.subList(0, Math.min(5, problems.size())));
      check(received.keySet().equals(produced), partitions + " partition(s): received " + received.size()
          + " distinct records, not the " + RECORDS + " produced" + difference(produced, received.keySet()));
      check(accepted.keySet().equals(produced), partitions + " partition(s): accepted " + accepted.size()
          + " distinct records, not the " + RECORDS + " produced" + difference(produced, accepted.keySet()));
      StringBuilder counts = new StringBuilder();
      for (Member m : members) {
        check(m.count.get() > 0, partitions + " partition(s): " + m.name + " received no record");
        counts.append(' ').append(m.name).append('=').append(m.count.get());
      }
      checked(partitions + " partition(s): " + RECORDS + " records each received and accepted exactly once, no gap, no duplicate;"
          + counts);
    }
  }

  static String difference(Set<String> expected, Set<String> got) {
    List<String> missing = new ArrayList<>();
    for (String k : expected) if (!got.contains(k) && missing.size() < 5) missing.add(k);
    List<String> extra = new ArrayList<>();
    for (String k : got) if (!expected.contains(k) && extra.size() < 5) extra.add(k);
    return " (missing e.g. " + missing + ", unexpected e.g. " + extra + ")";
  }

  // ---- --explicit -----------------------------------------------------------------------

  /** Polls until at least one record arrives (or fails at the deadline). */
  static ConsumerRecords<String, String> pollSome(KafkaShareConsumer<String, String> c, String what) {
    long deadline = System.currentTimeMillis() + TIMEOUT_MS;
    while (true) {
      ConsumerRecords<String, String> rs = c.poll(POLL);
      if (!rs.isEmpty()) return rs;
      check(System.currentTimeMillis() < deadline, "timed out waiting for " + what);
    }
  }

  static void commitOk(KafkaShareConsumer<String, String> c, String what) {
    Map<TopicIdPartition, Optional<KafkaException>> res = c.commitSync(Duration.ofSeconds(30));
    res.forEach((tip, err) -> check(err.isEmpty(), what + ": commitSync for " + tip + " failed: " + err));
  }

  void explicit() throws Exception {
    String topic = unique("share-explicit");
    String group = unique("share-explicit");
    createTopic(topic, 1);
    earliest(group);
    // Offsets 0..3: released once then accepted, rejected, released at every delivery, accepted.
    produce(topic, 1, 4);
    Map<Long, List<Short>> deliveries = new TreeMap<>();
    long marker = -1;
    try (KafkaShareConsumer<String, String> c = consumer(group, "skiff-compat-share-explicit", true)) {
      c.subscribe(List.of(topic));
      boolean markerSeen = false;
      long deadline = System.currentTimeMillis() + TIMEOUT_MS;
      while (!markerSeen) {
        check(System.currentTimeMillis() < deadline, "timed out; deliveries so far " + deliveries);
        ConsumerRecords<String, String> rs = c.poll(POLL);
        for (ConsumerRecord<String, String> r : rs) {
          short dc = r.deliveryCount().orElseThrow(() -> new Mismatch("record " + r.offset() + " has no delivery count"));
          deliveries.computeIfAbsent(r.offset(), o -> new ArrayList<>()).add(dc);
          AcknowledgeType ack;
          if (r.offset() == 0) ack = dc == 1 ? AcknowledgeType.RELEASE : AcknowledgeType.ACCEPT;
          else if (r.offset() == 1) ack = AcknowledgeType.REJECT;
          else if (r.offset() == 2) ack = AcknowledgeType.RELEASE;
          else ack = AcknowledgeType.ACCEPT;
          c.acknowledge(r, ack);
          if (r.offset() == marker) markerSeen = true;
        }
        if (!rs.isEmpty()) commitOk(c, "explicit acknowledgements");
        // Once offset 0 came back accepted and offset 2 was released at its limit, a marker
        // record: it comes after any redelivery the broker still owed.
        if (marker < 0 && deliveries.getOrDefault(0L, List.of()).size() == 2
            && deliveries.getOrDefault(2L, List.of()).size() == DELIVERY_COUNT_LIMIT) {
          marker = produce(topic, 1, 1).stream().mapToLong(k -> Long.parseLong(k.split(":")[1])).findFirst().getAsLong();
        }
      }
    }
    check(deliveries.get(0L).equals(List.of((short) 1, (short) 2)), "offset 0 (released once): delivery counts " + deliveries.get(0L) + ", expected [1, 2]");
    check(deliveries.get(1L).equals(List.of((short) 1)), "offset 1 (rejected): delivery counts " + deliveries.get(1L) + ", expected [1]");
    check(deliveries.get(2L).equals(List.of((short) 1, (short) 2, (short) 3)),
        "offset 2 (always released): delivery counts " + deliveries.get(2L) + ", expected [1, 2, 3] then archived");
    check(deliveries.get(3L).equals(List.of((short) 1)), "offset 3 (accepted): delivery counts " + deliveries.get(3L) + ", expected [1]");
    check(deliveries.get(marker).equals(List.of((short) 1)), "marker offset " + marker + ": delivery counts " + deliveries.get(marker));
    check(deliveries.size() == 5, "deliveries of offsets other than 0..4: " + deliveries);
    checked("RELEASE -> redelivered with delivery count 2 (then ACCEPT: not again); REJECT -> not redelivered;"
        + " released at every delivery -> delivered " + DELIVERY_COUNT_LIMIT + " times (delivery counts 1..3) then archived,"
        + " not delivered before or with the later marker record; deliveries " + deliveries);
  }

  // ---- --member-kill --------------------------------------------------------------------

  void memberKill() throws Exception {
    String topic = unique("share-kill");
    String group = unique("share-kill");
    int n = 300;
    createTopic(topic, 1);
    earliest(group);
    Set<String> produced = produce(topic, 1, n);
    // The member to kill: this program again (--hold) in its own JVM.
    String source = Path.of(System.getenv().getOrDefault("COMPAT_DIR", "compat"), "java", "JavaShareGroups.java").toString();
    String java = ProcessHandle.current().info().command().orElse("java");
    ProcessBuilder pb = new ProcessBuilder(java, "-Xmx256m", "-XX:ActiveProcessorCount=2", "-cp",
        System.getProperty("java.class.path"), source, bootstrap, "--hold", topic, group);
    pb.redirectError(ProcessBuilder.Redirect.INHERIT);
    Process child = pb.start();
    Map<String, Integer> held = new HashMap<>();
    try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      boolean ready = false;
      while (!ready && (line = out.readLine()) != null) {
        if (line.startsWith("HELD ")) {
          String[] f = line.split(" ");
          held.put(key(Integer.parseInt(f[1]), Long.parseLong(f[2])), Integer.parseInt(f[3]));
        } else if (line.equals("READY")) {
          ready = true;
        }
      }
      if (!ready) {
        boolean exited = child.waitFor(30, TimeUnit.SECONDS);
        throw new Mismatch("the --hold member closed its output before it held records ("
            + (exited ? "exit " + child.exitValue() : "still running") + ")");
      }
      check(!held.isEmpty(), "the --hold member held no record");
      // SIGKILL: no acknowledgement, no leave-group; only the acquisition lock frees its records.
      child.destroyForcibly();
      check(child.waitFor(30, TimeUnit.SECONDS), "the --hold member did not die");
    } finally {
      child.destroyForcibly();
    }
    step("killed the member holding " + held.size() + " records (SIGKILL, exit " + child.exitValue() + ")");
    Map<String, String> received = new ConcurrentHashMap<>();
    Map<String, Short> counts = new ConcurrentHashMap<>();
    try (KafkaShareConsumer<String, String> c = consumer(group, "skiff-compat-share-survivor", true)) {
      c.subscribe(List.of(topic));
      await(() -> {
        for (ConsumerRecord<String, String> r : c.poll(POLL)) {
          String k = key(r.partition(), r.offset());
          check(received.putIfAbsent(k, "survivor") == null, k + " delivered twice to the survivor");
          counts.put(k, r.deliveryCount().orElse((short) -1));
          c.acknowledge(r, AcknowledgeType.ACCEPT);
        }
        commitOk(c, "survivor acknowledgements");
        return received.keySet().containsAll(held.keySet()) && received.size() >= n;
      }, () -> "the survivor to get every record, the killed member's too (got " + received.size() + ")");
    }
    check(received.keySet().equals(produced), "the survivor got " + difference(produced, received.keySet()));
    for (Map.Entry<String, Integer> e : held.entrySet()) {
      check(e.getValue() == 1, "held record " + e.getKey() + " had delivery count " + e.getValue() + " at the killed member");
      check(counts.get(e.getKey()) == 2, "held record " + e.getKey() + " reached the survivor with delivery count "
          + counts.get(e.getKey()) + ", expected 2");
    }
    long redelivered = counts.values().stream().filter(c -> c > 1).count();
    checked(held.size() + " records acquired by a member killed with SIGKILL reached the survivor with delivery count 2"
        + " after their acquisition lock expired; all " + n + " records accepted (" + redelivered + " with delivery count > 1)");
  }

  /** --hold: acquire records, say which, never acknowledge; wait to be killed. */
  void hold(String topic, String group) throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("group.id", group);
    p.put("client.id", "skiff-compat-share-doomed");
    p.put("share.acknowledgement.mode", "explicit");
    // At most 50 records, so the others flow to the survivor meanwhile.
    p.put("max.poll.records", "50");
    p.put("share.acquire.mode", "record_limit");
    KafkaShareConsumer<String, String> c = new KafkaShareConsumer<>(p, new StringDeserializer(), new StringDeserializer());
    c.subscribe(List.of(topic));
    ConsumerRecords<String, String> rs = pollSome(c, "records to hold");
    for (ConsumerRecord<String, String> r : rs) {
      System.out.println("HELD " + r.partition() + " " + r.offset() + " " + r.deliveryCount().orElse((short) -1));
    }
    System.out.println("READY");
    System.out.flush();
    // Killed by the parent; if it dies first, stdin closes and this member leaves by exiting.
    while (System.in.read() >= 0) {
      // ignore input
    }
  }

  // ---- --admin --------------------------------------------------------------------------

  Map<TopicPartition, SharePartitionOffsetInfo> shareOffsets(String group, String topic) throws Exception {
    Map<TopicPartition, SharePartitionOffsetInfo> all =
        admin.listShareGroupOffsets(Map.of(group, new ListShareGroupOffsetsSpec())).partitionsToOffsetInfo(group).get(30, TimeUnit.SECONDS);
    Map<TopicPartition, SharePartitionOffsetInfo> mine = new TreeMap<>((a, b) -> Integer.compare(a.partition(), b.partition()));
    all.forEach((tp, info) -> {
      if (tp.topic().equals(topic) && info != null) mine.put(tp, info);
    });
    return mine;
  }

  static Map<Integer, Long> starts(Map<TopicPartition, SharePartitionOffsetInfo> offsets) {
    Map<Integer, Long> m = new TreeMap<>();
    offsets.forEach((tp, info) -> m.put(tp.partition(), info.startOffset()));
    return m;
  }

  Optional<GroupListing> listed(String group, ListGroupsOptions options) throws Exception {
    return admin.listGroups(options).all().get(30, TimeUnit.SECONDS).stream().filter(g -> g.groupId().equals(group)).findFirst();
  }

  void admin() throws Exception {
    String topic = unique("share-admin");
    String group = unique("share-admin");
    int perPartition = 50;
    createTopic(topic, 2);
    earliest(group);
    Set<String> produced = produce(topic, 2, 2 * perPartition);
    Map<String, String> received = new ConcurrentHashMap<>();
    Map<String, String> accepted = new ConcurrentHashMap<>();
    List<String> problems = new CopyOnWriteArrayList<>();
    AtomicBoolean stop = new AtomicBoolean();
    List<Thread> threads = new ArrayList<>();
    Set<String> clientIds = new HashSet<>();
    for (int m = 0; m < 2; m++) {
      String clientId = "skiff-compat-share-admin-" + m;
      clientIds.add(clientId);
      Thread t = new Thread(new Member("member-" + m, consumer(group, clientId, false), topic, received, accepted, problems, stop));
      threads.add(t);
      t.start();
    }
    ShareGroupDescription d = awaitMembers(group, 2);
    await(() -> accepted.size() >= produced.size() || !problems.isEmpty(), "the 2 members to accept " + produced.size() + " records");
    check(problems.isEmpty(), "consumers: " + problems);
    check(accepted.keySet().equals(produced), "accepted " + difference(produced, accepted.keySet()));

    // listGroups: share type, Stable, in the share-only and in the full listing.
    GroupListing gl = listed(group, ListGroupsOptions.forShareGroups())
        .orElseThrow(() -> new Mismatch("listGroups(forShareGroups) lacks " + group));
    check(gl.type().equals(Optional.of(GroupType.SHARE)), "listGroups type " + gl.type());
    check(gl.groupState().equals(Optional.of(GroupState.STABLE)), "listGroups state " + gl.groupState());
    check(listed(group, new ListGroupsOptions()).map(g -> g.type().equals(Optional.of(GroupType.SHARE))).orElse(false),
        "listGroups() (all types) lacks " + group + " as a share group");
    check(listed(group, ListGroupsOptions.forConsumerGroups()).isEmpty(), "listGroups(forConsumerGroups) lists the share group");
    // describeShareGroups: state, members (client ids), the assignment covers both partitions.
    d = admin.describeShareGroups(List.of(group)).describedGroups().get(group).get(30, TimeUnit.SECONDS);
    check(d.groupState() == GroupState.STABLE, "describeShareGroups state " + d.groupState());
    Set<String> describedClients = new HashSet<>();
    Set<TopicPartition> assigned = new HashSet<>();
    for (ShareMemberDescription m : d.members()) {
      describedClients.add(m.clientId());
      assigned.addAll(m.assignment().topicPartitions());
      check(m.memberEpoch() > 0, "member " + m.consumerId() + " epoch " + m.memberEpoch());
    }
    check(describedClients.equals(clientIds), "describeShareGroups members " + describedClients + ", expected " + clientIds);
    check(assigned.equals(Set.of(new TopicPartition(topic, 0), new TopicPartition(topic, 1))), "assignment " + assigned);
    check(d.groupEpoch() > 0 && d.coordinator() != null, "group epoch " + d.groupEpoch() + ", coordinator " + d.coordinator());
    // listShareGroupOffsets: every record accepted, so no lag on either partition. (Kafka 4.4.0
    // reports the start offset as 0 here, not 50: the share-partition start offset it persists
    // moves later; so only its range is checked.)
    List<Object> last = new CopyOnWriteArrayList<>();
    await(() -> {
      try {
        Map<TopicPartition, SharePartitionOffsetInfo> got = shareOffsets(group, topic);
        last.add(got);
        return got.size() == 2 && got.values().stream().allMatch(i -> i.lag().equals(Optional.of(0L)));
      } catch (Exception e) {
        last.add(e);
        return false;
      }
    }, () -> "listShareGroupOffsets to show both partitions with lag 0 (last " + (last.isEmpty() ? null : last.get(last.size() - 1)) + ")");
    Map<Integer, Long> startsAll = starts(shareOffsets(group, topic));
    startsAll.forEach((p, o) -> check(o >= 0 && o <= perPartition, "partition " + p + " start offset " + o + " outside 0.." + perPartition));
    checked("listGroups: " + group + " type SHARE, state STABLE (not among consumer groups); describeShareGroups: STABLE, members "
        + describedClients + ", assignment " + assigned + "; listShareGroupOffsets: lag 0 on both partitions after all accepted (start offsets "
        + startsAll + ")");

    // The members leave: the group is Empty, and its offsets can be altered.
    stop.set(true);
    for (Thread t : threads) t.join(60_000);
    check(problems.isEmpty(), "consumers closing: " + problems);
    await(() -> {
      try {
        ShareGroupDescription e = admin.describeShareGroups(List.of(group)).describedGroups().get(group).get();
        return e.groupState() == GroupState.EMPTY && e.members().isEmpty();
      } catch (Exception e) {
        return false;
      }
    }, "the share group to be Empty after its members closed");
    admin.alterShareGroupOffsets(group, Map.of(new TopicPartition(topic, 0), 10L, new TopicPartition(topic, 1), 20L))
        .all().get(30, TimeUnit.SECONDS);
    Map<Integer, Long> altered = starts(shareOffsets(group, topic));
    check(altered.equals(Map.of(0, 10L, 1, 20L)), "after alterShareGroupOffsets(p0=10, p1=20): " + altered);
    // A new member starts from the altered offsets: exactly p0 10..49 and p1 20..49.
    Set<String> expectAgain = new HashSet<>();
    for (long o = 10; o < perPartition; o++) expectAgain.add(key(0, o));
    for (long o = 20; o < perPartition; o++) expectAgain.add(key(1, o));
    Map<String, String> again = new ConcurrentHashMap<>();
    try (KafkaShareConsumer<String, String> c = consumer(group, "skiff-compat-share-admin-again", false)) {
      c.subscribe(List.of(topic));
      await(() -> {
        for (ConsumerRecord<String, String> r : c.poll(POLL)) again.put(key(r.partition(), r.offset()), "again");
        return again.size() >= expectAgain.size();
      }, () -> "the records after the altered offsets (got " + again.size() + " of " + expectAgain.size() + ")");
      c.commitSync(Duration.ofSeconds(30));
    }
    check(again.keySet().equals(expectAgain), "after the alter, a new member got " + difference(expectAgain, again.keySet()));
    checked("alterShareGroupOffsets(p0=10, p1=20) listed back, and a new member then received exactly p0 10..49, p1 20..49");

    await(() -> {
      try {
        return admin.describeShareGroups(List.of(group)).describedGroups().get(group).get().groupState() == GroupState.EMPTY;
      } catch (Exception e) {
        return false;
      }
    }, "the share group to be Empty again");
    admin.deleteShareGroupOffsets(group, Set.of(topic)).all().get(30, TimeUnit.SECONDS);
    Map<Integer, Long> afterDelete = starts(shareOffsets(group, topic));
    check(afterDelete.isEmpty(), "after deleteShareGroupOffsets(" + topic + "): listShareGroupOffsets still has " + afterDelete);
    checked("deleteShareGroupOffsets(topic): listShareGroupOffsets has no offsets of the topic");

    admin.deleteShareGroups(List.of(group)).all().get(30, TimeUnit.SECONDS);
    check(listed(group, ListGroupsOptions.forShareGroups()).isEmpty(), "listGroups still lists " + group + " after deleteShareGroups");
    try {
      ShareGroupDescription gone = admin.describeShareGroups(List.of(group)).describedGroups().get(group).get(30, TimeUnit.SECONDS);
      check(gone.groupState() == GroupState.DEAD, "describeShareGroups after deleteShareGroups: state " + gone.groupState());
    } catch (ExecutionException e) {
      check(e.getCause() instanceof GroupIdNotFoundException, "describeShareGroups after deleteShareGroups: " + e.getCause());
    }
    checked("deleteShareGroups: the group is gone from listGroups and describeShareGroups");
  }

  // ---- --restart-consume ----------------------------------------------------------------

  void restartConsume(Path dir) throws Exception {
    String topic = unique("share-restart");
    String group = unique("share-restart");
    int partitions = 4;
    createTopic(topic, partitions);
    earliest(group);
    Map<String, Short> confirmed = new ConcurrentHashMap<>();
    Map<String, Integer> deliveries = new ConcurrentHashMap<>();
    List<String> problems = new CopyOnWriteArrayList<>();
    AtomicBoolean midway = new AtomicBoolean();
    AtomicInteger holding = new AtomicInteger();
    AtomicInteger commitFailures = new AtomicInteger();
    AtomicBoolean stop = new AtomicBoolean();
    Path restarted = dir.resolve("restarted");
    List<Thread> threads = new ArrayList<>();
    for (int m = 0; m < MEMBERS; m++) {
      String name = "member-" + m;
      KafkaShareConsumer<String, String> c = consumer(group, "skiff-compat-share-restart-" + m, true);
      Thread t = new Thread(() -> {
        boolean held = false;
        try {
          c.subscribe(List.of(topic));
          while (!stop.get()) {
            ConsumerRecords<String, String> rs;
            try {
              rs = c.poll(POLL);
            } catch (KafkaException e) {
              step(name + ": poll: " + e);
              continue;
            }
            for (ConsumerRecord<String, String> r : rs) {
              String k = key(r.partition(), r.offset());
              deliveries.merge(k, 1, Integer::sum);
              if (confirmed.containsKey(k)) {
                problems.add(name + ": " + k + " delivered again (delivery count " + r.deliveryCount().orElse((short) -1)
                    + ") after its acceptance was confirmed");
              }
              c.acknowledge(r, AcknowledgeType.ACCEPT);
            }
            if (midway.get() && !held) {
              // Hold this poll's records unacknowledged across the broker's restart.
              held = true;
              holding.incrementAndGet();
              long deadline = System.currentTimeMillis() + 4 * TIMEOUT_MS;
              while (!Files.exists(restarted)) {
                if (System.currentTimeMillis() > deadline) {
                  problems.add(name + ": no " + restarted + " in time");
                  return;
                }
                Thread.sleep(100);
              }
            }
            if (rs.isEmpty()) continue;
            Map<TopicIdPartition, Optional<KafkaException>> res;
            try {
              res = c.commitSync(Duration.ofSeconds(30));
            } catch (KafkaException e) {
              commitFailures.incrementAndGet();
              step(name + ": commitSync: " + e);
              continue;
            }
            Map<Integer, Optional<KafkaException>> byPartition = new HashMap<>();
            res.forEach((tip, err) -> byPartition.put(tip.partition(), err));
            for (ConsumerRecord<String, String> r : rs) {
              Optional<KafkaException> err = byPartition.getOrDefault(r.partition(), Optional.of(new KafkaException("no commit result")));
              if (err.isEmpty()) {
                confirmed.put(key(r.partition(), r.offset()), r.deliveryCount().orElse((short) -1));
              } else {
                commitFailures.incrementAndGet();
              }
            }
          }
        } catch (Exception e) {
          problems.add(name + ": " + e);
        } finally {
          try {
            c.close(Duration.ofSeconds(30));
          } catch (Exception e) {
            step(name + ": close: " + e);
          }
        }
      }, name);
      threads.add(t);
      t.start();
    }
    awaitMembers(group, MEMBERS);
    Set<String> produced = produce(topic, partitions, RECORDS);
    step("produced " + RECORDS + " records; consuming");
    await(() -> confirmed.size() >= RECORDS / 5 || !problems.isEmpty(), "a fifth of the records to be accepted");
    midway.set(true);
    await(() -> holding.get() == MEMBERS || !problems.isEmpty(), "every member to hold a poll unacknowledged");
    int before = confirmed.size();
    check(before < RECORDS, "every record was accepted before the members held a poll: not mid-stream");
    Files.writeString(dir.resolve("midway"), before + "\n");
    step(before + " records accepted, every member holding a poll unacknowledged: " + dir.resolve("midway"));
    long deadline = System.currentTimeMillis() + 4 * TIMEOUT_MS;
    while (confirmed.size() < RECORDS && problems.isEmpty()) {
      check(System.currentTimeMillis() < deadline, "timed out: " + confirmed.size() + " of " + RECORDS + " accepted");
      Thread.sleep(50);
    }
    stop.set(true);
    for (Thread t : threads) t.join(60_000);
    check(Files.exists(restarted), "finished without a broker restart");
    check(problems.isEmpty(), problems.subList(0, Math.min(5, problems.size())).toString());
    check(confirmed.keySet().equals(produced), "accepted " + difference(produced, confirmed.keySet()));
    long again = deliveries.values().stream().filter(v -> v > 1).count();
    checked(before + " records accepted before the broker's SIGKILL; after its restart none of them was delivered again"
        + " (checked at every delivery), and all " + RECORDS + " were accepted in the end (none lost); " + again
        + " records (acquired, unaccepted) delivered more than once; " + commitFailures.get() + " acknowledgements failed around the restart");
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: JavaShareGroups.java HOST:PORT --basic|--explicit|--member-kill|--admin|--restart-consume=DIR|--hold TOPIC GROUP");
      System.exit(2);
    }
    JavaShareGroups s = new JavaShareGroups(args[0]);
    try {
      // compat/java/scenario.sh passes options as single --words: --restart-consume=DIR.
      if (args[1].startsWith("--restart-consume=")) {
        s.restartConsume(Path.of(args[1].substring("--restart-consume=".length())));
        args[1] = "--done";
      }
      switch (args[1]) {
        case "--done" -> { }
        case "--basic" -> s.basic();
        case "--explicit" -> s.explicit();
        case "--member-kill" -> s.memberKill();
        case "--admin" -> s.admin();
        case "--hold" -> s.hold(args[2], args[3]);
        default -> throw new IllegalArgumentException("unknown mode " + args[1]);
      }
    } catch (Mismatch m) {
      System.err.println(NAME + ": FAIL: " + m.getMessage());
      System.exit(1);
    } finally {
      s.admin.close(Duration.ofSeconds(10));
    }
    System.exit(0);
  }
}
