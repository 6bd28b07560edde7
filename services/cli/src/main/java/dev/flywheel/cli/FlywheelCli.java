package dev.flywheel.cli;

import java.io.PrintWriter;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * {@code flywheel}: the command line for ML engineers. Global options may be given before or after
 * the subcommand; each falls back to an environment variable, then to a default. The environment
 * variables for Kafka and the schema registry are the ones every service reads ({@code
 * flywheel.kafka.bootstrap-servers}, {@code flywheel.registry.url}); the model registry has its
 * own. The defaults are the addresses of the local platform ({@code bash infra/run-local.sh}), so
 * there no flag is needed.
 */
@Command(
    name = "flywheel",
    mixinStandardHelpOptions = true,
    versionProvider = FlywheelCli.Version.class,
    description =
        "Flywheel: model versions, lineage, promote/rollback, topic tailing and pair export.",
    subcommands = {
      VersionsCommand.class,
      LineageCommand.class,
      PromoteCommand.class,
      RollbackCommand.class,
      TailCommand.class,
      ExportPairsCommand.class,
      CommandLine.HelpCommand.class
    },
    footer = {
      "",
      "Environment: "
          + FlywheelCli.ENV_MODEL_REGISTRY_URL
          + ", "
          + FlywheelCli.ENV_KAFKA_BOOTSTRAP_SERVERS
          + ", "
          + FlywheelCli.ENV_SCHEMA_REGISTRY_URL
          + " (the schema registry, as for the services), "
          + FlywheelCli.ENV_API_KEY
          + " (promote/rollback).",
      "Defaults: the local platform (bash infra/run-local.sh)."
    })
public class FlywheelCli implements Runnable {

  /**
   * The model-registry service's HTTP API (versions, lineage, promote, rollback). The CLI's own.
   */
  public static final String ENV_MODEL_REGISTRY_URL = "FLYWHEEL_MODEL_REGISTRY_URL";

  /** Kafka brokers: the services' {@code flywheel.kafka.bootstrap-servers}, same variable. */
  public static final String ENV_KAFKA_BOOTSTRAP_SERVERS = "FLYWHEEL_KAFKA_BOOTSTRAP_SERVERS";

  /**
   * The Confluent-compatible schema registry: the services' {@code flywheel.registry.url}, same
   * variable.
   */
  public static final String ENV_SCHEMA_REGISTRY_URL = "FLYWHEEL_REGISTRY_URL";

  public static final String ENV_API_KEY = "FLYWHEEL_API_KEY";

  /**
   * The local platform's model registry: base port 8090 + 0 ({@code local-platform} {@code
   * Platform.Settings.defaults}).
   */
  static final String DEFAULT_MODEL_REGISTRY_URL = "http://127.0.0.1:8090";

  /** The local platform's broker. */
  static final String DEFAULT_BOOTSTRAP_SERVERS = "127.0.0.1:9092";

  /** The local platform's schema registry (Apicurio's Confluent-compatible API). */
  static final String DEFAULT_SCHEMA_REGISTRY_URL = "http://127.0.0.1:8081/apis/ccompat/v7";

  @Option(
      names = "--model-registry-url",
      scope = ScopeType.INHERIT,
      paramLabel = "URL",
      description =
          "Model registry service (env "
              + ENV_MODEL_REGISTRY_URL
              + ", default "
              + DEFAULT_MODEL_REGISTRY_URL
              + ").")
  String modelRegistryUrl;

  @Option(
      names = "--bootstrap-servers",
      scope = ScopeType.INHERIT,
      paramLabel = "HOST:PORT",
      description =
          "Kafka brokers (env "
              + ENV_KAFKA_BOOTSTRAP_SERVERS
              + ", default "
              + DEFAULT_BOOTSTRAP_SERVERS
              + ").")
  String bootstrapServers;

  @Option(
      names = "--schema-registry-url",
      scope = ScopeType.INHERIT,
      paramLabel = "URL",
      description =
          "Confluent-compatible schema registry, e.g. Apicurio's .../apis/ccompat/v7 (env "
              + ENV_SCHEMA_REGISTRY_URL
              + ", default "
              + DEFAULT_SCHEMA_REGISTRY_URL
              + ").")
  String schemaRegistryUrl;

  private final Map<String, String> env;

  public FlywheelCli() {
    this(System.getenv());
  }

  /** With an explicit environment (tests). */
  public FlywheelCli(Map<String, String> env) {
    this.env = Map.copyOf(env);
  }

  public static void main(String[] args) {
    System.exit(commandLine(new FlywheelCli()).execute(args));
  }

  /**
   * The configured command line: short error messages instead of stack traces for expected
   * failures.
   */
  public static CommandLine commandLine(FlywheelCli cli) {
    CommandLine cmd = new CommandLine(cli);
    cmd.setCaseInsensitiveEnumValuesAllowed(true);
    cmd.setExecutionExceptionHandler(
        (e, commandLine, parseResult) -> {
          PrintWriter err = commandLine.getErr();
          if (e instanceof CliException ce) {
            err.println("flywheel: " + ce.getMessage());
            err.flush();
            return ce.exitCode();
          }
          err.println("flywheel: " + e);
          err.flush();
          return 1;
        });
    return cmd;
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        new CommandLine(this), "missing command; see 'flywheel --help'");
  }

  String env(String name) {
    String v = env.get(name);
    return v == null || v.isBlank() ? null : v.trim();
  }

  String modelRegistryUrl() {
    return firstOf(modelRegistryUrl, env(ENV_MODEL_REGISTRY_URL), DEFAULT_MODEL_REGISTRY_URL)
        .replaceAll("/+$", "");
  }

  String bootstrapServers() {
    return firstOf(bootstrapServers, env(ENV_KAFKA_BOOTSTRAP_SERVERS), DEFAULT_BOOTSTRAP_SERVERS);
  }

  String schemaRegistryUrl() {
    return firstOf(schemaRegistryUrl, env(ENV_SCHEMA_REGISTRY_URL), DEFAULT_SCHEMA_REGISTRY_URL);
  }

  ModelRegistryClient modelRegistry() {
    return new ModelRegistryClient(modelRegistryUrl());
  }

  static String firstOf(String... values) {
    for (String v : values) {
      if (v != null && !v.isBlank()) {
        return v.trim();
      }
    }
    return null;
  }

  /** The implementation version from the jar manifest. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = FlywheelCli.class.getPackage().getImplementationVersion();
      return new String[] {"flywheel " + (v == null ? "dev" : v)};
    }
  }
}
