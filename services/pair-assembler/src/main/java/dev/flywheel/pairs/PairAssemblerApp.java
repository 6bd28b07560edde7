package dev.flywheel.pairs;

import dev.flywheel.schemas.registry.SchemaRegistryClient;
import dev.flywheel.schemas.topics.TopicSpec;
import dev.flywheel.schemas.topics.Topics;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pair assembler as a process:
 * {@code java -Xmx256m -jar flywheel-pair-assembler-all.jar [config.properties] [--key=value ...]}
 * (see {@link PairAssemblerConfig} for keys and environment variables).
 *
 * <p>Checks the topics first (all five exist; transcripts and rankings have the same partition count,
 * i.e. are co-partitioned), then runs the topology with exactly-once v2 and serves health and
 * Prometheus metrics over HTTP. A fatal Streams error stops the process with exit code 1 (the
 * orchestrator restarts it; EOS resumes from the last committed transaction); SIGTERM closes cleanly.
 */
public final class PairAssemblerApp {

  private static final Logger LOG = LoggerFactory.getLogger(PairAssemblerApp.class);

  private PairAssemblerApp() {}

  public static void main(String[] args) throws Exception {
    PairAssemblerConfig config;
    try {
      config = PairAssemblerConfig.load(args, System.getenv());
      config.streamsProperties(); // every required key present
    } catch (IllegalArgumentException | java.io.IOException e) {
      LOG.error("bad configuration: {}", e.getMessage());
      System.exit(2);
      return;
    }
    AtomicBoolean signalled = new AtomicBoolean();
    int code = run(config, signalled);
    if (code != 0 && !signalled.get()) {
      System.exit(code);
    }
  }

  /** Runs until SIGTERM (returns 0) or a fatal Streams error (returns 1). */
  static int run(PairAssemblerConfig config, AtomicBoolean signalled) throws Exception {
    config = checkTopics(config);
    LOG.info("starting pair assembler: {}", config);
    PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new JvmMemoryMetrics().bindTo(meters);
    new JvmThreadMetrics().bindTo(meters);

    SchemaRegistryClient registry = new SchemaRegistryClient(config.require(PairAssemblerConfig.REGISTRY_URL));
    Topology topology = new PairAssemblerTopology(config, PairAssemblerSerdes.forRegistry(registry),
        new PairAssemblerMetrics(meters)).build();
    LOG.info("topology:\n{}", topology.describe());
    Properties props = config.streamsProperties();
    KafkaStreams streams = new KafkaStreams(topology, props);

    CountDownLatch stopped = new CountDownLatch(1);
    AtomicBoolean failed = new AtomicBoolean();
    streams.setUncaughtExceptionHandler(e -> {
      LOG.error("fatal error in a stream thread; stopping (exit 1) so that the process is restarted", e);
      failed.set(true);
      return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });
    streams.setStateListener((now, before) -> {
      LOG.info("Kafka Streams {} -> {}", before, now);
      if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) {
        if (now == KafkaStreams.State.ERROR) {
          failed.set(true);
        }
        stopped.countDown();
      }
    });
    KafkaStreamsMetrics streamsMetrics = new KafkaStreamsMetrics(streams);
    streamsMetrics.bindTo(meters);
    Gauge.builder("pair_assembler_consumer_lag", streams, PairAssemblerApp::consumerLag)
        .description("Records behind the end of the input partitions (sum over this process's partitions)")
        .register(meters);

    HttpEndpoints http = null;
    if (config.httpPort() >= 0) {
      http = new HttpEndpoints(config.httpPort(), streams::state, meters);
      LOG.info("health and metrics on http://0.0.0.0:{}/health and /metrics", http.port());
    }
    HttpEndpoints httpToClose = http;
    Thread hook = new Thread(() -> {
      signalled.set(true);
      LOG.info("shutting down");
      streams.close(Duration.ofSeconds(30));
      stopped.countDown();
    }, "pair-assembler-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);

    streams.start();
    stopped.await();
    if (!signalled.get()) {
      streams.close(Duration.ofSeconds(30));
    }
    streamsMetrics.close();
    if (httpToClose != null) {
      httpToClose.close();
    }
    return failed.get() ? 1 : 0;
  }

  /** Sum of {@code records-lag} over the main consumer's assigned partitions. */
  static double consumerLag(KafkaStreams streams) {
    double lag = 0;
    for (Map.Entry<MetricName, ? extends Metric> e : streams.metrics().entrySet()) {
      MetricName name = e.getKey();
      if (name.name().equals("records-lag") && name.group().equals("consumer-fetch-manager-metrics")
          && name.tags().containsKey("partition")
          && !name.tags().getOrDefault("client-id", "").contains("restore-consumer")
          && e.getValue().metricValue() instanceof Double d && !d.isNaN()) {
        lag += d;
      }
    }
    return lag;
  }

  /**
   * Fails fast when a topic is missing or the inputs are not co-partitioned; fills in
   * {@code input.partitions} when it was left at 0.
   */
  static PairAssemblerConfig checkTopics(PairAssemblerConfig config) throws Exception {
    List<TopicSpec<?>> needed = List.of(Topics.CHAT_TRANSCRIPTS, Topics.FEEDBACK_RANKINGS,
        Topics.TRAINING_COMPARISONS, Topics.TRAINING_METRICS, Topics.DEAD_LETTERS);
    // the same client settings as the streams app (SASL/TLS included), not just the bootstrap servers
    Map<String, Object> adminConfigs =
        new StreamsConfig(config.streamsProperties()).getAdminConfigs("pair-assembler-startup-check");
    try (Admin admin = Admin.create(adminConfigs)) {
      Map<String, TopicDescription> topics = admin.describeTopics(
              needed.stream().map(TopicSpec::name).collect(Collectors.toList()))
          .allTopicNames().get(60, TimeUnit.SECONDS);
      int transcripts = topics.get(Topics.CHAT_TRANSCRIPTS.name()).partitions().size();
      int rankings = topics.get(Topics.FEEDBACK_RANKINGS.name()).partitions().size();
      if (transcripts != rankings) {
        throw new IllegalStateException("not co-partitioned: " + Topics.CHAT_TRANSCRIPTS.name() + " has "
            + transcripts + " partitions, " + Topics.FEEDBACK_RANKINGS.name() + " has " + rankings);
      }
      int configured = config.inputPartitions();
      if (configured > 0 && configured != transcripts) {
        throw new IllegalStateException(PairAssemblerConfig.INPUT_PARTITIONS + "=" + configured
            + " but the input topics have " + transcripts + " partitions");
      }
      return config.with(PairAssemblerConfig.INPUT_PARTITIONS, Integer.toString(transcripts));
    }
  }
}
