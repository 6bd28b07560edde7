package dev.flywheel.reward;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import dev.flywheel.model.Learner;
import dev.flywheel.model.LearningRateSchedule;
import dev.flywheel.model.OptimizerConfig;
import dev.flywheel.model.PairwiseRewardLoss;
import dev.flywheel.model.RewardModel;
import dev.flywheel.model.SftLoss;
import dev.flywheel.model.TokenBatch;
import dev.flywheel.trainerkit.MetricsPublisher;
import dev.flywheel.trainerkit.TrainingProgress;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training part of a reward-trainer round: the optimizer, the pairwise-loss steps over a {@link
 * RoundPlan}, per-epoch validation with {@link EarlyStopping}, step metrics, periodic evaluation
 * and checkpoints. No Kafka input here: the round hands it the plan and takes back the trained
 * model.
 */
final class RoundTraining {

  private static final Logger LOG = LoggerFactory.getLogger(RoundTraining.class);

  /** Saves a mid-round checkpoint (model, step, early-stopping state). */
  interface Checkpointer {
    void save(RewardModel model, int step, EarlyStopping early) throws IOException;
  }

  private final RewardTrainerConfig config;
  private final RewardTrainerStats stats;
  private final MetricsPublisher metrics;
  private final RewardEvaluator evaluator;
  private final Runnable checkRunning;

  /**
   * @param checkRunning throws when the trainer was asked to stop (checked before every step)
   */
  RoundTraining(
      RewardTrainerConfig config,
      RewardTrainerStats stats,
      MetricsPublisher metrics,
      RewardEvaluator evaluator,
      Runnable checkRunning) {
    this.config = config;
    this.stats = stats;
    this.metrics = metrics;
    this.evaluator = evaluator;
    this.checkRunning = checkRunning;
  }

  /**
   * @param epochsRun passes actually made (fewer than planned when early stopping ended the round;
   *     the model then holds the best epoch's parameters)
   */
  record Result(
      double meanLoss,
      double meanAccuracy,
      double seconds,
      double groupsPerSecond,
      int epochsRun) {}

  /**
   * Trains {@code model} in place over {@code plan} from {@code startStep}; validates after every
   * epoch when the plan holds groups back (epoch 0 too when {@code startIsCandidate}: a warm
   * start's parent may stay the best) and ends with the best epoch's parameters; evaluates every
   * {@code eval-every-steps}, checkpoints every {@code checkpoint-every-steps} through {@code
   * checkpointer}.
   */
  Result train(
      RewardModel model,
      RoundPlan plan,
      int startStep,
      long round,
      long version,
      List<EncodedGroup> eval,
      EarlyStopping early,
      boolean startIsCandidate,
      Checkpointer checkpointer)
      throws IOException {
    int totalSteps = plan.totalSteps();
    if (totalSteps == 0) {
      return new Result(Double.NaN, Double.NaN, 0, 0, 0);
    }
    Learner learner = new Learner(optimizer(config, totalSteps, startStep), model);
    TrainingProgress progress =
        TrainingProgress.start(LOG, "reward", round, 0, totalSteps, config.getProgressInterval());
    int batch = config.getBatchSizeGroups();
    int stepsPerEpoch = plan.stepsPerEpoch();
    int epochSize = plan.train().size();
    List<EncodedGroup> order = plan.order();
    float margin = (float) config.getMargin();
    float lmCoef = (float) config.getLmCoef();
    double lossSum = 0;
    double accuracySum = 0;
    int counted = 0;
    long groups = 0;
    long t0 = System.nanoTime();
    if (plan.earlyStopping() && startStep == 0 && startIsCandidate) {
      validate(model, plan, early, 0, 0, round, version);
    }
    int step = startStep;
    boolean stopped = false;
    while (step < totalSteps && !stopped) {
      checkRunning.run();
      int epoch = step / stepsPerEpoch;
      int from = epoch * epochSize + (step % stepsPerEpoch) * batch;
      int to = Math.min(epoch * epochSize + epochSize, from + batch);
      List<EncodedGroup> groupsOfStep = order.subList(from, to);
      float[] accuracy = new float[1];
      long stepStart = System.nanoTime();
      Learner.StepResult r =
          learner.step(
              (sm, micro) -> {
                List<int[]> sequences = new ArrayList<>();
                List<List<PairwiseRewardLoss.Comparison>> comparisons = new ArrayList<>();
                List<Integer> chosen = new ArrayList<>();
                for (EncodedGroup g : groupsOfStep) {
                  int base = sequences.size();
                  comparisons.add(g.comparisons(margin, base));
                  g.chosen().forEach(i -> chosen.add(base + i));
                  sequences.addAll(g.sequences());
                }
                TokenBatch tb = TokenBatch.of(sm, sequences, TokenBatch.Side.RIGHT);
                if (lmCoef == 0) {
                  PairwiseRewardLoss.Result res =
                      PairwiseRewardLoss.compute(
                          model.scores(tb.tokens(), tb.mask(), true), comparisons);
                  accuracy[0] = res.accuracy();
                  return res.loss();
                }
                // the hidden-state regulariser: next-token loss on the chosen responses
                NDList out = model.scoresAndLogits(tb.tokens(), tb.mask(), true);
                PairwiseRewardLoss.Result res = PairwiseRewardLoss.compute(out.get(0), comparisons);
                accuracy[0] = res.accuracy();
                NDArray mask =
                    SftLoss.lastAssistantTurnMask(
                        sm, sequences, chosen, (int) tb.tokens().getShape().get(1));
                return res.loss().add(SftLoss.loss(out.get(1), tb.tokens(), mask).mul(lmCoef));
              });
      double stepSeconds = (System.nanoTime() - stepStart) / 1e9;
      groups += groupsOfStep.size();
      stats.steps.incrementAndGet();
      if (!r.skipped()) {
        lossSum += r.loss();
        accuracySum += accuracy[0];
        counted++;
      }
      int done = ++step;
      double groupsPerSecond = groups / ((System.nanoTime() - t0) / 1e9);
      if (done % config.getMetricsEverySteps() == 0 || done == totalSteps) {
        Map<String, Double> values = new LinkedHashMap<>();
        values.put("loss", (double) r.loss());
        values.put("accuracy", (double) accuracy[0]);
        values.put("groups_per_s", groupsPerSecond);
        values.put("step_groups_per_s", groupsOfStep.size() / stepSeconds);
        values.put("learning_rate", (double) r.learningRate());
        values.put("grad_norm", (double) r.gradNorm());
        metrics.publish("reward", version, round, done, values);
      }
      progress.step(done, r.loss(), Map.of("accuracy", accuracy[0], "groups/s", groupsPerSecond));
      if (plan.earlyStopping() && done % stepsPerEpoch == 0) {
        stopped = validate(model, plan, early, done / stepsPerEpoch, done, round, version);
      }
      if (config.getEvalEverySteps() > 0
          && done % config.getEvalEverySteps() == 0
          && done < totalSteps) {
        RewardEvaluator.Result e = evaluator.evaluate(model, eval);
        metrics.publish(
            "eval",
            version,
            round,
            done,
            Map.of("eval_accuracy", e.accuracy(), "eval_loss", e.loss()));
      }
      if (!stopped
          && config.getCheckpointEverySteps() > 0
          && done % config.getCheckpointEverySteps() == 0
          && done < totalSteps) {
        checkpointer.save(model, done, early);
      }
    }
    if (plan.earlyStopping()) {
      early.restoreBest(model);
      LOG.info(
          "Round {}: keeping epoch {} of {} run (validation loss {}){}",
          round,
          early.bestEpoch(),
          step / stepsPerEpoch,
          fmt(early.bestLoss()),
          stopped ? "; stopped early" : "");
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    return new Result(
        counted == 0 ? Double.NaN : lossSum / counted,
        counted == 0 ? Double.NaN : accuracySum / counted,
        seconds,
        seconds > 0 ? groups / seconds : 0,
        (step + stepsPerEpoch - 1) / stepsPerEpoch);
  }

  /**
   * Validation after {@code epoch} (0 = the starting point); true when early stopping says stop.
   */
  private boolean validate(
      RewardModel model,
      RoundPlan plan,
      EarlyStopping early,
      int epoch,
      int step,
      long round,
      long version) {
    RewardEvaluator.Result v = evaluator.evaluate(model, plan.validation());
    boolean stop = early.observe(epoch, v.loss(), model);
    metrics.publish(
        "validation",
        version,
        round,
        step,
        Map.of(
            "validation_loss",
            v.loss(),
            "validation_accuracy",
            v.accuracy(),
            "epoch",
            (double) epoch,
            "best_epoch",
            (double) early.bestEpoch()));
    LOG.info(
        "Round {}: epoch {} validation loss {} accuracy {} ({} groups); best epoch {}",
        round,
        epoch,
        fmt(v.loss()),
        fmt(v.accuracy()),
        plan.validation().size(),
        early.bestEpoch());
    return stop;
  }

  /**
   * AdamW with the configured schedule. A resumed round's optimizer starts with fresh moments (a
   * checkpoint holds the model, not Adam's state), so its first update is the sign of the gradient
   * at full rate on every parameter; it warms up again over {@code warmup-steps} to the rate the
   * next step would have had, then decays to the same final rate (measured with {@code
   * LoopExperiment --rm-sweep resume=10} against {@code resume=10,rewarm=5}: the policy-trainer
   * README, "A reward round resumed with fresh Adam moments").
   */
  static OptimizerConfig optimizer(RewardTrainerConfig config, int totalSteps, int startStep) {
    LearningRateSchedule.Decay decay =
        LearningRateSchedule.Decay.valueOf(config.getLrSchedule().toUpperCase(Locale.ROOT));
    float peak = (float) config.getLearningRate();
    long warmup = Math.min(config.getWarmupSteps(), Math.max(0, totalSteps - 1));
    float minRatio = (float) config.getLrMinRatio();
    LearningRateSchedule schedule =
        new LearningRateSchedule(
            peak,
            warmup,
            totalSteps,
            decay == LearningRateSchedule.Decay.CONSTANT ? 1f : minRatio,
            decay);
    if (startStep > 0 && decay != LearningRateSchedule.Decay.CONSTANT) {
      // resume: warm up again to the rate step startStep+1 would have used, then decay from it to
      // the same final rate
      float now = schedule.at(startStep + 1);
      long remaining = Math.max(1, totalSteps - startStep);
      long rewarm = Math.min(config.getWarmupSteps(), remaining - 1);
      schedule =
          new LearningRateSchedule(
              now, rewarm, remaining, Math.min(1f, peak * minRatio / now), decay);
    }
    return new OptimizerConfig(
        schedule,
        (float) config.getAdamBeta1(),
        (float) config.getAdamBeta2(),
        1e-8f,
        (float) config.getWeightDecay(),
        (float) config.getMaxGradNorm(),
        1);
  }

  private static String fmt(double v) {
    return String.format(Locale.ROOT, "%.4f", v);
  }
}
