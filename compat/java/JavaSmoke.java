// Java client (org.apache.kafka:kafka-clients) smoke scenario.
//
// Usage: java -cp 'target/kafka-libs/*' compat/java/JavaSmoke.java HOST:PORT
//        (or BOOTSTRAP=HOST:PORT in the environment; run.sh does this for you)
//
// For each compression codec (none, gzip, snappy, lz4, zstd), on a new auto-created topic:
// produce records to explicit partitions (null/empty keys and values, duplicate header keys,
// a null header value, explicit timestamps, one 200 KB value) with idempotence off and
// acks=all, check the returned metadata, consume every partition back with an assign()-based
// consumer (no group.id) and compare exactly, then beginningOffsets, endOffsets and
// offsetsForTimes. Finally a consumer at the end (seekToEnd + position) receives only newer
// records. Exits 1 with a message naming the first mismatch.

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class JavaSmoke {
  static final String NAME = "java smoke";
  static final String[] CODECS = {"none", "gzip", "snappy", "lz4", "zstd"};
  static final int N = 240;
  static final long TIMEOUT_MS = 60_000;

  static final class Mismatch extends RuntimeException {
    Mismatch(String m) {
      super(m);
    }
  }

  /** One record as produced or observed. */
  static final class Rec {
    final int partition;
    final byte[] key;
    final byte[] value;
    final List<Header> headers;
    final long timestamp;
    long offset = -1;

    Rec(int partition, byte[] key, byte[] value, List<Header> headers, long timestamp) {
      this.partition = partition;
      this.key = key;
      this.value = value;
      this.headers = headers;
      this.timestamp = timestamp;
    }

    static String cut(byte[] b) {
      if (b == null) return "null";
      String s = new String(b, 0, Math.min(b.length, 24), StandardCharsets.ISO_8859_1);
      return "'" + s + "'" + (b.length > 24 ? "...(" + b.length + " B)" : "");
    }

    String brief() {
      StringBuilder h = new StringBuilder("[");
      for (Header x : headers) h.append(x.key()).append('=').append(cut(x.value())).append(' ');
      return "p" + partition + "@" + offset + " ts=" + timestamp + " key=" + cut(key)
          + " value=" + cut(value) + " headers=" + h.toString().trim() + "]";
    }
  }

  static void check(boolean cond, String what) {
    if (!cond) throw new Mismatch(what);
  }

  static void step(String msg) {
    System.err.println(NAME + ": " + msg);
  }

  static String uniqueTopic(String prefix) {
    return prefix + "-" + (System.currentTimeMillis() / 1000) + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  /** The same record shapes as compat/python/common.py's make_records. */
  static List<Rec> makeRecords(int n, int partitions, long baseTs, String salt) {
    List<Rec> out = new ArrayList<>();
    Random rnd = new Random(42);
    for (int i = 0; i < n; i++) {
      byte[] key;
      if (i % 17 == 5) key = null;
      else if (i % 19 == 7) key = new byte[0];
      else key = ("key-" + salt + "-" + i).getBytes(StandardCharsets.UTF_8);
      byte[] value;
      if (i % 23 == 11) value = null;
      else if (i % 29 == 13) value = new byte[0];
      else if (i == n - 1) {
        value = new byte[200_000];
        rnd.nextBytes(value);
      } else value = ("value " + i + " of " + salt + "; ").repeat(1 + i % 40).getBytes(StandardCharsets.UTF_8);
      List<Header> headers = new ArrayList<>();
      if (i % 3 == 0) {
        headers.add(new RecordHeader("dup", "1".getBytes()));
        headers.add(new RecordHeader("other", "x".getBytes()));
        headers.add(new RecordHeader("dup", "2".getBytes()));
        headers.add(new RecordHeader("dup", "3".getBytes()));
      } else if (i % 3 == 1) {
        headers.add(new RecordHeader("empty", new byte[0]));
        headers.add(new RecordHeader("nullv", null));
        headers.add(new RecordHeader("bin", new byte[] {0, (byte) 255, (byte) (i % 256)}));
      }
      out.add(new Rec(i % partitions, key, value, headers, baseTs + 10L * i));
    }
    return out;
  }

  static boolean sameHeaders(List<Header> a, List<Header> b) {
    if (a.size() != b.size()) return false;
    for (int i = 0; i < a.size(); i++) {
      if (!a.get(i).key().equals(b.get(i).key()) || !Arrays.equals(a.get(i).value(), b.get(i).value())) return false;
    }
    return true;
  }

  static void comparePartition(String label, List<Rec> want, List<Rec> got) {
    for (int i = 0; i < Math.min(want.size(), got.size()); i++) {
      Rec w = want.get(i), g = got.get(i);
      String field = null;
      if (w.partition != g.partition) field = "partition";
      else if (w.offset != g.offset) field = "offset";
      else if (!Arrays.equals(w.key, g.key)) field = "key";
      else if (!Arrays.equals(w.value, g.value)) field = "value";
      else if (!sameHeaders(w.headers, g.headers)) field = "headers";
      else if (w.timestamp != g.timestamp) field = "timestamp";
      if (field != null) {
        throw new Mismatch(label + ": record #" + i + " differs in " + field + "\n  want " + w.brief() + "\n  got  " + g.brief());
      }
    }
    check(want.size() == got.size(), label + ": want " + want.size() + " records, got " + got.size());
  }

  static KafkaProducer<byte[], byte[]> producer(String bootstrap, String codec) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "skiff-compat-java");
    p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 20);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    // Plain produce only: idempotence (InitProducerId) belongs to a later scenario.
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false);
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, TIMEOUT_MS);
    return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
  }

  static KafkaConsumer<byte[], byte[]> consumer(String bootstrap) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, "skiff-compat-java");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
    p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 100);
    return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  static int waitPartitions(KafkaProducer<byte[], byte[]> producer, String topic) {
    long deadline = System.currentTimeMillis() + TIMEOUT_MS;
    while (System.currentTimeMillis() < deadline) {
      List<PartitionInfo> parts = producer.partitionsFor(topic);
      if (!parts.isEmpty() && parts.stream().allMatch(pi -> pi.leader() != null && pi.leader().id() >= 0)) {
        return parts.size();
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    throw new Mismatch("topic " + topic + " never had leaders for all partitions");
  }

  static void produce(KafkaProducer<byte[], byte[]> producer, String topic, List<Rec> recs, int chunks) throws Exception {
    int perChunk = (recs.size() + chunks - 1) / chunks;
    for (int start = 0; start < recs.size(); start += perChunk) {
      List<Rec> chunk = recs.subList(start, Math.min(recs.size(), start + perChunk));
      List<Future<RecordMetadata>> futures = new ArrayList<>();
      for (Rec r : chunk) {
        futures.add(producer.send(new ProducerRecord<>(topic, r.partition, r.timestamp, r.key, r.value, r.headers)));
      }
      producer.flush();
      for (int i = 0; i < chunk.size(); i++) {
        Rec r = chunk.get(i);
        RecordMetadata md = futures.get(i).get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        check(md.partition() == r.partition, "sent to p" + r.partition + ", metadata says p" + md.partition());
        check(md.timestamp() == r.timestamp, r.brief() + ": metadata timestamp " + md.timestamp());
        r.offset = md.offset();
      }
    }
  }

  static Map<Integer, List<Rec>> pollUntil(KafkaConsumer<byte[], byte[]> c, int total, String what) {
    Map<Integer, List<Rec>> got = new HashMap<>();
    int count = 0;
    long deadline = System.currentTimeMillis() + TIMEOUT_MS;
    while (count < total) {
      check(System.currentTimeMillis() < deadline, what + ": timed out with " + count + " of " + total + " records");
      for (ConsumerRecord<byte[], byte[]> m : c.poll(Duration.ofMillis(500))) {
        check(m.timestampType() == TimestampType.CREATE_TIME, "p" + m.partition() + "@" + m.offset() + ": timestamp type " + m.timestampType());
        Rec r = new Rec(m.partition(), m.key(), m.value(), Arrays.asList(m.headers().toArray()), m.timestamp());
        r.offset = m.offset();
        got.computeIfAbsent(m.partition(), k -> new ArrayList<>()).add(r);
        count++;
      }
    }
    return got;
  }

  static Map<Integer, List<Rec>> byPartition(List<Rec> recs, int nparts) {
    Map<Integer, List<Rec>> m = new HashMap<>();
    for (int p = 0; p < nparts; p++) m.put(p, new ArrayList<>());
    for (Rec r : recs) m.get(r.partition).add(r);
    return m;
  }

  record Outcome(String topic, int nparts, Map<Integer, List<Rec>> want) {}

  static Outcome scenarioCodec(String bootstrap, String codec) throws Exception {
    String topic = uniqueTopic("compat-java-" + codec);
    List<Rec> recs;
    int nparts;
    try (KafkaProducer<byte[], byte[]> producer = producer(bootstrap, codec)) {
      nparts = waitPartitions(producer, topic);
      recs = makeRecords(N, nparts, System.currentTimeMillis() - 3_600_000, codec);
      step(codec + ": produce " + N + " records to " + topic + " (" + nparts + " partitions)");
      produce(producer, topic, recs, 3);
    }
    Map<Integer, List<Rec>> want = byPartition(recs, nparts);
    for (int p = 0; p < nparts; p++) {
      List<Rec> rs = want.get(p);
      for (int i = 0; i < rs.size(); i++) {
        check(rs.get(i).offset == i, codec + ": p" + p + " record #" + i + " got offset " + rs.get(i).offset);
      }
    }
    List<TopicPartition> tps = new ArrayList<>();
    for (int p = 0; p < nparts; p++) tps.add(new TopicPartition(topic, p));
    try (KafkaConsumer<byte[], byte[]> c = consumer(bootstrap)) {
      step(codec + ": consume back (assign, seekToBeginning)");
      c.assign(tps);
      c.seekToBeginning(tps);
      Map<Integer, List<Rec>> got = pollUntil(c, N, codec + " consume");
      for (int p = 0; p < nparts; p++) comparePartition(codec + " p" + p, want.get(p), got.getOrDefault(p, List.of()));

      step(codec + ": beginning/end offsets and offsetsForTimes");
      Map<TopicPartition, Long> begin = c.beginningOffsets(tps, Duration.ofSeconds(10));
      Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(10));
      for (TopicPartition tp : tps) {
        check(begin.get(tp) == 0L, codec + " " + tp + ": beginning offset " + begin.get(tp));
        long n = want.get(tp.partition()).size();
        check(end.get(tp) == n, codec + " " + tp + ": end offset " + end.get(tp) + ", want " + n);
      }
      for (TopicPartition tp : tps) {
        List<Rec> rs = want.get(tp.partition());
        Rec first = rs.get(0), mid = rs.get(rs.size() / 2), last = rs.get(rs.size() - 1);
        Object[][] cases = {
          {0L, first}, {first.timestamp, first}, {mid.timestamp, mid}, {mid.timestamp - 1, mid},
          {last.timestamp, last}, {last.timestamp + 1, null},
        };
        for (Object[] cs : cases) {
          long ts = (Long) cs[0];
          Rec exp = (Rec) cs[1];
          OffsetAndTimestamp ot = c.offsetsForTimes(Map.of(tp, ts), Duration.ofSeconds(10)).get(tp);
          if (exp == null) {
            check(ot == null, codec + " " + tp + ": offsetsForTimes(" + ts + ") = " + ot + ", want null");
          } else {
            check(ot != null && ot.offset() == exp.offset && ot.timestamp() == exp.timestamp,
                codec + " " + tp + ": offsetsForTimes(" + ts + ") = " + ot + ", want offset " + exp.offset + " ts " + exp.timestamp);
          }
        }
      }
    }
    return new Outcome(topic, nparts, want);
  }

  static void scenarioLatest(String bootstrap, Outcome o) throws Exception {
    step("latest: consumer at end of " + o.topic + " sees only new records");
    List<TopicPartition> tps = new ArrayList<>();
    for (int p = 0; p < o.nparts; p++) tps.add(new TopicPartition(o.topic, p));
    try (KafkaConsumer<byte[], byte[]> c = consumer(bootstrap)) {
      c.assign(tps);
      c.seekToEnd(tps);
      for (TopicPartition tp : tps) { // position() resolves `latest` now, before anything new is produced
        long pos = c.position(tp, Duration.ofSeconds(10));
        check(pos == o.want.get(tp.partition()).size(), "latest: " + tp + " position " + pos);
      }
      List<Rec> fresh = new ArrayList<>();
      for (Rec r : makeRecords(3 * o.nparts, o.nparts, System.currentTimeMillis(), "fresh")) {
        if (r.value == null || r.value.length < 100_000) fresh.add(r);
      }
      try (KafkaProducer<byte[], byte[]> producer = producer(bootstrap, "none")) {
        produce(producer, o.topic, fresh, 1);
      }
      Map<Integer, List<Rec>> got = pollUntil(c, fresh.size(), "latest: receive new records");
      Map<Integer, List<Rec>> newWant = byPartition(fresh, o.nparts);
      for (int p = 0; p < o.nparts; p++) comparePartition("latest p" + p, newWant.get(p), got.getOrDefault(p, List.of()));
    }
  }

  public static void main(String[] args) {
    String bootstrap = args.length > 0 ? args[0] : System.getenv("BOOTSTRAP");
    if (bootstrap == null || bootstrap.isEmpty()) {
      System.err.println("usage: JavaSmoke HOST:PORT (or set BOOTSTRAP)");
      System.exit(2);
    }
    long started = System.nanoTime();
    try {
      Outcome first = null;
      for (String codec : CODECS) {
        Outcome o = scenarioCodec(bootstrap, codec);
        if (first == null) first = o;
      }
      scenarioLatest(bootstrap, Objects.requireNonNull(first));
    } catch (Mismatch e) {
      System.err.println(NAME + " FAILED: " + e.getMessage());
      System.exit(1);
    } catch (Exception e) {
      e.printStackTrace();
      System.err.println(NAME + " FAILED: " + e);
      System.exit(1);
    }
    System.out.printf("%s: OK (%.1fs)%n", NAME, (System.nanoTime() - started) / 1e9);
    System.exit(0);
  }
}
