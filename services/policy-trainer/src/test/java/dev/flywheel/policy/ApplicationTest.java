package dev.flywheel.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.policy.config.PolicyTrainerConfig;
import dev.flywheel.policy.service.PolicyTrainerStatus;
import dev.flywheel.policy.train.DpoConfig;
import dev.flywheel.policy.train.PpoConfig;
import dev.flywheel.policy.train.SftConfig;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The Micronaut wiring: configuration binding, /health and /prometheus (training loop disabled).
 */
class ApplicationTest {

  @Test
  void configurationBindsAndHealthAndPrometheusAnswer() throws Exception {
    Map<String, Object> properties =
        new HashMap<>(
            Map.of(
                "micronaut.server.port", -1,
                "flywheel.policy-trainer.enabled", false,
                "flywheel.policy-trainer.ppo.kl-control", "fixed",
                "flywheel.policy-trainer.ppo.init-kl-coef", "0.02",
                "flywheel.policy-trainer.ppo.value-init", "policy",
                "flywheel.policy-trainer.ppo.ptx-coef", "27.8",
                "flywheel.policy-trainer.ppo.algorithm", "online-dpo",
                "flywheel.policy-trainer.sft.epochs", "3",
                "flywheel.policy-trainer.ppo-schedule", "30m",
                "flywheel.policy-trainer.auto-promote", "false"));
    properties.put("flywheel.policy-trainer.dpo.round-min-groups", "64");
    properties.put("flywheel.policy-trainer.dpo.loss", "ipo");
    properties.put("flywheel.policy-trainer.dpo.rpo-alpha", "1");
    properties.put("flywheel.policy-trainer.ppo.score-normalization", "reward-model");
    try (EmbeddedServer server = ApplicationContext.run(EmbeddedServer.class, properties)) {
      ApplicationContext ctx = server.getApplicationContext();
      PpoConfig ppo = ctx.getBean(PpoConfig.class);
      assertEquals(PpoConfig.KlControl.FIXED, ppo.getKlControl());
      assertEquals(0.02, ppo.getInitKlCoef(), 1e-12);
      assertEquals(PpoConfig.ValueInit.POLICY, ppo.getValueInit());
      assertEquals(27.8f, ppo.getPtxCoef(), 1e-6);
      assertEquals(
          PpoConfig.Algorithm.ONLINE_DPO, ppo.getAlgorithm(), "kebab-case names bind to the enum");
      assertEquals(4, ppo.effectiveSamplesPerPrompt(), "the algorithm's own K");
      assertEquals(PpoConfig.ScoreNormalization.REWARD_MODEL, ppo.getScoreNormalization());
      assertEquals("reward-model", ppo.toMap().get("ppo.score-normalization"));
      assertEquals(0.95f, ppo.getLam(), 0f, "untouched defaults stay");
      assertEquals(3, ctx.getBean(SftConfig.class).getEpochs());
      DpoConfig dpo = ctx.getBean(DpoConfig.class);
      assertEquals(64, dpo.getRoundMinGroups());
      assertEquals(PpoConfig.DpoLoss.IPO, dpo.getLoss());
      assertEquals(1f, dpo.getRpoAlpha(), 0f);
      assertEquals(0.1f, dpo.getBeta(), 0f, "untouched defaults stay");
      PolicyTrainerConfig config = ctx.getBean(PolicyTrainerConfig.class);
      assertEquals(Duration.ofMinutes(30), config.getPpoSchedule());
      assertTrue(!config.isAutoPromote());
      assertEquals(
          PolicyTrainerStatus.Phase.DISABLED, ctx.getBean(PolicyTrainerStatus.class).phase());

      HttpClient http = HttpClient.newHttpClient();
      HttpResponse<String> health =
          http.send(
              HttpRequest.newBuilder(URI.create(server.getURL() + "/health")).build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(200, health.statusCode(), health.body());
      assertTrue(
          health.body().contains("\"trainer\"") && health.body().contains("DISABLED"),
          health.body());
      HttpResponse<String> prometheus =
          http.send(
              HttpRequest.newBuilder(URI.create(server.getURL() + "/prometheus")).build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(200, prometheus.statusCode());
      assertTrue(prometheus.body().contains("flywheel_policy_trainer_phase"), prometheus.body());
      assertTrue(
          prometheus.body().contains("flywheel_policy_trainer_versions_published_total"),
          prometheus.body());
      assertTrue(prometheus.body().contains("flywheel_policy_trainer_dpo_rounds_total"));
    }
  }

  @Test
  void dpoIsChosenWithTheAlgorithmKeyAndABadDpoValueFailsStartUpNamingTheKey() {
    try (ApplicationContext ctx =
        ApplicationContext.run(
            Map.of(
                "flywheel.policy-trainer.enabled",
                false,
                "flywheel.policy-trainer.ppo.algorithm",
                "dpo"))) {
      assertEquals(PpoConfig.Algorithm.DPO, ctx.getBean(PpoConfig.class).getAlgorithm());
    }
    Throwable failure =
        assertThrows(
            Throwable.class,
            () ->
                ApplicationContext.run(
                        Map.of(
                            "flywheel.policy-trainer.enabled", false,
                            "flywheel.policy-trainer.ppo.algorithm", "dpo",
                            "flywheel.policy-trainer.dpo.round-min-groups", "0"))
                    .close());
    StringBuilder messages = new StringBuilder();
    for (Throwable t = failure; t != null; t = t.getCause()) {
      messages.append(t.getMessage()).append('\n');
    }
    assertTrue(
        messages.toString().contains("flywheel.policy-trainer.dpo.round-min-groups must be >= 1"),
        messages.toString());
  }
}
