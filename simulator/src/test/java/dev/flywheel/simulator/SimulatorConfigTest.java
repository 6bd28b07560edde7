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
  }

  @Test
  void toStringNeverPrintsTheKeys() {
    SimulatorConfig c =
        SimulatorConfig.builder().servingKey("fwk_serving").gatewayKey("fwk_gateway").build();
    assertThat(c.toString()).doesNotContain("fwk_serving").doesNotContain("fwk_gateway");
  }
}
