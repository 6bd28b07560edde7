package dev.flywheel.policy.service;

import ai.djl.ndarray.NDManager;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.model.Devices;
import dev.flywheel.model.LocalArtifactStore;
import dev.flywheel.policy.config.PolicyTrainerConfig;
import dev.flywheel.policy.config.RolloutConfig;
import dev.flywheel.policy.train.DpoConfig;
import dev.flywheel.policy.train.PpoConfig;
import dev.flywheel.policy.train.PromptPool;
import dev.flywheel.policy.train.SftConfig;
import dev.flywheel.trainerkit.Checkpoints;
import dev.flywheel.trainerkit.KafkaSettings;
import dev.flywheel.trainerkit.MetricsPublisher;
import dev.flywheel.trainerkit.VersionLedger;
import dev.flywheel.trainerkit.VersionPublisher;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the {@link PolicyTrainerLoop} runs on, and its one job is their life cycle: {@link #open()}
 * builds them in start-up order (device manager, artifact store, checkpoints, the transactional
 * {@link VersionPublisher}, the version ledgers loaded up to the topics' end, metrics, the prompt
 * pool, the {@link InputFeed}, the {@link RoundScheduler}, the {@link PolicyPublisher} and the
 * rounds); {@link #close()} closes the feed, metrics, the publisher and the manager, also after an
 * {@link #open()} that failed half way.
 */
final class LoopResources implements AutoCloseable {

  /** Logs as the loop whose start-up and shut-down these are. */
  private static final Logger LOG = LoggerFactory.getLogger(PolicyTrainerLoop.class);

  private final PolicyTrainerConfig config;
  private final SftConfig sftConfig;
  private final PpoConfig ppoConfig;
  private final DpoConfig dpoConfig;
  private final RolloutConfig rolloutConfig;
  private final KafkaSettings kafka;
  private final PolicyTrainerStatus status;
  private final PolicyTrainerLoop.Events events;
  private final BooleanSupplier stop;

  private NDManager manager;
  private Checkpoints checkpoints;
  private VersionPublisher<PolicyVersion> publisher;
  private VersionLedger<PolicyVersion> policies;
  private VersionLedger<RewardModelVersion> rewards;
  private MetricsPublisher metrics;
  private PromptPool prompts;
  private InputFeed feed;
  private RoundScheduler scheduler;
  private SftRound sftRound;
  private RlRound rlRound;
  private DpoRound dpoRound;

  /**
   * @param stop whether the loop was asked to stop, read by the rounds at their step boundaries
   */
  LoopResources(
      PolicyTrainerConfig config,
      SftConfig sftConfig,
      PpoConfig ppoConfig,
      DpoConfig dpoConfig,
      RolloutConfig rolloutConfig,
      KafkaSettings kafka,
      PolicyTrainerStatus status,
      PolicyTrainerLoop.Events events,
      BooleanSupplier stop) {
    this.config = config;
    this.sftConfig = sftConfig;
    this.ppoConfig = ppoConfig;
    this.dpoConfig = dpoConfig;
    this.rolloutConfig = rolloutConfig;
    this.kafka = kafka;
    this.status = status;
    this.events = events;
    this.stop = stop;
  }

  /** Opens the clients and builds the feed, scheduler, publisher and rounds on them. */
  void open() throws IOException, TimeoutException {
    manager = Devices.newManager(config.getDevice());
    LocalArtifactStore store = new LocalArtifactStore(Path.of(config.getArtifactRoot()));
    checkpoints = new Checkpoints(Path.of(config.getStateDir()).resolve("checkpoints"), 2);
    Duration timeout = config.getKafkaTimeout();
    // the transactional publisher first: initTransactions() aborts a crashed predecessor's
    // transaction
    publisher =
        VersionPublisher.create(
            kafka,
            config.getPolicyVersionsTopic(),
            PolicyVersion::getVersion,
            config.getTransactionalId(),
            timeout);
    Map<TopicPartition, Long> versionStart =
        endOffsets(List.of(config.getPolicyVersionsTopic(), config.getRewardVersionsTopic()));
    policies = VersionLedger.loadPolicyVersions(kafka, config.getPolicyVersionsTopic(), timeout);
    rewards = VersionLedger.loadRewardVersions(kafka, config.getRewardVersionsTopic(), timeout);
    metrics = MetricsPublisher.create(kafka, config.getMetricsTopic(), PolicyTrainerLoop.SOURCE);
    prompts = ConfiguredPrompts.pool(config);
    boolean dpo = ppoConfig.getAlgorithm() == PpoConfig.Algorithm.DPO;
    ComparisonBuffer comparisons =
        dpo
            ? new ComparisonBuffer(dpoConfig.getBufferMaxGroups(), dpoConfig.getEvalMaxGroups())
            : null;
    feed =
        new InputFeed(kafka, config, policies, rewards, versionStart, prompts, comparisons, status);
    scheduler =
        new RoundScheduler(
            config,
            sftConfig,
            policies,
            rewards,
            prompts,
            feed,
            dpo ? dpoConfig : null,
            comparisons);
    PolicyPublisher output =
        new PolicyPublisher(
            config, manager, store, checkpoints, publisher, policies, status, events);
    sftRound =
        new SftRound(
            config, sftConfig, manager, policies, metrics, feed, status, scheduler, output, stop);
    rlRound =
        new RlRound(
            config,
            sftConfig,
            ppoConfig,
            manager,
            policies,
            rewards,
            metrics,
            prompts,
            feed,
            status,
            scheduler,
            output,
            stop,
            rolloutConfig,
            kafka);
    dpoRound =
        dpo
            ? new DpoRound(
                config,
                dpoConfig,
                ppoConfig,
                manager,
                policies,
                metrics,
                comparisons,
                feed,
                status,
                scheduler,
                output,
                stop)
            : null;
  }

  /** The read_committed end offsets of the topics' partitions, where the feed starts reading. */
  private Map<TopicPartition, Long> endOffsets(List<String> topics) {
    Map<String, Object> cfg = kafka.consumerConfig(PolicyTrainerLoop.SOURCE + "-offsets", null);
    try (KafkaConsumer<byte[], byte[]> c =
        new KafkaConsumer<>(cfg, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = new ArrayList<>();
      for (String topic : topics) {
        var infos = c.partitionsFor(topic, config.getKafkaTimeout());
        if (infos == null || infos.isEmpty()) {
          throw new IllegalStateException("topic " + topic + " does not exist");
        }
        infos.forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
      }
      c.assign(
          partitions); // read_committed end offsets (LSO) of assigned partitions, without a warning
      return new HashMap<>(c.endOffsets(partitions, config.getKafkaTimeout()));
    }
  }

  Checkpoints checkpoints() {
    return checkpoints;
  }

  VersionLedger<PolicyVersion> policies() {
    return policies;
  }

  VersionLedger<RewardModelVersion> rewards() {
    return rewards;
  }

  PromptPool prompts() {
    return prompts;
  }

  InputFeed feed() {
    return feed;
  }

  RoundScheduler scheduler() {
    return scheduler;
  }

  SftRound sftRound() {
    return sftRound;
  }

  RlRound rlRound() {
    return rlRound;
  }

  /** Null unless {@code ppo.algorithm=dpo}. */
  DpoRound dpoRound() {
    return dpoRound;
  }

  /**
   * Closes the feed, metrics and the publisher (a failure is logged, the rest still closed), then
   * the device manager; what was not opened is skipped.
   */
  @Override
  public void close() {
    for (AutoCloseable c : new AutoCloseable[] {feed, metrics, publisher}) {
      if (c != null) {
        try {
          c.close();
        } catch (Exception e) {
          LOG.warn("closing {}: {}", c.getClass().getSimpleName(), e.toString());
        }
      }
    }
    if (manager != null) {
      manager.close();
    }
  }
}
