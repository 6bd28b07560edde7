package dev.flywheel.simulator;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * A synthetic labeler: ranks K responses by their hidden gold score plus Gaussian noise.
 *
 * <p>Noise model: for one ranked item (a candidate set, identified by an item key such as the
 * transcript id), every distinct gold value gets one draw {@code sigma x N(0, 1)} from a stream
 * seeded by (labeler seed, item key); responses are ordered by gold + noise, best first. Responses
 * whose gold scores are exactly equal (identical texts, or equally good answers) share one draw and
 * so always form one tier; distinct gold values never tie. With {@code sigma = 0} the ranking is
 * the gold order. The same labeler ranking the same item again gives the same answer; two labelers
 * (different seeds) disagree on a pair with probability growing with sigma / gold gap (see {@link
 * NoiseCalibration}).
 */
public final class SyntheticLabeler {

  /**
   * The two labeler pools: TRAINING labelers feed the reward model, HELD_OUT labelers only judge.
   */
  public enum Pool {
    TRAINING("training", "sim-training-"),
    HELD_OUT("held_out", "sim-heldout-");

    private final String wire;
    private final String idPrefix;

    Pool(String wire, String idPrefix) {
      this.wire = wire;
      this.idPrefix = idPrefix;
    }

    /** As the gateway spells it in {@code annotatorPool}. */
    public String wire() {
      return wire;
    }

    String idPrefix() {
      return idPrefix;
    }
  }

  private final String annotatorId;
  private final Pool pool;
  private final double sigma;
  private final long seed;

  public SyntheticLabeler(String annotatorId, Pool pool, double sigma, long seed) {
    if (!(sigma >= 0) || Double.isInfinite(sigma)) {
      throw new IllegalArgumentException("sigma must be finite and >= 0: " + sigma);
    }
    this.annotatorId = Objects.requireNonNull(annotatorId);
    this.pool = Objects.requireNonNull(pool);
    this.sigma = sigma;
    this.seed = seed;
  }

  public String annotatorId() {
    return annotatorId;
  }

  public Pool pool() {
    return pool;
  }

  public double sigma() {
    return sigma;
  }

  public long seed() {
    return seed;
  }

  /** Ranks responses to a prompt: tiers of indices into {@code responses}, best first. */
  public List<List<Integer>> rank(Prompt prompt, List<String> responses, String itemKey) {
    double[] gold = new double[responses.size()];
    for (int i = 0; i < gold.length; i++) {
      gold[i] = prompt.gold(responses.get(i));
    }
    return rankScores(gold, itemKey);
  }

  /**
   * Ranks items with these gold scores: tiers of indices, best first (exact gold ties share a
   * tier).
   */
  public List<List<Integer>> rankScores(double[] gold, String itemKey) {
    // one noise draw per distinct gold value, drawn in ascending gold order: reproducible per item
    TreeMap<Double, List<Integer>> groups = new TreeMap<>();
    for (int i = 0; i < gold.length; i++) {
      if (!Double.isFinite(gold[i])) {
        throw new IllegalArgumentException("gold score must be finite: " + gold[i]);
      }
      groups.computeIfAbsent(gold[i], g -> new ArrayList<>()).add(i);
    }
    SplittableRandom noise = new SplittableRandom(mix(seed, hash64(itemKey)));
    List<double[]> keyed = new ArrayList<>(); // {noisy score, gold}
    for (Double g : groups.keySet()) {
      keyed.add(new double[] {g + sigma * noise.nextGaussian(), g});
    }
    keyed.sort(Comparator.<double[]>comparingDouble(k -> -k[0]).thenComparingDouble(k -> -k[1]));
    List<List<Integer>> tiers = new ArrayList<>(keyed.size());
    for (double[] k : keyed) {
      tiers.add(List.copyOf(groups.get(k[1])));
    }
    return List.copyOf(tiers);
  }

  /**
   * Pairwise judgement of two responses: 1 if {@code a} is preferred, 0 if {@code b}, 0.5 for a
   * tie.
   */
  public double judge(Prompt prompt, String a, String b, String itemKey) {
    List<List<Integer>> tiers = rank(prompt, List.of(a, b), itemKey);
    if (tiers.size() == 1) {
      return 0.5;
    }
    return tiers.get(0).get(0) == 0 ? 1.0 : 0.0;
  }

  /** The tier index of every item of a ranking of {@code size} items (lower is better). */
  static int[] tierIndex(List<List<Integer>> tiers, int size) {
    int[] index = new int[size];
    Arrays.fill(index, -1);
    for (int t = 0; t < tiers.size(); t++) {
      for (int i : tiers.get(t)) {
        index[i] = t;
      }
    }
    return index;
  }

  /** SplitMix64's finaliser over a combination of two values. */
  static long mix(long a, long b) {
    long z = a * 0x9E3779B97F4A7C15L + b + 0x632BE59BD9B4E019L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** FNV-1a over the string's chars. */
  static long hash64(String s) {
    long h = 0xcbf29ce484222325L;
    for (int i = 0; i < s.length(); i++) {
      h ^= s.charAt(i);
      h *= 0x100000001b3L;
    }
    return h;
  }

  @Override
  public String toString() {
    return annotatorId + "(" + pool.wire() + ", sigma=" + sigma + ")";
  }
}
