package dev.flywheel.simulator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SimulatorConfigTest {

  @Test
  void optionsOverrideEnvironmentOverrideDefaults() {
    List<String> positional = new ArrayList<>();
    SimulatorConfig c =
        SimulatorConfig.parse(
            List.of(
                "loop",
                "--k",
                "6",
                "--rate=0.5",
                "--duration",
                "90s",
                "--serving-url",
                "http://localhost:9001"),
            Map.of(
                "FLYWHEEL_SIM_K",
                "3",
                "FLYWHEEL_SIM_GATEWAY_KEY",
                "fwk_secret",
                "FLYWHEEL_SIM_SEED",
                "7",
                "FLYWHEEL_SIM_HELD_OUT_RANKING_SHARE",
                "0.2"),
            positional);
    assertThat(positional).containsExactly("loop");
    assertThat(c.k()).isEqualTo(6);
    assertThat(c.rate()).isEqualTo(0.5);
    assertThat(c.duration()).isEqualTo(Duration.ofSeconds(90));
    assertThat(c.servingUrl()).isEqualTo(URI.create("http://localhost:9001"));
    assertThat(c.gatewayKey()).isEqualTo("fwk_secret");
    assertThat(c.seed()).isEqualTo(7);
    assertThat(c.heldOutRankingShare()).isEqualTo(0.2);
    assertThat(c.model()).isEqualTo("flywheel");
    assertThat(c.sigma()).isNull();
    assertThat(c.toString()).doesNotContain("fwk_secret");
  }

  @Test
  void durations() {
    assertThat(SimulatorConfig.duration("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(SimulatorConfig.duration("10m")).isEqualTo(Duration.ofMinutes(10));
    assertThat(SimulatorConfig.duration("1.5h")).isEqualTo(Duration.ofMinutes(90));
    assertThat(SimulatorConfig.duration("30")).isEqualTo(Duration.ofSeconds(30));
    assertThat(SimulatorConfig.duration("PT2M")).isEqualTo(Duration.ofMinutes(2));
  }

  @Test
  void rejectsUnboundedLoopsRemoteHostsAndUnknownOptions() {
    assertThatThrownBy(() -> SimulatorConfig.builder().count(0).build())
        .hasMessageContaining("bound");
    assertThat(SimulatorConfig.builder().count(0).duration(Duration.ofMinutes(1)).build().count())
        .isZero();
    assertThatThrownBy(() -> SimulatorConfig.builder().k(10).build())
        .hasMessageContaining("k must be 2..9");
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
    assertThatThrownBy(
            () -> SimulatorConfig.parse(List.of("--nope", "1"), Map.of(), new ArrayList<>()))
        .hasMessageContaining("unknown option --nope");
    assertThatThrownBy(
            () -> SimulatorConfig.parse(List.of("--k", "four"), Map.of(), new ArrayList<>()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--k four");
  }
}
