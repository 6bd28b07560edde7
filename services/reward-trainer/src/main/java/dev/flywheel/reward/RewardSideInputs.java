package dev.flywheel.reward;

import dev.flywheel.events.Demonstration;
import dev.flywheel.events.TrainingMetrics;
import dev.flywheel.modelevents.ChatTurns;
import dev.flywheel.trainerkit.KafkaSettings;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * What a round reads besides its input: the annotator-agreement ceiling (the newest matching {@code
 * training.metrics} value) and the reference responses of the reward offset (the newest {@code
 * max-reference-responses} demonstrations, else the chosen responses of the eval set).
 */
final class RewardSideInputs implements AutoCloseable {

  private final RewardTrainerConfig config;
  private final TopicTail<TrainingMetrics> metricsTail;
  private final TopicTail<Demonstration> demonstrationsTail;
  private final List<Demonstration> demonstrations = new ArrayList<>();
  private Double agreementCeiling;
  private Instant agreementCeilingTime;

  RewardSideInputs(RewardTrainerConfig config, KafkaSettings kafka, Duration timeout) {
    this.config = config;
    this.metricsTail =
        new TopicTail<>(
            kafka,
            config.getMetricsTopic(),
            TrainingMetrics.class,
            config.getCeilingScanRecords(),
            timeout);
    this.demonstrationsTail =
        new TopicTail<>(
            kafka,
            config.getDemonstrationsTopic(),
            Demonstration.class,
            config.getMaxReferenceResponses(),
            timeout);
  }

  /** Reads what arrived on both topics since the last call. */
  void catchUp() {
    metricsTail.catchUp(
        m -> {
          if (config.getCeilingSource().equals(m.getSource())
              && config.getCeilingPhase().equals(m.getPhase())) {
            Double value = m.getValues().get(config.getCeilingValue());
            if (value != null
                && (agreementCeilingTime == null
                    || !m.getEventTime().isBefore(agreementCeilingTime))) {
              agreementCeiling = value;
              agreementCeilingTime = m.getEventTime();
            }
          }
        });
    demonstrationsTail.catchUp(demonstrations::add);
    demonstrations.sort(Comparator.comparing(Demonstration::getEventTime));
    int excess = demonstrations.size() - config.getMaxReferenceResponses();
    if (excess > 0) {
      demonstrations.subList(0, excess).clear();
    }
  }

  /** The newest inter-annotator agreement rate, or null if none was published. */
  Double agreementCeiling() {
    return agreementCeiling;
  }

  record References(List<int[]> sequences, boolean fromDemonstrations) {}

  /** Demonstrations if any were published, else the chosen (tier 0) responses of the eval set. */
  References references(List<EncodedGroup> eval, GroupEncoder encoder) {
    List<int[]> out = new ArrayList<>();
    if (!demonstrations.isEmpty()) {
      for (Demonstration d : demonstrations) {
        out.add(encoder.encodeResponse(ChatTurns.toChatTurns(d.getTurns()), d.getResponse()));
      }
      return new References(out, true);
    }
    for (int i = eval.size() - 1; i >= 0 && out.size() < config.getMaxReferenceResponses(); i--) {
      EncodedGroup g = eval.get(i);
      for (int c : g.chosen()) {
        if (out.size() < config.getMaxReferenceResponses()) {
          out.add(g.sequences().get(c));
        }
      }
    }
    return new References(out, false);
  }

  @Override
  public void close() {
    metricsTail.close();
    demonstrationsTail.close();
  }
}
