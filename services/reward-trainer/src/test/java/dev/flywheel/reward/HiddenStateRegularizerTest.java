package dev.flywheel.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.flywheel.events.DataSplit;
import dev.flywheel.model.ChatTemplate;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.InferenceSession;
import dev.flywheel.model.PairwiseRewardLoss;
import dev.flywheel.model.RewardModel;
import dev.flywheel.model.SftLoss;
import dev.flywheel.model.TokenBatch;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import dev.flywheel.trainerkit.KafkaSettings;
import dev.flywheel.trainerkit.MetricsPublisher;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code lm-coef}: a round trained with the next-token loss on the chosen responses keeps them
 * likely under the reward model's own hidden states (through the tied embedding), where the plain
 * pairwise loss lets that drift, and learns the preferences as well. Both rounds start from the
 * same weights and see the same plan; the metrics go to the shared test broker.
 */
@ExtendWith(FlywheelInfraExtension.class)
class HiddenStateRegularizerTest {

  private static final ChatTemplate CHAT = new ChatTemplate();
  private static final List<String> NAMES = List.of("Sam", "Ana", "Tom", "Mia", "Leo", "Eva");

  /** A polite greeting (tier 0) against two garbled ones, per prompt. */
  private static List<EncodedGroup> groups(int n) {
    Random random = new Random(5);
    List<EncodedGroup> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String name = NAMES.get(i % NAMES.size());
      List<ChatTurn> prompt = List.of(ChatTurn.user("Greet " + name + "."));
      List<int[]> sequences = new ArrayList<>();
      for (String reply :
          List.of("Hello, " + name + "! Nice to see you.", garble(random), garble(random))) {
        List<ChatTurn> turns = new ArrayList<>(prompt);
        turns.add(ChatTurn.assistant(reply));
        sequences.add(CHAT.encode(turns));
      }
      out.add(
          new EncodedGroup(
              0,
              i,
              1000L + i,
              "g" + i,
              "prompt-" + name,
              DataSplit.TRAIN,
              sequences,
              List.of(
                  new PairwiseRewardLoss.Comparison(0, 1), new PairwiseRewardLoss.Comparison(0, 2)),
              List.of(0),
              -1));
    }
    return out;
  }

  private static String garble(Random random) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < 8 + random.nextInt(12); i++) {
      b.append((char) ('a' + random.nextInt(26)));
    }
    return b.toString();
  }

  private record Trained(double chosenNll, double accuracy) {}

  private static Trained train(
      double lmCoef, List<EncodedGroup> data, MetricsPublisher metrics, NDManager manager)
      throws Exception {
    RewardTrainerConfig config = new RewardTrainerConfig();
    config.setBatchSizeGroups(8);
    config.setEpochs(4);
    config.setValidationFraction(0);
    config.setLmCoef(lmCoef);
    config.validate();
    Engine.getInstance().setRandomSeed(11);
    try (RewardModel model = RewardModel.create(GptConfig.tiny(), manager);
        EarlyStopping early = new EarlyStopping(config.getEarlyStoppingPatience())) {
      RoundTraining training =
          new RoundTraining(
              config, new RewardTrainerStats(), metrics, new RewardEvaluator(8, 1), () -> {});
      RoundPlan plan = RoundPlan.of(data, 1, config, new Random(1));
      training.train(model, plan, 0, 1, 1, data, early, false, (m, step, e) -> {});
      double right = 0;
      int pairs = 0;
      double nll;
      List<int[]> sequences = new ArrayList<>();
      List<Integer> chosen = new ArrayList<>();
      for (EncodedGroup g : data) {
        float[] s = model.score(g.sequences());
        for (PairwiseRewardLoss.Comparison c : g.comparisons()) {
          right += s[c.winner()] > s[c.loser()] ? 1 : 0;
          pairs++;
        }
        chosen.add(sequences.size());
        sequences.add(g.sequences().get(0));
      }
      try (InferenceSession s = InferenceSession.open(model)) {
        TokenBatch tb = TokenBatch.of(s.manager(), sequences, TokenBatch.Side.RIGHT);
        NDList out = model.scoresAndLogits(tb.tokens(), tb.mask(), false);
        NDArray mask =
            SftLoss.lastAssistantTurnMask(
                s.manager(), sequences, chosen, (int) tb.tokens().getShape().get(1));
        nll = SftLoss.loss(out.get(1), tb.tokens(), mask).getFloat();
      }
      return new Trained(nll, right / pairs);
    }
  }

  @Test
  void theLmLossKeepsTheChosenResponsesLikelyAndThePreferencesAreLearnt(FlywheelInfra infra)
      throws Exception {
    List<EncodedGroup> data = groups(48);
    try (NDManager manager = NDManager.newBaseManager();
        MetricsPublisher metrics =
            MetricsPublisher.create(
                new KafkaSettings(infra.bootstrapServers(), infra.registryUrl()),
                "reward-trainer-test")) {
      Trained plain = train(0, data, metrics, manager);
      Trained regularised = train(1, data, metrics, manager);
      // ln 262 = 5.57 nats for a uniform guess over the byte vocabulary
      assertTrue(
          regularised.chosenNll() < plain.chosenNll() - 1.0,
          "chosen NLL with lm-coef 1: " + regularised + ", without: " + plain);
      assertEquals(1.0, plain.accuracy(), 1e-9, "the preference is learnt: " + plain);
      assertEquals(1.0, regularised.accuracy(), 1e-9, "and still with the LM loss: " + regularised);
    }
  }
}
