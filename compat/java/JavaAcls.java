// Java client under Kafka's StandardAuthorizer ("acl" suite).
//
// Usage: compat/java/scenario.sh JavaAcls.java HOST:PORT   (the PLAINTEXT bootstrap; the broker
//        was started as the security suite's plus --set authorizer.class.name=<StandardAuthorizer>
//        --set super.users=User:ANONYMOUS, so a PLAINTEXT client is the administrator;
//        SASL_SSL_BOOTSTRAP and SSL_CA in the environment)
//
// 1. carol (PLAIN over SASL_SSL) has no ACLs: producing fails with
//    TopicAuthorizationException, createTopics with TopicAuthorizationException,
//    initTransactions with TransactionalIdAuthorizationException, and describeAcls with
//    ClusterAuthorizationException.
// 2. With WRITE and READ on the topic alone (createAcls), a group consumer's poll fails with
//    GroupAuthorizationException (without them the topic is refused first).
// 3. The administrator grants READ on groups prefixed with the topic's name, WRITE on the
//    transactional id and CREATE on topics prefixed with the topic's name; then each works
//    (retried until a deadline: Kafka applies ACLs through its metadata log).
// 4. describeAcls returns exactly those bindings; deleteAcls removes them and reports
//    them; describeAcls then returns none, and carol's produce fails again.
// Exits 1 with a message naming the first mismatch.

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.ClusterAuthorizationException;
import org.apache.kafka.common.errors.GroupAuthorizationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TransactionalIdAuthorizationException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class JavaAcls {
  static final String NAME = "java ACLs";
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

  static String bootstrap;
  static String saslSsl;
  static String ca;

  static Properties carol() {
    Properties p = new Properties();
    p.put("bootstrap.servers", saslSsl);
    p.put("security.protocol", "SASL_SSL");
    p.put("ssl.truststore.type", "PEM");
    p.put("ssl.truststore.location", ca);
    p.put("sasl.mechanism", "PLAIN");
    p.put(
        "sasl.jaas.config",
        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"carol\""
            + " password=\"carol-secret\";");
    p.put("request.timeout.ms", "15000");
    p.put("default.api.timeout.ms", "30000");
    return p;
  }

  static Properties admin() {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("default.api.timeout.ms", "30000");
    return p;
  }

  /** Produces one record as carol; the failure's cause, or null when it was acknowledged. */
  static Throwable produce(String topic) throws Exception {
    Properties p = carol();
    p.put("max.block.ms", "15000");
    p.put("delivery.timeout.ms", "20000");
    p.put("request.timeout.ms", "10000");
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
      producer.send(new ProducerRecord<>(topic, "k", "v")).get(30, TimeUnit.SECONDS);
      return null;
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (org.apache.kafka.common.KafkaException e) {
      return e;
    }
  }

  /** Polls a group consumer of carol's; the exception its poll throws, or null once it reads a record. */
  static Throwable consume(String topic, String group) {
    Properties p = carol();
    p.put("group.id", group);
    p.put("auto.offset.reset", "earliest");
    p.put("enable.auto.commit", "false");
    try (KafkaConsumer<String, String> c =
        new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer())) {
      c.subscribe(List.of(topic));
      long deadline = System.currentTimeMillis() + TIMEOUT_MS;
      while (System.currentTimeMillis() < deadline) {
        try {
          ConsumerRecords<String, String> records = c.poll(Duration.ofMillis(500));
          if (!records.isEmpty()) {
            c.commitSync();
            return null;
          }
        } catch (org.apache.kafka.common.KafkaException e) {
          return e;
        }
      }
      throw new Mismatch("the group consumer neither read a record nor was refused");
    }
  }

  static Throwable createTopic(String topic) throws Exception {
    try (Admin a = Admin.create(carol())) {
      a.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
      return null;
    } catch (ExecutionException e) {
      return e.getCause();
    }
  }

  static Throwable transaction(String topic, String txnId) throws Exception {
    Properties p = carol();
    p.put("transactional.id", txnId);
    p.put("max.block.ms", "15000");
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
      producer.initTransactions();
      producer.beginTransaction();
      producer.send(new ProducerRecord<>(topic, "t", "in-txn")).get(30, TimeUnit.SECONDS);
      producer.commitTransaction();
      return null;
    } catch (org.apache.kafka.common.KafkaException e) {
      return e;
    }
  }

  interface Probe {
    Throwable run() throws Exception;
  }

  /** Retries `probe` until it succeeds (null); fails with its last error otherwise. */
  static void eventually(String what, Probe probe) throws Exception {
    long deadline = System.currentTimeMillis() + TIMEOUT_MS;
    Throwable last;
    do {
      last = probe.run();
      if (last == null) return;
      Thread.sleep(500);
    } while (System.currentTimeMillis() < deadline);
    throw new Mismatch(what + " still fails: " + last);
  }

  static Set<String> strings(Collection<AclBinding> bindings) {
    Set<String> out = new HashSet<>();
    for (AclBinding b : bindings) out.add(b.toString());
    return out;
  }

  public static void main(String[] args) throws Exception {
    bootstrap = args.length > 0 ? args[0] : System.getenv("BOOTSTRAP");
    saslSsl = System.getenv("SASL_SSL_BOOTSTRAP");
    ca = System.getenv("SSL_CA");
    if (bootstrap == null || saslSsl == null || ca == null || saslSsl.isEmpty()) {
      System.err.println("usage: JavaAcls HOST:PORT with SASL_SSL_BOOTSTRAP and SSL_CA set");
      System.exit(2);
    }
    long started = System.nanoTime();
    try {
      run();
    } catch (Mismatch e) {
      System.err.println(NAME + " FAILED: " + e.getMessage());
      System.exit(1);
    }
    System.out.printf("%s: OK (%.1fs)%n", NAME, (System.nanoTime() - started) / 1e9);
  }

  static void run() throws Exception {
    String topic = "jacl-" + UUID.randomUUID().toString().substring(0, 8);
    String txnId = topic + "-txn";
    String group = topic + "-group";
    AclBindingFilter carols =
        new AclBindingFilter(
            ResourcePatternFilter.ANY,
            new AccessControlEntryFilter(
                "User:carol", null, AclOperation.ANY, AclPermissionType.ANY));
    try (Admin admin = Admin.create(admin())) {
      admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);

      step("carol without ACLs is refused");
      Throwable p = produce(topic);
      check(p instanceof TopicAuthorizationException, "produce: " + p);
      Throwable t = createTopic(topic + "-new");
      check(t instanceof TopicAuthorizationException, "createTopics: " + t);
      Throwable x = transaction(topic, txnId);
      check(x instanceof TransactionalIdAuthorizationException, "initTransactions: " + x);
      try (Admin a = Admin.create(carol())) {
        a.describeAcls(carols).values().get(30, TimeUnit.SECONDS);
        throw new Mismatch("carol described ACLs without DESCRIBE on the cluster");
      } catch (ExecutionException e) {
        check(e.getCause() instanceof ClusterAuthorizationException, "describeAcls: " + e.getCause());
      }

      step("with READ and WRITE on the topic alone, carol's group consumer is refused");
      List<AclBinding> bindings = new ArrayList<>();
      bindings.add(binding(ResourceType.TOPIC, topic, PatternType.LITERAL, AclOperation.WRITE));
      bindings.add(binding(ResourceType.TOPIC, topic, PatternType.LITERAL, AclOperation.READ));
      admin.createAcls(bindings).all().get(30, TimeUnit.SECONDS);
      // Until the broker sees the topic ACLs, the consumer's metadata is refused first.
      long until = System.currentTimeMillis() + TIMEOUT_MS;
      Throwable c;
      do {
        c = consume(topic, group);
      } while (c instanceof TopicAuthorizationException && System.currentTimeMillis() < until);
      check(c instanceof GroupAuthorizationException, "group consumer: " + c);

      step("the administrator grants carol's other ACLs");
      List<AclBinding> more = new ArrayList<>();
      more.add(binding(ResourceType.GROUP, topic, PatternType.PREFIXED, AclOperation.READ));
      more.add(
          binding(ResourceType.TRANSACTIONAL_ID, txnId, PatternType.LITERAL, AclOperation.WRITE));
      more.add(
          binding(ResourceType.TOPIC, topic + "-", PatternType.PREFIXED, AclOperation.CREATE));
      admin.createAcls(more).all().get(30, TimeUnit.SECONDS);
      bindings.addAll(more);

      step("carol's produce, group, createTopics and transaction work");
      eventually("produce", () -> produce(topic));
      eventually("group consumer", () -> consume(topic, group));
      eventually("createTopics", () -> createTopic(topic + "-new"));
      eventually("transaction", () -> transaction(topic, txnId));

      step("describeAcls and deleteAcls round trip");
      Collection<AclBinding> described = admin.describeAcls(carols).values().get(30, TimeUnit.SECONDS);
      check(strings(described).equals(strings(bindings)), "described " + described);
      Collection<AclBinding> deleted =
          admin.deleteAcls(List.of(carols)).all().get(30, TimeUnit.SECONDS);
      check(strings(deleted).equals(strings(bindings)), "deleted " + deleted);
      Collection<AclBinding> left = admin.describeAcls(carols).values().get(30, TimeUnit.SECONDS);
      check(left.isEmpty(), "ACLs left after deleteAcls: " + left);
      long deadline = System.currentTimeMillis() + TIMEOUT_MS;
      Throwable again;
      do {
        again = produce(topic);
        if (again instanceof TopicAuthorizationException) break;
        Thread.sleep(500);
      } while (System.currentTimeMillis() < deadline);
      check(again instanceof TopicAuthorizationException, "produce after deleteAcls: " + again);
    }
  }

  static AclBinding binding(ResourceType type, String name, PatternType pattern, AclOperation op) {
    return new AclBinding(
        new ResourcePattern(type, name, pattern),
        new AccessControlEntry("User:carol", "*", op, AclPermissionType.ALLOW));
  }
}
