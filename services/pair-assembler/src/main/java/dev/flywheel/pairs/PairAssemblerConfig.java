package dev.flywheel.pairs;

import dev.flywheel.schemas.kafka.KafkaGuarantees;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.StreamsConfig;

/**
 * Configuration of the pair assembler. Sources, later ones winning: built-in defaults, a properties
 * file, environment variables ({@code PAIR_ASSEMBLER_GRACE_PERIOD} sets {@code grace.period}: the prefix
 * dropped, lower-cased, {@code _} read as {@code .}), then {@code --key=value} arguments. Keys under
 * {@code streams.} are handed to Kafka Streams with the prefix removed (e.g.
 * {@code streams.num.stream.threads=2}). Durations are ISO-8601 ({@code PT10M}) or {@code 500ms},
 * {@code 30s}, {@code 10m}, {@code 2h}, {@code 7d}.
 *
 * <p>A {@code streams.*} key that would weaken the delivery guarantees is refused when the configuration
 * is built, i.e. at start-up, with a message naming it ({@link KafkaGuarantees}): a
 * {@code processing.guarantee} other than {@code exactly_once_v2}, {@code acks} other than
 * {@code all}/{@code -1}, {@code enable.idempotence=false} or {@code isolation.level=read_uncommitted},
 * also under Streams' client prefixes ({@code streams.producer.acks}, ...).
 */
public final class PairAssemblerConfig {

  public static final String BOOTSTRAP_SERVERS = "bootstrap.servers";
  public static final String REGISTRY_URL = "schema.registry.url";
  public static final String APPLICATION_ID = "application.id";
  /** How long a ranking waits for its transcript, in stream time (record timestamps). */
  public static final String GRACE_PERIOD = "grace.period";
  /** Fraction of prompts (by prompt hash) that go to EVAL. */
  public static final String EVAL_FRACTION = "eval.fraction";
  /** How long a ranking id is remembered for de-duplication, in stream time. */
  public static final String DEDUP_RETENTION = "dedup.retention";
  /** How long a transcript (and its earlier rankings, for agreement) is kept for joining, in stream time. */
  public static final String TRANSCRIPT_RETENTION = "transcript.retention";
  /** Stream-time interval of the expiry sweep (orphans, dedup and transcript retention). */
  public static final String SWEEP_INTERVAL = "sweep.interval";
  /** Wall-clock interval of the metrics published to training.metrics. */
  public static final String METRICS_INTERVAL = "metrics.interval";
  public static final String STATE_DIR = "state.dir";
  /** Port of the health and Prometheus endpoint; 0 picks a free port, -1 turns it off. */
  public static final String HTTP_PORT = "http.port";
  /**
   * Partition count of the input topics, used to check that each record sits on the partition its
   * key hashes to; 0 (default) means "ask the broker at start-up" in the app and "do not check" in tests.
   */
  public static final String INPUT_PARTITIONS = "input.partitions";
  /** Off-heap budget (MB) shared by all RocksDB stores of the process. */
  public static final String ROCKSDB_MEMORY_MB = "rocksdb.memory.mb";
  public static final String STREAMS_PREFIX = "streams.";
  public static final String ENV_PREFIX = "PAIR_ASSEMBLER_";

  private static final Map<String, String> DEFAULTS = Map.of(
      APPLICATION_ID, "flywheel-pair-assembler",
      GRACE_PERIOD, "10m",
      EVAL_FRACTION, "0.1",
      DEDUP_RETENTION, "7d",
      TRANSCRIPT_RETENTION, "7d",
      SWEEP_INTERVAL, "10s",
      METRICS_INTERVAL, "30s",
      HTTP_PORT, "8080",
      ROCKSDB_MEMORY_MB, "128",
      INPUT_PARTITIONS, "0");

  private final Map<String, String> values;

  private PairAssemblerConfig(Map<String, String> values) {
    this.values = values;
    validate();
  }

  /** Defaults plus {@code overrides}. */
  public static PairAssemblerConfig of(Map<String, String> overrides) {
    Map<String, String> values = new LinkedHashMap<>(DEFAULTS);
    values.putAll(overrides);
    return new PairAssemblerConfig(values);
  }

  /**
   * From the command line and environment: {@code [config.properties] [--key=value ...]}; a
   * {@code --config=path} argument names the file too.
   */
  public static PairAssemblerConfig load(String[] args, Map<String, String> env) throws IOException {
    Map<String, String> values = new LinkedHashMap<>(DEFAULTS);
    Map<String, String> cli = new LinkedHashMap<>();
    String file = null;
    for (String arg : args) {
      if (arg.startsWith("--") && arg.contains("=")) {
        int eq = arg.indexOf('=');
        cli.put(arg.substring(2, eq), arg.substring(eq + 1));
      } else if (!arg.startsWith("--")) {
        file = arg;
      } else {
        throw new IllegalArgumentException("expected --key=value, got " + arg);
      }
    }
    if (cli.containsKey("config")) {
      file = cli.remove("config");
    }
    if (file != null) {
      Properties props = new Properties();
      try (Reader reader = Files.newBufferedReader(Path.of(file))) {
        props.load(reader);
      }
      props.stringPropertyNames().forEach(k -> values.put(k, props.getProperty(k).trim()));
    }
    env.forEach((k, v) -> {
      if (k.startsWith(ENV_PREFIX)) {
        values.put(k.substring(ENV_PREFIX.length()).toLowerCase(Locale.ROOT).replace('_', '.'), v);
      }
    });
    values.putAll(cli);
    return new PairAssemblerConfig(values);
  }

  private void validate() {
    Map<String, String> streams = new LinkedHashMap<>();
    values.forEach((k, v) -> {
      if (k.startsWith(STREAMS_PREFIX)) {
        streams.put(k.substring(STREAMS_PREFIX.length()), v);
      }
    });
    KafkaGuarantees.requireStreamsGuarantees(STREAMS_PREFIX, streams);
    double fraction = evalFraction();
    if (!(fraction >= 0 && fraction <= 1)) {
      throw new IllegalArgumentException(EVAL_FRACTION + " must be in [0, 1], got " + fraction);
    }
    for (String key : new String[] {GRACE_PERIOD, DEDUP_RETENTION, TRANSCRIPT_RETENTION}) {
      if (duration(key).isNegative()) {
        throw new IllegalArgumentException(key + " must not be negative");
      }
    }
    for (String key : new String[] {SWEEP_INTERVAL, METRICS_INTERVAL}) {
      if (duration(key).toMillis() < 1) {
        throw new IllegalArgumentException(key + " must be at least 1ms");
      }
    }
  }

  /** A copy with {@code key} set. */
  public PairAssemblerConfig with(String key, String value) {
    Map<String, String> copy = new LinkedHashMap<>(values);
    copy.put(key, value);
    return new PairAssemblerConfig(copy);
  }

  public String get(String key) {
    return values.get(key);
  }

  public String require(String key) {
    String value = values.get(key);
    if (value == null || value.isBlank()) {
      throw new IllegalArgumentException("missing configuration '" + key + "' (or env "
          + ENV_PREFIX + key.toUpperCase(Locale.ROOT).replace('.', '_') + ")");
    }
    return value;
  }

  public String applicationId() {
    return require(APPLICATION_ID);
  }

  public Duration gracePeriod() {
    return duration(GRACE_PERIOD);
  }

  public double evalFraction() {
    return Double.parseDouble(require(EVAL_FRACTION));
  }

  public Duration dedupRetention() {
    return duration(DEDUP_RETENTION);
  }

  public Duration transcriptRetention() {
    return duration(TRANSCRIPT_RETENTION);
  }

  public Duration sweepInterval() {
    return duration(SWEEP_INTERVAL);
  }

  public Duration metricsInterval() {
    return duration(METRICS_INTERVAL);
  }

  public int httpPort() {
    return Integer.parseInt(require(HTTP_PORT));
  }

  public int inputPartitions() {
    return Integer.parseInt(require(INPUT_PARTITIONS));
  }

  public String stateDir() {
    String dir = values.get(STATE_DIR);
    if (dir == null || dir.isBlank()) {
      // private to this application: never the shared /tmp/kafka-streams default, nor under the OS
      // temp dir (cleaners delete checkpoint files there)
      return Path.of(System.getProperty("user.dir"), "state", applicationId()).toString();
    }
    return dir;
  }

  public Duration duration(String key) {
    return parseDuration(require(key));
  }

  private static final Pattern SIMPLE_DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");

  static Duration parseDuration(String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    Matcher m = SIMPLE_DURATION.matcher(t);
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      return switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        default -> Duration.ofDays(n);
      };
    }
    return Duration.parse(text.trim().toUpperCase(Locale.ROOT));
  }

  /**
   * The Kafka Streams configuration: exactly-once v2, a private state dir, plus {@code streams.*} (which
   * cannot weaken the guarantees: see the class comment).
   */
  public Properties streamsProperties() {
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId());
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, require(BOOTSTRAP_SERVERS));
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir());
    props.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG,
        DeadLetterProcessingExceptionHandler.class.getName());
    props.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG, "true");
    props.put(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG, BoundedRocksDbConfig.class.getName());
    props.put(BoundedRocksDbConfig.MEMORY_MB, require(ROCKSDB_MEMORY_MB));
    props.put(REGISTRY_URL, require(REGISTRY_URL));
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
    props.put(StreamsConfig.producerPrefix(ProducerConfig.COMPRESSION_TYPE_CONFIG), "lz4");
    values.forEach((k, v) -> {
      if (k.startsWith(STREAMS_PREFIX)) {
        props.put(k.substring(STREAMS_PREFIX.length()), v);
      }
    });
    return props;
  }

  /**
   * Keys whose values are secrets (SASL JAAS configs with passwords, SSL key and store passwords, the
   * registry's basic-auth user info, tokens): never logged.
   */
  private static final Pattern SECRET_KEY = Pattern.compile("(?i).*(password|jaas|secret|user\\.info|token|credential|api\\.key).*");

  /** The settings with every secret-bearing value replaced by {@code [redacted]}: safe to log. */
  @Override
  public String toString() {
    Map<String, String> shown = new LinkedHashMap<>();
    values.forEach((k, v) -> shown.put(k, SECRET_KEY.matcher(k).matches() ? "[redacted]" : v));
    return shown.toString();
  }
}
