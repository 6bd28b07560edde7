package dev.flywheel.policy.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.OffsetRange;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.events.RolloutBatch;
import dev.flywheel.events.TrainingMetrics;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A whole RL round of the loop with its rollouts from the workers ({@code rollout.source: workers},
 * S = 1) on the real broker: the version's lineage names one batch per iteration, and reading those
 * batches back shows none was sampled more than one step before it was trained on.
 */
@ExtendWith(FlywheelInfraExtension.class)
class WorkerRolloutRoundTest {

  @Test
  void anRlRoundTrainsOnWorkerBatchesWithinTheStalenessBoundAndNamesThemInItsLineage(
      FlywheelInfra infra) throws Exception {
    Harness h = new Harness(infra);
    h.ppo.setIterationsPerRound(3);
    h.enableWorkers(1);
    h.produceDemonstrations(40, 1);
    h.produceTranscripts(30, 2);
    PolicyTrainerStatus status = new PolicyTrainerStatus();
    try (RolloutResponder workers = new RolloutResponder(infra, h.rollouts, 1, false)) {
      PolicyTrainerLoop loop = h.loop(status, null);
      loop.start();
      try {
        h.awaitVersion(v -> v.getStage() == PolicyStage.SFT, Duration.ofSeconds(90), status);
        String[] rm = h.trainRewardModel("rm-v1");
        h.publishRewardModel(1, ModelStatus.LIVE, rm[0], rm[1], 0.25);
        PolicyVersion ppo =
            h.awaitVersion(v -> v.getStage() == PolicyStage.PPO, Duration.ofSeconds(120), status);

        assertEquals("workers", ppo.getHyperparameters().get("rollout.source"));
        assertEquals("1", ppo.getHyperparameters().get("rollout.max-staleness"));
        String learner = ppo.getHyperparameters().get("round_id");
        List<OffsetRange> used =
            ppo.getTrainingData().stream()
                .filter(r -> r.getTopic().equals(h.rollouts.getBatchesTopic()))
                .toList();
        assertEquals(
            3,
            used.stream().mapToLong(r -> r.getUntilOffset() - r.getFromOffset()).sum(),
            "one batch per iteration: " + used);

        TreeSet<Integer> iterations = new TreeSet<>();
        for (ConsumerRecord<String, RolloutBatch> r :
            h.readAll(h.rollouts.getBatchesTopic(), RolloutBatch.class)) {
          boolean inLineage =
              used.stream()
                  .anyMatch(
                      u ->
                          u.getPartition() == r.partition()
                              && u.getFromOffset() <= r.offset()
                              && r.offset() < u.getUntilOffset());
          if (!inLineage) {
            continue;
          }
          RolloutBatch b = r.value();
          assertEquals(learner, b.getLearnerId());
          int iteration = Integer.parseInt(b.getRequestId().split(":")[1]);
          int staleness = iteration - b.getLearnerStep();
          assertTrue(
              staleness >= 0 && staleness <= 1,
              b.getRequestId() + " was sampled at step " + b.getLearnerStep());
          assertTrue(iterations.add(iteration), "iteration " + iteration + " trained twice");
        }
        assertEquals(List.of(0, 1, 2), List.copyOf(iterations));
        assertEquals(3, workers.requests().size(), "one request per iteration, none re-issued");
        assertTrue(
            Files.isDirectory(Path.of(h.config.getArtifactRoot(), "rollout-snapshots", learner)),
            "the snapshots the workers loaded");

        List<TrainingMetrics> ppoMetrics =
            h.metrics().stream().filter(m -> m.getPhase().equals("ppo")).toList();
        assertEquals(3, ppoMetrics.size());
        for (TrainingMetrics m : ppoMetrics) {
          assertTrue(m.getValues().get("off_policy_max") <= 1.0, m.getValues().toString());
          assertTrue(m.getValues().containsKey("rollout_wait_s"), m.getValues().toString());
        }
        assertTrue(
            ppoMetrics.stream().anyMatch(m -> m.getValues().containsKey("tis_weight_mean")),
            "stale batches were corrected");
      } finally {
        assertTrue(loop.stop(Duration.ofSeconds(60)));
      }
    }
  }
}
