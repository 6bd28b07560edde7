package dev.flywheel.reward;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The metrics of a reward-model version ({@code RewardModelVersion.metrics}): the eval result, the
 * training figures, the round's plan and input, the reward offset and scale, the gate's decision,
 * the parent's score on the same eval groups and the agreement ceilings. Values that are not finite
 * (no parent, no pair trained, ...) are left out.
 */
final class RewardVersionMetrics {

  private RewardVersionMetrics() {}

  /**
   * What a finished round measured and used.
   *
   * @param eval the new version on the eval groups
   * @param train what training reported
   * @param plan the round's plan
   * @param validationLoss the best epoch's validation loss (reported when the plan early-stops)
   * @param bestEpoch the epoch kept (reported when the plan early-stops)
   * @param roundInput the round's input
   * @param replayGroups groups replayed from the buffer
   * @param resumedFromStep the step a resumed round continued from (0: not resumed)
   * @param rewardOffset mean raw score of the reference responses
   * @param references the reference responses of the offset
   * @param gate the gate's decision
   * @param baseline the parent on the same eval groups, or null without a (usable) parent
   * @param parentOnNewGroups the parent on the round's new train groups before training on them, or
   *     null without a (usable) parent or new groups
   * @param agreementCeiling the newest inter-annotator agreement rate, or null if none is known
   * @param unusableParentVersion the accepted version whose artifact could not be loaded, or null
   * @param roundSeconds seconds since the round started
   */
  record Inputs(
      RewardEvaluator.Result eval,
      RoundTraining.Result train,
      RoundPlan plan,
      double validationLoss,
      int bestEpoch,
      RewardInputLog.RoundInput roundInput,
      int replayGroups,
      int resumedFromStep,
      double rewardOffset,
      RewardSideInputs.References references,
      RewardGate.Decision gate,
      RewardEvaluator.Result baseline,
      RewardEvaluator.Result parentOnNewGroups,
      Double agreementCeiling,
      Long unusableParentVersion,
      double roundSeconds) {}

  /** The version's metrics, in a fixed order; non-finite values dropped. */
  static Map<String, Double> of(Inputs in) {
    RewardEvaluator.Result result = in.eval();
    RoundTraining.Result train = in.train();
    RoundPlan plan = in.plan();
    Map<String, Double> m = new LinkedHashMap<>(result.metrics("eval_"));
    m.put("train_loss", train.meanLoss());
    m.put("train_accuracy", train.meanAccuracy());
    m.put("groups_trained", (double) plan.train().size());
    m.put("validation_groups", (double) plan.validation().size());
    if (plan.earlyStopping()) {
      m.put("validation_loss", in.validationLoss());
      m.put("best_epoch", (double) in.bestEpoch());
      m.put("epochs_run", (double) train.epochsRun());
      m.put("early_stopped", train.epochsRun() < plan.epochs() ? 1.0 : 0.0);
    }
    m.put("new_groups", (double) in.roundInput().newTrain().size());
    m.put("replay_groups", (double) in.replayGroups());
    m.put("stale_groups_dropped", (double) in.roundInput().staleDropped().size());
    m.put("input_records", (double) in.roundInput().all().size());
    m.put("epochs", (double) plan.epochs());
    m.put("steps", (double) plan.totalSteps());
    m.put("resumed_from_step", (double) in.resumedFromStep());
    m.put("train_seconds", train.seconds());
    m.put("groups_per_s", train.groupsPerSecond());
    m.put("reward_offset", in.rewardOffset());
    // consumers that want one unit scale across versions: (raw − reward_offset) / reward_scale,
    // or per-group centred scores / reward_scale
    m.put("reward_scale", result.scoreScale());
    m.put("reference_responses", (double) in.references().sequences().size());
    m.put("reference_from_demonstrations", in.references().fromDemonstrations() ? 1.0 : 0.0);
    m.putAll(in.gate().metrics());
    if (in.baseline() != null) {
      m.put("parent_eval_accuracy", in.baseline().accuracy());
      m.put("parent_eval_loss", in.baseline().loss());
    }
    if (in.parentOnNewGroups() != null) {
      m.put("parent_new_groups_accuracy", in.parentOnNewGroups().accuracy());
    }
    Double agreementCeiling = in.agreementCeiling();
    if (agreementCeiling != null) {
      // two ceilings: how often two labelers agree, and how often one labeler agrees with the
      // truth — which is what a perfect reward model scores against a held-out labeler
      // (labelerAccuracy)
      double labelerCeiling = labelerAccuracy(agreementCeiling);
      m.put("agreement_ceiling", agreementCeiling);
      m.put("eval_accuracy_over_agreement", result.accuracy() / agreementCeiling);
      m.put("labeler_accuracy_ceiling", labelerCeiling);
      m.put("eval_accuracy_over_ceiling", result.accuracy() / labelerCeiling);
    }
    if (in.unusableParentVersion() != null) {
      m.put("unusable_parent_version", (double) in.unusableParentVersion());
    }
    m.put("round_seconds", in.roundSeconds());
    m.values().removeIf(v -> v == null || !Double.isFinite(v));
    return m;
  }

  /**
   * The accuracy p of one labeler against the true order implied by an inter-labeler agreement rate
   * a: two independent labelers agree when both are right or both wrong, a = p² + (1 − p)², so p =
   * (1 + √(2a − 1)) / 2 (0.5 at a ≤ 0.5). A reward model that knew the truth would agree with a
   * held-out labeler with probability p, so p — not a — is the ceiling of {@code eval_accuracy}.
   * With InstructGPT's a = 0.73, p = 0.84. It assumes every pair is equally hard; mixing easy and
   * hard pairs makes the true ceiling a little lower (the simulator's labelers: a = 0.73, p =
   * 0.81).
   */
  static double labelerAccuracy(double agreement) {
    return agreement <= 0.5 ? 0.5 : (1 + Math.sqrt(Math.min(1, 2 * agreement - 1))) / 2;
  }

  /**
   * The values of the round's closing {@code eval} event on {@code training.metrics}: what the
   * version scored and whether it passed the gate (NaN where there is no parent or no ceiling).
   */
  static Map<String, Double> evalEvent(Inputs in) {
    return Map.of(
        "eval_accuracy",
        in.eval().accuracy(),
        "eval_loss",
        in.eval().loss(),
        "parent_eval_accuracy",
        in.baseline() == null ? Double.NaN : in.baseline().accuracy(),
        "agreement_ceiling",
        in.agreementCeiling() == null ? Double.NaN : in.agreementCeiling(),
        "reward_offset",
        in.rewardOffset(),
        "gate_passed",
        in.gate().accepted() ? 1.0 : 0.0);
  }
}
