package dev.flywheel.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;

/** The launcher's options only: nothing is started. */
class LocalPlatformTest {

  @Test
  void defaultsAreTheReadmesPlatform() {
    LocalPlatform launcher = LocalPlatform.parse();
    Platform.Settings settings = launcher.settings();
    assertThat(settings.repoRoot()).isEqualTo(Path.of(".").toAbsolutePath().normalize());
    assertThat(settings.dataDir()).isEqualTo(Path.of(".flywheel"));
    assertThat(settings.kafkaPort()).isEqualTo(9092);
    assertThat(settings.registryPort()).isEqualTo(8081);
    assertThat(settings.basePort()).isEqualTo(8090);
    assertThat(settings.services()).containsExactlyElementsOf(FlywheelService.CORE);
    assertThat(settings.services()).doesNotContain(FlywheelService.ROLLOUT_WORKER);
    assertThat(settings.rolloutWorkers()).isZero();
    assertThat(launcher.withSimulator).isTrue();
    assertThat(launcher.simulatorCount).isEqualTo(100_000);
  }

  @Test
  void optionsOverride() {
    LocalPlatform launcher =
        LocalPlatform.parse(
            "--data-dir",
            "/tmp/fw-data",
            "--kafka-port",
            "19092",
            "--registry-port=18081",
            "--base-port",
            "18090",
            "--simulator",
            "false",
            "--simulator-count",
            "50",
            "--repo-root",
            "/srv/flywheel",
            "--rollout-workers",
            "2");
    Platform.Settings settings = launcher.settings();
    assertThat(settings.rolloutWorkers()).isEqualTo(2);
    assertThat(settings.dataDir()).isEqualTo(Path.of("/tmp/fw-data"));
    assertThat(settings.repoRoot()).isEqualTo(Path.of("/srv/flywheel"));
    assertThat(settings.kafkaPort()).isEqualTo(19092);
    assertThat(settings.registryPort()).isEqualTo(18081);
    assertThat(settings.basePort()).isEqualTo(18090);
    assertThat(launcher.withSimulator).isFalse();
    assertThat(launcher.simulatorCount).isEqualTo(50);
  }

  @Test
  void aBadValueNamesTheOption() {
    assertThatThrownBy(() -> LocalPlatform.parse("--kafka-port", "ninety"))
        .isInstanceOf(ParameterException.class)
        .hasMessageContaining("--kafka-port")
        .hasMessageContaining("ninety");
    // before picocli anything but "true" silently meant false
    assertThatThrownBy(() -> LocalPlatform.parse("--simulator", "no"))
        .isInstanceOf(ParameterException.class)
        .hasMessageContaining("--simulator")
        .hasMessageContaining("no");
    assertThatThrownBy(() -> LocalPlatform.parse("--base-port"))
        .isInstanceOf(ParameterException.class)
        .hasMessageContaining("--base-port");
    assertThatThrownBy(() -> LocalPlatform.parse("--kafka", "9092"))
        .isInstanceOf(ParameterException.class)
        .hasMessageContaining("--kafka");

    StringWriter err = new StringWriter();
    CommandLine cmd = LocalPlatform.commandLine();
    cmd.setErr(new PrintWriter(err));
    assertThat(cmd.execute("--registry-port", "x")).isEqualTo(2);
    assertThat(err.toString()).contains("--registry-port").contains("'x'");
  }

  @Test
  void helpListsEveryOptionWithItsDefault() {
    StringWriter out = new StringWriter();
    CommandLine cmd = LocalPlatform.commandLine();
    cmd.setOut(new PrintWriter(out));
    assertThat(cmd.execute("--help")).isZero();
    String help = out.toString();
    for (OptionSpec option : cmd.getCommandSpec().options()) {
      assertThat(help).contains(option.longestName());
    }
    assertThat(help)
        .contains("--simulator-count")
        .contains("Default: 9092.")
        .contains("Default: 8081.")
        .contains("Default: 8090.")
        .contains("Default: .flywheel.")
        .contains("Default: true.")
        .contains("Default: 100000.");
  }
}
