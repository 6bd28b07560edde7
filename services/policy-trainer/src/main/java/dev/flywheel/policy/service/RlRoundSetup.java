package dev.flywheel.policy.service;

import ai.djl.ndarray.NDManager;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.model.LoadedModel;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.RewardModelScorer;
import dev.flywheel.model.SftExample;
import dev.flywheel.model.ValueModel;
import dev.flywheel.policy.train.PolicyOptimizer;
import dev.flywheel.policy.train.PpoConfig;
import dev.flywheel.policy.train.ScoreNormalizer;
import dev.flywheel.policy.train.SftConfig;
import dev.flywheel.policy.train.SftTrainer;
import dev.flywheel.policy.train.ValueInitialisation;
import dev.flywheel.trainerkit.Checkpoints;
import java.io.IOException;
import java.util.List;

/**
 * Builds what an RL round trains and evaluates with ({@link Models}): the reward model's scorer,
 * the frozen reference and base policies, the trained policy and value model (from the versions'
 * artifacts for a new round, from the checkpoint for a resumed one) and the {@link PolicyOptimizer}
 * over them, with β and the score normaliser where the round left them.
 */
final class RlRoundSetup {

  /**
   * @param trainer the round's optimizer
   * @param policy the policy it trains
   * @param value its value model, null when the algorithm has none
   * @param previous the base policy, frozen (the evaluation's "previous")
   * @param reference the reference policy, frozen
   * @param scorer the reward model's scores, offset-corrected and scaled
   * @param rewardScale what the scores are divided by ({@link RlRound#rewardScale})
   * @param ptx the demonstrations of the pretraining-mix term, empty without one
   */
  record Models(
      PolicyOptimizer trainer,
      PolicyModel policy,
      ValueModel value,
      PolicyModel previous,
      PolicyModel reference,
      RewardModelScorer scorer,
      double rewardScale,
      List<SftExample> ptx) {}

  private final SftConfig sftConfig;
  private final PpoConfig ppoConfig;
  private final NDManager manager;
  private final InputFeed feed;
  private final PolicyPublisher output;

  RlRoundSetup(
      SftConfig sftConfig,
      PpoConfig ppoConfig,
      NDManager manager,
      InputFeed feed,
      PolicyPublisher output) {
    this.sftConfig = sftConfig;
    this.ppoConfig = ppoConfig;
    this.manager = manager;
    this.feed = feed;
    this.output = output;
  }

  /**
   * Loads the round's models into {@code owned} (the caller closes them) and builds its optimizer;
   * {@code resume} is the checkpoint of a resumed round, else null (then {@code state} records
   * where the value model started).
   */
  Models build(RlRoundState state, Checkpoints.Checkpoint resume, List<AutoCloseable> owned)
      throws IOException {
    RewardModelVersion rm = state.rewardModel();
    PolicyVersion base = state.base();
    PolicyVersion ref = state.reference();
    long refVersion = state.referenceVersion();
    LoadedModel rmLoaded =
        RoundRanges.own(
            owned,
            output.loadOrFail(
                "reward model v" + rm.getVersion(), rm.getArtifactUri(), rm.getArtifactSha256()));
    rmLoaded.reward().setTrainable(false);
    LoadedModel refLoaded =
        RoundRanges.own(
            owned,
            output.loadOrFail(
                "policy v" + refVersion, ref.getArtifactUri(), ref.getArtifactSha256()));
    LoadedModel previous =
        base.getVersion() == refVersion
            ? refLoaded
            : RoundRanges.own(
                owned,
                output.loadOrFail(
                    "policy v" + base.getVersion(),
                    base.getArtifactUri(),
                    base.getArtifactSha256()));
    refLoaded.policy().setTrainable(false);
    previous.policy().setTrainable(false);
    PolicyModel policy;
    ValueModel value;
    double beta;
    ScoreNormalizer normalizer;
    double rewardScale = RlRound.rewardScale(ppoConfig, rm);
    if (resume != null) {
      policy =
          RoundRanges.own(owned, ModelArtifacts.load(resume.file("policy"), null, manager))
              .policy();
      value =
          PolicyOptimizer.needsValueModel(ppoConfig)
              ? RoundRanges.own(owned, ModelArtifacts.load(resume.file("value"), null, manager))
                  .value()
              : null;
      beta = state.beta();
      normalizer = state.normalizer();
    } else {
      policy =
          RoundRanges.own(
                  owned,
                  output.loadOrFail(
                      "policy v" + base.getVersion(),
                      base.getArtifactUri(),
                      base.getArtifactSha256()))
              .policy();
      value =
          PolicyOptimizer.initValue(
              ppoConfig, policy, rmLoaded.reward(), rm.getRewardOffset(), rewardScale, manager);
      if (value != null) {
        RoundRanges.own(owned, value);
      }
      String valueInit =
          value == null
              ? "none"
              : ValueInitialisation.fromRewardModel(
                      ppoConfig.getValueInit(), policy, rmLoaded.reward())
                  ? "reward_model_v" + rm.getVersion()
                  : "policy_v" + base.getVersion();
      beta = initialBeta(base, refVersion);
      normalizer = new ScoreNormalizer();
      state.initialised(valueInit);
    }
    RewardModelScorer scorer =
        new RewardModelScorer(rmLoaded.reward(), rm.getRewardOffset(), rewardScale);
    List<SftExample> ptx =
        ppoConfig.getPtxCoef() > 0 ? ptxExamples(policy.config().contextLength()) : List.of();
    PolicyOptimizer trainer =
        PolicyOptimizer.create(
            ppoConfig, policy, refLoaded.policy(), value, scorer, beta, normalizer, ptx);
    return new Models(
        trainer, policy, value, previous.policy(), refLoaded.policy(), scorer, rewardScale, ptx);
  }

  /**
   * β at the start of a round: the base's final β when it is a PPO policy with the same reference,
   * else the initial β.
   */
  private double initialBeta(PolicyVersion base, long refVersion) {
    if (ppoConfig.getKlControl() == PpoConfig.KlControl.ADAPTIVE
        && base.getStage() == PolicyStage.PPO
        && String.valueOf(refVersion).equals(base.getHyperparameters().get("reference_version"))) {
      Double b = base.getMetrics().get("beta");
      if (b != null && Double.isFinite(b) && b > 0) {
        return b;
      }
    }
    return ppoConfig.getInitKlCoef();
  }

  private List<SftExample> ptxExamples(int contextLength) {
    SftTrainer sft = new SftTrainer(sftConfig);
    return feed.demos().stream().map(d -> sft.example(d.demo(), contextLength)).toList();
  }
}
