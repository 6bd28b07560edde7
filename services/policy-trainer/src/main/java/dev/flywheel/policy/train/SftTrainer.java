package dev.flywheel.policy.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.flywheel.model.ChatTemplate;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.InferenceSession;
import dev.flywheel.model.Learner;
import dev.flywheel.model.LearningRateSchedule;
import dev.flywheel.model.OptimizerConfig;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.SftExample;
import dev.flywheel.model.SftLoss;
import dev.flywheel.model.TokenBatch;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.DoubleSupplier;

/**
 * RLHF step 1: supervised fine-tuning of a policy on demonstrations, with next-token cross-entropy
 * on the response tokens only ({@link SftLoss} with {@link SftExample#lossMask()}). No Kafka here:
 * the trainer works on an in-memory list of demonstrations and a model.
 *
 * <p>Demonstrations are split by {@link Splits#isHeldOutDemonstration}: held-out ones only measure
 * the eval loss (mean negative log-likelihood per response token) and perplexity (its exponential).
 * With no held-out demonstration the eval figures are NaN.
 *
 * <p>Early stopping: every {@code eval-every} steps the eval loss is measured; the best weights so
 * far are kept aside, and after {@code early-stopping-patience} measurements without an improvement
 * the round ends and the best weights are restored (transformers' {@code EarlyStoppingCallback}
 * with {@code load_best_model_at_end}). The cosine schedule still spans the round's full length, so
 * a round that stops early ends at a learning rate above the floor.
 *
 * <p>Batches are drawn epoch by epoch in an order fixed by the seed and the epoch number, so a
 * round resumed at step k from a checkpoint sees the same batches as the original would have.
 */
public final class SftTrainer {

  /**
   * One demonstration: the conversation up to the user's last turn, and the human-written reply.
   */
  public record Demo(String id, List<ChatTurn> context, String response) {}

  /** Callbacks from the training loop (logging, metrics, checkpoints, cancellation). */
  public interface Listener {
    /**
     * Once, before the first step: the held-out loss of the model as it came in (the parent's on a
     * fresh round, the checkpoint's on a resumed one; NaN without held-out data).
     */
    default void onStart(double evalLossBefore) {}

    /** After every optimizer step, with the learning rate that step used. */
    default void onStep(int step, int totalSteps, float loss, float learningRate) {}

    /**
     * After every early-stopping measurement; {@code best} when it improved on every earlier one.
     */
    default void onEval(int step, double evalLoss, boolean best) {}

    /** Polled before every step; true ends the round early with {@link Stopped}. */
    default boolean stopRequested() {
      return false;
    }
  }

  /** Thrown when {@link Listener#stopRequested()} turned true during a round. */
  public static final class Stopped extends RuntimeException {
    public Stopped(int step) {
      super("SFT stopped at step " + step);
    }
  }

  /**
   * @param trainLoss mean loss of the last {@code min(logEvery, steps)} steps
   * @param evalLossBefore eval loss of the model as it came in (NaN without held-out data)
   * @param evalLoss eval loss after training (NaN without held-out data)
   * @param steps optimizer steps of the round (including those before a resume)
   * @param bestStep the step whose weights the model holds at the end: {@code steps} unless early
   *     stopping restored an earlier, better one
   * @param plannedSteps the steps the round would have taken without early stopping
   */
  public record Result(
      float trainLoss,
      double evalLossBefore,
      double evalLoss,
      int steps,
      int trainExamples,
      int evalExamples,
      int bestStep,
      int plannedSteps) {
    public boolean stoppedEarly() {
      return steps < plannedSteps;
    }

    public double perplexity() {
      return Math.exp(evalLoss);
    }

    /** Figures for {@code PolicyVersion.metrics} / TrainingMetrics (NaN ones left out). */
    public Map<String, Double> metrics() {
      Map<String, Double> m = new LinkedHashMap<>();
      m.put("loss", (double) trainLoss);
      if (!Double.isNaN(evalLoss)) {
        m.put("eval_loss", evalLoss);
        m.put("perplexity", perplexity());
      }
      if (!Double.isNaN(evalLossBefore)) {
        m.put("eval_loss_before", evalLossBefore);
      }
      m.put("steps", (double) steps);
      m.put("best_step", (double) bestStep);
      m.put("planned_steps", (double) plannedSteps);
      m.put("train_examples", (double) trainExamples);
      m.put("eval_examples", (double) evalExamples);
      return m;
    }
  }

  private final SftConfig config;
  private final ChatTemplate template = new ChatTemplate();

  public SftTrainer(SftConfig config) {
    this.config = config.copy().validate();
  }

  public SftConfig config() {
    return config;
  }

  /** Chat-formatted example of a demonstration, fitted to the model's context. */
  public SftExample example(Demo demo, int contextLength) {
    return template.sftExample(demo.context(), demo.response()).fitTo(contextLength);
  }

  /** Splits {@code demos} into [train, held-out] examples. */
  public List<List<SftExample>> split(List<Demo> demos, int contextLength) {
    List<SftExample> train = new ArrayList<>();
    List<SftExample> eval = new ArrayList<>();
    for (Demo demo : demos) {
      SftExample e = example(demo, contextLength);
      (Splits.isHeldOutDemonstration(demo.id(), config.getEvalFraction()) ? eval : train).add(e);
    }
    if (train
        .isEmpty()) { // a handful of demonstrations that all hash to eval: train on them anyway
      train.addAll(eval);
    }
    return List.of(train, eval);
  }

  /** Total steps a round over {@code trainExamples} examples takes. */
  public int totalSteps(int trainExamples) {
    int perEpoch = Math.max(1, (trainExamples + config.getBatchSize() - 1) / config.getBatchSize());
    return Math.max(1, Math.min(config.getMaxSteps(), config.getEpochs() * perEpoch));
  }

  /** A full round from step 0. */
  public Result train(PolicyModel policy, List<Demo> demos, Listener listener) {
    return train(policy, demos, 0, listener);
  }

  /**
   * Trains {@code policy} in place on the training split of {@code demos}, starting at step {@code
   * fromStep} (non-zero when resuming from a checkpoint of the same round; the optimizer moments
   * start afresh and the learning rate goes on along the same schedule).
   */
  public Result train(PolicyModel policy, List<Demo> demos, int fromStep, Listener listener) {
    return train(policy, demos, fromStep, null, listener);
  }

  /**
   * Where a round's steps lie on a longer schedule: steps {@code offset} to {@code offset} + the
   * round's steps of a warm-up + cosine schedule over {@code length} steps (a chain of rounds under
   * one cosine, {@link SftConfig.ChainSchedule#CHAIN}).
   */
  public record ScheduleWindow(int offset, int length) {
    public ScheduleWindow {
      if (offset < 0 || length < 1) {
        throw new IllegalArgumentException("schedule window " + offset + " of " + length);
      }
    }
  }

  /**
   * As {@link #train(PolicyModel, List, int, Listener)}, with the learning rate of the {@code part}
   * of a longer schedule (null: the round's own schedule, over its own steps).
   */
  public Result train(
      PolicyModel policy, List<Demo> demos, int fromStep, ScheduleWindow part, Listener listener) {
    int contextLength = policy.config().contextLength();
    List<List<SftExample>> split = split(demos, contextLength);
    List<SftExample> train = split.get(0);
    List<SftExample> eval = split.get(1);
    if (train.isEmpty()) {
      throw new IllegalArgumentException("no demonstrations to train on");
    }
    double evalBefore = eval.isEmpty() ? Double.NaN : evalLoss(policy, eval, config.getBatchSize());
    listener.onStart(evalBefore);

    int total = totalSteps(train.size());
    int offset = part == null ? 0 : part.offset();
    LearningRateSchedule full =
        schedule(part == null ? total : Math.max(part.length(), offset + total));
    Learner learner = new Learner(optimizer(full.after(offset + fromStep)), policy);
    int window = Math.min(config.getLogEvery(), total);
    float[] recent = new float[window];
    int recentCount = 0;
    int batchSize = config.getBatchSize();
    int perEpoch = Math.max(1, (train.size() + batchSize - 1) / batchSize);
    EarlyStop early = new EarlyStop(policy, eval);
    int step = fromStep;
    try {
      while (step < total) {
        if (listener.stopRequested()) {
          throw new Stopped(step);
        }
        List<SftExample> batch = batch(train, step, perEpoch);
        List<int[]> tokens = batch.stream().map(SftExample::tokens).toList();
        List<int[]> masks = batch.stream().map(SftExample::lossMask).toList();
        Learner.StepResult r =
            learner.step(
                (sm, micro) -> {
                  TokenBatch b = TokenBatch.of(sm, tokens, TokenBatch.Side.RIGHT);
                  NDArray lossMask =
                      TokenBatch.pad(sm, masks, TokenBatch.Side.RIGHT, (int) b.length(), 0);
                  return SftLoss.loss(
                      policy.logits(b.tokens(), b.mask(), true), b.tokens(), lossMask);
                });
        step++;
        recent[recentCount++ % window] = r.loss();
        listener.onStep(step, total, r.loss(), r.learningRate());
        if (early.due(step, total) && early.measure(step, listener)) {
          break;
        }
      }
      early.restoreBest(step);
    } finally {
      early.close();
    }
    float trainLoss = 0;
    int n = Math.min(recentCount, window);
    for (int i = 0; i < n; i++) {
      trainLoss += recent[i] / n;
    }
    double evalAfter =
        eval.isEmpty() ? Double.NaN : early.bestLoss(step, () -> evalLoss(policy, eval, batchSize));
    return new Result(
        n == 0 ? Float.NaN : trainLoss,
        evalBefore,
        evalAfter,
        step,
        train.size(),
        eval.size(),
        early.bestStep(step),
        total);
  }

  /** The early-stopping state of one round: the best eval loss so far and a copy of its weights. */
  private final class EarlyStop implements AutoCloseable {
    private final PolicyModel policy;
    private final List<SftExample> eval;
    private PolicyModel best;
    private double bestLoss = Double.POSITIVE_INFINITY;
    private int bestStep = -1;
    private int misses;

    EarlyStop(PolicyModel policy, List<SftExample> eval) {
      this.policy = policy;
      this.eval = eval;
    }

    boolean due(int step, int total) {
      return config.getEvalEvery() > 0
          && !eval.isEmpty()
          && (step % config.getEvalEvery() == 0 || step == total);
    }

    /** Measures the eval loss at {@code step}; true when the round should stop. */
    boolean measure(int step, Listener listener) {
      double loss = evalLoss(policy, eval, config.getBatchSize());
      boolean improved = loss < bestLoss - config.getEarlyStoppingMinDelta();
      listener.onEval(step, loss, improved);
      if (improved) {
        bestLoss = loss;
        bestStep = step;
        if (best == null) {
          best = PolicyModel.create(policy.config(), policy.manager());
          best.setTrainable(false);
        }
        best.copyTrunkFrom(policy);
        misses = 0;
        return false;
      }
      return ++misses >= config.getEarlyStoppingPatience();
    }

    /** Puts the best weights back when the last measured ones were worse. */
    void restoreBest(int step) {
      if (best != null && bestStep != step) {
        policy.copyTrunkFrom(best); // keeps the policy's own requires-gradient flags
      }
    }

    int bestStep(int step) {
      return best != null ? bestStep : step;
    }

    double bestLoss(int step, DoubleSupplier measure) {
      return best != null ? bestLoss : measure.getAsDouble();
    }

    @Override
    public void close() {
      if (best != null) {
        best.close();
      }
    }
  }

  /** The examples of step {@code step}: epoch = step / perEpoch, shuffled by (seed, epoch). */
  private List<SftExample> batch(List<SftExample> train, int step, int perEpoch) {
    int epoch = step / perEpoch;
    int index = step % perEpoch;
    List<Integer> order = new ArrayList<>(train.size());
    for (int i = 0; i < train.size(); i++) {
      order.add(i);
    }
    Collections.shuffle(order, new Random(config.getSeed() * 1_000_003L + epoch));
    int from = index * config.getBatchSize();
    int to = Math.min(train.size(), from + config.getBatchSize());
    List<SftExample> out = new ArrayList<>(to - from);
    for (int i = from; i < to; i++) {
      out.add(train.get(order.get(i)));
    }
    return out;
  }

  private LearningRateSchedule schedule(int total) {
    int warmup = Math.min(config.getWarmupSteps(), total - 1);
    return LearningRateSchedule.cosine(config.getLearningRate(), Math.max(0, warmup), total);
  }

  private OptimizerConfig optimizer(LearningRateSchedule schedule) {
    return OptimizerConfig.adamW(schedule)
        .withWeightDecay(config.getWeightDecay())
        .withMaxGradNorm(config.getMaxGradNorm());
  }

  /**
   * Mean negative log-likelihood per response token of {@code examples} (no dropout, no gradient).
   */
  public static double evalLoss(PolicyModel policy, List<SftExample> examples, int batchSize) {
    double nll = 0;
    double count = 0;
    for (int from = 0; from < examples.size(); from += batchSize) {
      List<SftExample> batch = examples.subList(from, Math.min(examples.size(), from + batchSize));
      try (InferenceSession s = InferenceSession.open(policy)) {
        NDManager sm = s.manager();
        List<int[]> tokens = batch.stream().map(SftExample::tokens).toList();
        List<int[]> masks = batch.stream().map(SftExample::lossMask).toList();
        TokenBatch b = TokenBatch.of(sm, tokens, TokenBatch.Side.RIGHT);
        NDArray lossMask = TokenBatch.pad(sm, masks, TokenBatch.Side.RIGHT, (int) b.length(), 0);
        NDArray logProbs =
            SftLoss.nextTokenLogProbs(policy.logits(b.tokens(), b.mask(), false), b.tokens());
        NDArray targets = lossMask.get(":, 1:").toType(DataType.FLOAT32, false);
        nll -= logProbs.mul(targets).sum().getFloat();
        count += targets.sum().getFloat();
      }
    }
    return count == 0 ? Double.NaN : nll / count;
  }
}
