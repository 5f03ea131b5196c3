// Java client over SASL_SSL ("security" suite).
//
// Usage: compat/java/scenario.sh JavaSecurity.java HOST:PORT   (the PLAINTEXT bootstrap; the
//        broker was started with --sasl-ssl --add-scram 'SCRAM-SHA-512=[name=alice,...]'
//        --plain-user carol=carol-secret; SASL_SSL_BOOTSTRAP and SSL_CA in the environment)
//
// 1. alice (SCRAM-SHA-512, PEM trust store) produces keyed records with the Java producer's
//    defaults (idempotent, acks=all); a consumer group of hers reads them back exactly and
//    commits synchronously.
// 2. AdminClient as alice: alterUserScramCredentials creates dave (SCRAM-SHA-256, 8192
//    iterations); describeUserScramCredentials lists him (polled: Kafka applies credentials
//    through its metadata log); dave then logs in with SCRAM-SHA-256; a description of an
//    unknown user fails with ResourceNotFoundException; deleting dave's credential makes his
//    login fail.
// 3. carol logs in with PLAIN; a wrong SCRAM password and a wrong PLAIN password fail with
//    SaslAuthenticationException.
// Exits 1 with a message naming the first mismatch.

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialDeletion;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.admin.UserScramCredentialsDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ResourceNotFoundException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class JavaSecurity {
  static final String NAME = "java security";
  static final long TIMEOUT_MS = 60_000;
  static final int N = 120;
  static final int PARTITIONS = 3;

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

  static String saslSsl;
  static String ca;

  static Properties client(String mechanism, String user, String password) {
    Properties p = new Properties();
    p.put("bootstrap.servers", saslSsl);
    p.put("security.protocol", "SASL_SSL");
    p.put("ssl.truststore.type", "PEM");
    p.put("ssl.truststore.location", ca);
    p.put("sasl.mechanism", mechanism);
    String module =
        mechanism.equals("PLAIN")
            ? "org.apache.kafka.common.security.plain.PlainLoginModule"
            : "org.apache.kafka.common.security.scram.ScramLoginModule";
    p.put(
        "sasl.jaas.config",
        module + " required username=\"" + user + "\" password=\"" + password + "\";");
    p.put("request.timeout.ms", "15000");
    p.put("default.api.timeout.ms", "30000");
    return p;
  }

  /** Lists topics as `user`; the failure's cause, or null on success. */
  static Throwable login(String mechanism, String user, String password) throws Exception {
    try (Admin admin = Admin.create(client(mechanism, user, password))) {
      admin.listTopics().names().get(30, TimeUnit.SECONDS);
      return null;
    } catch (ExecutionException e) {
      return e.getCause();
    }
  }

  public static void main(String[] args) throws Exception {
    String bootstrap = args.length > 0 ? args[0] : System.getenv("BOOTSTRAP");
    saslSsl = System.getenv("SASL_SSL_BOOTSTRAP");
    ca = System.getenv("SSL_CA");
    if (bootstrap == null || saslSsl == null || ca == null || saslSsl.isEmpty()) {
      System.err.println("usage: JavaSecurity HOST:PORT with SASL_SSL_BOOTSTRAP and SSL_CA set");
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
    String topic = "jsecurity-" + UUID.randomUUID().toString().substring(0, 8);
    Properties alice = client("SCRAM-SHA-512", "alice", "alice-secret");
    try (Admin admin = Admin.create(alice)) {
      step("createTopics " + topic + " as alice");
      admin
          .createTopics(List.of(new NewTopic(topic, PARTITIONS, (short) 1)))
          .all()
          .get(30, TimeUnit.SECONDS);
    }

    step("alice produces " + N + " records (idempotent, acks=all)");
    Properties pp = new Properties();
    pp.putAll(alice);
    pp.put("key.serializer", StringSerializer.class.getName());
    pp.put("value.serializer", StringSerializer.class.getName());
    try (KafkaProducer<String, String> p = new KafkaProducer<>(pp)) {
      for (int i = 0; i < N; i++) {
        p.send(new ProducerRecord<>(topic, i % PARTITIONS, "k" + i, "v" + i))
            .get(30, TimeUnit.SECONDS);
      }
    }

    step("alice's group reads them back and commits");
    Properties cp = new Properties();
    cp.putAll(alice);
    cp.put("group.id", topic + "-group");
    cp.put("auto.offset.reset", "earliest");
    cp.put("enable.auto.commit", "false");
    cp.put("key.deserializer", StringDeserializer.class.getName());
    cp.put("value.deserializer", StringDeserializer.class.getName());
    Map<String, String> seen = new HashMap<>();
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(cp)) {
      c.subscribe(List.of(topic));
      long deadline = System.currentTimeMillis() + TIMEOUT_MS;
      while (seen.size() < N) {
        check(System.currentTimeMillis() < deadline, "consumed " + seen.size() + " of " + N);
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
          seen.put(r.value(), r.key());
        }
      }
      c.commitSync();
      List<TopicPartition> tps = new ArrayList<>();
      for (int q = 0; q < PARTITIONS; q++) tps.add(new TopicPartition(topic, q));
      long committed = 0;
      for (OffsetAndMetadata o : c.committed(new java.util.HashSet<>(tps)).values()) {
        committed += o.offset();
      }
      check(committed == N, "committed " + committed + " of " + N);
    }
    for (int i = 0; i < N; i++) {
      check(("k" + i).equals(seen.get("v" + i)), "record v" + i + " read back as " + seen.get("v" + i));
    }

    step("AdminClient: alterUserScramCredentials creates dave (SCRAM-SHA-256)");
    try (Admin admin = Admin.create(alice)) {
      admin
          .alterUserScramCredentials(
              List.of(
                  new UserScramCredentialUpsertion(
                      "dave",
                      new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 8192),
                      "dave-secret")))
          .all()
          .get(30, TimeUnit.SECONDS);
      long deadline = System.currentTimeMillis() + TIMEOUT_MS;
      UserScramCredentialsDescription dave = null;
      while (dave == null) {
        check(System.currentTimeMillis() < deadline, "dave never described");
        try {
          dave = admin.describeUserScramCredentials(List.of("dave")).description("dave").get();
        } catch (ExecutionException e) {
          check(e.getCause() instanceof ResourceNotFoundException, "describe dave: " + e.getCause());
          Thread.sleep(200);
        }
      }
      check(
          dave.credentialInfos().equals(List.of(new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 8192))),
          "dave's credentials: " + dave.credentialInfos());
      try {
        admin.describeUserScramCredentials(List.of("nobody")).description("nobody").get();
        throw new Mismatch("an unknown user was described");
      } catch (ExecutionException e) {
        check(e.getCause() instanceof ResourceNotFoundException, "describe nobody: " + e.getCause());
      }
      Map<String, UserScramCredentialsDescription> all =
          admin.describeUserScramCredentials().all().get(30, TimeUnit.SECONDS);
      check(all.containsKey("alice") && all.containsKey("dave"), "all users: " + all.keySet());
    }
    Throwable daveLogin = login("SCRAM-SHA-256", "dave", "dave-secret");
    check(daveLogin == null, "dave's login failed: " + daveLogin);

    step("deleting dave's credential ends his logins");
    try (Admin admin = Admin.create(alice)) {
      admin
          .alterUserScramCredentials(
              List.of(new UserScramCredentialDeletion("dave", ScramMechanism.SCRAM_SHA_256)))
          .all()
          .get(30, TimeUnit.SECONDS);
      long deadline = System.currentTimeMillis() + TIMEOUT_MS;
      while (true) {
        check(System.currentTimeMillis() < deadline, "dave's credential never went away");
        try {
          admin.describeUserScramCredentials(List.of("dave")).description("dave").get();
          Thread.sleep(200);
        } catch (ExecutionException e) {
          check(e.getCause() instanceof ResourceNotFoundException, "describe dave: " + e.getCause());
          break;
        }
      }
    }
    Throwable gone = login("SCRAM-SHA-256", "dave", "dave-secret");
    check(gone instanceof SaslAuthenticationException, "dave after deletion: " + gone);

    step("carol logs in with PLAIN; wrong passwords fail");
    Throwable carol = login("PLAIN", "carol", "carol-secret");
    check(carol == null, "carol's login failed: " + carol);
    Throwable wrongScram = login("SCRAM-SHA-512", "alice", "wrong");
    check(wrongScram instanceof SaslAuthenticationException, "wrong SCRAM password: " + wrongScram);
    Throwable wrongPlain = login("PLAIN", "carol", "wrong");
    check(wrongPlain instanceof SaslAuthenticationException, "wrong PLAIN password: " + wrongPlain);
    check(
        wrongPlain.getMessage().contains("Invalid username or password"),
        "wrong PLAIN password message: " + wrongPlain.getMessage());
  }
}
