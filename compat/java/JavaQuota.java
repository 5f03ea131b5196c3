// The Java producer (kafka-clients 4.1.1) under a producer_byte_rate quota ("quota"
// scenarios; compat/quota.sh sets 1 MB/s on the client id first).
//
// Usage: compat/java/scenario.sh JavaQuota.java HOST:PORT --client-id=ID
//
// Sends 13 MB as fast as it can (beyond the ten windows' worth Kafka's quota allows at
// first): the producer's metrics must show produce-throttle-time-max above 0, no connection
// closed while producing (connection-close-total unchanged), and every record acknowledged
// with offsets 0..n-1. Exits 1 on a mismatch.

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public class JavaQuota {
  static final int RECORDS = 13_000;

  static double metric(KafkaProducer<byte[], byte[]> p, String name) {
    return p.metrics().entrySet().stream()
        .filter(e -> e.getKey().name().equals(name) && e.getKey().group().equals("producer-metrics"))
        .mapToDouble(e -> ((Number) e.getValue().metricValue()).doubleValue())
        .max()
        .orElse(Double.NaN);
  }

  static void check(boolean cond, String what) {
    if (!cond) {
      System.err.println("java quota FAILED: " + what);
      System.exit(1);
    }
  }

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String clientId = Arrays.stream(args).filter(a -> a.startsWith("--client-id=")).findFirst()
        .map(a -> a.substring("--client-id=".length())).orElseThrow();
    long started = System.nanoTime();
    String topic = "skiff-quota-java-" + UUID.randomUUID().toString().substring(0, 8);
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
    props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, false);
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    byte[] value = new byte[1000];
    Arrays.fill(value, (byte) 'q');
    try (KafkaProducer<byte[], byte[]> p = new KafkaProducer<>(props)) {
      p.partitionsFor(topic);
      double closedBefore = metric(p, "connection-close-total");
      System.err.println("java quota: producing " + RECORDS + " records of 1000 bytes to " + topic);
      List<Future<RecordMetadata>> sent = new ArrayList<>();
      for (int i = 0; i < RECORDS; i++) {
        sent.add(p.send(new ProducerRecord<>(topic, 0, String.valueOf(i).getBytes(), value)));
      }
      p.flush();
      for (int i = 0; i < RECORDS; i++) {
        long offset = sent.get(i).get().offset();
        check(offset == i, "record " + i + " at offset " + offset);
      }
      double throttle = metric(p, "produce-throttle-time-max");
      double closed = metric(p, "connection-close-total") - closedBefore;
      check(throttle > 0, "produce-throttle-time-max is " + throttle);
      check(closed == 0, closed + " connections closed while producing");
      System.err.println("java quota: throttle max " + throttle + " ms, no disconnect");
    }
    System.out.printf("java quota: OK (%.1fs)%n", (System.nanoTime() - started) / 1e9);
  }
}
