package dev.flywheel.pairs;

import dev.flywheel.kit.kafka.KafkaProperties;
import dev.flywheel.kit.kafka.RegistryProperties;
import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Requires;
import io.micronaut.context.env.Environment;
import jakarta.annotation.PreDestroy;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kafka Streams client of the pair assembler, from start-up to shutdown. At start-up it checks
 * the topics (all five exist; transcripts and rankings co-partitioned), builds {@link
 * PairAssemblerTopology} and starts it with exactly-once v2 ({@link StreamsSettings}); a failed
 * check fails start-up. Its state feeds {@link StreamsReadiness} and {@link StreamsLiveness}; its
 * metrics go to the service's Micrometer registry ({@code /prometheus}). Closed on shutdown
 * (SIGTERM).
 *
 * <p>A fatal Streams error (an exception no handler resolved, e.g. a registry outage failing a
 * task) shuts the client down (ERROR: liveness DOWN) and the process exits with code 1, to be
 * restarted; exactly-once resumes from the last committed transaction. Under Micronaut's {@code
 * test} environment it does not exit. Disable the app with {@code
 * flywheel.pair-assembler.enabled=false} (the settings still bind).
 */
@Context
@Requires(property = "flywheel.pair-assembler.enabled", notEquals = "false")
public class PairAssemblerStreams {

  private static final Logger LOG = LoggerFactory.getLogger(PairAssemblerStreams.class);
  private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(30);

  private final String applicationId;
  private final KafkaStreams streams;
  private final KafkaStreamsMetrics streamsMetrics;

  public PairAssemblerStreams(
      PairAssemblerConfig config,
      KafkaProperties kafka,
      RegistryProperties registry,
      MeterRegistry meters,
      Environment environment) {
    Properties props = StreamsSettings.properties(kafka, registry, config);
    this.applicationId = config.getApplicationId();
    int partitions = InputTopics.checkedPartitionCount(props, config.getInputPartitions());
    LOG.info(
        "starting pair assembler: {}; {} input partitions; Kafka Streams settings {}",
        config,
        partitions,
        StreamsSettings.redacted(props));

    PairAssemblerSerdes serdes =
        PairAssemblerSerdes.forRegistry(
            new HttpSchemaRegistryClient(registry.getUrl()), registry.isAutoRegister());
    Topology topology =
        new PairAssemblerTopology(
                config, props, partitions, serdes, new PairAssemblerMetrics(meters))
            .build();
    LOG.info("topology:\n{}", topology.describe());
    streams = new KafkaStreams(topology, props);

    boolean exitOnFatalError = !environment.getActiveNames().contains(Environment.TEST);
    streams.setUncaughtExceptionHandler(
        e -> {
          LOG.error("fatal error in a stream thread; shutting the Streams client down", e);
          return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
    streams.setStateListener(
        (now, before) -> {
          LOG.info("Kafka Streams {} -> {}", before, now);
          if (now == KafkaStreams.State.ERROR && exitOnFatalError) {
            // not on the thread that reports the state: exit runs the shutdown hooks, which close
            // this client
            Thread exit =
                new Thread(
                    () -> {
                      LOG.error(
                          "Kafka Streams failed; exiting with 1 so that the process is restarted");
                      System.exit(1);
                    },
                    "pair-assembler-fatal-exit");
            exit.start();
          }
        });
    streamsMetrics = new KafkaStreamsMetrics(streams);
    streamsMetrics.bindTo(meters);
    Gauge.builder("pair_assembler_consumer_lag", streams, PairAssemblerStreams::consumerLag)
        .description(
            "Records behind the end of the input partitions (sum over this process's partitions)")
        .register(meters);
    streams.start();
  }

  /** The Streams client's state. */
  public KafkaStreams.State state() {
    return streams.state();
  }

  public String applicationId() {
    return applicationId;
  }

  /** Sum of {@code records-lag} over the main consumer's assigned partitions. */
  static double consumerLag(KafkaStreams streams) {
    double lag = 0;
    for (Map.Entry<MetricName, ? extends Metric> e : streams.metrics().entrySet()) {
      MetricName name = e.getKey();
      if (name.name().equals("records-lag")
          && name.group().equals("consumer-fetch-manager-metrics")
          && name.tags().containsKey("partition")
          && !name.tags().getOrDefault("client-id", "").contains("restore-consumer")
          && e.getValue().metricValue() instanceof Double d
          && !d.isNaN()) {
        lag += d;
      }
    }
    return lag;
  }

  @PreDestroy
  void close() {
    LOG.info("shutting down");
    streams.close(CLOSE_TIMEOUT);
    streamsMetrics.close();
  }
}
