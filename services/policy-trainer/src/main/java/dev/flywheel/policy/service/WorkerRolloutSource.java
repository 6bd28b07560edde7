package dev.flywheel.policy.service;

import dev.flywheel.events.OffsetRange;
import dev.flywheel.events.RolloutBatch;
import dev.flywheel.events.RolloutRequest;
import dev.flywheel.events.SamplingParams;
import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.modelevents.RolloutEvents;
import dev.flywheel.policy.config.RolloutConfig;
import dev.flywheel.policy.train.ScoredRollout;
import dev.flywheel.policy.train.SourcedRollout;
import dev.flywheel.schemas.serde.AvroSerializer;
import dev.flywheel.schemas.support.FileTrees;
import dev.flywheel.trainerkit.KafkaSettings;
import dev.flywheel.trainerkit.OffsetRanges;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An RL round's rollouts from the rollout workers (#17), {@code max-staleness} S batches ahead.
 *
 * <p>At step i the learner saves its current weights as a snapshot under the shared artifact root
 * (once per step) and issues the requests of iterations i .. i + S not yet issued, each naming that
 * snapshot, the round's reward model and the iteration's prompts and seed; then it waits for
 * iteration i's batch. So the batch trained on at step i was sampled from the weights of a step in
 * [i − S, i]; with S = 0 it is sampled from the current weights and equals what the trainer would
 * sample itself.
 *
 * <p>Request ids are {@code <learner>:<iteration>:<step>}. The learner keeps one batch per
 * iteration (of two, the one sampled from the fresher weights) and counts the rest as duplicates (a
 * request answered twice, after a worker died before committing); a batch staler than S when its
 * turn comes (one sampled for an earlier process of a resumed round) is dropped, counted, and its
 * iteration issued again from the current weights. A request without its batch by the deadline is
 * issued again, unchanged (same id, weights and seed); after {@code max-attempts} issues the round
 * fails. What each iteration trained on is kept as topic offsets for the version's lineage.
 */
final class WorkerRolloutSource implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(WorkerRolloutSource.class);

  /** What a round asks the workers for, besides each iteration's prompts. */
  record Round(
      String learnerId,
      long policyVersion,
      long rewardModelVersion,
      String rewardArtifactUri,
      String rewardArtifactSha256,
      double rewardOffset,
      double rewardScale,
      int samplesPerPrompt,
      int maxNewTokens,
      double missingEosPenalty,
      Instant startedAt) {

    /** The iteration a request id of this round's learner names; -1 for any other id. */
    int iterationOf(String requestId) {
      String prefix = learnerId + ":";
      if (!requestId.startsWith(prefix)) {
        return -1;
      }
      String[] parts = requestId.substring(prefix.length()).split(":");
      try {
        return parts.length == 2 ? Integer.parseInt(parts[0]) : -1;
      } catch (NumberFormatException e) {
        return -1;
      }
    }
  }

  /** The round's iterations: each one's prompts (fitted, distinct) and seed. */
  interface Plan {
    List<int[]> prompts(int iteration);

    long seed(int iteration);

    int iterations();
  }

  private record Snapshot(int step, String uri, String sha256) {}

  private record Issued(RolloutRequest request, int attempts, Instant deadline) {}

  private final RolloutConfig config;
  private final Round round;
  private final PolicyModel policy;
  private final Path snapshotDir;
  private final BooleanSupplier stop;
  private final KafkaProducer<String, RolloutRequest> producer;
  private final RolloutBatchInbox inbox;
  private final Map<Integer, Issued> issued = new HashMap<>();
  private final OffsetRanges lineage;
  private Snapshot snapshot;
  private int nextToIssue;
  private long dropped;
  private long reissued;
  private int maxSeen;
  private double stalenessSum;
  private int trained;

  /**
   * @param artifactRoot the shared artifact root; snapshots go to {@code
   *     rollout-snapshots/<learner>/} below it (other learners' snapshot directories are removed)
   * @param consumedBefore the batches a resumed round had trained on (its checkpoint's lineage)
   * @param fromIteration the first iteration this process will train
   */
  WorkerRolloutSource(
      KafkaSettings kafka,
      RolloutConfig config,
      Path artifactRoot,
      Round round,
      PolicyModel policy,
      List<OffsetRange> consumedBefore,
      int fromIteration,
      BooleanSupplier stop) {
    this.config = config;
    this.round = round;
    this.policy = policy;
    this.stop = stop;
    this.nextToIssue = fromIteration;
    Path snapshots = artifactRoot.resolve("rollout-snapshots");
    this.snapshotDir = snapshots.resolve(round.learnerId());
    removeOtherSnapshots(snapshots);
    this.lineage = OffsetRanges.of(config.getBatchesTopic(), consumedBefore);

    Map<String, Object> producerConfig = kafka.producerConfig("policy-trainer-rollouts");
    AvroSerializer<RolloutRequest> values = new AvroSerializer<>();
    values.configure(producerConfig, false);
    producer = new KafkaProducer<>(producerConfig, new StringSerializer(), values);
    inbox = new RolloutBatchInbox(kafka, config, round);
  }

  /**
   * Iteration {@code iteration}'s batch, the learner being at that step: issues what the staleness
   * bound allows ahead, then waits.
   *
   * @throws StopSignal when asked to stop while waiting
   * @throws IllegalStateException when a request went unanswered {@code max-attempts} times
   */
  SourcedRollout next(int iteration, Plan plan) {
    long t0 = System.nanoTime();
    int last = Math.min(plan.iterations() - 1, iteration + config.getMaxStaleness());
    for (int j = Math.max(nextToIssue, iteration); j <= last; j++) {
      issue(j, iteration, plan, 1);
    }
    nextToIssue = Math.max(nextToIssue, last + 1);
    while (true) {
      ConsumerRecord<String, RolloutBatch> record = inbox.take(iteration);
      if (record != null) {
        RolloutBatch batch = record.value();
        int staleness = iteration - batch.getLearnerStep();
        if (staleness >= 0 && staleness <= config.getMaxStaleness()) {
          inbox.trainedOn(iteration);
          lineage.add(record.partition(), record.offset());
          issued.remove(iteration);
          return sourced(batch, staleness, (System.nanoTime() - t0) / 1e9);
        }
        dropped++;
        LOG.info(
            "batch {} of iteration {} is {} steps old (bound {}): dropped",
            batch.getRequestId(),
            iteration,
            staleness,
            config.getMaxStaleness());
        Issued pending = issued.get(iteration);
        if (pending == null
            || iteration - pending.request().getLearnerStep() > config.getMaxStaleness()) {
          issue(iteration, iteration, plan, 1);
        }
      }
      Issued pending = issued.get(iteration);
      if (pending == null) {
        issue(iteration, iteration, plan, 1);
        pending = issued.get(iteration);
      }
      if (Instant.now().isAfter(pending.deadline())) {
        if (pending.attempts() >= config.getMaxAttempts()) {
          throw new IllegalStateException(
              "no rollout batch for "
                  + pending.request().getRequestId()
                  + " after "
                  + pending.attempts()
                  + " issues of "
                  + config.getDeadline()
                  + " each: are rollout workers running (group on "
                  + config.getRequestsTopic()
                  + ")?");
        }
        reissued++;
        LOG.warn(
            "no batch for {} by its deadline: issued again (attempt {} of {})",
            pending.request().getRequestId(),
            pending.attempts() + 1,
            config.getMaxAttempts());
        send(pending.request(), pending.attempts() + 1);
      }
      if (stop.getAsBoolean()) {
        throw new StopSignal();
      }
      inbox.poll();
    }
  }

  /** Issues iteration {@code iteration}'s request from the weights of step {@code step}. */
  private void issue(int iteration, int step, Plan plan, int attempt) {
    Snapshot s = snapshotAt(step);
    RolloutRequest request =
        RolloutRequest.newBuilder()
            .setEventId(UUID.randomUUID().toString())
            .setRequestId(round.learnerId() + ":" + iteration + ":" + step)
            .setEventTime(Instant.now())
            .setLearnerId(round.learnerId())
            .setPolicyVersion(round.policyVersion())
            .setLearnerStep(step)
            .setPolicyArtifactUri(s.uri())
            .setPolicyArtifactSha256(s.sha256())
            .setRewardModelVersion(round.rewardModelVersion())
            .setRewardArtifactUri(round.rewardArtifactUri())
            .setRewardArtifactSha256(round.rewardArtifactSha256())
            .setRewardOffset(round.rewardOffset())
            .setRewardScale(round.rewardScale())
            .setPrompts(RolloutEvents.toPrompts(plan.prompts(iteration)))
            .setSamplesPerPrompt(round.samplesPerPrompt())
            .setSampling(
                new SamplingParams(1.0, 1.0, 0, round.maxNewTokens(), plan.seed(iteration)))
            .setDeadline(Instant.now())
            .build();
    send(request, attempt);
  }

  private void send(RolloutRequest request, int attempt) {
    Instant deadline = Instant.now().plus(config.getDeadline());
    RolloutRequest copy =
        RolloutRequest.newBuilder(request)
            .setEventId(UUID.randomUUID().toString())
            .setEventTime(Instant.now())
            .setDeadline(deadline)
            .build();
    try {
      producer
          .send(new ProducerRecord<>(config.getRequestsTopic(), copy.getRequestId(), copy))
          .get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StopSignal();
    } catch (ExecutionException e) {
      throw new IllegalStateException("issuing " + copy.getRequestId() + " failed", e.getCause());
    }
    int iteration = round.iterationOf(copy.getRequestId());
    issued.put(iteration, new Issued(copy, attempt, deadline));
  }

  /** The current weights as a snapshot artifact, saved once per step. */
  private Snapshot snapshotAt(int step) {
    if (snapshot != null && snapshot.step() == step) {
      return snapshot;
    }
    Path dir =
        snapshotDir.resolve("step-" + step + "-" + UUID.randomUUID().toString().substring(0, 8));
    try {
      String sha =
          ModelArtifacts.save(
              dir,
              policy,
              ByteTokenizer.INSTANCE,
              Map.of(
                  "learner", round.learnerId(),
                  "step", String.valueOf(step),
                  "base_version", String.valueOf(round.policyVersion())));
      snapshot = new Snapshot(step, dir.toUri().toString(), sha);
      return snapshot;
    } catch (IOException e) {
      throw new UncheckedIOException("saving the rollout snapshot of step " + step, e);
    }
  }

  private SourcedRollout sourced(RolloutBatch batch, int staleness, double waitSeconds) {
    ScoredRollout scored = inbox.scored(batch);
    trained++;
    stalenessSum += staleness;
    maxSeen = Math.max(maxSeen, staleness);
    double samplingSeconds = (batch.getGenerationMillis() + batch.getScoringMillis()) / 1e3;
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("off_policy_staleness", (double) staleness);
    m.put("off_policy_mean", stalenessSum / trained);
    m.put("off_policy_max", (double) maxSeen);
    m.put("off_policy_dropped", (double) dropped);
    m.put("rollout_duplicates", (double) inbox.duplicates());
    m.put("rollout_reissued", (double) reissued);
    m.put("rollout_invalid", (double) inbox.invalid());
    m.put("rollout_wait_s", waitSeconds);
    m.put(
        "rollout_tokens_per_s",
        batch.getGeneratedTokens() / Math.max(1e-3, batch.getGenerationMillis() / 1e3));
    m.put("rollout_load_s", batch.getLoadMillis() / 1e3);
    return new SourcedRollout(scored, staleness, samplingSeconds, waitSeconds, m);
  }

  /** The batches trained on so far, as offsets of the batches topic (the version's lineage). */
  List<OffsetRange> lineage() {
    return lineage.toList();
  }

  /** Lineage as a checkpoint keeps it: {@code partition:from-until} joined by commas. */
  static String encode(List<OffsetRange> ranges) {
    StringBuilder b = new StringBuilder();
    for (OffsetRange r : ranges) {
      if (b.length() > 0) {
        b.append(',');
      }
      b.append(r.getPartition())
          .append(':')
          .append(r.getFromOffset())
          .append('-')
          .append(r.getUntilOffset());
    }
    return b.toString();
  }

  /** The inverse of {@link #encode} (empty or null: none). */
  static List<OffsetRange> decode(String topic, String encoded) {
    List<OffsetRange> out = new ArrayList<>();
    if (encoded == null || encoded.isBlank()) {
      return out;
    }
    for (String part : encoded.split(",")) {
      String[] pr = part.split(":");
      String[] fu = pr[1].split("-");
      out.add(
          new OffsetRange(
              topic, Integer.parseInt(pr[0]), Long.parseLong(fu[0]), Long.parseLong(fu[1])));
    }
    return out;
  }

  long dropped() {
    return dropped;
  }

  long duplicates() {
    return inbox.duplicates();
  }

  private void removeOtherSnapshots(Path snapshots) {
    if (!Files.isDirectory(snapshots)) {
      return;
    }
    try (Stream<Path> dirs = Files.list(snapshots)) {
      dirs.filter(d -> !d.equals(snapshotDir)).forEach(FileTrees::deleteQuietly);
    } catch (IOException e) {
      LOG.warn("could not list {}: {}", snapshots, e.toString());
    }
  }

  @Override
  public void close() {
    producer.close(Duration.ofSeconds(10));
    inbox.close();
  }
}
