package dev.flywheel.policy.train;

import dev.flywheel.model.Generation;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.RewardFunction;
import dev.flywheel.model.Sampler;
import dev.flywheel.model.SamplingConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * End-of-round evaluation of a PPO policy on held-out prompts, judged by the reward function.
 *
 * <p>Each prompt is repeated {@code samplesPerPrompt} times; every policy samples row i with the
 * same seed (common random numbers: the comparison is less noisy). Sampling is at temperature 1
 * without truncation, so the responses are draws from π and the KL figure is an unbiased
 * Monte-Carlo estimate:
 *
 * <ul>
 *   <li>{@code eval_mean_reward}: mean score of the new policy's responses;
 *   <li>{@code eval_kl}: mean over responses of Σ_t (log π − log π_ref), nats per sequence;
 *   <li>{@code win_rate_vs_previous} / {@code win_rate_vs_sft}: share of rows where the new
 *       policy's response scores higher than the other policy's on the same prompt (ties count ½),
 *       the reward model acting as judge;
 *   <li>{@code eval_mean_reward_previous} / {@code eval_mean_reward_sft}: the others' mean scores;
 *   <li>{@code eval_reward_change_low} / {@code eval_reward_change_high}: the two-sided {@code
 *       confidence} interval of the mean change {@code eval_mean_reward −
 *       eval_mean_reward_previous} (percentile bootstrap, {@value #BOOTSTRAP_RESAMPLES} resamples
 *       of whole prompts with their samples: the samples of one prompt share its difficulty),
 *       absent with confidence 0.
 * </ul>
 */
public final class PolicyEvaluator {

  /** Bootstrap resamples of the reward change's interval. */
  static final int BOOTSTRAP_RESAMPLES = 2000;

  private final RewardFunction reward;
  private final int maxNewTokens;
  private final int samplesPerPrompt;
  private final double confidence;

  /**
   * @param confidence of the reward change's two-sided interval, in (0, 1); 0: no interval
   */
  public PolicyEvaluator(
      RewardFunction reward, int maxNewTokens, int samplesPerPrompt, double confidence) {
    this.reward = reward;
    this.maxNewTokens = maxNewTokens;
    this.samplesPerPrompt = samplesPerPrompt;
    this.confidence = confidence;
  }

  public record Result(
      double meanReward,
      double meanRewardPrevious,
      double meanRewardSft,
      double winRateVsPrevious,
      double winRateVsSft,
      double kl,
      int prompts,
      int samples,
      double rewardChangeLow,
      double rewardChangeHigh) {

    /** For {@code PolicyVersion.metrics}. */
    public Map<String, Double> metrics() {
      Map<String, Double> m = new LinkedHashMap<>();
      m.put("eval_mean_reward", meanReward);
      m.put("eval_mean_reward_previous", meanRewardPrevious);
      m.put("eval_mean_reward_sft", meanRewardSft);
      m.put("win_rate_vs_previous", winRateVsPrevious);
      m.put("win_rate_vs_sft", winRateVsSft);
      m.put("eval_kl", kl);
      m.put("eval_prompts", (double) prompts);
      m.put("eval_samples", (double) samples);
      m.put("eval_reward_change_low", rewardChangeLow);
      m.put("eval_reward_change_high", rewardChangeHigh);
      m.values().removeIf(v -> Double.isNaN(v) || Double.isInfinite(v));
      return m;
    }
  }

  /**
   * @param policy the policy being judged
   * @param previous the policy it continued from (may be the same object as {@code sft})
   * @param sft the SFT reference: the KL is measured against it
   * @param prompts held-out prompts (already fitted to the context)
   */
  public Result evaluate(
      PolicyModel policy, PolicyModel previous, PolicyModel sft, List<int[]> prompts, long seed) {
    List<int[]> rows = new ArrayList<>(prompts.size() * samplesPerPrompt);
    for (int[] p : prompts) {
      for (int s = 0; s < samplesPerPrompt; s++) {
        rows.add(p);
      }
    }
    if (rows.isEmpty()) {
      double nan = Double.NaN;
      return new Result(nan, nan, nan, nan, nan, nan, 0, 0, nan, nan);
    }
    Map<PolicyModel, Sampled> cache = new IdentityHashMap<>();
    Sampled mine = sample(policy, rows, seed, cache);
    Sampled prev = sample(previous, rows, seed, cache);
    Sampled base = sample(sft, rows, seed, cache);

    double[] change = {Double.NaN, Double.NaN};
    if (confidence > 0) {
      change =
          changeInterval(
              promptChanges(mine.scores, prev.scores, samplesPerPrompt),
              confidence,
              BOOTSTRAP_RESAMPLES,
              seed);
    }
    return new Result(
        ArrayStats.mean(mine.scores),
        ArrayStats.mean(prev.scores),
        ArrayStats.mean(base.scores),
        winRate(mine.scores, prev.scores),
        winRate(mine.scores, base.scores),
        meanKl(mine.rollout, sft),
        prompts.size(),
        rows.size(),
        change[0],
        change[1]);
  }

  /** Per prompt, the mean of {@code mine − theirs} over its {@code samplesPerPrompt} rows. */
  static double[] promptChanges(float[] mine, float[] theirs, int samplesPerPrompt) {
    double[] d = new double[mine.length / samplesPerPrompt];
    for (int i = 0; i < d.length * samplesPerPrompt; i++) {
      d[i / samplesPerPrompt] += ((double) mine[i] - theirs[i]) / samplesPerPrompt;
    }
    return d;
  }

  /**
   * The two-sided {@code confidence} percentile-bootstrap interval of the mean of {@code d} (one
   * value per prompt), {low, high}; NaNs with fewer than two prompts.
   */
  static double[] changeInterval(double[] d, double confidence, int resamples, long seed) {
    int n = d.length;
    if (n < 2) {
      return new double[] {Double.NaN, Double.NaN};
    }
    SplittableRandom random = new SplittableRandom(seed);
    double[] means = new double[resamples];
    for (int r = 0; r < resamples; r++) {
      double sum = 0;
      for (int i = 0; i < n; i++) {
        sum += d[random.nextInt(n)];
      }
      means[r] = sum / n;
    }
    Arrays.sort(means);
    double tail = (1 - confidence) / 2;
    int low = (int) Math.floor(tail * (resamples - 1));
    int high = (int) Math.ceil((1 - tail) * (resamples - 1));
    return new double[] {means[low], means[high]};
  }

  /**
   * {@code eval_kl} alone, for a policy trained without a reward model (a DPO round): {@code
   * samplesPerPrompt} samples of {@code policy} per prompt at temperature 1, seeded as {@link
   * #evaluate} seeds them, and the mean over responses of Σ_t (log π − log π_ref); NaN without
   * prompts.
   *
   * @param prompts held-out prompts, already fitted to the context
   */
  public static double heldOutKl(
      PolicyModel policy,
      PolicyModel reference,
      List<int[]> prompts,
      int samplesPerPrompt,
      int maxNewTokens,
      long seed) {
    List<int[]> rows = new ArrayList<>(prompts.size() * samplesPerPrompt);
    for (int[] p : prompts) {
      for (int s = 0; s < samplesPerPrompt; s++) {
        rows.add(p);
      }
    }
    if (rows.isEmpty()) {
      return Double.NaN;
    }
    List<Generation> generations =
        new Sampler(policy).generate(rows, SamplingConfig.ppoRollout(maxNewTokens, seed));
    return meanKl(Rollout.of(rows, generations), reference);
  }

  /** Mean over the rollout's rows of Σ_t (log π − log π_ref) over its response tokens. */
  private static double meanKl(Rollout rollout, PolicyModel reference) {
    float[] refLogProbs = PpoTrainer.actionLogProbs(reference, rollout);
    float[] ownLogProbs = rollout.behaviourLogProbArray();
    float[] mask = rollout.actionMaskArray();
    double klSum = 0;
    for (int i = 0; i < mask.length; i++) {
      if (mask[i] > 0) {
        klSum += ownLogProbs[i] - refLogProbs[i];
      }
    }
    return klSum / rollout.batchSize();
  }

  private record Sampled(Rollout rollout, float[] scores) {}

  private Sampled sample(
      PolicyModel model, List<int[]> rows, long seed, Map<PolicyModel, Sampled> cache) {
    Sampled known = cache.get(model);
    if (known != null) {
      return known;
    }
    List<Generation> generations =
        new Sampler(model).generate(rows, SamplingConfig.ppoRollout(maxNewTokens, seed));
    Rollout rollout = Rollout.of(rows, generations);
    Sampled s = new Sampled(rollout, reward.score(rollout.prompts(), rollout.responses()));
    cache.put(model, s);
    return s;
  }

  static double winRate(float[] mine, float[] theirs) {
    double wins = 0;
    for (int i = 0; i < mine.length; i++) {
      wins += mine[i] > theirs[i] ? 1 : mine[i] == theirs[i] ? 0.5 : 0;
    }
    return mine.length == 0 ? Double.NaN : wins / mine.length;
  }
}
