package dev.flywheel.pairs;

import dev.flywheel.schemas.kafka.KafkaGuarantees;
import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.context.annotation.Context;
import io.micronaut.core.convert.format.MapFormat;
import io.micronaut.core.naming.conventions.StringConvention;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The pair assembler's own settings, {@code flywheel.pair-assembler.*} (application.yml, system
 * properties, or environment variables such as {@code FLYWHEEL_PAIR_ASSEMBLER_GRACE_PERIOD=5m}).
 * Where the brokers and the schema registry are, and Kafka client properties such as SASL/TLS, are
 * the settings every Flywheel service reads: {@code flywheel.kafka.*} and {@code
 * flywheel.registry.*} (service-kit). Durations are {@code 500ms}, {@code 30s}, {@code 10m}, {@code
 * 2h}, {@code 7d} or ISO-8601 ({@code PT10M}).
 *
 * <p>Each setter refuses a value out of range with a message naming the setting; the bean is
 * created eagerly, so a bad value fails start-up. In particular a {@link #setStreams streams} entry
 * that would weaken the delivery guarantees ({@link KafkaGuarantees}) is refused: a {@code
 * processing.guarantee} other than {@code exactly_once_v2}, {@code acks} other than {@code
 * all}/{@code -1}, {@code enable.idempotence=false} or {@code isolation.level=read_uncommitted},
 * also under Streams' client prefixes ({@code producer.acks}, ...).
 */
@Context // eager: a bad setting fails start-up, naming it
@ConfigurationProperties(PairAssemblerConfig.PREFIX)
public class PairAssemblerConfig {

  /** Where these settings live in the configuration. */
  public static final String PREFIX = "flywheel.pair-assembler";

  /** How the Kafka Streams pass-through settings are spelled, for error messages. */
  public static final String STREAMS_PREFIX = PREFIX + ".streams.";

  /**
   * Kafka Streams {@code application.id}: the consumer group, the prefix of the internal topics and
   * of the transactional ids. A new id starts from the beginning of the inputs.
   */
  private String applicationId = "flywheel-pair-assembler";

  /**
   * How long a ranking waits for its transcript, in stream time (record timestamps); then
   * ORPHAN_RANKING.
   */
  private Duration gracePeriod = Duration.ofMinutes(10);

  /** Fraction of prompts (by prompt hash) whose comparison groups go to EVAL; in [0, 1]. */
  private double evalFraction = 0.1;

  /** How long a ranking id is remembered for de-duplication, in stream time. */
  private Duration dedupRetention = Duration.ofDays(7);

  /**
   * How long a transcript (and its earlier rankings, for agreement) is kept for joining, in stream
   * time.
   */
  private Duration transcriptRetention = Duration.ofDays(7);

  /**
   * Stream-time interval of the expiry sweep (orphans, dedup and transcript retention); at least 1
   * ms.
   */
  private Duration sweepInterval = Duration.ofSeconds(10);

  /** Wall-clock interval of the figures published to {@code training.metrics}; at least 1 ms. */
  private Duration metricsInterval = Duration.ofSeconds(30);

  /**
   * Private Streams state directory (RocksDB, restorable from the changelogs). Unset: {@code
   * state/<application-id>} under the working directory, never the shared {@code
   * /tmp/kafka-streams} default nor the OS temp dir, whose cleaners delete checkpoint files.
   */
  private String stateDir;

  /** Off-heap budget (MB) shared by all RocksDB stores of the process, half of it for memtables. */
  private int rocksdbMemoryMb = 128;

  /**
   * Partition count of the input topics, used to check that each record sits on the partition its
   * key hashes to; 0 (default) means "ask the broker at start-up" in the app and "do not check" in
   * tests. A value other than the topics' count fails start-up.
   */
  private int inputPartitions = 0;

  /**
   * Kafka Streams settings passed as is, keys as Kafka Streams spells them ({@code
   * flywheel.pair-assembler.streams."num.stream.threads": 2}); applied after {@code
   * flywheel.kafka.properties}, and never allowed to weaken the delivery guarantees.
   */
  private Map<String, String> streams = new LinkedHashMap<>();

  public String getApplicationId() {
    return applicationId;
  }

  public void setApplicationId(String applicationId) {
    if (applicationId == null || applicationId.isBlank()) {
      throw new IllegalArgumentException(PREFIX + ".application-id must not be blank");
    }
    this.applicationId = applicationId;
  }

  public Duration getGracePeriod() {
    return gracePeriod;
  }

  public void setGracePeriod(Duration gracePeriod) {
    this.gracePeriod = notNegative("grace-period", gracePeriod);
  }

  public double getEvalFraction() {
    return evalFraction;
  }

  public void setEvalFraction(double evalFraction) {
    if (!(evalFraction >= 0 && evalFraction <= 1)) {
      throw new IllegalArgumentException(
          PREFIX + ".eval-fraction must be in [0, 1], got " + evalFraction);
    }
    this.evalFraction = evalFraction;
  }

  public Duration getDedupRetention() {
    return dedupRetention;
  }

  public void setDedupRetention(Duration dedupRetention) {
    this.dedupRetention = notNegative("dedup-retention", dedupRetention);
  }

  public Duration getTranscriptRetention() {
    return transcriptRetention;
  }

  public void setTranscriptRetention(Duration transcriptRetention) {
    this.transcriptRetention = notNegative("transcript-retention", transcriptRetention);
  }

  public Duration getSweepInterval() {
    return sweepInterval;
  }

  public void setSweepInterval(Duration sweepInterval) {
    this.sweepInterval = atLeastOneMilli("sweep-interval", sweepInterval);
  }

  public Duration getMetricsInterval() {
    return metricsInterval;
  }

  public void setMetricsInterval(Duration metricsInterval) {
    this.metricsInterval = atLeastOneMilli("metrics-interval", metricsInterval);
  }

  /** The configured state directory, or {@code <working dir>/state/<application-id>} when unset. */
  public String getStateDir() {
    if (stateDir == null || stateDir.isBlank()) {
      return Path.of(System.getProperty("user.dir"), "state", applicationId).toString();
    }
    return stateDir;
  }

  public void setStateDir(String stateDir) {
    this.stateDir = stateDir;
  }

  public int getRocksdbMemoryMb() {
    return rocksdbMemoryMb;
  }

  public void setRocksdbMemoryMb(int rocksdbMemoryMb) {
    if (rocksdbMemoryMb < 1) {
      throw new IllegalArgumentException(
          PREFIX + ".rocksdb-memory-mb must be at least 1, got " + rocksdbMemoryMb);
    }
    this.rocksdbMemoryMb = rocksdbMemoryMb;
  }

  public int getInputPartitions() {
    return inputPartitions;
  }

  public void setInputPartitions(int inputPartitions) {
    if (inputPartitions < 0) {
      throw new IllegalArgumentException(
          PREFIX + ".input-partitions must not be negative, got " + inputPartitions);
    }
    this.inputPartitions = inputPartitions;
  }

  /** The Kafka Streams pass-through settings, keys exactly as Kafka Streams spells them. */
  public Map<String, String> getStreams() {
    return streams;
  }

  /**
   * Sets the Kafka Streams pass-through settings.
   *
   * @throws IllegalArgumentException naming each setting that would weaken a delivery guarantee
   */
  public void setStreams(
      @MapFormat(
              transformation = MapFormat.MapTransformation.FLAT,
              keyFormat = StringConvention.RAW)
          Map<String, String> streams) {
    Map<String, String> copy =
        streams == null ? new LinkedHashMap<>() : new LinkedHashMap<>(streams);
    KafkaGuarantees.requireStreamsGuarantees(STREAMS_PREFIX, copy);
    this.streams = copy;
  }

  /**
   * The settings with every secret-bearing {@link #getStreams streams} value redacted: safe to log.
   */
  @Override
  public String toString() {
    return "{application-id="
        + applicationId
        + ", grace-period="
        + gracePeriod
        + ", eval-fraction="
        + evalFraction
        + ", dedup-retention="
        + dedupRetention
        + ", transcript-retention="
        + transcriptRetention
        + ", sweep-interval="
        + sweepInterval
        + ", metrics-interval="
        + metricsInterval
        + ", state-dir="
        + getStateDir()
        + ", rocksdb-memory-mb="
        + rocksdbMemoryMb
        + ", input-partitions="
        + inputPartitions
        + ", streams="
        + StreamsSettings.redacted(streams)
        + "}";
  }

  private static Duration notNegative(String name, Duration value) {
    if (value == null || value.isNegative()) {
      throw new IllegalArgumentException(
          PREFIX + "." + name + " must not be negative, got " + value);
    }
    return value;
  }

  private static Duration atLeastOneMilli(String name, Duration value) {
    if (value == null || value.toMillis() < 1) {
      throw new IllegalArgumentException(
          PREFIX + "." + name + " must be at least 1ms, got " + value);
    }
    return value;
  }
}
