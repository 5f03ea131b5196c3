// Kafka Streams word count scenario ("extended" suite), org.apache.kafka:kafka-streams 4.1.1;
// with the newest client (compat/java/scenario.sh --client 4.4.0) in the "java-newest" suite.
//
// Usage: java -cp 'target/kafka-libs/*' compat/java/JavaStreamsWordCount.java HOST:PORT [--eos]
//        (or BOOTSTRAP=HOST:PORT in the environment; run.sh does this for you)
//   --eos  processing.guarantee=exactly_once_v2 (default: at_least_once)
//
// 1. AdminClient creates an input topic (3 partitions) and an output topic (2 partitions);
//    a producer writes a first batch of keyed text lines (deterministic words).
// 2. A KafkaStreams app (unique application.id, state.dir in a temp dir) counts words:
//    flatMapValues(split) -> groupBy(word) (a repartition topic) -> count() (a RocksDB store
//    with a changelog topic) -> toStream -> to(output). It must reach RUNNING; the output,
//    read with read_committed, must end with every word's exact count. With --eos every
//    count seen on the output must also rise strictly per word (no duplicate or lost update
//    becomes visible). An interactive query of the store must agree.
// 3. AdminClient: the internal `<app>-counts-repartition` and `<app>-counts-changelog`
//    topics exist with 3 partitions each, with the configs Streams creates them with
//    (describeConfigs: changelog compact; repartition delete, retention.ms=-1, 50 MiB
//    segments; CreateTime timestamps); Streams purges consumed repartition
//    records (DeleteRecords, repartition.purge.interval.ms=100): their log start offsets move.
// 4. The app closes (static membership: close(leaveGroup) removes the member), a second
//    batch is produced, and the app starts again with the same application.id and a fresh
//    state.dir: it must restore the store from the changelog (a restore listener counts
//    restored records) and resume at the committed offsets, so the output's final counts are
//    the totals of both batches.
// 5. With --eos, between the two runs: a run with commit.interval.ms=3000 whose topology
//    throws after 400 output records of the second batch (all in one open transaction) must
//    go to ERROR, and none of that transaction's records may become visible: the output
//    (read_committed) must still rise strictly and end exact, the restart must restore only
//    committed changelog records; read_uncommitted sees those 400 records besides.
// 6. After the second close: describeConsumerGroups shows the group Empty, and its committed
//    offsets (listConsumerGroupOffsets) are the input's end offsets. The output's end offsets
//    equal the records read (at least once) or exceed them (exactly once: commit markers).
// Exits 1 with a message naming the first mismatch. Streams and client logs go to stderr at
// WARN (COMPAT_STREAMS_LOG_LEVEL overrides: INFO, DEBUG).

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.StateRestoreListener;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

public class JavaStreamsWordCount {
  static final long RUNNING_TIMEOUT_MS = 60_000;
  static final long OUTPUT_TIMEOUT_MS = 90_000;
  static final int INPUT_PARTITIONS = 3;
  static final int OUTPUT_PARTITIONS = 2;
  static final String STORE = "counts";
  static final String[] VOCABULARY = {
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett",
    "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango",
    "uniform", "victor", "whiskey", "xray", "yankee", "zulu", "kafka", "skiff", "stream", "count",
    "broker", "topic", "record", "offset", "leader", "replica", "commit", "fence", "marker", "epoch"
  };

  static String name = "java streams";

  static final class Mismatch extends RuntimeException {
    Mismatch(String m) {
      super(m);
    }
  }

  static void check(boolean cond, String what) {
    if (!cond) throw new Mismatch(what);
  }

  static final long T0 = System.currentTimeMillis();

  static void step(String msg) {
    System.err.printf("%s [%5.1fs]: %s%n", name, (System.currentTimeMillis() - T0) / 1000.0, msg);
  }

  static String unique(String prefix) {
    return prefix + "-" + System.currentTimeMillis() + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  /** Log4j 2 to stderr at the given level, before any logger exists. */
  static void configureLogging() throws IOException {
    String level = System.getenv().getOrDefault("COMPAT_STREAMS_LOG_LEVEL", "WARN");
    Path cfg = Files.createTempFile("compat-streams-log4j2", ".properties");
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
            "appender.err.layout.pattern = %d{HH:mm:ss.SSS} %-5p [%t] %c{1}: %m%n",
            "rootLogger.level = " + level,
            "rootLogger.appenderRef.err.ref = err",
            ""));
    System.setProperty("log4j2.configurationFile", cfg.toString());
  }

  /** Line i of a batch: 3..7 words from the vocabulary, a fixed function of (batch, i). */
  static List<String> lines(int batch, int count) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      int n = 3 + (i * 7 + batch) % 5;
      StringBuilder sb = new StringBuilder();
      for (int j = 0; j < n; j++) {
        if (j > 0) sb.append(' ');
        sb.append(VOCABULARY[(i * 13 + j * 17 + batch * 5 + i * j) % VOCABULARY.length]);
      }
      out.add(sb.toString());
    }
    return out;
  }

  static void addCounts(Map<String, Long> totals, List<String> lines) {
    for (String line : lines) {
      for (String w : line.split(" ")) totals.merge(w, 1L, Long::sum);
    }
  }

  static void produce(String bootstrap, String topic, int batch, List<String> lines) throws Exception {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      for (int i = 0; i < lines.size(); i++) {
        producer.send(new ProducerRecord<>(topic, "batch" + batch + "-line" + i, lines.get(i)));
      }
      producer.flush();
    }
  }

  /** Thrown by the topology when the crash countdown reaches zero. */
  static final class SimulatedCrash extends RuntimeException {
    SimulatedCrash(String m) {
      super(m);
    }
  }

  /** Counted down per output record while positive; at zero the topology throws. */
  static final AtomicLong CRASH_COUNTDOWN = new AtomicLong(-1);

  /** Records the crash phase sends before it throws, all in one open transaction. */
  static final int CRASH_AFTER = 400;

  /** Where the crash waits for its open transaction's records (set before the crash run). */
  static volatile String crashBootstrap;

  /** The output's summed end offsets the crash waits for: its records are on the broker. */
  static volatile long crashOutputTarget;

  /**
   * Runs in the stream thread just before the simulated crash: waits until the records of
   * the open transaction reached the broker (the output's high watermarks, read_uncommitted),
   * so the crash leaves them there (Streams' producer would otherwise drop what it buffers).
   */
  static void awaitCrashRecordsOnBroker(String output) {
    Properties c = new Properties();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, crashBootstrap);
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, LongDeserializer.class.getName());
    try (KafkaConsumer<String, Long> consumer = new KafkaConsumer<>(c)) {
      List<TopicPartition> parts = partitions(output, OUTPUT_PARTITIONS);
      long deadline = System.currentTimeMillis() + OUTPUT_TIMEOUT_MS;
      long ends;
      while ((ends = sum(consumer.endOffsets(parts))) < crashOutputTarget) {
        if (System.currentTimeMillis() > deadline) {
          throw new SimulatedCrash("the output's end offsets reached only " + ends + " of " + crashOutputTarget);
        }
        pause(20);
      }
    }
  }

  static Topology topology(String input, String output) {
    StreamsBuilder b = new StreamsBuilder();
    b.stream(input, Consumed.with(Serdes.String(), Serdes.String()))
        .flatMapValues(line -> Arrays.asList(line.split(" ")))
        .groupBy((key, word) -> word, Grouped.with(Serdes.String(), Serdes.String()))
        .count(Materialized.as(STORE))
        .toStream()
        .peek((word, count) -> {
          if (CRASH_COUNTDOWN.get() > 0 && CRASH_COUNTDOWN.decrementAndGet() == 0) {
            awaitCrashRecordsOnBroker(output);
            throw new SimulatedCrash("simulated crash before sending the count of " + word);
          }
        })
        .to(output, Produced.with(Serdes.String(), Serdes.Long()));
    return b.build();
  }

  /** One running instance of the app, with what its listeners saw. */
  static final class App implements AutoCloseable {
    final KafkaStreams streams;
    final AtomicReference<KafkaStreams.State> state = new AtomicReference<>(KafkaStreams.State.CREATED);
    final AtomicReference<Throwable> failure = new AtomicReference<>();
    final AtomicLong restored = new AtomicLong();
    final Path stateDir;

    App(String bootstrap, String appId, String guarantee, String input, String output) throws IOException {
      this(bootstrap, appId, guarantee, input, output, 100);
    }

    App(String bootstrap, String appId, String guarantee, String input, String output, long commitMs)
        throws IOException {
      stateDir = Files.createTempDirectory("compat-streams-state");
      Properties s = new Properties();
      s.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
      s.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      s.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
      s.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);
      s.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, commitMs);
      // Purge consumed repartition records (DeleteRecords) after commits, not every 30 s.
      s.put(StreamsConfig.REPARTITION_PURGE_INTERVAL_MS_CONFIG, 100);
      s.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
      // No record cache: every count update reaches the output (the strict-rise check).
      s.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
      s.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class.getName());
      s.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class.getName());
      // Static membership: close(leaveGroup) then removes the member at once (an admin
      // LeaveGroup naming its group.instance.id), so the restart need not wait for the old
      // member's session to expire (a dynamic Streams member never sends LeaveGroup).
      s.put(StreamsConfig.mainConsumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG), appId + "-instance");
      s.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), 10_000);
      s.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), 1_000);
      try {
        streams = new KafkaStreams(topology(input, output), s);
      } catch (RuntimeException e) {
        deleteTree(stateDir);
        throw e;
      }
      streams.setStateListener((now, before) -> {
        state.set(now);
        step("state " + before + " -> " + now);
      });
      streams.setUncaughtExceptionHandler(e -> {
        failure.compareAndSet(null, e);
        step("uncaught exception in a stream thread: " + e);
        return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
      });
      streams.setGlobalStateRestoreListener(new StateRestoreListener() {
        @Override
        public void onRestoreStart(TopicPartition tp, String store, long start, long end) {
          step("restoring " + store + " from " + tp + " offsets " + start + ".." + end);
        }

        @Override
        public void onBatchRestored(TopicPartition tp, String store, long batchEnd, long n) {}

        @Override
        public void onRestoreEnd(TopicPartition tp, String store, long total) {
          restored.addAndGet(total);
        }
      });
    }

    /** Waits for the simulated crash to put the app into ERROR. */
    void awaitCrash() {
      long deadline = System.currentTimeMillis() + OUTPUT_TIMEOUT_MS;
      while (state.get() != KafkaStreams.State.ERROR) {
        check(System.currentTimeMillis() < deadline, "the crashing app never reached ERROR (state " + state.get()
            + ", " + CRASH_COUNTDOWN.get() + " records to go)");
        pause(50);
      }
      Throwable t = failure.get();
      while (t != null && !(t instanceof SimulatedCrash)) t = t.getCause();
      check(t != null, "the app failed, but not with the simulated crash: " + failure.get());
    }

    void checkHealthy() {
      Throwable t = failure.get();
      if (t != null) throw new Mismatch("the Streams app failed: " + t);
      KafkaStreams.State st = state.get();
      check(st != KafkaStreams.State.ERROR && st != KafkaStreams.State.PENDING_ERROR,
          "the Streams app went to state " + st);
    }

    void startAndAwaitRunning() {
      streams.start();
      long deadline = System.currentTimeMillis() + RUNNING_TIMEOUT_MS;
      while (state.get() != KafkaStreams.State.RUNNING) {
        checkHealthy();
        check(System.currentTimeMillis() < deadline,
            "the Streams app did not reach RUNNING within " + RUNNING_TIMEOUT_MS + " ms (state " + state.get() + ")");
        pause(50);
      }
    }

    /** The store's contents through an interactive query. */
    Map<String, Long> queryStore() {
      long deadline = System.currentTimeMillis() + RUNNING_TIMEOUT_MS;
      while (true) {
        try {
          ReadOnlyKeyValueStore<String, Long> store = streams.store(
              StoreQueryParameters.fromNameAndType(STORE, QueryableStoreTypes.<String, Long>keyValueStore()));
          Map<String, Long> out = new TreeMap<>();
          try (KeyValueIterator<String, Long> it = store.all()) {
            while (it.hasNext()) {
              KeyValue<String, Long> kv = it.next();
              out.put(kv.key, kv.value);
            }
          }
          return out;
        } catch (org.apache.kafka.streams.errors.InvalidStateStoreException e) {
          // The store is not queryable during a rebalance; try again until the deadline.
          checkHealthy();
          check(System.currentTimeMillis() < deadline, "store " + STORE + " never became queryable: " + e);
          pause(100);
        }
      }
    }

    @Override
    public void close() {
      // KafkaStreams.CloseOptions is deprecated in 4.4.0 (org.apache.kafka.streams.CloseOptions
      // replaces it, a class 4.1.1 lacks); it still works there, so one program serves both.
      boolean done = streams.close(new KafkaStreams.CloseOptions().leaveGroup(true).timeout(Duration.ofSeconds(30)));
      if (!done) step("warning: KafkaStreams.close did not finish within 30 s");
      deleteTree(stateDir);
    }
  }

  static void pause(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Mismatch("interrupted");
    }
  }

  static void deleteTree(Path root) {
    try (var paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      step("could not remove " + root + ": " + e);
    }
  }

  /** What a read_committed reader of the output has seen so far, per word. */
  static final class OutputReader implements AutoCloseable {
    final KafkaConsumer<String, Long> consumer;
    final Map<String, Long> latest = new TreeMap<>();
    final boolean strict;
    long records;

    OutputReader(String bootstrap, String output, boolean strict) {
      this.strict = strict;
      Properties c = new Properties();
      c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
      c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
      c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
      c.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 100);
      c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
      c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, LongDeserializer.class.getName());
      consumer = new KafkaConsumer<>(c);
      List<TopicPartition> parts = new ArrayList<>();
      for (int i = 0; i < OUTPUT_PARTITIONS; i++) parts.add(new TopicPartition(output, i));
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
    }

    /** Reads until every word's latest count equals want, or fails after the deadline. */
    void awaitCounts(Map<String, Long> want, App app, String phase) {
      long deadline = System.currentTimeMillis() + OUTPUT_TIMEOUT_MS;
      while (!latest.equals(want)) {
        app.checkHealthy();
        if (System.currentTimeMillis() > deadline) {
          throw new Mismatch(phase + ": after " + OUTPUT_TIMEOUT_MS + " ms (" + records
              + " output records) the latest counts differ: " + diff(want, latest));
        }
        for (ConsumerRecord<String, Long> r : consumer.poll(Duration.ofMillis(200))) {
          records++;
          check(r.key() != null && r.value() != null, phase + ": output record with a null key or value at "
              + r.topic() + "-" + r.partition() + "@" + r.offset());
          Long before = latest.put(r.key(), r.value());
          Long limit = want.get(r.key());
          check(limit != null, phase + ": unexpected word " + r.key() + " in the output");
          if (strict) {
            check(r.value() <= limit, phase + ": count " + r.value() + " for " + r.key()
                + " exceeds the total " + limit + " (at offset " + r.offset() + ")");
            check(before == null || r.value() > before, phase + ": count for " + r.key() + " went from "
                + before + " to " + r.value() + " at offset " + r.offset() + " (exactly once must rise strictly)");
          }
        }
      }
    }

    @Override
    public void close() {
      consumer.close();
    }
  }

  static String diff(Map<String, Long> want, Map<String, Long> got) {
    Set<String> words = new TreeSet<>(want.keySet());
    words.addAll(got.keySet());
    List<String> out = new ArrayList<>();
    for (String w : words) {
      Long a = want.get(w), b = got.get(w);
      if (a == null || !a.equals(b)) out.add(w + ": want " + a + ", got " + b);
    }
    return out.size() + " words: " + String.join("; ", out);
  }

  static void checkInternalTopics(Admin admin, String appId) throws Exception {
    Set<String> names = admin.listTopics().names().get().stream()
        .filter(t -> t.startsWith(appId + "-")).collect(Collectors.toCollection(TreeSet::new));
    String repartition = appId + "-" + STORE + "-repartition";
    String changelog = appId + "-" + STORE + "-changelog";
    check(names.contains(repartition), "internal topic " + repartition + " missing; the app's topics: " + names);
    check(names.contains(changelog), "internal topic " + changelog + " missing; the app's topics: " + names);
    Map<String, TopicDescription> desc = admin.describeTopics(List.of(repartition, changelog)).allTopicNames().get();
    int inParts = desc.get(repartition).partitions().size();
    int clParts = desc.get(changelog).partitions().size();
    check(inParts == INPUT_PARTITIONS, repartition + " has " + inParts + " partitions, want " + INPUT_PARTITIONS);
    check(clParts == INPUT_PARTITIONS, changelog + " has " + clParts + " partitions, want " + INPUT_PARTITIONS);
    ConfigResource clRes = new ConfigResource(ConfigResource.Type.TOPIC, changelog);
    ConfigResource rpRes = new ConfigResource(ConfigResource.Type.TOPIC, repartition);
    Map<ConfigResource, Config> cfgs = admin.describeConfigs(List.of(clRes, rpRes)).all().get();
    // The configs Streams sets when it creates its internal topics, as describeConfigs shows them.
    Map<String, String> wantChangelog = Map.of("cleanup.policy", "compact", "message.timestamp.type", "CreateTime");
    Map<String, String> wantRepartition = Map.of("cleanup.policy", "delete", "retention.ms", "-1",
        "segment.bytes", "52428800", "message.timestamp.type", "CreateTime");
    for (var e : wantChangelog.entrySet()) {
      ConfigEntry got = cfgs.get(clRes).get(e.getKey());
      check(got != null && e.getValue().equals(got.value()), changelog + ": " + e.getKey() + " is "
          + (got == null ? "absent" : got.value()) + ", want " + e.getValue());
    }
    for (var e : wantRepartition.entrySet()) {
      ConfigEntry got = cfgs.get(rpRes).get(e.getKey());
      check(got != null && e.getValue().equals(got.value()), repartition + ": " + e.getKey() + " is "
          + (got == null ? "absent" : got.value()) + ", want " + e.getValue());
    }
    ConfigEntry clPolicy = cfgs.get(clRes).get("cleanup.policy");
    check(clPolicy != null && "compact".equals(clPolicy.value()),
        changelog + ": cleanup.policy is " + (clPolicy == null ? "absent" : clPolicy.value()) + ", want compact");
    ConfigEntry rpPolicy = cfgs.get(rpRes).get("cleanup.policy");
    check(rpPolicy != null && "delete".equals(rpPolicy.value()),
        repartition + ": cleanup.policy is " + (rpPolicy == null ? "absent" : rpPolicy.value()) + ", want delete");
    step("internal topics " + names + ", " + INPUT_PARTITIONS + " partitions each; changelog " + wantChangelog
        + " (cleanup.policy from " + clPolicy.source() + "), repartition " + wantRepartition);
  }

  static List<TopicPartition> partitions(String topic, int n) {
    List<TopicPartition> out = new ArrayList<>();
    for (int i = 0; i < n; i++) out.add(new TopicPartition(topic, i));
    return out;
  }

  static Map<TopicPartition, Long> offsets(Admin admin, String topic, int n, OffsetSpec spec) throws Exception {
    Map<TopicPartition, OffsetSpec> req = new HashMap<>();
    for (TopicPartition tp : partitions(topic, n)) req.put(tp, spec);
    Map<TopicPartition, Long> out = new TreeMap<>(Comparator.comparing(TopicPartition::toString));
    admin.listOffsets(req).all().get().forEach((tp, info) -> out.put(tp, info.offset()));
    return out;
  }

  static long sum(Map<TopicPartition, Long> m) {
    return m.values().stream().mapToLong(Long::longValue).sum();
  }

  /** Streams purges consumed repartition records with DeleteRecords: the log start moves. */
  static void awaitRepartitionPurge(Admin admin, String appId, App app) throws Exception {
    String repartition = appId + "-" + STORE + "-repartition";
    long deadline = System.currentTimeMillis() + OUTPUT_TIMEOUT_MS;
    while (true) {
      Map<TopicPartition, Long> starts = offsets(admin, repartition, INPUT_PARTITIONS, OffsetSpec.earliest());
      if (sum(starts) > 0) {
        step("repartition records purged (DeleteRecords): log start offsets " + starts + ", end offsets "
            + offsets(admin, repartition, INPUT_PARTITIONS, OffsetSpec.latest()));
        return;
      }
      app.checkHealthy();
      check(System.currentTimeMillis() < deadline, repartition + ": no record purged after "
          + OUTPUT_TIMEOUT_MS + " ms (log start offsets " + starts + ")");
      pause(100);
    }
  }

  /** How many records a consumer with the given isolation level reads from the beginning. */
  static long countRecords(String bootstrap, String topic, String isolation) {
    Properties c = new Properties();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 100);
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, LongDeserializer.class.getName());
    try (KafkaConsumer<String, Long> consumer = new KafkaConsumer<>(c)) {
      List<TopicPartition> parts = partitions(topic, OUTPUT_PARTITIONS);
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      Map<TopicPartition, Long> ends = consumer.endOffsets(parts);
      long n = 0;
      long deadline = System.currentTimeMillis() + OUTPUT_TIMEOUT_MS;
      while (parts.stream().anyMatch(tp -> consumer.position(tp) < ends.get(tp))) {
        check(System.currentTimeMillis() < deadline, topic + " (" + isolation + "): never reached " + ends);
        n += consumer.poll(Duration.ofMillis(200)).count();
      }
      return n;
    }
  }

  /** After the app closed: its group is empty and committed the input's end offsets. */
  static void checkGroupAfterClose(Admin admin, String appId, String input) throws Exception {
    ConsumerGroupDescription g = admin.describeConsumerGroups(List.of(appId)).all().get().get(appId);
    check(g.groupState() == GroupState.EMPTY && g.members().isEmpty(),
        "group " + appId + " after close: state " + g.groupState() + ", members " + g.members());
    Map<TopicPartition, OffsetAndMetadata> committed =
        admin.listConsumerGroupOffsets(appId).partitionsToOffsetAndMetadata().get();
    Map<TopicPartition, Long> ends = offsets(admin, input, INPUT_PARTITIONS, OffsetSpec.latest());
    for (TopicPartition tp : partitions(input, INPUT_PARTITIONS)) {
      OffsetAndMetadata o = committed.get(tp);
      check(o != null && o.offset() == ends.get(tp),
          "group " + appId + " committed " + o + " for " + tp + ", the end offset is " + ends.get(tp));
    }
    step("group " + appId + " is Empty and committed the input's end offsets " + ends);
  }

  static void run(String bootstrap, boolean eos) throws Exception {
    String guarantee = eos ? StreamsConfig.EXACTLY_ONCE_V2 : StreamsConfig.AT_LEAST_ONCE;
    String tag = eos ? "eos" : "alos";
    String input = unique("compat-java-streams-" + tag + "-in");
    String output = unique("compat-java-streams-" + tag + "-out");
    String appId = unique("compat-java-wordcount-" + tag);
    Properties a = new Properties();
    a.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(a)) {
      admin.createTopics(List.of(
          new NewTopic(input, INPUT_PARTITIONS, (short) 1),
          new NewTopic(output, OUTPUT_PARTITIONS, (short) 1))).all().get();
      step("created " + input + " (" + INPUT_PARTITIONS + " partitions) and " + output + " ("
          + OUTPUT_PARTITIONS + "); processing.guarantee=" + guarantee + ", application.id=" + appId);

      Map<String, Long> totals = new TreeMap<>();
      List<String> first = lines(1, 300);
      addCounts(totals, first);
      produce(bootstrap, input, 1, first);
      long words1 = totals.values().stream().mapToLong(Long::longValue).sum();
      step("produced " + first.size() + " lines (" + words1 + " words, " + totals.size() + " distinct)");

      try (OutputReader reader = new OutputReader(bootstrap, output, eos)) {
        try (App app = new App(bootstrap, appId, guarantee, input, output)) {
          app.startAndAwaitRunning();
          reader.awaitCounts(totals, app, "first batch");
          step("output has every word's count after the first batch (" + reader.records + " records read)");
          Map<String, Long> stored = app.queryStore();
          check(stored.equals(totals), "interactive query of " + STORE + " differs: " + diff(totals, stored));
          checkInternalTopics(admin, appId);
          awaitRepartitionPurge(admin, appId, app);
        }
        step("closed the app (leaving the group)");

        List<String> second = lines(2, 200);
        addCounts(totals, second);
        produce(bootstrap, input, 2, second);
        long words2 = totals.values().stream().mapToLong(Long::longValue).sum() - words1;
        step("produced a second batch: " + second.size() + " lines (" + words2 + " words)");

        if (eos) {
          // A crash in the middle of a transaction. The counting sub-topology reads the
          // repartition topic read_committed, so it counts the second batch only after the
          // first commit; commit.interval.ms=3000 (below the 10 s transaction timeout Streams
          // sets, as it requires) then keeps its updates in one open transaction until the
          // topology throws before the output record number CRASH_AFTER + 1. That
          // transaction's records (output, changelog) must never reach a read_committed
          // reader nor the restored store, and its input must be counted again.
          crashBootstrap = bootstrap;
          crashOutputTarget = sum(offsets(admin, output, OUTPUT_PARTITIONS, OffsetSpec.latest())) + CRASH_AFTER;
          CRASH_COUNTDOWN.set(CRASH_AFTER + 1);
          try (App app = new App(bootstrap, appId, guarantee, input, output, 3_000)) {
            app.startAndAwaitRunning();
            app.awaitCrash();
          } finally {
            CRASH_COUNTDOWN.set(-1);
          }
          step("crashed after " + CRASH_AFTER + " output records of an open transaction reached the broker");
        }

        try (App app = new App(bootstrap, appId, guarantee, input, output)) {
          app.startAndAwaitRunning();
          reader.awaitCounts(totals, app, "second batch (restart with a fresh state.dir)");
          check(app.restored.get() > 0, "the restarted app restored no record from the changelog");
          step("restart restored " + app.restored.get() + " changelog records; output counts are cumulative ("
              + reader.records + " records read in all)");
          Map<String, Long> stored = app.queryStore();
          check(stored.equals(totals), "interactive query after the restart differs: " + diff(totals, stored));
        }
        checkGroupAfterClose(admin, appId, input);
        // Transactions leave a commit marker per partition and commit: exactly once, the
        // output's end offsets exceed its records; at least once, they are its records.
        long outEnd = sum(offsets(admin, output, OUTPUT_PARTITIONS, OffsetSpec.latest()));
        if (eos) {
          long uncommitted = countRecords(bootstrap, output, "read_uncommitted");
          check(uncommitted >= reader.records + CRASH_AFTER, "read_uncommitted sees " + uncommitted
              + " output records, read_committed " + reader.records + ": the crashed transaction's "
              + CRASH_AFTER + " records are missing");
          check(outEnd > uncommitted, "exactly once, yet the output's end offsets sum to " + outEnd
              + " for " + uncommitted + " records: no transaction markers");
          step("read_uncommitted sees " + uncommitted + " output records, read_committed " + reader.records
              + " (the crashed transaction's records are aborted)");
        } else {
          check(outEnd == reader.records, "the output's end offsets sum to " + outEnd + " but "
              + reader.records + " records were read with read_committed");
        }
        step("output end offsets sum to " + outEnd + " for " + reader.records + " records"
            + (eos ? " (the rest are transaction markers)" : ""));
      }
    }
  }

  public static void main(String[] args) throws IOException {
    List<String> rest = new ArrayList<>(Arrays.asList(args));
    boolean eos = rest.remove("--eos");
    String bootstrap = rest.isEmpty() ? System.getenv("BOOTSTRAP") : rest.get(0);
    if (bootstrap == null || rest.size() > 1) {
      System.err.println("usage: JavaStreamsWordCount HOST:PORT [--eos] (or set BOOTSTRAP)");
      System.exit(2);
    }
    name = eos ? "java streams eos" : "java streams";
    configureLogging();
    long t0 = System.currentTimeMillis();
    try {
      run(bootstrap, eos);
    } catch (Mismatch e) {
      System.err.println(name + " FAILED: " + e.getMessage());
      System.exit(1);
    } catch (Exception e) {
      e.printStackTrace();
      System.err.println(name + " FAILED: " + e);
      System.exit(1);
    }
    System.out.printf("%s: OK (%.1fs)%n", name, (System.currentTimeMillis() - t0) / 1000.0);
    System.exit(0);
  }
}
