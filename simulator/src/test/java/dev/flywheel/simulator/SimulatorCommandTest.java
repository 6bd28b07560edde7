package dev.flywheel.simulator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.flywheel.simulator.SimulatorCommand.Mode;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;

class SimulatorCommandTest {

  @Test
  void withNothingGivenEveryDefaultIsTheBuilders() {
    SimulatorCommand command = SimulatorCommand.parse(Map.of());
    assertThat(command.mode()).isEqualTo(Mode.RUN);
    assertThat(command.versions()).isEmpty();
    // record equality over every field: the command line's defaults cannot drift from the code's
    assertThat(command.config()).isEqualTo(SimulatorConfig.builder().build());
    SimulatorConfig c = command.config();
    assertThat(c.servingUrl()).isEqualTo(URI.create("http://127.0.0.1:8092"));
    assertThat(c.gatewayUrl()).isEqualTo(URI.create("http://127.0.0.1:8091"));
    assertThat(c.registryUrl()).isNull();
    assertThat(c.k()).isEqualTo(4);
    assertThat(c.count()).isEqualTo(2000);
    assertThat(c.duration()).isNull();
    assertThat(c.sigma()).isNull();
    assertThat(c.evalOnNewVersion()).isTrue();
    assertThat(c.progressEvery()).isEqualTo(Duration.ofSeconds(10));
    assertThat(c.allowRemote()).isFalse();
  }

  @Test
  void optionsOverrideEnvironmentOverrideDefaults() {
    SimulatorCommand command =
        SimulatorCommand.parse(
            Map.of(
                "FLYWHEEL_SIM_K", "3",
                "FLYWHEEL_SIM_GATEWAY_KEY", "fwk_secret",
                "FLYWHEEL_SIM_SEED", " 7 ",
                "FLYWHEEL_SIM_HELD_OUT_RANKING_SHARE", "0.2",
                "FLYWHEEL_SIM_MODEL", "  "),
            "loop",
            "--k",
            "6",
            "--rate=0.5",
            "--duration",
            "90s",
            "--serving-url",
            "http://localhost:9001");
    SimulatorConfig c = command.config();
    assertThat(command.mode()).isEqualTo(Mode.LOOP);
    assertThat(c.k()).isEqualTo(6);
    assertThat(c.rate()).isEqualTo(0.5);
    assertThat(c.duration()).isEqualTo(Duration.ofSeconds(90));
    assertThat(c.servingUrl()).isEqualTo(URI.create("http://localhost:9001"));
    assertThat(c.gatewayKey()).isEqualTo("fwk_secret");
    assertThat(c.seed()).isEqualTo(7);
    assertThat(c.heldOutRankingShare()).isEqualTo(0.2);
    assertThat(c.model()).as("a blank variable is not set").isEqualTo("flywheel");
    assertThat(SimulatorCommand.parse(Map.of("FLYWHEEL_SIM_K", "3")).config().k()).isEqualTo(3);
  }

  @Test
  void everyOptionHasItsOwnEnvironmentVariable() {
    assertThat(SimulatorCommand.environmentVariable("--held-out-ranking-share"))
        .isEqualTo("FLYWHEEL_SIM_HELD_OUT_RANKING_SHARE");
    assertThat(
            SimulatorCommand.parse(
                    Map.of(
                        "FLYWHEEL_SIM_ALLOW_REMOTE", "yes",
                        "FLYWHEEL_SIM_SIGMA", "0.25",
                        "FLYWHEEL_SIM_REQUEST_TIMEOUT", "PT2M",
                        "FLYWHEEL_SIM_BASELINE_VERSION", "3",
                        "FLYWHEEL_SIM_CALIBRATE_ON", "Served",
                        "FLYWHEEL_SIM_SERVED_CALIBRATION_SETS", "50"))
                .config())
        .satisfies(
            c -> {
              assertThat(c.calibrationSource()).isEqualTo(SimulatorConfig.CalibrationSource.SERVED);
              assertThat(c.servedCalibrationSets()).isEqualTo(50);
              assertThat(c.allowRemote()).isTrue();
              assertThat(c.sigma()).isEqualTo(0.25);
              assertThat(c.requestTimeout()).isEqualTo(Duration.ofMinutes(2));
              assertThat(c.baselineVersion()).isEqualTo(3L);
            });
  }

  @Test
  void modesAndVersions() {
    SimulatorCommand eval = SimulatorCommand.parse(Map.of(), "eval", "3", "5", "--k", "2");
    assertThat(eval.mode()).isEqualTo(Mode.EVAL);
    assertThat(eval.versions()).containsExactly(3L, 5L);
    assertThat(SimulatorCommand.parse(Map.of(), "calibrate").mode()).isEqualTo(Mode.CALIBRATE);
    assertThatThrownBy(() -> SimulatorCommand.parse(Map.of(), "fly"))
        .isInstanceOf(ParameterException.class)
        .hasMessageContaining("MODE")
        .hasMessageContaining("fly");
    StringWriter err = new StringWriter();
    CommandLine cmd = SimulatorCommand.commandLine(Map.of());
    cmd.setErr(new PrintWriter(err));
    assertThat(cmd.execute("fly")).isEqualTo(2);
    assertThat(err.toString()).contains("unknown mode 'fly'");
  }

  @Test
  void aBadValueNamesTheOption() {
    assertThatThrownBy(() -> SimulatorCommand.parse(Map.of(), "--k", "four"))
        .isInstanceOf(ParameterException.class)
        .hasMessageContaining("--k")
        .hasMessageContaining("four");
    assertThatThrownBy(() -> SimulatorCommand.parse(Map.of("FLYWHEEL_SIM_RATE", "fast")))
        .isInstanceOf(ParameterException.class)
        .hasMessageContaining("--rate")
        .hasMessageContaining("fast");
    assertThatThrownBy(() -> SimulatorCommand.parse(Map.of(), "--allow-remote", "maybe"))
        .hasMessageContaining("--allow-remote")
        .hasMessageContaining("maybe");
    assertThatThrownBy(() -> SimulatorCommand.parse(Map.of(), "--duration", "10 parsecs"))
        .hasMessageContaining("--duration");
    assertThatThrownBy(() -> SimulatorCommand.parse(Map.of(), "--calibrate-on", "policy"))
        .hasMessageContaining("--calibrate-on")
        .hasMessageContaining("synthetic or served");
    assertThatThrownBy(() -> SimulatorCommand.parse(Map.of(), "--nope", "1"))
        .isInstanceOf(ParameterException.class)
        .hasMessageContaining("Unknown option")
        .hasMessageContaining("--nope");
    // values that parse but do not fit together: the settings' own check, as a usage error
    assertThatThrownBy(() -> SimulatorCommand.parse(Map.of(), "--k", "10").config())
        .isInstanceOf(ParameterException.class)
        .hasMessageContaining("k must be 2..9");
  }

  @Test
  void aBadValueExitsWithTwoAndOneLineNamingTheOption() {
    StringWriter err = new StringWriter();
    CommandLine cmd = SimulatorCommand.commandLine(Map.of());
    cmd.setErr(new PrintWriter(err));
    assertThat(cmd.execute("--max-attempts", "many")).isEqualTo(2);
    assertThat(err.toString())
        .startsWith("simulator: ")
        .contains("--max-attempts")
        .contains("many")
        .contains("--help");

    StringWriter err2 = new StringWriter();
    CommandLine cmd2 = SimulatorCommand.commandLine(Map.of());
    cmd2.setErr(new PrintWriter(err2));
    assertThat(cmd2.execute("loop", "--count", "0")).isEqualTo(2);
    assertThat(err2.toString()).contains("bound");
  }

  @Test
  void durations() {
    SimulatorOptions.DurationConverter d = new SimulatorOptions.DurationConverter();
    assertThat(d.convert("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(d.convert("10m")).isEqualTo(Duration.ofMinutes(10));
    assertThat(d.convert("1.5h")).isEqualTo(Duration.ofMinutes(90));
    assertThat(d.convert("30")).isEqualTo(Duration.ofSeconds(30));
    assertThat(d.convert("PT2M")).isEqualTo(Duration.ofMinutes(2));
  }

  @Test
  void helpListsEveryOptionWithItsDefaultAndNeverAKey() {
    StringWriter out = new StringWriter();
    CommandLine cmd =
        SimulatorCommand.commandLine(Map.of("FLYWHEEL_SIM_GATEWAY_KEY", "fwk_secret"));
    cmd.setOut(new PrintWriter(out));
    assertThat(cmd.execute("--help")).isZero();
    String help = out.toString();
    for (OptionSpec option : cmd.getCommandSpec().options()) {
      assertThat(help).contains(option.longestName());
      if (!option.usageHelp()) {
        assertThat(String.join(" ", option.description()))
            .as(option.longestName())
            .contains("Default");
      }
    }
    assertThat(cmd.getCommandSpec().options()).hasSizeGreaterThan(30);
    assertThat(help)
        .contains("Default: 4.")
        .contains("Default: calibrate.")
        .contains("Default: 10s.")
        .contains("Default: " + PromptSplit.DEFAULT_EVAL_FRACTION + ".")
        .contains("FLYWHEEL_SIM_")
        .doesNotContain("fwk_secret");
  }
}
