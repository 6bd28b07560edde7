package dev.flywheel.policy.service;

import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.policy.config.PolicyTrainerConfig;
import dev.flywheel.policy.train.DpoConfig;
import dev.flywheel.policy.train.PromptPool;
import dev.flywheel.policy.train.SftConfig;
import dev.flywheel.policy.train.SftContinuation;
import dev.flywheel.trainerkit.OffsetRanges;
import dev.flywheel.trainerkit.VersionLedger;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * When the policy trainer trains what (see the README, "What a round is, and when one starts"): a
 * typed {@link Decision} from the ledgers, the input feed, the prompt pool and (DPO only) the
 * comparison groups; and the lineage questions the rounds ask (latest SFT, base policy, reference
 * of a version, latest DPO version).
 */
final class RoundScheduler {

  private static final Logger LOG = LoggerFactory.getLogger(RoundScheduler.class);

  private final PolicyTrainerConfig config;
  private final SftConfig sft;
  private final VersionLedger<PolicyVersion> policies;
  private final VersionLedger<RewardModelVersion> rewards;
  private final PromptPool prompts;
  private final InputFeed feed;
  private final DpoConfig dpo;
  private final ComparisonBuffer comparisons;
  private final Set<String> unusable = new HashSet<>();
  private long lastWaitingLog;

  RoundScheduler(
      PolicyTrainerConfig config,
      SftConfig sft,
      VersionLedger<PolicyVersion> policies,
      VersionLedger<RewardModelVersion> rewards,
      PromptPool prompts,
      InputFeed feed) {
    this(config, sft, policies, rewards, prompts, feed, null, null);
  }

  /**
   * @param dpo the DPO settings when {@code ppo.algorithm=dpo} (then DPO rounds replace RL rounds),
   *     else null
   * @param comparisons the comparison groups read (non-null exactly when {@code dpo} is)
   */
  RoundScheduler(
      PolicyTrainerConfig config,
      SftConfig sft,
      VersionLedger<PolicyVersion> policies,
      VersionLedger<RewardModelVersion> rewards,
      PromptPool prompts,
      InputFeed feed,
      DpoConfig dpo,
      ComparisonBuffer comparisons) {
    if ((dpo == null) != (comparisons == null)) {
      throw new IllegalArgumentException("DPO needs both its settings and its comparison groups");
    }
    this.config = config;
    this.sft = sft;
    this.policies = policies;
    this.rewards = rewards;
    this.prompts = prompts;
    this.feed = feed;
    this.dpo = dpo;
    this.comparisons = comparisons;
  }

  /** What the loop should do next. */
  enum Decision {
    /** a first SFT round, or a further one on new demonstrations */
    SFT,
    /**
     * a further SFT round on the same demonstrations, continuing the latest SFT version ({@code
     * sft-continue}), when there is nothing else to do
     */
    SFT_CONTINUE,
    /** an RL round against the accepted reward model */
    RL,
    /** a DPO round on the comparison groups ({@code ppo.algorithm=dpo}, instead of RL) */
    DPO,
    /** nothing yet (waiting for input); the reason is logged at most once a minute */
    WAIT
  }

  /**
   * Marks a (reward model, base policy) pair whose artifacts cannot be loaded: no RL round for it
   * until either changes.
   */
  void markUnusable(String pair) {
    unusable.add(pair);
  }

  /**
   * "reward model version/base policy version" of the pair an RL round would use now; "dpo/base
   * policy version" for a DPO round.
   */
  String currentPair() {
    String base = String.valueOf(basePolicy().map(PolicyVersion::getVersion).orElse(-1L));
    if (dpo != null) {
      return "dpo/" + base;
    }
    return rewards.latestAccepted().map(RewardModelVersion::getVersion).orElse(-1L) + "/" + base;
  }

  Decision decide() {
    Optional<PolicyVersion> latestSft = latestSft();
    if (latestSft.isEmpty()) {
      int demos = feed.demoCount();
      if (demos >= config.getMinDemonstrations()) {
        return Decision.SFT;
      }
      waiting("waiting for demonstrations: {} of {}", demos, config.getMinDemonstrations());
      return Decision.WAIT;
    }
    if (config.isSftRetrain()
        && newDemonstrations(latestSftRound().orElseThrow()) >= config.getSftRetrainMinNew()) {
      return Decision.SFT;
    }
    Decision next = dpo != null ? decideDpo() : decideRl();
    return next == Decision.WAIT && continues(latestSft.get()) ? Decision.SFT_CONTINUE : next;
  }

  /**
   * With {@code sft-continue}: true when {@code sft} is not yet continued (no SFT version, of any
   * status, names it as parent: a REJECTED continuation ends the chain too) and {@link
   * SftContinuation#verdict} on its metrics says the chain goes on.
   */
  boolean continues(PolicyVersion latestSft) {
    if (!config.isSftContinue()) {
      return false;
    }
    long v = latestSft.getVersion();
    boolean continued =
        policies.versions().values().stream()
            .anyMatch(p -> p.getStage() == PolicyStage.SFT && p.getParentVersions().contains(v));
    return !continued
        && SftContinuation.verdict(latestSft.getMetrics(), sft) == SftContinuation.Verdict.CONTINUE;
  }

  /**
   * Whether the first RL round (the first DPO round with {@code ppo.algorithm=dpo}) is due now: no
   * RL or DPO version exists yet, and {@link #decideRl} ({@link #decideDpo}) would start one. What
   * a continuation round gives way to ({@code sft-continue-yields}).
   */
  boolean firstPolicyRoundDue() {
    boolean anyRlVersion =
        policies.versions().values().stream().anyMatch(v -> v.getStage() == PolicyStage.PPO);
    return !anyRlVersion && (dpo != null ? decideDpo() : decideRl()) != Decision.WAIT;
  }

  /** Once SFT has nothing to do on new demonstrations: an RL round, or WAIT. */
  Decision decideRl() {
    Optional<RewardModelVersion> rm = rewards.latestAccepted();
    Optional<PolicyVersion> base = basePolicy();
    if (rm.isEmpty() || base.isEmpty()) {
      waiting(
          "waiting for an accepted reward model (policy base {})",
          base.map(PolicyVersion::getVersion).orElse(null),
          null);
      return Decision.WAIT;
    }
    if (prompts.trainCount() < config.getMinTrainPrompts()) {
      waiting("waiting for prompts: {} of {}", prompts.trainCount(), config.getMinTrainPrompts());
      return Decision.WAIT;
    }
    long rmVersion = rm.get().getVersion();
    if (unusable.contains(rmVersion + "/" + base.get().getVersion())) {
      return Decision.WAIT;
    }
    List<PolicyVersion> ppo =
        policies.versions().values().stream().filter(v -> v.getStage() == PolicyStage.PPO).toList();
    boolean rmNew =
        ppo.stream()
            .noneMatch(
                v -> v.getRewardModelVersion() != null && v.getRewardModelVersion() == rmVersion);
    long baseVersion = base.get().getVersion();
    boolean baseFresh =
        base.get().getStage() == PolicyStage.SFT
            && ppo.stream().noneMatch(v -> v.getParentVersions().contains(baseVersion));
    boolean scheduled = false;
    if (!config.getPpoSchedule().isZero() && !ppo.isEmpty()) {
      Instant last = ppo.get(ppo.size() - 1).getCreatedAt();
      scheduled = Duration.between(last, Instant.now()).compareTo(config.getPpoSchedule()) >= 0;
    }
    return rmNew || baseFresh || scheduled ? Decision.RL : Decision.WAIT;
  }

  /**
   * With {@code ppo.algorithm=dpo}, once SFT has nothing to do: a DPO round when a base policy
   * exists and {@code dpo.round-min-groups} TRAIN groups arrived beyond the {@code
   * training.comparisons} data of the latest DPO version (any status: a REJECTED round's groups are
   * not offered again by themselves); the first DPO round waits for that many in all.
   */
  Decision decideDpo() {
    Optional<PolicyVersion> base = basePolicy();
    if (base.isEmpty()) {
      waiting("waiting for a base policy for DPO", null, null);
      return Decision.WAIT;
    }
    if (unusable.contains("dpo/" + base.get().getVersion())) {
      return Decision.WAIT;
    }
    long fresh = newComparisonGroups();
    if (fresh < dpo.getRoundMinGroups()) {
      waiting("waiting for comparison groups: {} new of {}", fresh, dpo.getRoundMinGroups());
      return Decision.WAIT;
    }
    return Decision.DPO;
  }

  /** TRAIN groups held beyond the comparison data of the latest DPO version (all without one). */
  long newComparisonGroups() {
    Map<Integer, Long> until =
        latestDpo()
            .map(
                v ->
                    OffsetRanges.of(config.getComparisonsTopic(), v.getTrainingData())
                        .untilOffsets())
            .orElse(Map.of());
    return comparisons.trainSince(until);
  }

  /** The highest version a DPO round published, whatever its status. */
  Optional<PolicyVersion> latestDpo() {
    return policies.versions().descendingMap().values().stream()
        .filter(RoundScheduler::isDpo)
        .findFirst();
  }

  /** True for a version a DPO round published (stage PPO, {@code ppo.algorithm} dpo). */
  static boolean isDpo(PolicyVersion v) {
    return v.getStage() == PolicyStage.PPO
        && DpoRound.ALGORITHM.equals(v.getHyperparameters().get("ppo.algorithm"));
  }

  private void waiting(String message, Object a, Object b) {
    long now = System.currentTimeMillis();
    if (now - lastWaitingLog > 60_000) {
      lastWaitingLog = now;
      LOG.info(message, a, b);
    }
  }

  /** The highest SFT version that is not REJECTED or ROLLED_BACK. */
  Optional<PolicyVersion> latestSft() {
    return policies.versions().descendingMap().values().stream()
        .filter(v -> v.getStage() == PolicyStage.SFT && accepted(v.getStatus()))
        .findFirst();
  }

  /**
   * The highest SFT version that is not ROLLED_BACK: {@link #latestSft()}, or a REJECTED round
   * after it. A retrain REJECTED for imitating worse than its parent has tried the demonstrations
   * it saw; the next retrain waits for {@code sft-retrain-min-new} beyond them.
   */
  Optional<PolicyVersion> latestSftRound() {
    return policies.versions().descendingMap().values().stream()
        .filter(v -> v.getStage() == PolicyStage.SFT && v.getStatus() != ModelStatus.ROLLED_BACK)
        .findFirst();
  }

  /** The policy PPO continues from: the highest version whose status is LIVE or CANDIDATE. */
  Optional<PolicyVersion> basePolicy() {
    return policies.versions().descendingMap().values().stream()
        .filter(v -> accepted(v.getStatus()))
        .findFirst();
  }

  private static boolean accepted(ModelStatus s) {
    return s == ModelStatus.LIVE || s == ModelStatus.CANDIDATE;
  }

  /**
   * The SFT reference of a policy version: itself for SFT, {@code reference_version} (or its last
   * parent) for PPO. A DPO version's {@code reference_version} is its base, which need not be SFT:
   * its reference is looked up in turn, so an RL round after DPO rounds anchors at the SFT
   * ancestor.
   */
  long referenceOf(PolicyVersion v) {
    for (int hops = 0; ; hops++) {
      if (v.getStage() == PolicyStage.SFT) {
        return v.getVersion();
      }
      String ref = v.getHyperparameters().get("reference_version");
      List<Long> parents = v.getParentVersions();
      long next = ref != null ? Long.parseLong(ref) : parents.get(parents.size() - 1);
      Optional<PolicyVersion> known = policies.get(next);
      if (!isDpo(v) || known.isEmpty() || hops > policies.versions().size()) {
        return next;
      }
      v = known.get();
    }
  }

  private long newDemonstrations(PolicyVersion sft) {
    Map<Integer, Long> until =
        OffsetRanges.of(config.getDemonstrationsTopic(), sft.getTrainingData()).untilOffsets();
    return feed.demos().stream()
        .filter(d -> d.offset() >= until.getOrDefault(d.partition(), 0L))
        .count();
  }
}
