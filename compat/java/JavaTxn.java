// Java client (org.apache.kafka:kafka-clients) transactions scenario ("extended" suite).
//
// Usage: java -cp 'target/kafka-libs/*' compat/java/JavaTxn.java HOST:PORT
//        (or BOOTSTRAP=HOST:PORT in the environment; run.sh does this for you)
//
// 1. A transactional producer commits one transaction and aborts another on a new topic: a
//    read_committed consumer sees exactly the committed records, a read_uncommitted one sees
//    both; markers take offsets but are never records.
// 2. Consume-transform-produce with sendOffsetsToTransaction(offsets, groupMetadata()): the
//    group's committed offsets are the input's end offsets, the output holds each
//    transformed record once.
// 3. A second producer with the same transactional.id fences the first (ProducerFencedException
//    or InvalidProducerEpochException on its commit); the second's transaction commits.
// Exits 1 with a message naming the first mismatch.

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class JavaTxn {
  static final String NAME = "java txn";
  static final long TIMEOUT_MS = 60_000;

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

  static String unique(String prefix) {
    return prefix + "-" + System.currentTimeMillis() + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  static KafkaProducer<String, String> txnProducer(String bootstrap, String txnId) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId);
    p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 60_000);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    return new KafkaProducer<>(p);
  }

  static KafkaConsumer<String, String> consumer(String bootstrap, String group, String isolation) {
    Properties c = new Properties();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    if (group != null) c.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 100);
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    return new KafkaConsumer<>(c);
  }

  static int partitions(KafkaProducer<String, String> p, String topic) {
    return p.partitionsFor(topic).size();
  }

  static List<TopicPartition> tps(String topic, int n) {
    List<TopicPartition> out = new ArrayList<>();
    for (int i = 0; i < n; i++) out.add(new TopicPartition(topic, i));
    return out;
  }

  /** Every record value up to the end (the LSO for read_committed), from the beginning. */
  static List<String> readAll(String bootstrap, String topic, int n, String isolation) {
    try (KafkaConsumer<String, String> c = consumer(bootstrap, null, isolation)) {
      List<TopicPartition> parts = tps(topic, n);
      c.assign(parts);
      c.seekToBeginning(parts);
      Map<TopicPartition, Long> ends = c.endOffsets(parts);
      List<String> out = new ArrayList<>();
      long deadline = System.currentTimeMillis() + TIMEOUT_MS;
      while (parts.stream().anyMatch(tp -> c.position(tp) < ends.get(tp))) {
        check(System.currentTimeMillis() < deadline, topic + " (" + isolation + "): never reached " + ends);
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) out.add(r.value());
      }
      Collections.sort(out);
      return out;
    }
  }

  static Map<TopicPartition, Long> endOffsets(String bootstrap, String topic, int n) {
    try (KafkaConsumer<String, String> c = consumer(bootstrap, null, "read_uncommitted")) {
      return c.endOffsets(tps(topic, n));
    }
  }

  static List<String> values(String prefix, int n) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < n; i++) out.add(prefix + i);
    return out;
  }

  static void commitAndAbort(String bootstrap) {
    String topic = unique("compat-java-txn");
    try (KafkaProducer<String, String> p = txnProducer(bootstrap, unique("compat-java-txn-id"))) {
      int n = partitions(p, topic);
      step("commit one transaction, abort another on " + topic + " (" + n + " partitions)");
      p.initTransactions();
      p.beginTransaction();
      for (int i = 0; i < 9; i++) p.send(new ProducerRecord<>(topic, i % n, null, "committed-" + i));
      p.commitTransaction();
      p.beginTransaction();
      for (int i = 0; i < 5; i++) p.send(new ProducerRecord<>(topic, i % n, null, "aborted-" + i));
      p.flush();
      p.abortTransaction();

      List<String> committed = readAll(bootstrap, topic, n, "read_committed");
      List<String> want = values("committed-", 9);
      Collections.sort(want);
      check(committed.equals(want), "read_committed saw " + committed);
      List<String> all = readAll(bootstrap, topic, n, "read_uncommitted");
      List<String> wantAll = values("committed-", 9);
      wantAll.addAll(values("aborted-", 5));
      Collections.sort(wantAll);
      check(all.equals(wantAll), "read_uncommitted saw " + all);
      long high = endOffsets(bootstrap, topic, n).values().stream().mapToLong(Long::longValue).sum();
      check(high == 14 + 2L * n, "high watermarks sum to " + high + ", want 14 records + 2 markers per partition");
    }
  }

  static void consumeTransformProduce(String bootstrap) {
    String src = unique("compat-java-txn-in");
    String dst = unique("compat-java-txn-out");
    String group = unique("compat-java-txn-group");
    int total = 30;
    int n;
    Properties pp = new Properties();
    pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    try (KafkaProducer<String, String> plain = new KafkaProducer<>(pp)) {
      n = plain.partitionsFor(src).size();
      plain.partitionsFor(dst);
      for (int i = 0; i < total; i++) plain.send(new ProducerRecord<>(src, i % n, null, "in-" + i));
      plain.flush();
    }
    step("consume-transform-produce " + src + " -> " + dst + " in group " + group);
    Map<TopicPartition, OffsetAndMetadata> committed;
    try (KafkaConsumer<String, String> c = consumer(bootstrap, group, "read_committed");
        KafkaProducer<String, String> p = txnProducer(bootstrap, unique("compat-java-ctp-id"))) {
      p.initTransactions();
      c.subscribe(List.of(src));
      int seen = 0;
      long deadline = System.currentTimeMillis() + TIMEOUT_MS;
      while (seen < total) {
        check(System.currentTimeMillis() < deadline, "only " + seen + " of " + total + " consumed");
        ConsumerRecords<String, String> batch = c.poll(Duration.ofMillis(500));
        if (batch.isEmpty()) continue;
        p.beginTransaction();
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (ConsumerRecord<String, String> r : batch) {
          p.send(new ProducerRecord<>(dst, r.partition(), null, "out-" + r.value()));
          offsets.put(new TopicPartition(src, r.partition()), new OffsetAndMetadata(r.offset() + 1));
          seen++;
        }
        p.sendOffsetsToTransaction(offsets, c.groupMetadata());
        p.commitTransaction();
      }
      committed = c.committed(new java.util.HashSet<>(tps(src, n)));
    }
    Map<TopicPartition, Long> ends = endOffsets(bootstrap, src, n);
    for (TopicPartition tp : tps(src, n)) {
      OffsetAndMetadata o = committed.get(tp);
      check(o != null && o.offset() == ends.get(tp), tp + ": committed " + o + ", end " + ends.get(tp));
    }
    List<String> out = readAll(bootstrap, dst, n, "read_committed");
    List<String> want = values("out-in-", total);
    Collections.sort(want);
    check(out.equals(want), "output " + out);
  }

  static void fencing(String bootstrap) {
    String topic = unique("compat-java-txn-fence");
    String txnId = unique("compat-java-fenced-id");
    step("a second producer with the same transactional.id fences the first");
    int n;
    try (KafkaProducer<String, String> first = txnProducer(bootstrap, txnId)) {
      n = partitions(first, topic);
      first.initTransactions();
      first.beginTransaction();
      first.send(new ProducerRecord<>(topic, 0, null, "from-first"));
      first.flush();
      try (KafkaProducer<String, String> second = txnProducer(bootstrap, txnId)) {
        second.initTransactions();
        try {
          first.commitTransaction();
          throw new Mismatch("the fenced producer committed");
        } catch (KafkaException e) {
          step("fenced producer's commit failed as expected: " + e.getClass().getSimpleName());
        }
        second.beginTransaction();
        second.send(new ProducerRecord<>(topic, 0, null, "from-second"));
        second.commitTransaction();
      }
    }
    List<String> seen = readAll(bootstrap, topic, n, "read_committed");
    check(seen.equals(List.of("from-second")), "read_committed saw " + seen);
  }

  public static void main(String[] args) {
    String bootstrap = args.length > 0 ? args[0] : System.getenv("BOOTSTRAP");
    if (bootstrap == null) {
      System.err.println("usage: JavaTxn HOST:PORT (or set BOOTSTRAP)");
      System.exit(2);
    }
    long t0 = System.currentTimeMillis();
    try {
      commitAndAbort(bootstrap);
      consumeTransformProduce(bootstrap);
      fencing(bootstrap);
    } catch (Mismatch e) {
      System.err.println(NAME + " FAILED: " + e.getMessage());
      System.exit(1);
    } catch (Exception e) {
      e.printStackTrace();
      System.err.println(NAME + " FAILED: " + e);
      System.exit(1);
    }
    System.out.printf("%s: OK (%.1fs)%n", NAME, (System.currentTimeMillis() - t0) / 1000.0);
  }
}
