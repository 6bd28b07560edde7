package dev.flywheel.policy.bench;

import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.ChatTemplate;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.Generation;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.Sampler;
import dev.flywheel.model.SamplingConfig;
import dev.flywheel.policy.bench.RewardModelTraining.SequenceScorer;
import dev.flywheel.simulator.PairedBootstrap;
import dev.flywheel.simulator.Prompt;
import dev.flywheel.simulator.PromptSplit;
import dev.flywheel.simulator.TaskFamily;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How the benchmarks score a policy on the held-out prompts: its gold (greedy or sampled, per
 * family and per prompt), best-of-n from the SFT policy, and the paired statistics that compare two
 * policies prompt by prompt (mean difference and gold win rate, with 95% bootstrap intervals).
 */
public final class HeldOutEvaluation {

  private static final ChatTemplate CHAT = new ChatTemplate(ByteTokenizer.INSTANCE);

  private HeldOutEvaluation() {}

  /**
   * Held-out gold: the mean, per family, and per held-out prompt (in {@code split.heldOut()} order,
   * for pairing).
   */
  public record Gold(
      double mean, Map<TaskFamily, Double> byFamily, double[] perPrompt, double[] perSample) {
    @Override
    public String toString() {
      StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "%.3f (", mean));
      byFamily.forEach(
          (f, v) ->
              b.append(
                  String.format(
                      Locale.ROOT,
                      "%s %.2f ",
                      f.name().substring(0, 4).toLowerCase(Locale.ROOT),
                      v)));
      return b.append(')').toString();
    }
  }

  /**
   * Gold of {@code samples} responses of {@code policy} per held-out prompt, sampled at {@code
   * temperature} (0: greedy) with seeds from {@code seed}.
   */
  public static Gold gold(
      PolicyModel policy, PromptSplit split, int samples, float temperature, long seed) {
    return gold(policy, split.heldOut(), samples, temperature, seed);
  }

  /** The same on {@code promptList} (per-prompt results in its order). */
  public static Gold gold(
      PolicyModel policy, List<Prompt> promptList, int samples, float temperature, long seed) {
    Sampler sampler = new Sampler(policy);
    List<Prompt> prompts = new ArrayList<>();
    List<int[]> encoded = new ArrayList<>();
    for (Prompt p : promptList) {
      for (int i = 0; i < samples; i++) {
        prompts.add(p);
        encoded.add(CHAT.encodeForGeneration(List.of(ChatTurn.user(p.text()))));
      }
    }
    SamplingConfig config =
        temperature == 0
            ? SamplingConfig.greedy(48)
            : SamplingConfig.ppoRollout(48, seed).withTemperature(temperature);
    List<Generation> gens = new ArrayList<>();
    for (int from = 0; from < encoded.size(); from += 64) {
      gens.addAll(
          sampler.generate(
              encoded.subList(from, Math.min(encoded.size(), from + 64)),
              config.withSeed(seed + from)));
    }
    Map<TaskFamily, double[]> fam = new EnumMap<>(TaskFamily.class);
    double sum = 0;
    double[] perPrompt = new double[promptList.size()];
    double[] perSample = new double[gens.size()];
    for (int i = 0; i < gens.size(); i++) {
      double g = prompts.get(i).gold(RewardModelTraining.text(gens.get(i)));
      perSample[i] = g;
      sum += g;
      perPrompt[i / samples] += g / samples;
      double[] f = fam.computeIfAbsent(prompts.get(i).family(), x -> new double[2]);
      f[0] += g;
      f[1]++;
    }
    Map<TaskFamily, Double> byFamily = new EnumMap<>(TaskFamily.class);
    fam.forEach((f, v) -> byFamily.put(f, v[0] / v[1]));
    return new Gold(sum / gens.size(), byFamily, perPrompt, perSample);
  }

  /**
   * Mean of {@code a − b} over prompts and its 95% paired-bootstrap interval (2,000 resamples of
   * the prompts, percentile method): the prompts are the unit, so per-prompt difficulty cancels
   * out.
   */
  public static String pairedDifference(double[] a, double[] b, long seed) {
    return PairedBootstrap.difference(a, b, seed).toString();
  }

  /**
   * Gold win rate of {@code a} over {@code b}: sample i of a prompt against sample i of the other
   * policy (the same sampling seed: common random numbers), a win 1, a tie ½, noise-free; the mean
   * over prompts of each prompt's win rate, with its 95% bootstrap interval over prompts.
   */
  static String winRate(double[] a, double[] b, int samples, long seed) {
    int n = a.length / samples;
    double[] perPrompt = new double[n];
    for (int p = 0; p < n; p++) {
      for (int i = p * samples; i < (p + 1) * samples; i++) {
        perPrompt[p] += (a[i] > b[i] ? 1 : a[i] == b[i] ? 0.5 : 0) / samples;
      }
    }
    PairedBootstrap.Interval m = PairedBootstrap.of(perPrompt, seed);
    return String.format(Locale.ROOT, "%.3f [%.3f, %.3f]", m.mean(), m.low(), m.high());
  }

  /** Responses drawn from SFT for best-of-n: gold and reward-model score per held-out prompt. */
  record BestOfNSamples(double[][] gold, float[][] score) {}

  /**
   * Best-of-n from the SFT policy (n = 2, 4, 8), picked by the reward model and by gold (the
   * headroom a perfect reward model would give): {@code samples} draws of n fresh samples per
   * held-out prompt, each draw's pick scored by gold; KL(best-of-n ‖ SFT) = log n − (n − 1)/n nats
   * (Stiennon et al. 2020). Printed against SFT like the RL rows: sampled gold minus SFT and gold
   * win rate, both with intervals.
   */
  static BestOfNSamples bestOfN(
      PolicyModel sft,
      SequenceScorer rm,
      PromptSplit split,
      int samples,
      Gold sftSampled,
      long seed) {
    int maxN = 8;
    Sampler sampler = new Sampler(sft);
    List<Prompt> heldOut = split.heldOut();
    int perPrompt = samples * maxN;
    double[][] gold = new double[heldOut.size()][perPrompt];
    float[][] score = new float[heldOut.size()][perPrompt];
    for (int p = 0; p < heldOut.size(); p++) {
      Prompt prompt = heldOut.get(p);
      int[] encoded = CHAT.encodeForGeneration(List.of(ChatTurn.user(prompt.text())));
      for (int from = 0; from < perPrompt; from += 64) {
        int count = Math.min(64, perPrompt - from);
        List<int[]> batch = Collections.nCopies(count, encoded);
        List<Generation> gens =
            sampler.generate(batch, SamplingConfig.ppoRollout(48, seed * 7919 + p * 1000L + from));
        List<int[]> sequences = new ArrayList<>();
        for (int i = 0; i < count; i++) {
          String text = RewardModelTraining.text(gens.get(i));
          gold[p][from + i] = prompt.gold(text);
          sequences.add(RewardModelTraining.sequence(prompt, text));
        }
        float[] s = rm.score(sequences);
        System.arraycopy(s, 0, score[p], from, count);
      }
    }
    for (int n : new int[] {2, 4, 8}) {
      for (boolean byGold : new boolean[] {false, true}) {
        double[] pickedPerPrompt = new double[heldOut.size()];
        double[] pickedPerSample = new double[heldOut.size() * samples];
        Map<TaskFamily, double[]> fam = new EnumMap<>(TaskFamily.class);
        for (int p = 0; p < heldOut.size(); p++) {
          for (int d = 0; d < samples; d++) {
            int best = d * n;
            for (int i = d * n + 1; i < (d + 1) * n; i++) {
              if (byGold ? gold[p][i] > gold[p][best] : score[p][i] > score[p][best]) {
                best = i;
              }
            }
            pickedPerPrompt[p] += gold[p][best] / samples;
            pickedPerSample[p * samples + d] = gold[p][best];
            double[] f = fam.computeIfAbsent(heldOut.get(p).family(), x -> new double[2]);
            f[0] += gold[p][best];
            f[1]++;
          }
        }
        double mean = Arrays.stream(pickedPerPrompt).average().orElse(Double.NaN);
        StringBuilder families = new StringBuilder();
        fam.forEach(
            (f, v) ->
                families.append(
                    String.format(
                        Locale.ROOT,
                        "%s %.2f ",
                        f.name().substring(0, 4).toLowerCase(Locale.ROOT),
                        v[0] / v[1])));
        System.out.printf(
            Locale.ROOT,
            "best-of-%d by %s: kl %.2f | sampled %.3f (%s) | sampled − SFT %s | gold win rate vs SFT %s%n",
            n,
            byGold ? "gold" : "the reward model",
            Math.log(n) - (n - 1.0) / n,
            mean,
            families.toString().strip(),
            pairedDifference(pickedPerPrompt, sftSampled.perPrompt(), seed),
            winRate(pickedPerSample, sftSampled.perSample(), samples, seed));
      }
    }
    return new BestOfNSamples(gold, score);
  }
}
