// Java client group, idempotence and AdminClient scenario ("extended" suite).
//
// Usage: java -cp 'target/kafka-libs/*' compat/java/JavaGroupsAdmin.java HOST:PORT
//        (or BOOTSTRAP=HOST:PORT; compat/java/groups-admin.sh does this for you)
//
// 1. AdminClient: createTopics (3 partitions), describeTopics, incrementalAlterConfigs +
//    describeConfigs (retention.ms), createTopics again → TopicExistsException.
// 2. The Java producer with its defaults (idempotent, acks=all) writes keyed records.
// 3. A consumer group (classic protocol, subscribe) reads them all and commits synchronously;
//    committed() and AdminClient listConsumerGroupOffsets agree; describeConsumerGroups after
//    the member left shows the group empty.
// 4. A second member of the group resumes from the committed offsets: only newer records.
// 5. AdminClient deleteTopics; the topic disappears from listTopics.
// Exits 1 with a message naming the first mismatch.

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class JavaGroupsAdmin {
  static final String NAME = "java groups+admin";
  static final int PARTITIONS = 3;
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
    return prefix + "-" + (System.currentTimeMillis() / 1000) + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  /** Produces n keyed records with the producer's defaults; returns "partition:offset" → value. */
  static Map<String, String> produce(String bootstrap, String topic, String salt, int n) throws Exception {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "skiff-compat-java");
    Map<String, String> sent = new HashMap<>();
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
      List<java.util.concurrent.Future<RecordMetadata>> fs = new ArrayList<>();
      List<String> values = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        String v = salt + "-value-" + i;
        values.add(v);
        fs.add(producer.send(new ProducerRecord<>(topic, "key-" + i, v)));
      }
      producer.flush();
      for (int i = 0; i < n; i++) {
        RecordMetadata md = fs.get(i).get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
        sent.put(md.partition() + ":" + md.offset(), values.get(i));
      }
    }
    return sent;
  }

  static KafkaConsumer<String, String> member(String bootstrap, String group) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, "skiff-compat-java");
    p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 100);
    return new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer());
  }

  static Map<String, String> consume(KafkaConsumer<String, String> c, int n, String what) {
    Map<String, String> got = new HashMap<>();
    long deadline = System.currentTimeMillis() + TIMEOUT_MS;
    while (got.size() < n) {
      check(System.currentTimeMillis() < deadline, what + ": timed out with " + got.size() + " of " + n + " records");
      for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
        String where = r.partition() + ":" + r.offset();
        check(got.put(where, r.value()) == null, what + ": record at " + where + " delivered twice");
      }
    }
    return got;
  }

  static void run(String bootstrap) throws Exception {
    String topic = unique("compat-java-admin");
    String group = unique("compat-java-group");
    Properties ap = new Properties();
    ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(ap)) {
      step("admin: create " + topic + " with " + PARTITIONS + " partitions");
      admin.createTopics(List.of(new NewTopic(topic, PARTITIONS, (short) 1))).all().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
      TopicDescription td = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
      check(td.partitions().size() == PARTITIONS, "describeTopics: " + td.partitions().size() + " partitions");
      check(td.topicId() != null && !td.topicId().toString().isEmpty(), "describeTopics: no topic id");
      try {
        admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get();
        throw new Mismatch("creating " + topic + " twice succeeded");
      } catch (ExecutionException e) {
        check(e.getCause() instanceof TopicExistsException, "second createTopics: " + e.getCause());
      }

      step("admin: alter and describe retention.ms");
      ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, topic);
      admin.incrementalAlterConfigs(Map.of(res, List.of(new AlterConfigOp(new ConfigEntry("retention.ms", "3600000"), AlterConfigOp.OpType.SET))))
          .all().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
      Config cfg = admin.describeConfigs(List.of(res)).all().get().get(res);
      ConfigEntry e = cfg.get("retention.ms");
      check(e != null && "3600000".equals(e.value()), "describeConfigs retention.ms = " + e);
      check(e.source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, "retention.ms source " + e.source());
      check(cfg.get("cleanup.policy") != null, "describeConfigs lists no cleanup.policy (defaults must be listed too)");

      step("idempotent produce (producer defaults)");
      Map<String, String> sent = produce(bootstrap, topic, "first", 60);

      step("group " + group + ": subscribe, consume all, commitSync");
      Set<TopicPartition> tps = new java.util.HashSet<>();
      for (int p = 0; p < PARTITIONS; p++) tps.add(new TopicPartition(topic, p));
      try (KafkaConsumer<String, String> c = member(bootstrap, group)) {
        c.subscribe(List.of(topic));
        Map<String, String> got = consume(c, sent.size(), "first member");
        check(got.equals(sent), "first member: consumed records differ from produced ones");
        c.commitSync();
        Map<TopicPartition, OffsetAndMetadata> committed = c.committed(tps, Duration.ofSeconds(10));
        Map<TopicPartition, OffsetAndMetadata> viaAdmin =
            admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
        for (TopicPartition tp : tps) {
          long end = sent.keySet().stream().filter(k -> k.startsWith(tp.partition() + ":")).count();
          OffsetAndMetadata om = committed.get(tp);
          if (end == 0) continue; // nothing consumed there, nothing committed
          check(om != null && om.offset() == end, "committed " + tp + " = " + om + ", want " + end);
          check(viaAdmin.get(tp) != null && viaAdmin.get(tp).offset() == end, "listConsumerGroupOffsets " + tp + " = " + viaAdmin.get(tp));
        }
      }
      ConsumerGroupDescription gd = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
      check(gd.groupState() == GroupState.EMPTY, "describeConsumerGroups after close: state " + gd.groupState());

      step("second member resumes from the committed offsets");
      Map<String, String> fresh = produce(bootstrap, topic, "second", 12);
      try (KafkaConsumer<String, String> c = member(bootstrap, group)) {
        c.subscribe(List.of(topic));
        Map<String, String> got = consume(c, fresh.size(), "second member");
        check(got.equals(fresh), "second member: got " + got.keySet() + ", want only " + fresh.keySet());
      }

      step("admin: delete " + topic);
      admin.deleteTopics(List.of(topic)).all().get(TIMEOUT_MS, TimeUnit.MILLISECONDS);
      long deadline = System.currentTimeMillis() + TIMEOUT_MS;
      while (admin.listTopics().names().get().contains(topic)) {
        check(System.currentTimeMillis() < deadline, "deleted topic still listed");
        Thread.sleep(200);
      }
    }
  }

  public static void main(String[] args) {
    String bootstrap = args.length > 0 ? args[0] : System.getenv("BOOTSTRAP");
    if (bootstrap == null || bootstrap.isEmpty()) {
      System.err.println("usage: JavaGroupsAdmin HOST:PORT (or set BOOTSTRAP)");
      System.exit(2);
    }
    long started = System.nanoTime();
    try {
      run(bootstrap);
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
