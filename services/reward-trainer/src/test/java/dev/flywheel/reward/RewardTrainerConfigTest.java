package dev.flywheel.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.micronaut.context.ApplicationContext;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RewardTrainerConfigTest {

  @Test
  void bindsKebabCasePropertiesAndRecordsEveryFieldAsAHyperparameter() {
    try (ApplicationContext ctx =
        ApplicationContext.builder()
            .properties(
                Map.of(
                    "flywheel.reward-trainer.enabled", "false",
                    "flywheel.reward-trainer.learning-rate", "5e-4",
                    "flywheel.reward-trainer.batch-size-groups", "64",
                    "flywheel.reward-trainer.round-max-wait", "30s",
                    "flywheel.reward-trainer.max-policy-staleness", "3",
                    "flywheel.reward-trainer.model-preset", "tiny"))
            .start()) {
      RewardTrainerConfig c = ctx.getBean(RewardTrainerConfig.class);
      assertEquals(5e-4, c.getLearningRate());
      assertEquals(64, c.getBatchSizeGroups());
      assertEquals(Duration.ofSeconds(30), c.getRoundMaxWait());
      assertEquals(3, c.getMaxPolicyStaleness());
      assertEquals(1, c.getEpochs(), "default: one epoch (InstructGPT)");
      Map<String, String> h = c.asMap();
      assertEquals("5.0E-4", h.get("learning-rate"));
      assertEquals("PT30S", h.get("round-max-wait"));
      assertEquals(
          RewardTrainerConfig.class.getDeclaredFields().length,
          h.size(),
          "every field: " + h.keySet());
      assertEquals(64, c.freshModelConfig().contextLength());
      c.validate();
    }
  }

  @Test
  void rejectsInvalidSettings() {
    RewardTrainerConfig c = new RewardTrainerConfig();
    c.validate();
    c.setModelPreset("huge");
    assertThrows(IllegalArgumentException.class, c::validate);
    RewardTrainerConfig d = new RewardTrainerConfig();
    d.setLrSchedule("wavy");
    assertThrows(IllegalArgumentException.class, d::validate);
    RewardTrainerConfig e = new RewardTrainerConfig();
    e.setEpochs(0);
    assertThrows(IllegalArgumentException.class, e::validate);
    RewardTrainerConfig f = new RewardTrainerConfig();
    f.setMinStepsPerRound(-1);
    assertThrows(IllegalArgumentException.class, f::validate);
  }

  @Test
  void smallRoundsRepeatTheirDataUntilTheyReachTheMinimumSteps() {
    RewardTrainerConfig c = new RewardTrainerConfig();
    assertEquals(32, c.getBatchSizeGroups());
    assertEquals(200, c.getMinStepsPerRound());
    assertEquals(17, c.epochsFor(380), "12 steps per epoch: 17 epochs for 204 >= 200 steps");
    assertEquals(1, c.epochsFor(20_000), "a large round keeps its one epoch");
    c.setEpochs(3);
    assertEquals(3, c.epochsFor(20_000), "never fewer than the configured epochs");
    c.setMinStepsPerRound(0);
    assertEquals(3, c.epochsFor(10));
  }
}
