package dev.flywheel.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.ComparisonPair;
import dev.flywheel.events.DataSplit;
import dev.flywheel.events.DeadLetter;
import dev.flywheel.events.RankedResponse;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.events.TrainingMetrics;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(FlywheelInfraExtension.class)
class InputHandlingTest {

  private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");

  /**
   * The time trigger T (N is out of reach), the staleness bound, and dead letters: 100 groups from
   * policy version 10 are trained on; 200 from policy version 1 are more than 2 versions behind the
   * newest (10) and are dropped; a non-Avro record and a group whose pair names an unknown response
   * go to the dead-letter topic with their source offsets. Every offset, dropped or dead-lettered,
   * is inside the version's lineage.
   */
  @Test
  void timeTriggerStalenessBoundAndDeadLetters(FlywheelInfra infra) throws Exception {
    TrainerHarness h = new TrainerHarness(infra);
    SyntheticPreferences prefs = new SyntheticPreferences(3, 0.0);
    h.produce(h.comparisons, prefs.groups(40, DataSplit.EVAL, T0));
    h.produce(
        h.comparisons,
        prefs.groups(100, DataSplit.TRAIN, T0.plusSeconds(1)).stream()
            .map(g -> withPolicyVersion(g, 10))
            .toList());
    h.produce(
        h.comparisons,
        prefs.groups(200, DataSplit.TRAIN, T0.plusSeconds(2)).stream()
            .map(g -> withPolicyVersion(g, 1))
            .toList());
    ComparisonGroup good = prefs.group(DataSplit.TRAIN, T0.plusSeconds(3));
    h.produce(
        h.comparisons,
        List.of(
            ComparisonGroup.newBuilder(good)
                .setPairs(
                    List.of(
                        new ComparisonPair("ghost", good.getResponses().get(0).getResponseId())))
                .build()));
    try (KafkaProducer<String, byte[]> raw =
        new KafkaProducer<>(
            infra.producerProps(), new StringSerializer(), new ByteArraySerializer())) {
      raw.send(new ProducerRecord<>(h.comparisons, 2, "garbage", "not avro".getBytes())).get();
    }

    RewardTrainerConfig config =
        h.config(
            Map.of(
                "flywheel.reward-trainer.round-min-groups", "100000",
                "flywheel.reward-trainer.round-max-wait", "4s",
                "flywheel.reward-trainer.max-policy-staleness", "2"));
    try (RunningTrainer trainer = new RunningTrainer(config, h.kafka())) {
      List<RewardModelVersion> all =
          h.awaitVersions(
              v ->
                  !v.isEmpty()
                      && v.get(v.size() - 1).getVersion() == 1
                      && v.get(v.size() - 1).getStatus()
                          != dev.flywheel.events.ModelStatus.CANDIDATE,
              Duration.ofMinutes(2),
              trainer::describe);
      RewardModelVersion v1 = all.get(all.size() - 1);
      Map<String, Double> m = v1.getMetrics();
      assertEquals(100.0, m.get("new_groups"));
      assertEquals(200.0, m.get("stale_groups_dropped"));
      assertEquals(100.0, m.get("groups_trained"));
      assertEquals(340.0, m.get("input_records"), "decodable, valid groups: 40 eval + 300 train");
      long covered =
          v1.getTrainingData().stream()
              .mapToLong(r -> r.getUntilOffset() - r.getFromOffset())
              .sum();
      assertEquals(342, covered, "the lineage covers every offset read, dead letters included");
      assertEquals(2, trainer.trainer.stats().deadLetters());
    }
    List<DeadLetter> letters =
        h.readAll(h.deadLetters, DeadLetter.class).stream().map(r -> r.value()).toList();
    assertEquals(2, letters.size());
    Set<String> types = letters.stream().map(DeadLetter::getErrorType).collect(Collectors.toSet());
    assertTrue(types.contains("INVALID_GROUP"), types.toString());
    DeadLetter garbage =
        letters.stream()
            .filter(l -> !l.getErrorType().equals("INVALID_GROUP"))
            .findFirst()
            .orElseThrow();
    assertEquals(h.comparisons, garbage.getSourceTopic());
    assertEquals(2, garbage.getSourcePartition());
    assertEquals("reward-trainer", garbage.getService());
    assertTrue(
        garbage.getRawValue() != null && garbage.getRawValue().remaining() == "not avro".length());
  }

  /**
   * Trigger T counts from the arrival of the oldest waiting train group, not from the trainer's
   * start: a trainer that sat idle for longer than T (the loop's SFT took minutes before the first
   * ranking) must not train its first version on the first groups that trickle in. Fails with T
   * counted from the start: the round would begin as soon as the first train group arrived.
   */
  @Test
  void theTimeTriggerCountsFromTheFirstWaitingGroup(FlywheelInfra infra) throws Exception {
    TrainerHarness h = new TrainerHarness(infra);
    SyntheticPreferences prefs = new SyntheticPreferences(4, 0.0);
    h.produce(h.comparisons, prefs.groups(40, DataSplit.EVAL, T0));
    Duration maxWait = Duration.ofSeconds(6);
    RewardTrainerConfig config =
        h.config(
            Map.of(
                "flywheel.reward-trainer.round-min-groups",
                "100000",
                "flywheel.reward-trainer.round-max-wait",
                maxWait.toSeconds() + "s"));
    try (RunningTrainer trainer = new RunningTrainer(config, h.kafka())) {
      long started = System.nanoTime();
      long deadline = started + Duration.ofMinutes(1).toNanos();
      // idle (only eval groups) for longer than T
      while (trainer.trainer.stats().state() != RewardTrainerStats.State.WAITING
          || System.nanoTime() - started < maxWait.toNanos() + 1_000_000_000L) {
        assertTrue(System.nanoTime() < deadline, "trainer never idle: " + trainer.describe());
        Thread.sleep(100);
      }
      Instant produced = Instant.now();
      h.produce(h.comparisons, prefs.groups(50, DataSplit.TRAIN, T0.plusSeconds(1)));
      h.awaitVersions(v -> !v.isEmpty(), Duration.ofMinutes(2), trainer::describe);
      Instant firstStep =
          h.metrics().stream()
              .filter(m -> m.getPhase().equals("reward"))
              .map(TrainingMetrics::getEventTime)
              .min(Instant::compareTo)
              .orElseThrow();
      Duration waited = Duration.between(produced, firstStep);
      assertTrue(
          waited.compareTo(maxWait) >= 0,
          "the round began "
              + waited
              + " after the first train group, "
              + "before round-max-wait "
              + maxWait);
    }
  }

  private static ComparisonGroup withPolicyVersion(ComparisonGroup g, long version) {
    List<RankedResponse> responses =
        g.getResponses().stream()
            .map(r -> RankedResponse.newBuilder(r).setPolicyVersion(version).build())
            .toList();
    return ComparisonGroup.newBuilder(g)
        .setResponses(responses)
        .setPolicyVersions(List.of(version))
        .build();
  }
}
