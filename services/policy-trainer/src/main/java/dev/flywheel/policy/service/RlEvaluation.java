package dev.flywheel.policy.service;

import dev.flywheel.policy.config.PolicyTrainerConfig;
import dev.flywheel.policy.train.PolicyEvaluator;
import dev.flywheel.policy.train.PpoConfig;
import dev.flywheel.policy.train.PromptPool;
import java.util.List;
import java.util.Random;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The held-out evaluation of an RL round's policy against its base and reference (on training
 * prompts when none is held out) and the {@link PromotionGate}'s verdict on it.
 */
final class RlEvaluation {

  /** Logs as the round it is a step of. */
  private static final Logger LOG = LoggerFactory.getLogger(RlRound.class);

  /**
   * @param eval the held-out figures
   * @param verdict the status the version is published with, and why
   * @param onTrainPrompts whether there were no held-out prompts and training prompts stood in
   */
  record Outcome(
      PolicyEvaluator.Result eval, PromotionGate.Verdict verdict, boolean onTrainPrompts) {}

  private final PolicyTrainerConfig config;
  private final PpoConfig ppoConfig;
  private final PromptPool prompts;

  RlEvaluation(PolicyTrainerConfig config, PpoConfig ppoConfig, PromptPool prompts) {
    this.config = config;
    this.ppoConfig = ppoConfig;
    this.prompts = prompts;
  }

  /** Evaluates and judges the policy of the round that will publish version {@code target}. */
  Outcome evaluate(long target, RlRoundSetup.Models models) {
    List<int[]> heldOut =
        prompts.heldOut(ppoConfig.getEvalPrompts()).stream()
            .map(models.trainer()::fitPrompt)
            .toList();
    boolean onTrain = heldOut.isEmpty();
    if (onTrain) {
      LOG.warn("no held-out prompts: evaluating on training prompts");
      heldOut =
          prompts
              .sampleTrain(
                  ppoConfig.getEvalPrompts(),
                  ppoConfig.getTranscriptPromptShare(),
                  new Random(ppoConfig.getSeed()))
              .stream()
              .map(models.trainer()::fitPrompt)
              .toList();
    }
    PolicyEvaluator evaluator =
        new PolicyEvaluator(
            models.scorer(),
            ppoConfig.getMaxNewTokens(),
            ppoConfig.getEvalSamplesPerPrompt(),
            ppoConfig.getRewardDropConfidence());
    PolicyEvaluator.Result eval =
        evaluator.evaluate(
            models.policy(),
            models.previous(),
            models.reference(),
            heldOut,
            RoundRanges.mix(ppoConfig.getSeed(), 0, -1));
    PromotionGate.Verdict verdict =
        PromotionGate.judge(
            eval,
            ppoConfig.getMaxEvalKl(),
            ppoConfig.getRewardDropTolerance(),
            config.isAutoPromote());
    LOG.info(
        "PPO version {} evaluation on {} held-out prompts: {} -> {} ({})",
        target,
        eval.prompts(),
        eval.metrics(),
        verdict.status(),
        verdict.reason());
    return new Outcome(eval, verdict, onTrain);
  }
}
