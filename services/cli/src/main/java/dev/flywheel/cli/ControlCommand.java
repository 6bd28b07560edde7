package dev.flywheel.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * Promote or roll back through the registry, which writes the control event and waits for the ack.
 */
abstract class ControlCommand implements Callable<Integer> {

  @ParentCommand FlywheelCli cli;

  @Spec CommandSpec spec;

  @Parameters(paramLabel = "VERSION", description = "Version number.")
  long version;

  @Option(
      names = "--kind",
      paramLabel = "policy|reward",
      defaultValue = "policy",
      description = "Kind of the version (default: ${DEFAULT-VALUE}).")
  Kind kind;

  @Option(names = "--reason", paramLabel = "TEXT", description = "Why, for the audit trail.")
  String reason;

  @Option(
      names = "--api-key",
      paramLabel = "KEY",
      description =
          "API key of an app with the 'operator' scope (env " + FlywheelCli.ENV_API_KEY + ").")
  String apiKey;

  abstract String action();

  @Override
  public Integer call() {
    String key = FlywheelCli.firstOf(apiKey, cli.env(FlywheelCli.ENV_API_KEY));
    if (key == null) {
      throw new CliException("an API key is required: --api-key or " + FlywheelCli.ENV_API_KEY, 2);
    }
    ObjectNode body = ModelRegistryClient.JSON.createObjectNode();
    if (reason != null) {
      body.put("reason", reason);
    }
    JsonNode answer =
        cli.modelRegistry()
            .post("/api/versions/" + kind + "/" + version + "/" + action(), key, body);
    PrintWriter out = spec.commandLine().getOut();
    out.println(
        answer.path("action").asText()
            + " "
            + kind
            + " v"
            + version
            + " recorded on "
            + answer.path("topic").asText()
            + "["
            + answer.path("partition").asInt()
            + "]@"
            + answer.path("offset").asLong()
            + " by "
            + answer.path("requestedBy").asText()
            + " (event "
            + answer.path("eventId").asText()
            + ")");
    out.flush();
    return 0;
  }
}
