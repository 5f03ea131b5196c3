// Java client: delegation tokens and OAUTHBEARER over SASL_SSL ("security" suite).
//
// Usage: compat/java/scenario.sh JavaTokens.java HOST:PORT   (the PLAINTEXT bootstrap; the
//        broker was started with the security suite's settings, which include
//        delegation.token.secret.key and OAUTHBEARER with Kafka's unsecured validator;
//        SASL_SSL_BOOTSTRAP and SSL_CA in the environment)
//
// 1. Over PLAINTEXT, createDelegationToken fails with UnsupportedByAuthenticationException
//    (DELEGATION_TOKEN_REQUEST_NOT_ALLOWED).
// 2. alice (SCRAM-SHA-512) creates a token with carol as renewer; describeDelegationToken
//    lists it (polled: Kafka applies tokens through its metadata log); carol renews it.
// 3. A producer logs in with the token (ScramLoginModule tokenauth="true", user = token id,
//    password = the base64 HMAC) and writes a record; alice reads it back. From the token's
//    connection, createDelegationToken is refused the same way as over PLAINTEXT.
// 4. alice expires the token at once: describe no longer lists it and a token login fails
//    with SaslAuthenticationException (polled).
// 5. dave logs in with OAUTHBEARER (the Java client's unsecured JWT, sub=dave) and produces.
// Exits 1 with a message naming the first mismatch.

import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.CreateDelegationTokenOptions;
import org.apache.kafka.clients.admin.ExpireDelegationTokenOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.UnsupportedByAuthenticationException;
import org.apache.kafka.common.security.auth.KafkaPrincipal;
import org.apache.kafka.common.security.token.delegation.DelegationToken;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public class JavaTokens {
  static final String NAME = "java tokens";
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

  static String plaintext;
  static String saslSsl;
  static String ca;

  static Properties client(String mechanism, String jaas) {
    Properties p = new Properties();
    p.put("bootstrap.servers", saslSsl);
    p.put("security.protocol", "SASL_SSL");
    p.put("ssl.truststore.type", "PEM");
    p.put("ssl.truststore.location", ca);
    p.put("sasl.mechanism", mechanism);
    p.put("sasl.jaas.config", jaas);
    p.put("request.timeout.ms", "15000");
    p.put("default.api.timeout.ms", "30000");
    return p;
  }

  static Properties scram(String user, String password, boolean token) {
    return client(
        "SCRAM-SHA-512",
        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
            + user
            + "\" password=\""
            + password
            + "\""
            + (token ? " tokenauth=\"true\"" : "")
            + ";");
  }

  static Properties withSerde(Properties base) {
    Properties p = new Properties();
    p.putAll(base);
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    p.put("key.deserializer", StringDeserializer.class.getName());
    p.put("value.deserializer", StringDeserializer.class.getName());
    p.put("max.block.ms", "30000");
    return p;
  }

  static Throwable cause(Throwable t) {
    return t instanceof ExecutionException && t.getCause() != null ? t.getCause() : t;
  }

  /** Produces one record as `props`; the failure, or null. */
  static Throwable produce(Properties props, String topic, String value) {
    try (KafkaProducer<String, String> p = new KafkaProducer<>(withSerde(props))) {
      p.send(new ProducerRecord<>(topic, 0, "k", value)).get(30, TimeUnit.SECONDS);
      return null;
    } catch (Exception e) {
      return cause(e);
    }
  }

  public static void main(String[] args) throws Exception {
    plaintext = args.length > 0 ? args[0] : System.getenv("BOOTSTRAP");
    saslSsl = System.getenv("SASL_SSL_BOOTSTRAP");
    ca = System.getenv("SSL_CA");
    if (plaintext == null || saslSsl == null || ca == null || saslSsl.isEmpty()) {
      System.err.println("usage: JavaTokens HOST:PORT with SASL_SSL_BOOTSTRAP and SSL_CA set");
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

  static List<DelegationToken> describe(Admin admin) throws Exception {
    return admin.describeDelegationToken().delegationTokens().get(30, TimeUnit.SECONDS);
  }

  static void run() throws Exception {
    String topic = "jtokens-" + UUID.randomUUID().toString().substring(0, 8);
    Properties alice = scram("alice", "alice-secret", false);

    step("createDelegationToken over PLAINTEXT is refused");
    Properties plain = new Properties();
    plain.put("bootstrap.servers", plaintext);
    plain.put("default.api.timeout.ms", "30000");
    try (Admin admin = Admin.create(plain)) {
      try {
        admin.createDelegationToken().delegationToken().get(30, TimeUnit.SECONDS);
        throw new Mismatch("a token was created over PLAINTEXT");
      } catch (ExecutionException e) {
        check(
            e.getCause() instanceof UnsupportedByAuthenticationException,
            "PLAINTEXT token request failed with " + e.getCause());
      }
    }

    DelegationToken token;
    try (Admin admin = Admin.create(alice)) {
      admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
      step("alice creates a token renewable by carol");
      token =
          admin
              .createDelegationToken(
                  new CreateDelegationTokenOptions()
                      .renewers(List.of(new KafkaPrincipal("User", "carol"))))
              .delegationToken()
              .get(30, TimeUnit.SECONDS);
      check(token.tokenInfo().owner().getName().equals("alice"), "owner " + token.tokenInfo());
      check(token.hmac().length == 64, "HMAC length " + token.hmac().length);
      String id = token.tokenInfo().tokenId();
      long deadline = System.currentTimeMillis() + TIMEOUT_MS;
      while (describe(admin).stream().noneMatch(t -> t.tokenInfo().tokenId().equals(id))) {
        check(System.currentTimeMillis() < deadline, "describe never listed token " + id);
        Thread.sleep(100);
      }
    }
    try (Admin carol =
        Admin.create(
            client(
                "PLAIN",
                "org.apache.kafka.common.security.plain.PlainLoginModule required"
                    + " username=\"carol\" password=\"carol-secret\";"))) {
      step("carol (PLAIN) renews it");
      long expiry = carol.renewDelegationToken(token.hmac()).expiryTimestamp().get(30, TimeUnit.SECONDS);
      check(expiry > System.currentTimeMillis(), "renewed expiry " + expiry);
    }

    String tokenId = token.tokenInfo().tokenId();
    String password = Base64.getEncoder().encodeToString(token.hmac());
    Properties viaToken = scram(tokenId, password, true);
    step("a producer logs in with the token and writes");
    Throwable failed = produce(viaToken, topic, "from-token");
    check(failed == null, "token producer failed: " + failed);
    try (Admin admin = Admin.create(viaToken)) {
      try {
        admin.createDelegationToken().delegationToken().get(30, TimeUnit.SECONDS);
        throw new Mismatch("a token-authenticated connection created a token");
      } catch (ExecutionException e) {
        check(
            e.getCause() instanceof UnsupportedByAuthenticationException,
            "token-authenticated request failed with " + e.getCause());
      }
    }
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(withSerde(alice))) {
      TopicPartition tp = new TopicPartition(topic, 0);
      c.assign(List.of(tp));
      c.seekToBeginning(List.of(tp));
      long deadline = System.currentTimeMillis() + TIMEOUT_MS;
      String seen = null;
      while (seen == null && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) seen = r.value();
      }
      check("from-token".equals(seen), "alice read " + seen);
    }

    try (Admin admin = Admin.create(alice)) {
      step("alice expires the token at once");
      admin
          .expireDelegationToken(token.hmac(), new ExpireDelegationTokenOptions().expiryTimePeriodMs(-1))
          .expiryTimestamp()
          .get(30, TimeUnit.SECONDS);
      long deadline = System.currentTimeMillis() + TIMEOUT_MS;
      while (describe(admin).stream().anyMatch(t -> t.tokenInfo().tokenId().equals(tokenId))) {
        check(System.currentTimeMillis() < deadline, "describe still lists the expired token");
        Thread.sleep(100);
      }
    }
    Throwable refused = produce(viaToken, topic, "after-expiry");
    check(refused instanceof SaslAuthenticationException, "expired token login gave " + refused);

    step("dave logs in with OAUTHBEARER (unsecured JWT) and produces");
    Properties dave =
        client(
            "OAUTHBEARER",
            "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required"
                + " unsecuredLoginStringClaim_sub=\"dave\";");
    failed = produce(dave, topic, "from-dave");
    check(failed == null, "OAUTHBEARER producer failed: " + failed);
  }
}
