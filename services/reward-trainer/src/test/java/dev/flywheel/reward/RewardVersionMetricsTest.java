package dev.flywheel.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.DataSplit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A version's metrics map from a round's figures (no model, no Kafka). */
class RewardVersionMetricsTest {

  private static final double EPS = 1e-12;
  private static final List<String> EARLY_STOPPING_KEYS =
      List.of("validation_loss", "best_epoch", "epochs_run", "early_stopped");
  private static final List<String> CEILING_KEYS =
      List.of(
          "agreement_ceiling",
          "eval_accuracy_over_agreement",
          "labeler_accuracy_ceiling",
          "eval_accuracy_over_ceiling");

  /** {@code n} groups (the metrics only count them). */
  private static List<EncodedGroup> groups(int n) {
    EncodedGroup g =
        new EncodedGroup(0, 0, 0, "g", "p", DataSplit.TRAIN, List.of(), List.of(), List.of(), -1);
    return Collections.nCopies(n, g);
  }

  private static RewardEvaluator.Result eval(double accuracy, double loss) {
    return new RewardEvaluator.Result(
        accuracy,
        loss,
        60,
        10,
        List.of(new RewardEvaluator.Bucket(0.75, 0.7, 1.2, 60)),
        0.05,
        accuracy - 0.1,
        accuracy + 0.1,
        new int[10],
        new int[10],
        1.5);
  }

  /** 40 groups trained, {@code validation} held back, 3 steps an epoch. */
  private static RoundPlan plan(int epochs, int validation) {
    List<EncodedGroup> train = groups(40);
    return new RoundPlan(train, groups(validation), epochs, 3, List.of(), "h");
  }

  private static RewardVersionMetrics.Inputs inputs(
      RoundPlan plan,
      RoundTraining.Result train,
      double validationLoss,
      RewardGate.Decision gate,
      RewardEvaluator.Result baseline,
      Double agreementCeiling,
      Long unusableParent) {
    return inputs(
        plan, train, validationLoss, gate, baseline, null, agreementCeiling, unusableParent);
  }

  private static RewardVersionMetrics.Inputs inputs(
      RoundPlan plan,
      RoundTraining.Result train,
      double validationLoss,
      RewardGate.Decision gate,
      RewardEvaluator.Result baseline,
      RewardEvaluator.Result parentOnNewGroups,
      Double agreementCeiling,
      Long unusableParent) {
    // 30 new, 2 stale, 3 eval-split records in the input; 10 groups replayed
    List<EncodedGroup> newTrain = groups(30);
    List<EncodedGroup> stale = groups(2);
    List<EncodedGroup> all = new ArrayList<>(newTrain);
    all.addAll(stale);
    all.addAll(groups(3));
    return new RewardVersionMetrics.Inputs(
        eval(0.8, 0.45),
        train,
        plan,
        validationLoss,
        2,
        new RewardInputLog.RoundInput(all, newTrain, stale),
        10,
        0,
        -0.25,
        new RewardSideInputs.References(List.of(new int[] {1}, new int[] {2}), true),
        gate,
        baseline,
        parentOnNewGroups,
        agreementCeiling,
        unusableParent,
        12.5);
  }

  private static final RoundTraining.Result TRAINED = new RoundTraining.Result(0.5, 0.7, 4, 10, 1);
  private static final RewardGate.Decision FIRST_ACCEPTED =
      new RewardGate.Decision(true, 0.6, 0.5, Double.NaN, Double.NaN, Double.NaN, false);
  private static final RewardGate.Decision AGAINST_PARENT =
      new RewardGate.Decision(true, -0.01, -0.02, 0.03, -0.01, 0.07, false);

  private static Map<String, Double> metrics(RewardVersionMetrics.Inputs in) {
    return RewardVersionMetrics.of(in);
  }

  @Test
  void reportsTheRoundsCountsAndFigures() {
    Map<String, Double> m =
        metrics(inputs(plan(1, 0), TRAINED, Double.NaN, FIRST_ACCEPTED, null, null, null));
    assertEquals(0.8, m.get("eval_accuracy"));
    assertEquals(0.45, m.get("eval_loss"));
    assertEquals(0.75, m.get("calibration_bucket_0_accuracy"));
    assertEquals(0.5, m.get("train_loss"));
    assertEquals(0.7, m.get("train_accuracy"));
    assertEquals(40.0, m.get("groups_trained"));
    assertEquals(0.0, m.get("validation_groups"));
    assertEquals(30.0, m.get("new_groups"));
    assertEquals(10.0, m.get("replay_groups"));
    assertEquals(2.0, m.get("stale_groups_dropped"));
    assertEquals(35.0, m.get("input_records"));
    assertEquals(1.0, m.get("epochs"));
    assertEquals(3.0, m.get("steps"));
    assertEquals(0.0, m.get("resumed_from_step"));
    assertEquals(4.0, m.get("train_seconds"));
    assertEquals(10.0, m.get("groups_per_s"));
    assertEquals(-0.25, m.get("reward_offset"));
    assertEquals(1.5, m.get("reward_scale"));
    assertEquals(2.0, m.get("reference_responses"));
    assertEquals(1.0, m.get("reference_from_demonstrations"));
    assertEquals(1.0, m.get("gate_passed"));
    assertEquals(0.0, m.get(RewardGate.QUARANTINE_METRIC));
    assertEquals(12.5, m.get("round_seconds"));
    List<String> keys = List.copyOf(m.keySet());
    assertEquals("eval_accuracy", keys.get(0), "the eval metrics come first");
    assertEquals("round_seconds", keys.get(keys.size() - 1), "the round's duration comes last");
    assertFalse(m.containsKey("unusable_parent_version"));
  }

  @Test
  void earlyStoppingKeysOnlyWhenThePlanEarlyStops() {
    Map<String, Double> single =
        metrics(inputs(plan(1, 0), TRAINED, 0.3, FIRST_ACCEPTED, null, null, null));
    EARLY_STOPPING_KEYS.forEach(k -> assertFalse(single.containsKey(k), k));

    // 4 epochs planned, 2 run: stopped early, epoch 2 kept
    RoundTraining.Result twoOfFour = new RoundTraining.Result(0.5, 0.7, 4, 10, 2);
    Map<String, Double> stopped =
        metrics(inputs(plan(4, 12), twoOfFour, 0.3, FIRST_ACCEPTED, null, null, null));
    assertEquals(0.3, stopped.get("validation_loss"));
    assertEquals(2.0, stopped.get("best_epoch"));
    assertEquals(2.0, stopped.get("epochs_run"));
    assertEquals(1.0, stopped.get("early_stopped"));
    assertEquals(12.0, stopped.get("validation_groups"));
    assertEquals(12.0, stopped.get("steps"));

    RoundTraining.Result allFour = new RoundTraining.Result(0.5, 0.7, 4, 10, 4);
    Map<String, Double> ranAll =
        metrics(inputs(plan(4, 12), allFour, 0.3, FIRST_ACCEPTED, null, null, null));
    assertEquals(0.0, ranAll.get("early_stopped"));
    assertEquals(4.0, ranAll.get("epochs_run"));
  }

  @Test
  void bothCeilingsOnlyWhenAnAgreementRateIsKnown() {
    Map<String, Double> none =
        metrics(inputs(plan(1, 0), TRAINED, Double.NaN, FIRST_ACCEPTED, null, null, null));
    CEILING_KEYS.forEach(k -> assertFalse(none.containsKey(k), k));

    Map<String, Double> m =
        metrics(inputs(plan(1, 0), TRAINED, Double.NaN, FIRST_ACCEPTED, null, 0.73, null));
    // one labeler's accuracy p with p² + (1 − p)² = 0.73: (1 + √0.46) / 2
    double labeler = (1 + Math.sqrt(0.46)) / 2;
    assertEquals(0.73, m.get("agreement_ceiling"));
    assertEquals(0.8 / 0.73, m.get("eval_accuracy_over_agreement"), EPS);
    assertEquals(labeler, m.get("labeler_accuracy_ceiling"), EPS);
    assertEquals(0.839116, m.get("labeler_accuracy_ceiling"), 1e-6);
    assertEquals(0.8 / labeler, m.get("eval_accuracy_over_ceiling"), EPS);
    // one labeler is right more often than two agree: the labeler ceiling is the higher one
    assertTrue(m.get("labeler_accuracy_ceiling") > m.get("agreement_ceiling"));
    assertTrue(m.get("eval_accuracy_over_ceiling") < m.get("eval_accuracy_over_agreement"));
  }

  @Test
  void nonFiniteValuesAreLeftOut() {
    // nothing trained (NaN losses), no validation observed (infinite loss), a first version's gate
    // (no difference to a parent)
    RoundTraining.Result nothing = new RoundTraining.Result(Double.NaN, Double.NaN, 0, 0, 0);
    Map<String, Double> m =
        metrics(
            inputs(
                plan(4, 12), nothing, Double.POSITIVE_INFINITY, FIRST_ACCEPTED, null, null, null));
    for (String k :
        List.of(
            "train_loss",
            "train_accuracy",
            "validation_loss",
            "parent_accuracy_difference",
            "parent_accuracy_difference_low",
            "parent_accuracy_difference_high")) {
      assertFalse(m.containsKey(k), k);
    }
    assertEquals(2.0, m.get("best_epoch"), "the finite early-stopping figures stay");
    m.forEach((k, v) -> assertTrue(Double.isFinite(v), k + " = " + v));
  }

  @Test
  void parentKeysOnlyWithABaseline() {
    Map<String, Double> fresh =
        metrics(inputs(plan(1, 0), TRAINED, Double.NaN, FIRST_ACCEPTED, null, null, null));
    assertFalse(fresh.containsKey("parent_eval_accuracy"));
    assertFalse(fresh.containsKey("parent_eval_loss"));
    assertFalse(fresh.containsKey("parent_new_groups_accuracy"));

    Map<String, Double> warm =
        metrics(
            inputs(plan(1, 0), TRAINED, Double.NaN, AGAINST_PARENT, eval(0.77, 0.5), null, null));
    assertEquals(0.77, warm.get("parent_eval_accuracy"));
    assertEquals(0.5, warm.get("parent_eval_loss"));
    assertEquals(0.03, warm.get("parent_accuracy_difference"));
    assertEquals(-0.01, warm.get("parent_accuracy_difference_low"));
    assertEquals(0.07, warm.get("parent_accuracy_difference_high"));
    assertFalse(warm.containsKey("parent_new_groups_accuracy"), "not measured: not reported");

    Map<String, Double> onNew =
        metrics(
            inputs(
                plan(1, 0),
                TRAINED,
                Double.NaN,
                AGAINST_PARENT,
                eval(0.77, 0.5),
                eval(0.64, 0.6),
                null,
                null));
    assertEquals(0.64, onNew.get("parent_new_groups_accuracy"));
    assertEquals(0.77, onNew.get("parent_eval_accuracy"));
  }

  @Test
  void anUnusableParentIsReported() {
    Map<String, Double> m =
        metrics(inputs(plan(1, 0), TRAINED, Double.NaN, FIRST_ACCEPTED, null, null, 7L));
    assertEquals(7.0, m.get("unusable_parent_version"));
  }

  @Test
  void theEvalEventHasNaNWhereThereIsNoParentOrCeiling() {
    RewardGate.Decision rejected =
        new RewardGate.Decision(false, 0.4, 0.5, Double.NaN, Double.NaN, Double.NaN, false);
    Map<String, Double> first =
        RewardVersionMetrics.evalEvent(
            inputs(plan(1, 0), TRAINED, Double.NaN, rejected, null, null, null));
    assertEquals(0.8, first.get("eval_accuracy"));
    assertEquals(0.45, first.get("eval_loss"));
    assertTrue(Double.isNaN(first.get("parent_eval_accuracy")));
    assertTrue(Double.isNaN(first.get("agreement_ceiling")));
    assertEquals(-0.25, first.get("reward_offset"));
    assertEquals(0.0, first.get("gate_passed"));

    Map<String, Double> warm =
        RewardVersionMetrics.evalEvent(
            inputs(plan(1, 0), TRAINED, Double.NaN, AGAINST_PARENT, eval(0.77, 0.5), 0.73, null));
    assertEquals(0.77, warm.get("parent_eval_accuracy"));
    assertEquals(0.73, warm.get("agreement_ceiling"));
    assertEquals(1.0, warm.get("gate_passed"));
  }
}
