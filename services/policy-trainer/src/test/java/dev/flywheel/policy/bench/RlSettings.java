package dev.flywheel.policy.bench;

import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.ChatTemplate;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.SftExample;
import dev.flywheel.policy.train.DpoConfig;
import dev.flywheel.policy.train.PpoConfig;
import dev.flywheel.simulator.Demonstrations;
import java.util.List;
import java.util.Locale;

/**
 * The RL settings of LoopExperiment's {@code --ppo}: a {@code ,}-separated setting read into the
 * policy trainer's {@link PpoConfig} or, for "dpo…", its {@link DpoConfig}; and the demonstrations
 * a PPO-ptx setting trains its ptx term on.
 */
public final class RlSettings {

  private static final ChatTemplate CHAT = new ChatTemplate(ByteTokenizer.INSTANCE);

  private RlSettings() {}

  /** "default", or keys on top of the defaults: "it=..,batch=..,algo=rloo,zero" (README). */
  static PpoConfig ppoConfig(String setting) {
    PpoConfig c = new PpoConfig();
    if (setting.equals("default")) {
      return c;
    }
    for (String kv : setting.split(",")) {
      String[] p = kv.split("=");
      switch (p[0]) {
        case "it" -> c.setIterationsPerRound(Integer.parseInt(p[1]));
        case "lr" -> c.setLearningRate(Float.parseFloat(p[1]));
        case "kl" -> c.setKlTarget(Double.parseDouble(p[1]));
        case "beta" -> c.setInitKlCoef(Double.parseDouble(p[1]));
        case "fixed" -> c.setKlControl(PpoConfig.KlControl.FIXED);
        case "ptx" -> c.setPtxCoef(Float.parseFloat(p[1]));
        case "epochs" -> c.setPpoEpochs(Integer.parseInt(p[1]));
        case "batch" -> c.setRolloutBatchSize(Integer.parseInt(p[1]));
        case "k" -> c.setSamplesPerPrompt(Integer.parseInt(p[1]));
        case "algo" ->
            c.setAlgorithm(
                PpoConfig.Algorithm.valueOf(p[1].toUpperCase(Locale.ROOT).replace('-', '_')));
        case "dbeta" -> c.setDpoBeta(Float.parseFloat(p[1]));
        case "ipo" -> c.setDpoLoss(PpoConfig.DpoLoss.IPO);
        case "ls" -> c.setDpoLabelSmoothing(Float.parseFloat(p[1]));
        case "mb" -> c.setMiniBatchSize(Integer.parseInt(p[1]));
        case "zero", "gold", "default" -> {}
        // the reward model's on-policy refresh ({@link RewardRefresh.Settings}), the rounds
        // ({@link RlRounds})
        case "refresh", "every", "rm0", "replay", "round", "base" -> {}
        case "tkl" -> c.setTargetKl(Float.parseFloat(p[1]));
        case "norm" ->
            c.setScoreNormalization(
                PpoConfig.ScoreNormalization.valueOf(
                    p[1].toUpperCase(Locale.ROOT).replace('-', '_')));
        case "vclip" -> c.setCliprangeValue(Float.parseFloat(p[1]));
        default -> throw new IllegalArgumentException(kv);
      }
    }
    return c;
  }

  /** "dpo[,lr=..][,beta=..][,epochs=..][,ls=..][,ipo][,gps=..]" */
  static DpoConfig dpoConfig(String setting) {
    DpoConfig c = new DpoConfig();
    for (String kv : setting.split(",")) {
      String[] p = kv.split("=");
      switch (p[0]) {
        case "dpo", "shuffle" -> {}
        case "lr" -> c.setLearningRate(Float.parseFloat(p[1]));
        case "beta" -> c.setBeta(Float.parseFloat(p[1]));
        case "epochs" -> c.setEpochs(Integer.parseInt(p[1]));
        case "ls" -> c.setLabelSmoothing(Float.parseFloat(p[1]));
        case "ipo" -> c.setLoss(PpoConfig.DpoLoss.IPO);
        case "rpo" -> c.setRpoAlpha(Float.parseFloat(p[1]));
        case "gps" -> c.setGroupsPerStep(Integer.parseInt(p[1]));
        default -> throw new IllegalArgumentException(kv);
      }
    }
    return c;
  }

  /** PPO-ptx's demonstrations: none when the setting's ptx coefficient is 0. */
  public static List<SftExample> ptx(
      PpoConfig ppo, List<Demonstrations.Demonstration> demonstrations) {
    if (ppo.getPtxCoef() == 0) {
      return List.of();
    }
    return demonstrations.stream()
        .map(d -> CHAT.sftExample(List.of(ChatTurn.user(d.prompt().text())), d.response()))
        .toList();
  }
}
