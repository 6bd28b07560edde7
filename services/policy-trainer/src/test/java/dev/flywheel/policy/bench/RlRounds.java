package dev.flywheel.policy.bench;

import ai.djl.ndarray.NDManager;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.RewardFunction;
import dev.flywheel.model.RewardModel;
import dev.flywheel.model.SftExample;
import dev.flywheel.model.ValueModel;
import dev.flywheel.policy.train.PolicyOptimizer;
import dev.flywheel.policy.train.PpoConfig;
import dev.flywheel.policy.train.ScoreNormalizer;
import java.util.List;

/**
 * A LoopExperiment setting's RL rounds, each built as the policy-trainer service builds a round
 * ({@code RlRoundSetup}): a fresh optimiser (and Adam state) over the policy being trained, a value
 * model initialised from the reward model in use ({@code ppo.value-init}; none for the algorithms
 * without one), a fresh score normaliser, and β carried from the round before (the service carries
 * a PPO base's final β into a round with the same reference).
 *
 * <p>A setting's {@code round=N} starts a new round after every N iterations: back-to-back service
 * rounds of {@code ppo.iterations-per-round} N, either on the same reward model (what the service's
 * {@code ppo-schedule} did) or, with a reward-model refresh every N iterations ({@link
 * RewardRefresh}), each on the next reward version. Without it a setting is one round, as every run
 * before this key.
 *
 * <p>A round continues the policy the round before it trained, as the service's does (its base is
 * the latest LIVE or CANDIDATE version). With the setting's {@code base=sft} every round after the
 * first starts again from the SFT policy at the initial β: a diagnostic that separates what a round
 * optimises from the policy it starts from (README, "RL rounds back to back").
 */
final class RlRounds implements AutoCloseable {

  /** The reward model a round's value model starts from, and its offset. */
  interface ValueSource {
    RewardModel rewardModel();

    double offset();
  }

  /** A setting's {@code round=N}: iterations per round, 0 for one round (the default). */
  static int length(String setting) {
    String v = value(setting, "round");
    if (v == null) {
      return 0;
    }
    int n = Integer.parseInt(v);
    if (n < 1) {
      throw new IllegalArgumentException(setting + ": round=N needs N >= 1");
    }
    return n;
  }

  /**
   * A setting's {@code base=sft}: every round starts from the SFT policy ({@code base=latest}:
   * none).
   */
  static boolean fromSft(String setting) {
    String v = value(setting, "base");
    if (v == null || v.equals("latest")) {
      return false;
    }
    if (v.equals("sft")) {
      return true;
    }
    throw new IllegalArgumentException(setting + ": base=sft or base=latest");
  }

  /** The value of {@code key=value} in a setting, null without one. */
  private static String value(String setting, String key) {
    for (String kv : setting.split(",")) {
      String[] p = kv.split("=");
      if (p[0].equals(key)) {
        return p[1];
      }
    }
    return null;
  }

  /** Whether a new round starts after iteration {@code done} (1-based) of {@code iterations}. */
  static boolean startsAfter(int length, int done, int iterations) {
    return length > 0 && done % length == 0 && done < iterations;
  }

  private final PpoConfig ppo;
  private final PolicyModel policy;
  private final PolicyModel reference;
  private final RewardFunction reward;
  private final ValueSource valueSource;
  private final double scale;
  private final List<SftExample> ptx;
  private final NDManager manager;
  private ValueModel value;
  private int rounds;

  /**
   * @param reward what every round optimises (a refreshing reward switches model by itself)
   * @param scale the setting's reward scale, also the value model's
   */
  RlRounds(
      PpoConfig ppo,
      PolicyModel policy,
      PolicyModel reference,
      RewardFunction reward,
      ValueSource valueSource,
      double scale,
      List<SftExample> ptx,
      NDManager manager) {
    this.ppo = ppo;
    this.policy = policy;
    this.reference = reference;
    this.reward = reward;
    this.valueSource = valueSource;
    this.scale = scale;
    this.ptx = ptx;
    this.manager = manager;
  }

  /** The first round's optimiser, at the setting's initial β. */
  PolicyOptimizer first() {
    return next(ppo.getInitKlCoef());
  }

  /**
   * The next round's optimiser, continuing the policy at {@code beta}; the previous round's value
   * model is closed.
   */
  PolicyOptimizer next(double beta) {
    if (value != null) {
      value.close();
    }
    value =
        PolicyOptimizer.initValue(
            ppo, policy, valueSource.rewardModel(), valueSource.offset(), scale, manager);
    rounds++;
    return PolicyOptimizer.create(
        ppo, policy, reference, value, reward, beta, new ScoreNormalizer(), ptx);
  }

  /**
   * The next round's optimiser over the policy reset to the reference (the SFT policy: a policy's
   * parameters are all trunk, its head is tied to the token embedding), at the initial β.
   */
  PolicyOptimizer nextFromReference() {
    policy.copyTrunkFrom(reference);
    return next(ppo.getInitKlCoef());
  }

  /** Rounds started so far. */
  int rounds() {
    return rounds;
  }

  @Override
  public void close() {
    if (value != null) {
      value.close();
    }
  }
}
