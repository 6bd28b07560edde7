package dev.flywheel.policy.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.Sampler;
import dev.flywheel.model.SamplingConfig;
import dev.flywheel.model.SftExample;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Offline DPO learns from rankings alone: on the letters task (an SFT policy writes 8 letters from
 * {a, b, c, d} uniformly), groups of 4 random strings ranked by their share of 'a' must raise the
 * share of 'a' in the policy's own samples — strings it was never shown — while the untouched
 * reference stays where it was.
 */
class OfflineDpoTrainerTest {

  static NDManager manager;

  @BeforeAll
  static void setUp() {
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void tearDown() {
    manager.close();
  }

  @Test
  void rankingsAloneRaiseTheRewardOfTheRankedProperty() {
    GptConfig config = TinyTasks.tinyConfig(32);
    List<OfflineDpoTrainer.RankedGroup> groups = letterGroups(160, new Random(11));
    try (PolicyModel policy = PpoLearningTest.sftLetterPolicy(config, manager);
        PolicyModel reference = PolicyModel.create(config, manager)) {
      reference.copyTrunkFrom(policy);
      double before = shareOfA(policy, 5);

      DpoConfig dpo = new DpoConfig();
      dpo.setLearningRate(1e-3f);
      dpo.setEpochs(3);
      dpo.setGroupsPerStep(16);
      List<Double> losses = new ArrayList<>();
      OfflineDpoTrainer trainer = new OfflineDpoTrainer(dpo);
      OfflineDpoTrainer.Result r =
          trainer.train(
              policy,
              reference,
              groups,
              new OfflineDpoTrainer.Listener() {
                @Override
                public void onStep(
                    int step, int totalSteps, double loss, double margin, double accuracy) {
                  losses.add(loss);
                }
              });
      double after = shareOfA(policy, 5);
      System.out.printf(
          Locale.ROOT, "offline DPO: %s; share of 'a' %.3f -> %.3f%n", r, before, after);

      assertEquals(trainer.totalSteps(groups.size()), r.steps());
      assertEquals(r.steps(), losses.size());
      // the first step sees policy = reference: h = 0, loss log 2
      assertEquals(Math.log(2), losses.get(0), 1e-3);
      assertTrue(r.loss() < 0.6 && r.accuracy() > 0.75 && r.margin() > 0, "fitted the pairs: " + r);
      assertTrue(after > before + 0.15, "share of 'a' " + before + " -> " + after);
      assertEquals(before, shareOfA(reference, 5), 1e-9, "the reference is frozen");
    }
  }

  /**
   * RPO adds the chosen responses' per-token NLL: at step 1 (h = 0) the loss is log 2 + α × that
   * NLL.
   */
  @Test
  void rpoAddsTheChosenResponsesNegativeLogLikelihood() {
    GptConfig config = TinyTasks.tinyConfig(32);
    List<OfflineDpoTrainer.RankedGroup> groups = letterGroups(16, new Random(12));
    try (PolicyModel policy = PpoLearningTest.sftLetterPolicy(config, manager);
        PolicyModel reference = PolicyModel.create(config, manager)) {
      reference.copyTrunkFrom(policy);
      // the chosen rows' per-token NLL under the SFT policy, weighted as the trainer weights them
      double expectedNll = 0;
      List<OfflineDpoTrainer.RankedGroup> usable =
          groups.stream().filter(g -> !g.pairs().isEmpty()).toList();
      for (OfflineDpoTrainer.RankedGroup g : usable) {
        float[] logProbs = OfflineDpoTrainer.sequenceLogProbs(policy, g.candidates());
        for (int[] p : g.pairs()) {
          expectedNll -=
              logProbs[p[0]]
                  / g.candidates().get(p[0]).responseTokens().length
                  / g.pairs().size()
                  / usable.size();
        }
      }
      DpoConfig dpo = new DpoConfig();
      dpo.setRpoAlpha(0.5f);
      dpo.setGroupsPerStep(16);
      dpo.setEpochs(1);
      List<Double> losses = new ArrayList<>();
      new OfflineDpoTrainer(dpo)
          .train(
              policy,
              reference,
              groups,
              new OfflineDpoTrainer.Listener() {
                @Override
                public void onStep(
                    int step, int totalSteps, double loss, double margin, double accuracy) {
                  losses.add(loss);
                }
              });
      assertEquals(1, losses.size());
      assertTrue(expectedNll > 0.5, "random letters cost about log 4 per token: " + expectedNll);
      assertEquals(Math.log(2) + 0.5 * expectedNll, losses.get(0), 1e-3);
    }
  }

  /**
   * What the service's DPO round needs besides training: a stop between steps (it checkpoints
   * then), a resume from that step that continues with the batch the uninterrupted run would have
   * taken next, and the held-out evaluation, exactly at chance for the reference against itself and
   * above it once trained.
   */
  @Test
  void stopsBetweenStepsResumesWithTheSameBatchesAndEvaluatesAgainstTheReference() {
    GptConfig config = TinyTasks.tinyConfig(32);
    List<OfflineDpoTrainer.RankedGroup> groups = letterGroups(96, new Random(13));
    List<OfflineDpoTrainer.RankedGroup> heldOut = letterGroups(48, new Random(14));
    DpoConfig dpo = new DpoConfig();
    dpo.setLearningRate(1e-3f);
    dpo.setEpochs(3);
    dpo.setGroupsPerStep(16);
    OfflineDpoTrainer trainer = new OfflineDpoTrainer(dpo);
    int total = trainer.totalSteps(groups.size());
    assertEquals(18, total);
    Engine.getInstance().setRandomSeed(17);
    try (PolicyModel reference = PolicyModel.create(config, manager); // untrained: the test is fast
        PolicyModel whole = PolicyModel.create(config, manager);
        PolicyModel resumed = PolicyModel.create(config, manager)) {
      reference.setTrainable(false);
      whole.copyTrunkFrom(reference);
      resumed.copyTrunkFrom(reference);

      OfflineDpoTrainer.Evaluation chance = trainer.evaluate(reference, reference, heldOut);
      assertEquals(0.5, chance.accuracy(), 0, "every margin is 0: ties count ½");
      assertEquals(0.0, chance.margin(), 0);
      assertEquals(Math.log(2), chance.loss(), 1e-9);
      assertEquals(heldOut.stream().filter(g -> !g.pairs().isEmpty()).count(), chance.groups());

      List<Double> wholeLosses = new ArrayList<>();
      trainer.train(whole, reference, groups, recorder(wholeLosses, new ArrayList<>(), -1));

      int stopAt = 7;
      List<Integer> steps = new ArrayList<>();
      OfflineDpoTrainer.Stopped stopped =
          assertThrows(
              OfflineDpoTrainer.Stopped.class,
              () ->
                  trainer.train(
                      resumed, reference, groups, recorder(new ArrayList<>(), steps, stopAt)));
      assertEquals(stopAt, stopped.step());
      assertEquals(stopAt, steps.size());
      List<Double> resumedLosses = new ArrayList<>();
      steps.clear();
      OfflineDpoTrainer.Result r =
          trainer.train(resumed, reference, groups, stopAt, recorder(resumedLosses, steps, -1));
      assertEquals(total, r.steps());
      assertEquals(stopAt + 1, (int) steps.get(0), "the resumed run goes on with the next step");
      assertEquals(total - stopAt, steps.size());
      // the same weights after step 7 and the same batch at step 8 give the same loss
      assertEquals(wholeLosses.get(stopAt), resumedLosses.get(0), 1e-4);

      OfflineDpoTrainer.Evaluation trained = trainer.evaluate(whole, reference, heldOut);
      assertTrue(
          trained.accuracy() > 0.6 && trained.margin() > 0 && trained.loss() < Math.log(2),
          "held-out groups ranked by the same rule: " + trained);
    }
  }

  private static OfflineDpoTrainer.Listener recorder(
      List<Double> losses, List<Integer> steps, int stopAfter) {
    return new OfflineDpoTrainer.Listener() {
      @Override
      public void onStep(int step, int totalSteps, double loss, double margin, double accuracy) {
        losses.add(loss);
        steps.add(step);
      }

      @Override
      public boolean stopRequested() {
        return stopAfter >= 0 && steps.size() >= stopAfter;
      }
    };
  }

  @Test
  void aPairMustNameTwoCandidatesOfItsGroupAndAGroupWithoutPairsIsNotUsed() {
    SftExample a = TinyTasks.CHAT.sftExample(List.of(ChatTurn.user("letters 1")), "aaaa");
    assertThrows(
        IllegalArgumentException.class,
        () -> new OfflineDpoTrainer.RankedGroup(List.of(a), List.of(new int[] {0, 1})));
    assertThrows(
        IllegalArgumentException.class,
        () -> new OfflineDpoTrainer.RankedGroup(List.of(a, a), List.of(new int[] {1, 1})));
    GptConfig config = TinyTasks.tinyConfig(32);
    try (PolicyModel policy = PolicyModel.create(config, manager);
        PolicyModel reference = PolicyModel.create(config, manager)) {
      OfflineDpoTrainer trainer = new OfflineDpoTrainer(new DpoConfig());
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  trainer.train(
                      policy,
                      reference,
                      List.of(new OfflineDpoTrainer.RankedGroup(List.of(a, a), List.of())),
                      new OfflineDpoTrainer.Listener() {}));
      assertTrue(e.getMessage().contains("no ranked group"), e.getMessage());
    }
    DpoConfig bad = new DpoConfig();
    bad.setLabelSmoothing(0.5f);
    assertThrows(IllegalArgumentException.class, () -> new OfflineDpoTrainer(bad));
  }

  /**
   * Groups of 4 random letter strings; every pair whose share of 'a' differs, the higher one
   * winning.
   */
  static List<OfflineDpoTrainer.RankedGroup> letterGroups(int count, Random random) {
    List<OfflineDpoTrainer.RankedGroup> groups = new ArrayList<>();
    for (int g = 0; g < count; g++) {
      List<SftExample> candidates = new ArrayList<>();
      int[] as = new int[4];
      for (int i = 0; i < 4; i++) {
        char[] letters = new char[8];
        for (int j = 0; j < letters.length; j++) {
          letters[j] = (char) ('a' + random.nextInt(4));
          as[i] += letters[j] == 'a' ? 1 : 0;
        }
        candidates.add(
            TinyTasks.CHAT.sftExample(
                List.of(ChatTurn.user("letters " + (g % 20))), new String(letters)));
      }
      List<int[]> pairs = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 4; j++) {
          if (as[i] > as[j]) {
            pairs.add(new int[] {i, j});
          }
        }
      }
      groups.add(new OfflineDpoTrainer.RankedGroup(candidates, pairs));
    }
    return groups;
  }

  /** Mean share of 'a' (TinyTasks' reward / 2) over 64 samples at temperature 1, fixed seed. */
  static double shareOfA(PolicyModel policy, long seed) {
    List<int[]> prompts = TinyTasks.letterPrompts(64, 0);
    List<int[]> responses =
        new Sampler(policy)
            .generate(prompts, SamplingConfig.ppoRollout(10, seed)).stream()
                .map(g -> g.tokens())
                .toList();
    float[] reward = TinyTasks.shareOfA().score(prompts, responses);
    double sum = 0;
    for (float r : reward) {
      sum += r / 2;
    }
    return sum / reward.length;
  }
}
