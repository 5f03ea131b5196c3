// Share-consume throughput (KIP-932) with kafka-clients' KafkaShareConsumer: the Java half of
// benches/share-consume.sh, which starts the broker, runs this once per broker and round, and
// makes the table. Launched from source like compat/java/scenario.sh (no build step).
//
// Usage: java -cp 'target/kafka-libs-4.4.0/*' benches/ShareConsumeBench.java HOST:PORT [options]
//   --records N      records produced to the measured topic (default 200000)
//   --size B         value size in bytes (default 100)
//   --partitions P   partitions of the topic (default 4)
//   --batch-size B   the producer's batch.size (default 16384; a share consumer acquires whole
//                    batches, so this is also the unit the members share records in)
//   --members LIST   one measured row per entry: that many share consumers, each its own
//                    KafkaShareConsumer in its own thread, in a fresh share group (default 1,4,16)
//   --warmup N       records of an unmeasured warm-up topic consumed by 2 members first
//                    (default records/10, at least 1000; 0: none)
//   --broker-pid PID read the broker's CPU time (utime + stime) from /proc/PID/stat per row
//   --clk-tck T      clock ticks per second of /proc/PID/stat (getconf CLK_TCK; default 100)
//   --timeout-s S    a row fails when not every record is accepted after S seconds (default 300)
//
// Each row: a fresh group gets share.auto.offset.reset=earliest (IncrementalAlterConfigs), its
// members are created, then started together; each polls (implicit acknowledgement, the
// client's defaults otherwise) until every record of the topic has been accepted, counted in
// the acknowledgement commit callbacks. Every (partition, offset) must be accepted exactly once
// (an offset accepted twice, or one the topic does not hold, fails the row at once). Measured:
// from the first poll of any member to the acceptance that completes the topic.
// Prints per row on stdout one line
//   RESULT members=M records=N secs=S rps=R rps_after_first=R2 broker_cpu_s=C client_cpu_s=C
//          first_record_ms=F deliveries=D redelivered=X ack_errors=E member_min=A member_max=B
// (rps_after_first: from the first record any member received, i.e. without the group join;
// deliveries: records returned by poll, X of them with delivery count > 1; ack_errors: records
// whose acknowledgement the callback reported failed; member_min/max: the fewest and most
// records one member accepted), or `FAILED members=M why` (`FAILED warm-up why` for the
// warm-up); the other rows still run. Exits 1 if a row or the warm-up failed.

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ListShareGroupOffsetsSpec;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.ShareGroupDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class ShareConsumeBench {
  static final Duration POLL = Duration.ofMillis(500);

  static void say(String msg) {
    System.err.println("share-consume-bench: " + msg);
  }

  static final class Failure extends RuntimeException {
    Failure(String m) {
      super(m);
    }
  }

  final String bootstrap;
  final Admin admin;
  int records = 200_000;
  int size = 100;
  int partitions = 4;
  int batchSize = 16_384;
  int warmup = -1;
  List<Integer> members = List.of(1, 4, 16);
  long brokerPid = -1;
  double clkTck = 100;
  long timeoutMs = 300_000;

  ShareConsumeBench(String bootstrap) {
    this.bootstrap = bootstrap;
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.CLIENT_ID_CONFIG, "share-consume-bench-admin");
    this.admin = Admin.create(p);
  }

  /** utime + stime of a process in seconds, from /proc/PID/stat (fields 14 and 15). */
  double cpuSeconds(String pid) {
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"), StandardCharsets.US_ASCII);
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      // f[0] is field 3 (state), so field n is f[n - 3].
      return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / clkTck;
    } catch (Exception e) {
      throw new Failure("cannot read /proc/" + pid + "/stat: " + e);
    }
  }

  double brokerCpu() {
    return brokerPid < 0 ? Double.NaN : cpuSeconds(Long.toString(brokerPid));
  }

  double clientCpu() {
    return cpuSeconds("self");
  }

  void createTopic(String topic) throws Exception {
    admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(60, TimeUnit.SECONDS);
    long deadline = System.currentTimeMillis() + 60_000;
    while (true) {
      try {
        if (admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size() == partitions) return;
      } catch (Exception e) {
        // not visible yet
      }
      if (System.currentTimeMillis() > deadline) throw new Failure("topic " + topic + " not described within 60 s");
      Thread.sleep(50);
    }
  }

  /** Produces n records of `size` bytes, record i to partition i mod P; returns the end offset
   * of each partition, read back with ListOffsets (latest). */
  long[] produce(String topic, int n) throws Exception {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "share-consume-bench-producer");
    p.put(ProducerConfig.BATCH_SIZE_CONFIG, batchSize);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    byte[] value = new byte[size];
    Arrays.fill(value, (byte) 'x');
    AtomicLong failed = new AtomicLong();
    long t0 = System.nanoTime();
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
      for (int i = 0; i < n; i++) {
        producer.send(new ProducerRecord<>(topic, i % partitions, null, value), (md, ex) -> {
          if (ex != null && failed.getAndIncrement() == 0) say("produce failed: " + ex);
        });
      }
      producer.flush();
    }
    if (failed.get() > 0) throw new Failure(failed.get() + " of " + n + " records were not produced");
    double secs = (System.nanoTime() - t0) / 1e9;
    Map<TopicPartition, OffsetSpec> specs = new HashMap<>();
    for (int q = 0; q < partitions; q++) specs.put(new TopicPartition(topic, q), OffsetSpec.latest());
    var offsets = admin.listOffsets(specs).all().get(60, TimeUnit.SECONDS);
    long[] ends = new long[partitions];
    long sum = 0;
    for (int q = 0; q < partitions; q++) {
      ends[q] = offsets.get(new TopicPartition(topic, q)).offset();
      sum += ends[q];
    }
    if (sum != n) throw new Failure("produced " + n + " records but the partitions end at " + Arrays.toString(ends));
    say(String.format("produced %d x %d B to %s in %.2f s (end offsets %s)", n, size, topic, secs, Arrays.toString(ends)));
    return ends;
  }

  void earliest(String group) throws Exception {
    ConfigResource res = new ConfigResource(ConfigResource.Type.GROUP, group);
    AlterConfigOp op = new AlterConfigOp(new ConfigEntry("share.auto.offset.reset", "earliest"), AlterConfigOp.OpType.SET);
    admin.incrementalAlterConfigs(Map.of(res, List.of(op))).all().get(60, TimeUnit.SECONDS);
  }

  /** What one row shares between its members. */
  static final class Row {
    final long[] ends;
    final AtomicIntegerArray[] accepts;
    final AtomicIntegerArray[] polled;
    final long total;
    final AtomicLong unique = new AtomicLong();
    final AtomicLong deliveries = new AtomicLong();
    final AtomicLong redelivered = new AtomicLong();
    final AtomicLong ackErrors = new AtomicLong();
    final AtomicLong firstPollNs = new AtomicLong(Long.MAX_VALUE);
    final AtomicLong firstRecordNs = new AtomicLong(Long.MAX_VALUE);
    volatile long doneNs;
    final CountDownLatch done = new CountDownLatch(1);
    final CountDownLatch go = new CountDownLatch(1);
    final AtomicBoolean stop = new AtomicBoolean();
    final List<String> problems = new CopyOnWriteArrayList<>();

    Row(long[] ends) {
      this.ends = ends;
      this.accepts = new AtomicIntegerArray[ends.length];
      this.polled = new AtomicIntegerArray[ends.length];
      long t = 0;
      for (int q = 0; q < ends.length; q++) {
        accepts[q] = new AtomicIntegerArray((int) ends[q]);
        polled[q] = new AtomicIntegerArray((int) ends[q]);
        t += ends[q];
      }
      this.total = t;
    }

    void problem(String p) {
      problems.add(p);
      done.countDown();
    }

    static void min(AtomicLong a, long v) {
      a.accumulateAndGet(v, Math::min);
    }
  }

  static final class Member implements Runnable {
    final String name;
    final KafkaShareConsumer<byte[], byte[]> consumer;
    final String topic;
    final Row row;
    final AtomicLong accepted = new AtomicLong();

    Member(String name, KafkaShareConsumer<byte[], byte[]> consumer, String topic, Row row) {
      this.name = name;
      this.consumer = consumer;
      this.topic = topic;
      this.row = row;
    }

    @Override
    public void run() {
      try {
        consumer.setAcknowledgementCommitCallback((offsets, ex) -> {
          if (ex != null) {
            row.ackErrors.addAndGet(offsets.values().stream().mapToLong(java.util.Set::size).sum());
            StringBuilder what = new StringBuilder();
            offsets.forEach((tip, set) -> what.append(' ').append(tip.partition()).append(':')
                .append(set.stream().mapToLong(Long::longValue).min().orElse(-1)).append("..")
                .append(set.stream().mapToLong(Long::longValue).max().orElse(-1)).append(" (").append(set.size()).append(')'));
            say(name + ": acknowledgement failed for" + what + ": " + ex);
            return;
          }
          offsets.forEach((tip, set) -> {
            int q = tip.partition();
            for (long o : set) {
              if (q < 0 || q >= row.ends.length || o < 0 || o >= row.ends[q]) {
                row.problem(name + ": accepted " + q + ":" + o + ", which the topic does not hold");
                continue;
              }
              if (row.accepts[q].incrementAndGet((int) o) > 1) {
                row.problem(name + ": " + q + ":" + o + " accepted again");
                continue;
              }
              accepted.incrementAndGet();
              if (row.unique.incrementAndGet() == row.total) {
                row.doneNs = System.nanoTime();
                row.done.countDown();
              }
            }
          });
        });
        consumer.subscribe(List.of(topic));
        row.go.await();
        Row.min(row.firstPollNs, System.nanoTime());
        while (!row.stop.get()) {
          var polled = consumer.poll(POLL);
          if (!polled.isEmpty()) {
            Row.min(row.firstRecordNs, System.nanoTime());
            row.deliveries.addAndGet(polled.count());
            for (ConsumerRecord<byte[], byte[]> r : polled) {
              if (r.deliveryCount().orElse((short) 1) > 1) row.redelivered.incrementAndGet();
              if (r.partition() < row.ends.length && r.offset() < row.ends[r.partition()]) {
                row.polled[r.partition()].incrementAndGet((int) r.offset());
              }
            }
          }
        }
      } catch (Exception e) {
        row.problem(name + ": " + e);
      } finally {
        try {
          consumer.close(Duration.ofSeconds(30));
        } catch (Exception e) {
          row.problems.add(name + ": close: " + e);
        }
      }
    }
  }

  KafkaShareConsumer<byte[], byte[]> consumer(String group, String clientId) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("group.id", group);
    p.put("client.id", clientId);
    p.put("share.acknowledgement.mode", "implicit");
    return new KafkaShareConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  /** One row: m members of a fresh group consume the topic until every record is accepted.
   * Returns the RESULT line, or throws Failure. */
  String row(String topic, long[] ends, int m) throws Exception {
    String group = "share-bench-m" + m + "-" + UUID.randomUUID().toString().substring(0, 8);
    earliest(group);
    Row row = new Row(ends);
    List<Member> ms = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < m; i++) {
      String name = "member-" + i;
      Member member = new Member(name, consumer(group, "share-bench-" + name), topic, row);
      ms.add(member);
      Thread t = new Thread(member, name);
      threads.add(t);
      t.start();
    }
    double cpu0 = brokerCpu();
    double client0 = clientCpu();
    row.go.countDown();
    boolean finished = row.done.await(timeoutMs, TimeUnit.MILLISECONDS);
    double cpu1 = brokerCpu();
    double client1 = clientCpu();
    String describe = "";
    if (!finished || !row.problems.isEmpty()) {
      // Where the broker's share-partitions start (every offset below is delivered to completion
      // as far as the broker knows), and the group.
      try {
        Map<Integer, Long> starts = new java.util.TreeMap<>();
        admin.listShareGroupOffsets(Map.of(group, new ListShareGroupOffsetsSpec())).partitionsToOffsetInfo(group)
            .get(10, TimeUnit.SECONDS).forEach((tp, info) -> {
              if (tp.topic().equals(topic) && info != null) starts.put(tp.partition(), info.startOffset());
            });
        describe = "; share-group start offsets: " + starts;
      } catch (Exception e) {
        describe = "; listShareGroupOffsets: " + e;
      }
      try {
        ShareGroupDescription d = admin.describeShareGroups(List.of(group)).describedGroups().get(group).get(10, TimeUnit.SECONDS);
        describe += "; group: " + d;
      } catch (Exception e) {
        describe += "; describeShareGroups: " + e;
      }
    }
    row.stop.set(true);
    for (Thread t : threads) t.join(60_000);
    StringBuilder counts = new StringBuilder();
    long min = Long.MAX_VALUE, max = 0;
    for (Member mb : ms) {
      long a = mb.accepted.get();
      min = Math.min(min, a);
      max = Math.max(max, a);
      counts.append(' ').append(mb.name).append('=').append(a);
    }
    if (!row.problems.isEmpty()) {
      throw new Failure(m + " members: " + row.problems.subList(0, Math.min(5, row.problems.size())) + " (accepted per member:"
          + counts + ")" + describe);
    }
    if (!finished) {
      throw new Failure(m + " members: only " + row.unique.get() + " of " + row.total + " records accepted after "
          + timeoutMs / 1000 + " s (deliveries " + row.deliveries.get() + ", redelivered " + row.redelivered.get()
          + ", ack errors " + row.ackErrors.get() + "; not accepted: " + unset(row.accepts) + "; never delivered: "
          + unset(row.polled) + "; accepted per member:" + counts + ")" + describe);
    }
    // unique == total, no offset outside the topic and none twice: each one exactly once.
    double secs = (row.doneNs - row.firstPollNs.get()) / 1e9;
    double firstMs = (row.firstRecordNs.get() - row.firstPollNs.get()) / 1e6;
    say(String.format("%d members: %d records accepted exactly once in %.3f s (%.0f/s), first record after %.0f ms;"
        + " deliveries %d, redelivered %d, ack errors %d; accepted per member:%s", m, row.total, secs, row.total / secs, firstMs,
        row.deliveries.get(), row.redelivered.get(), row.ackErrors.get(), counts));
    double steady = row.total / ((row.doneNs - row.firstRecordNs.get()) / 1e9);
    return String.format("RESULT members=%d records=%d secs=%.4f rps=%.0f rps_after_first=%.0f broker_cpu_s=%.2f client_cpu_s=%.2f"
        + " first_record_ms=%.0f deliveries=%d redelivered=%d ack_errors=%d member_min=%d member_max=%d", m, row.total, secs,
        row.total / secs, steady, cpu1 - cpu0, client1 - client0, firstMs, row.deliveries.get(), row.redelivered.get(),
        row.ackErrors.get(), min, max);
  }

  /** The offsets whose counter is 0, as partition:first..last runs (at most 12 runs). */
  static String unset(AtomicIntegerArray[] counts) {
    List<String> runs = new ArrayList<>();
    long n = 0;
    for (int q = 0; q < counts.length; q++) {
      int first = -1;
      for (int o = 0; o <= counts[q].length(); o++) {
        boolean zero = o < counts[q].length() && counts[q].get(o) == 0;
        if (zero) {
          n++;
          if (first < 0) first = o;
        } else if (first >= 0) {
          if (runs.size() < 12) runs.add(q + ":" + first + ".." + (o - 1));
          first = -1;
        }
      }
    }
    return n + " " + runs;
  }

  void run() throws Exception {
    String run = Long.toString(System.currentTimeMillis() / 1000);
    int warm = warmup >= 0 ? warmup : Math.max(1000, records / 10);
    int failed = 0;
    if (warm > 0) {
      String wt = "share-bench-warmup-" + run;
      createTopic(wt);
      long[] ends = produce(wt, warm);
      try {
        say("warm-up (not measured): " + row(wt, ends, 2));
      } catch (Failure f) {
        // Not measured, but a failure all the same; the rows still run.
        failed++;
        System.out.println("FAILED warm-up " + f.getMessage());
        say("FAILED: warm-up: " + f.getMessage());
      }
    }
    String topic = "share-bench-" + run;
    createTopic(topic);
    long[] ends = produce(topic, records);
    for (int m : members) {
      try {
        System.out.println(row(topic, ends, m));
      } catch (Failure f) {
        // The next row is a fresh group: it can still be measured.
        failed++;
        System.out.println("FAILED members=" + m + " " + f.getMessage());
        say("FAILED: " + f.getMessage());
      }
    }
    if (failed > 0) throw new Failure(failed + " row(s) failed (the warm-up counts as one)");
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 1 || args[0].startsWith("--")) {
      System.err.println("usage: ShareConsumeBench.java HOST:PORT [--records N] [--size B] [--partitions P] [--batch-size B]"
          + " [--members 1,4,16] [--warmup N] [--broker-pid PID] [--clk-tck T] [--timeout-s S]");
      System.exit(2);
    }
    ShareConsumeBench b = new ShareConsumeBench(args[0]);
    for (int i = 1; i < args.length; i += 2) {
      if (i + 1 >= args.length) throw new IllegalArgumentException(args[i] + " takes a value");
      String v = args[i + 1];
      switch (args[i]) {
        case "--records" -> b.records = Integer.parseInt(v);
        case "--size" -> b.size = Integer.parseInt(v);
        case "--partitions" -> b.partitions = Integer.parseInt(v);
        case "--batch-size" -> b.batchSize = Integer.parseInt(v);
        case "--members" -> b.members = Arrays.stream(v.split(",")).map(Integer::parseInt).toList();
        case "--warmup" -> b.warmup = Integer.parseInt(v);
        case "--broker-pid" -> b.brokerPid = Long.parseLong(v);
        case "--clk-tck" -> b.clkTck = Double.parseDouble(v);
        case "--timeout-s" -> b.timeoutMs = Long.parseLong(v) * 1000;
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    int rc = 0;
    try {
      b.run();
    } catch (Failure f) {
      System.err.println("share-consume-bench: FAILED: " + f.getMessage());
      rc = 1;
    } finally {
      b.admin.close(Duration.ofSeconds(10));
    }
    System.exit(rc);
  }
}
