package dev.flywheel.simulator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class SimulatorConfigTest {

  @Test
  void rejectsUnboundedLoopsAndRemoteHosts() {
    assertThatThrownBy(() -> SimulatorConfig.builder().count(0).build())
        .hasMessageContaining("bound");
    assertThat(SimulatorConfig.builder().count(0).duration(Duration.ofMinutes(1)).build().count())
        .isZero();
    assertThatThrownBy(() -> SimulatorConfig.builder().k(10).build())
        .hasMessageContaining("--k must be 2..9");
    assertThatThrownBy(
            () -> SimulatorConfig.builder().servingUrl(URI.create("http://192.0.2.1:8080")).build())
        .hasMessageContaining("not a loopback address");
    assertThat(
            SimulatorConfig.builder()
                .servingUrl(URI.create("http://192.0.2.1:8080"))
                .allowRemote(true)
                .build()
                .allowRemote())
        .isTrue();
  }

  @Test
  void kIsTwoToNineThePlatformsBoundOnARanking() {
    for (int k = 2; k <= 9; k++) {
      assertThat(SimulatorConfig.builder().k(k).build().k()).isEqualTo(k);
    }
    for (int k : new int[] {-1, 0, 1, 10, 16}) {
      assertThatThrownBy(() -> SimulatorConfig.builder().k(k).build())
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("--k must be 2..9")
          .hasMessageContaining("gateway")
          .hasMessageEndingWith(": " + k);
    }
    assertThatThrownBy(() -> SimulatorCommand.parse(java.util.Map.of(), "--k", "12").config())
        .hasMessageContaining("--k must be 2..9");
  }

  @Test
  void dedupIsOffByDefaultAndItsReplacementsAreBounded() {
    SimulatorConfig defaults = SimulatorConfig.builder().build();
    assertThat(defaults.dedupCandidates()).isFalse();
    assertThat(defaults.dedupReplacements()).isEqualTo(CandidateDedup.DEFAULT_MAX_REPLACEMENTS);
    assertThat(SimulatorConfig.builder().dedupReplacements(0).build().dedupReplacements()).isZero();
    assertThatThrownBy(() -> SimulatorConfig.builder().dedupReplacements(-1).build())
        .hasMessageContaining("--dedup-replacements must be 0..10");
    assertThatThrownBy(() -> SimulatorConfig.builder().dedupReplacements(11).build())
        .hasMessageContaining("--dedup-replacements must be 0..10");
    SimulatorConfig fromEnv =
        SimulatorCommand.parse(
                java.util.Map.of(
                    "FLYWHEEL_SIM_DEDUP_CANDIDATES",
                    "true",
                    "FLYWHEEL_SIM_DEDUP_REPLACEMENTS",
                    "4"))
            .config();
    assertThat(fromEnv.dedupCandidates()).isTrue();
    assertThat(fromEnv.dedupReplacements()).isEqualTo(4);
    assertThat(
            SimulatorCommand.parse(
                    java.util.Map.of("FLYWHEEL_SIM_DEDUP_CANDIDATES", "true"),
                    "--dedup-candidates",
                    "false")
                .config()
                .dedupCandidates())
        .as("the option over the environment")
        .isFalse();
  }

  @Test
  void toStringNeverPrintsTheKeys() {
    SimulatorConfig c =
        SimulatorConfig.builder().servingKey("fwk_serving").gatewayKey("fwk_gateway").build();
    assertThat(c.toString()).doesNotContain("fwk_serving").doesNotContain("fwk_gateway");
  }
}
