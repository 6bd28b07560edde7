package dev.flywheel.policy.bench;

import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.ChatTemplate;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.Generation;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.Sampler;
import dev.flywheel.model.SamplingConfig;
import dev.flywheel.model.SftExample;
import dev.flywheel.policy.bench.RewardModelTraining.SequenceScorer;
import dev.flywheel.policy.train.OfflineDpoTrainer;
import dev.flywheel.simulator.Prompt;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Gao et al. 2022's over-optimisation curves on the held-out prompts: gold and proxy (reward-model)
 * reward against √KL(π ‖ SFT), for best-of-n from the SFT policy and for RL checkpoints (learning
 * issue, item 5). Where the proxy keeps rising and gold stops or falls, the optimiser is finding
 * the reward model's errors; comparing RL with best-of-n at the same √KL says whether RL spends its
 * KL as well as the simplest use of the same reward model does.
 *
 * <p>Both rewards are reported as differences from the SFT policy's (best-of-1): gold in its own
 * units, the proxy in units of the reward model's within-group std ({@code reward_scale}), so
 * reward models of different scale read alike. An RL checkpoint's KL is the Monte-Carlo estimate
 * over its own samples at temperature 1: mean over samples of Σ_t log π(y_t) − log π_SFT(y_t).
 * Best-of-n's is the closed form log n − (n − 1)/n (Stiennon et al. 2020), an upper bound on the
 * exact KL (Beirami et al. 2024), so best-of-n sits, if anything, to the right of where it belongs.
 */
final class OveroptimisationCurve {

  private static final ChatTemplate CHAT = new ChatTemplate(ByteTokenizer.INSTANCE);

  /**
   * One point of a curve.
   *
   * @param curve which curve (best-of-n by the reward model, by gold, or an RL setting)
   * @param at where on it (n, or the iteration)
   * @param kl KL(π ‖ SFT) in nats per response
   * @param proxy mean reward-model score of the responses, in reward-scale units
   * @param gold mean gold of the responses
   */
  record Point(String curve, String at, double kl, double proxy, double gold) {
    double sqrtKl() {
      return Math.sqrt(Math.max(0, kl));
    }
  }

  private final PolicyModel sft;
  private final SequenceScorer rm;
  private final double offset;
  private final double scale;
  private final List<Prompt> heldOut;
  private final int samples;
  private final long seed;
  private final List<Point> points = new ArrayList<>();

  /**
   * @param samples responses per held-out prompt for each RL checkpoint
   * @param offset and {@code scale}: proxy = (score − offset) / scale
   */
  OveroptimisationCurve(
      PolicyModel sft,
      SequenceScorer rm,
      double offset,
      double scale,
      List<Prompt> heldOut,
      int samples,
      long seed) {
    this.sft = sft;
    this.rm = rm;
    this.offset = offset;
    this.scale = scale;
    this.heldOut = heldOut;
    this.samples = samples;
    this.seed = seed;
  }

  /**
   * Best-of-n points from responses already sampled from SFT and scored: {@code gold[p][i]} and
   * {@code score[p][i]} for held-out prompt p; each n uses the draws of n consecutive responses (n
   * = 1, 2, 4, … while a prompt has at least 4 draws of n).
   */
  void addBestOfN(double[][] gold, float[][] score) {
    int perPrompt = gold[0].length;
    for (boolean byGold : new boolean[] {false, true}) {
      for (int n = 1; perPrompt / n >= 4; n *= 2) {
        int draws = perPrompt / n;
        double g = 0;
        double s = 0;
        for (int p = 0; p < gold.length; p++) {
          for (int d = 0; d < draws; d++) {
            int best = d * n;
            for (int i = d * n + 1; i < (d + 1) * n; i++) {
              if (byGold ? gold[p][i] > gold[p][best] : score[p][i] > score[p][best]) {
                best = i;
              }
            }
            g += gold[p][best];
            s += (score[p][best] - offset) / scale;
          }
        }
        int count = gold.length * draws;
        points.add(
            new Point(
                byGold ? "best-of-n by gold" : "best-of-n by the reward model",
                "n=" + n,
                Math.log(n) - (n - 1.0) / n,
                s / count,
                g / count));
      }
    }
  }

  /** Samples {@code policy} on the held-out prompts and adds its point to {@code curve}. */
  Point measure(String curve, String at, PolicyModel policy) {
    Sampler sampler = new Sampler(policy);
    List<Prompt> prompts = new ArrayList<>();
    List<int[]> encoded = new ArrayList<>();
    for (Prompt p : heldOut) {
      for (int i = 0; i < samples; i++) {
        prompts.add(p);
        encoded.add(CHAT.encodeForGeneration(List.of(ChatTurn.user(p.text()))));
      }
    }
    double gold = 0;
    double proxy = 0;
    double kl = 0;
    for (int from = 0; from < encoded.size(); from += 64) {
      List<int[]> batch = encoded.subList(from, Math.min(encoded.size(), from + 64));
      List<Generation> gens =
          sampler.generate(batch, SamplingConfig.ppoRollout(48, seed * 104_729 + from));
      List<int[]> sequences = new ArrayList<>();
      List<SftExample> examples = new ArrayList<>();
      for (int i = 0; i < gens.size(); i++) {
        Prompt p = prompts.get(from + i);
        String text = RewardModelTraining.text(gens.get(i));
        gold += p.gold(text);
        sequences.add(RewardModelTraining.sequence(p, text));
        examples.add(new SftExample(batch.get(i), gens.get(i).tokens()));
      }
      float[] scores = rm.score(sequences);
      float[] sftLogProbs = OfflineDpoTrainer.sequenceLogProbs(sft, examples);
      for (int i = 0; i < gens.size(); i++) {
        proxy += (scores[i] - offset) / scale;
        double own = 0;
        for (float lp : gens.get(i).logProbs()) {
          own += lp;
        }
        kl += own - sftLogProbs[i];
      }
    }
    int n = encoded.size();
    Point point = new Point(curve, at, kl / n, proxy / n, gold / n);
    points.add(point);
    return point;
  }

  /**
   * Every curve's points against √KL, as differences from SFT (best-of-1 by the reward model), and
   * each RL curve's last point against best-of-n by the reward model at the same √KL (linear in √KL
   * between the two nearest n).
   */
  String report() {
    Point base =
        points.stream()
            .filter(p -> p.at().equals("n=1"))
            .findFirst()
            .orElseThrow(() -> new IllegalStateException("no best-of-1 (SFT) point"));
    StringBuilder b =
        new StringBuilder(
            "| curve | at | KL | √KL | Δ proxy | Δ gold |\n|---|---|---|---|---|---|\n");
    for (Point p : points) {
      b.append(
          String.format(
              Locale.ROOT,
              "| %s | %s | %.2f | %.2f | %+.3f | %+.3f |%n",
              p.curve(),
              p.at(),
              p.kl(),
              p.sqrtKl(),
              p.proxy() - base.proxy(),
              p.gold() - base.gold()));
    }
    List<Point> byRm =
        points.stream()
            .filter(p -> p.curve().equals("best-of-n by the reward model"))
            .sorted(Comparator.comparingDouble(Point::sqrtKl))
            .toList();
    List<String> curves =
        points.stream()
            .map(Point::curve)
            .filter(c -> !c.startsWith("best-of-n"))
            .distinct()
            .toList();
    for (String curve : curves) {
      Point last = points.stream().filter(p -> p.curve().equals(curve)).reduce((x, y) -> y).get();
      double bestOfN = interpolateGold(byRm, last.sqrtKl());
      b.append(
          String.format(
              Locale.ROOT,
              "RL [%s] at %s: √KL %.2f, Δ gold %+.3f; best-of-n by the reward model at the same √KL %s%n",
              curve,
              last.at(),
              last.sqrtKl(),
              last.gold() - base.gold(),
              Double.isNaN(bestOfN)
                  ? "(beyond the largest n)"
                  : String.format(Locale.ROOT, "%+.3f", bestOfN - base.gold())));
    }
    return b.toString();
  }

  /** Gold of best-of-n at {@code sqrtKl}, linear in √KL between neighbours; NaN beyond the last. */
  static double interpolateGold(List<Point> sorted, double sqrtKl) {
    for (int i = 1; i < sorted.size(); i++) {
      Point lo = sorted.get(i - 1);
      Point hi = sorted.get(i);
      if (sqrtKl <= hi.sqrtKl()) {
        double w = (sqrtKl - lo.sqrtKl()) / (hi.sqrtKl() - lo.sqrtKl());
        return lo.gold() + Math.max(0, w) * (hi.gold() - lo.gold());
      }
    }
    return Double.NaN;
  }
}
