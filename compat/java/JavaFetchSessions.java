// Java client (kafka-clients) over incremental fetch sessions (KIP-227).
//
// Usage: java -cp 'target/kafka-libs/*' compat/java/JavaFetchSessions.java HOST:PORT
//
// The Java consumer uses fetch sessions (librdkafka does not). One assign()-based consumer
// (no group.id) of a 200-partition topic, 10 partitions of which receive records: a first
// wave before it starts, a second while it long-polls, then half of its partitions are
// unassigned (the next incremental fetch forgets them) and a third wave goes to all 10
// busy partitions. Every record of the assigned partitions must arrive exactly once, in
// offset order, with its value. The client's FetchSessionHandler log (DEBUG, to a temp file)
// must show a session created by the broker and incremental responses, and no invalid
// response or session error (COMPAT_FETCHSESS_DUMP=1 prints that log). Exits 1 with a message naming the first mismatch.

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class JavaFetchSessions {
  static final String NAME = "java fetch sessions";
  static final int PARTITIONS = 200;
  static final long TIMEOUT_MS = 60_000;

  static final class Mismatch extends RuntimeException {
    Mismatch(String m) {
      super(m);
    }
  }

  static void check(boolean ok, String msg) {
    if (!ok) throw new Mismatch(msg);
  }

  /** Log4j 2: WARN to stderr, FetchSessionHandler at DEBUG into `file`. */
  static void configureLogging(Path file) throws Exception {
    Path cfg = Files.createTempFile("compat-fetchsess-log4j2", ".properties");
    cfg.toFile().deleteOnExit();
    Files.writeString(
        cfg,
        String.join(
            "\n",
            "status = error",
            "appender.err.type = Console",
            "appender.err.name = err",
            "appender.err.target = SYSTEM_ERR",
            "appender.err.layout.type = PatternLayout",
            "appender.err.layout.pattern = %d{HH:mm:ss.SSS} %-5p %c{1}: %m%n",
            "appender.sess.type = File",
            "appender.sess.name = sess",
            "appender.sess.fileName = " + file,
            "appender.sess.layout.type = PatternLayout",
            "appender.sess.layout.pattern = %-5p %m%n",
            "rootLogger.level = WARN",
            "rootLogger.appenderRef.err.ref = err",
            "logger.sess.name = org.apache.kafka.clients.FetchSessionHandler",
            "logger.sess.level = DEBUG",
            "logger.sess.additivity = false",
            "logger.sess.appenderRef.sess.ref = sess",
            ""));
    System.setProperty("log4j2.configurationFile", cfg.toString());
  }

  public static void main(String[] args) throws Exception {
    String bootstrap = args.length > 0 ? args[0] : System.getenv("BOOTSTRAP");
    Path log = Files.createTempFile("compat-fetchsess", ".log");
    log.toFile().deleteOnExit();
    configureLogging(log);
    try {
      run(bootstrap, log);
      System.out.println(NAME + ": OK");
    } catch (Mismatch m) {
      System.err.println(NAME + ": MISMATCH: " + m.getMessage());
      System.exit(1);
    }
  }

  static void run(String bootstrap, Path log) throws Exception {
    String topic = "fetchsess-" + UUID.randomUUID().toString().substring(0, 8);
    Properties ac = new Properties();
    ac.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(ac)) {
      admin.createTopics(List.of(new NewTopic(topic, PARTITIONS, (short) 1))).all().get(30, TimeUnit.SECONDS);
    }
    List<Integer> busy = new ArrayList<>();
    for (int i = 0; i < 10; i++) busy.add(i * 19 + 1);

    Properties pc = new Properties();
    pc.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    pc.put(ProducerConfig.ACKS_CONFIG, "all");
    pc.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "false");
    pc.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    pc.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    pc.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    Properties cc = new Properties();
    cc.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    cc.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    cc.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "200");
    cc.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    cc.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);

    // Per partition: the values written, in offset order.
    Map<Integer, List<String>> written = new HashMap<>();
    Map<Integer, List<String>> read = new HashMap<>();
    int[] counter = {0};
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(pc);
        KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(cc)) {
      List<TopicPartition> all = new ArrayList<>();
      for (int p = 0; p < PARTITIONS; p++) all.add(new TopicPartition(topic, p));
      consumer.assign(all);
      consumer.seekToBeginning(all);

      wave(producer, topic, busy, 600, counter, written);
      drain(consumer, read, expectedCount(written, allIds()), "wave 1");
      wave(producer, topic, busy, 400, counter, written);
      drain(consumer, read, expectedCount(written, allIds()), "wave 2");

      // Keep the even partitions only: the odd ones (half of the busy ones) are forgotten.
      List<TopicPartition> even = new ArrayList<>();
      for (TopicPartition tp : all) if (tp.partition() % 2 == 0) even.add(tp);
      consumer.assign(even);
      Set<Integer> kept = new HashSet<>();
      for (TopicPartition tp : even) kept.add(tp.partition());
      // Positions of kept partitions carry over; nothing is unread there.
      wave(producer, topic, busy, 500, counter, written);
      drain(consumer, read, expectedCount(written, kept), "wave 3");

      for (int p : busy) {
        List<String> w = written.getOrDefault(p, List.of());
        List<String> r = read.getOrDefault(p, List.of());
        if (kept.contains(p)) {
          check(w.equals(r), "partition " + p + ": read " + r.size() + " records, wrote " + w.size() + " (or another order)");
        } else {
          // Unassigned after wave 2: everything up to then, nothing after.
          check(r.size() <= w.size() && w.subList(0, r.size()).equals(r), "partition " + p + ": records differ from those written");
          check(r.size() >= countUpTo(w, 1000), "partition " + p + ": waves 1 and 2 not fully read");
        }
      }
      for (int p : read.keySet()) check(busy.contains(p), "records from partition " + p + ", which got none");
    }
    // The client's view of the sessions.
    List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
    if (System.getenv("COMPAT_FETCHSESS_DUMP") != null) for (String l : lines) System.err.println(l);
    // From close() on, the client handles a fetch still in flight against the closing
    // request's (empty) state and logs it as invalid, or as a new session: not the broker's
    // doing (it does so whatever the broker answered), so only what came before counts.
    int closing = lines.size();
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).contains("to close the existing session")) {
        closing = i;
        break;
      }
    }
    lines = lines.subList(0, closing);
    long created = lines.stream().filter(l -> l.contains("created a new incremental fetch session")).count();
    long incremental = lines.stream().filter(l -> l.contains("sent an incremental fetch response with")).count();
    for (String l : lines) {
      check(!l.contains("invalid"), "the client found a response invalid: " + l);
      check(!l.contains("unable to process the fetch request"), "a session error: " + l);
    }
    check(created >= 1, "the broker never created a fetch session (" + lines.size() + " log lines)");
    check(incremental >= 2, "only " + incremental + " incremental fetch responses");
    System.err.printf("%s: %d session(s) created, %d incremental responses%n", NAME, created, incremental);
  }

  static Set<Integer> allIds() {
    Set<Integer> s = new HashSet<>();
    for (int p = 0; p < PARTITIONS; p++) s.add(p);
    return s;
  }

  static int countUpTo(List<String> values, int n) {
    int c = 0;
    for (String v : values) if (Integer.parseInt(v.substring(2)) < n) c++;
    return c;
  }

  static int expectedCount(Map<Integer, List<String>> written, Set<Integer> partitions) {
    int n = 0;
    for (Map.Entry<Integer, List<String>> e : written.entrySet()) if (partitions.contains(e.getKey())) n += e.getValue().size();
    return n;
  }

  static void wave(
      KafkaProducer<byte[], byte[]> producer,
      String topic,
      List<Integer> busy,
      int count,
      int[] counter,
      Map<Integer, List<String>> written)
      throws Exception {
    // Offsets as the broker assigned them (a fresh topic may answer NOT_LEADER_OR_FOLLOWER
    // at first on Kafka, and retried batches need not keep the send order).
    List<String> values = new ArrayList<>();
    List<java.util.concurrent.Future<org.apache.kafka.clients.producer.RecordMetadata>> sent = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      int n = counter[0]++;
      int p = busy.get(n % busy.size());
      String v = "v-" + n;
      values.add(v);
      sent.add(producer.send(new ProducerRecord<>(topic, p, null, v.getBytes(StandardCharsets.UTF_8))));
    }
    producer.flush();
    Map<Integer, java.util.TreeMap<Long, String>> byOffset = new HashMap<>();
    for (int i = 0; i < sent.size(); i++) {
      var md = sent.get(i).get(30, TimeUnit.SECONDS);
      byOffset.computeIfAbsent(md.partition(), k -> new java.util.TreeMap<>()).put(md.offset(), values.get(i));
    }
    for (var e : byOffset.entrySet()) {
      List<String> w = written.computeIfAbsent(e.getKey(), k -> new ArrayList<>());
      for (var o : e.getValue().entrySet()) {
        check(o.getKey() == w.size(), "partition " + e.getKey() + ": offset " + o.getKey() + " written after " + w.size() + " records");
        w.add(o.getValue());
      }
    }
  }

  /** Polls until `total` records of the currently assigned partitions have been read. */
  static void drain(KafkaConsumer<byte[], byte[]> consumer, Map<Integer, List<String>> read, int total, String what) {
    long deadline = System.currentTimeMillis() + TIMEOUT_MS;
    while (true) {
      int have = 0;
      for (TopicPartition tp : consumer.assignment()) have += read.getOrDefault(tp.partition(), List.of()).size();
      if (have >= total) {
        check(have == total, what + ": read " + have + " records, expected " + total);
        return;
      }
      check(System.currentTimeMillis() < deadline, what + ": only " + have + " of " + total + " records read");
      for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
        List<String> l = read.computeIfAbsent(r.partition(), k -> new ArrayList<>());
        check(r.offset() == l.size(), "partition " + r.partition() + ": offset " + r.offset() + " after " + l.size() + " records");
        l.add(new String(r.value(), StandardCharsets.UTF_8));
      }
    }
  }
}
