package dev.flywheel.simulator;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * The simulator's command line, {@code Simulator [MODE] [VERSION...] [--option value]...}: one
 * option per {@link SimulatorConfig} field ({@link SimulatorOptions}). An option not given comes
 * from the environment variable {@code FLYWHEEL_SIM_<NAME>} (upper case, dashes as underscores:
 * {@code --held-out-ranking-share} reads {@code FLYWHEEL_SIM_HELD_OUT_RANKING_SHARE}), else its
 * default, which is the {@link SimulatorConfig.Builder}'s ({@code SimulatorCommandTest} checks that
 * they agree). API keys are best given through the environment: a command line is visible to every
 * user of the machine, and {@code --help} never prints them.
 */
@Command(
    name = "Simulator",
    customSynopsis = "Simulator [MODE] [VERSION...] [--option value]...",
    sortOptions = false,
    usageHelpAutoWidth = true,
    description = {
      "The traffic simulator: plays the product apps of the synthetic product against serving, the"
          + " feedback gateway and the model registry (simulator/README.md).",
      "Every option also reads FLYWHEEL_SIM_<NAME> when not given (--held-out-ranking-share:"
          + " FLYWHEEL_SIM_HELD_OUT_RANKING_SHARE); a default shown below may come from there."
    })
final class SimulatorCommand implements Callable<Integer> {

  /** What to do. */
  enum Mode {
    /** Demonstrations, then the loop, then the evaluation table. */
    RUN,
    /** Demonstrations only. */
    DEMOS,
    /** The loop only. */
    LOOP,
    /** Evaluate every registry version, or the given ones. */
    EVAL,
    /** Print the labeler-noise calibration and exit. */
    CALIBRATE
  }

  /** Prefix of the environment variables the options fall back to. */
  static final String ENV_PREFIX = "FLYWHEEL_SIM_";

  @Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = {"-h", "--help"},
      usageHelp = true,
      description = "Print this help and exit.")
  boolean help;

  @Parameters(
      index = "0",
      arity = "0..1",
      paramLabel = "MODE",
      defaultValue = "run",
      description =
          "run (demonstrations, loop, evaluation table), demos, loop, eval [VERSION...],"
              + " calibrate. Default: ${DEFAULT-VALUE}.")
  String mode; // a string, so that an unknown option before a value is reported as that

  @Parameters(
      index = "1..*",
      paramLabel = "VERSION",
      description =
          "eval: the policy versions to evaluate, against the lowest or --baseline-version"
              + " (default: every registry version).")
  List<Long> versions = new ArrayList<>();

  @Mixin SimulatorOptions options = new SimulatorOptions();

  private SimulatorCommand() {}

  /**
   * The configured command line over {@code env}: options fall back to {@code FLYWHEEL_SIM_*}
   * there, and a bad option prints one line naming it instead of the whole usage.
   */
  static CommandLine commandLine(Map<String, String> env) {
    CommandLine cmd = new CommandLine(new SimulatorCommand());
    cmd.setCaseInsensitiveEnumValuesAllowed(true);
    cmd.setDefaultValueProvider(arg -> fromEnvironment(arg, env));
    cmd.setParameterExceptionHandler(
        (e, args) -> {
          PrintWriter err = e.getCommandLine().getErr();
          err.println("simulator: " + e.getMessage());
          err.println("Run with --help for the options and their defaults.");
          err.flush();
          return e.getCommandLine().getCommandSpec().exitCodeOnInvalidInput();
        });
    return cmd;
  }

  /** Parses {@code args} over {@code env}; a bad option throws a {@link ParameterException}. */
  static SimulatorCommand parse(Map<String, String> env, String... args) {
    CommandLine cmd = commandLine(env);
    cmd.parseArgs(args);
    SimulatorCommand command = cmd.getCommand();
    command.mode(); // validates it
    return command;
  }

  /** Runs the command line; returns the exit code (2: bad options). */
  static int execute(Map<String, String> env, String... args) {
    return commandLine(env).execute(args);
  }

  /** The environment variable that option {@code --name} falls back to. */
  static String environmentVariable(String optionName) {
    return ENV_PREFIX
        + optionName.replaceFirst("^--", "").toUpperCase(Locale.ROOT).replace('-', '_');
  }

  private static String fromEnvironment(ArgSpec arg, Map<String, String> env) {
    if (!(arg instanceof OptionSpec option) || option.usageHelp()) {
      return null;
    }
    String v = env.get(environmentVariable(option.longestName()));
    return v == null || v.isBlank() ? null : v.strip();
  }

  /** The settings the options give; settings that do not fit together are a usage error. */
  SimulatorConfig config() {
    try {
      return options.config();
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage(), e);
    }
  }

  /** The mode given; an unknown one is a usage error. */
  Mode mode() {
    try {
      return Mode.valueOf(mode.strip().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new ParameterException(
          spec.commandLine(),
          "unknown mode '" + mode + "' (MODE: run, demos, loop, eval, calibrate)");
    }
  }

  List<Long> versions() {
    return List.copyOf(versions);
  }

  @Override
  public Integer call() throws Exception {
    Mode mode = mode();
    SimulatorConfig config = config();
    try (Simulator simulator = new Simulator(config)) {
      switch (mode) {
        case CALIBRATE -> System.out.println(simulator.calibration());
        case DEMOS -> simulator.postDemonstrations();
        case LOOP, RUN -> {
          Thread main = Thread.currentThread();
          Runtime.getRuntime()
              .addShutdownHook(
                  new Thread(
                      () -> {
                        simulator.stop();
                        try {
                          main.join(10_000);
                        } catch (InterruptedException e) {
                          Thread.currentThread().interrupt();
                        }
                      },
                      "sim-shutdown"));
          if (mode == Mode.RUN) {
            simulator.run();
          } else {
            simulator.log("calibration: " + simulator.calibration());
            simulator.runLoop();
          }
        }
        case EVAL -> {
          EvaluationReport report =
              versions.isEmpty()
                  ? simulator.evaluation().evaluate()
                  : simulator.evaluation().evaluateVersions(versions, config.baselineVersion());
          System.out.print(report.table());
        }
      }
    }
    return 0;
  }
}
