package dev.flywheel.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(
    name = "versions",
    mixinStandardHelpOptions = true,
    description = "List model versions: status, parents, metrics, artifact checksum.")
class VersionsCommand implements Callable<Integer> {

  @ParentCommand FlywheelCli cli;

  @Spec CommandSpec spec;

  @Option(
      names = "--kind",
      paramLabel = "policy|reward",
      description = "Only this kind (default: both).")
  Kind kind;

  @Option(names = "--json", description = "Print the registry's JSON instead of a table.")
  boolean json;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    ModelRegistryClient registry = cli.modelRegistry();
    List<Kind> kinds = kind == null ? List.of(Kind.policy, Kind.reward) : List.of(kind);
    for (Kind k : kinds) {
      JsonNode answer = registry.get("/api/versions/" + k);
      if (json) {
        out.println(answer.toString());
        continue;
      }
      if (kinds.size() > 1) {
        out.println(k == Kind.policy ? "Policy versions" : "Reward model versions");
      }
      Table table =
          k == Kind.policy
              ? new Table(
                  "VERSION", "STATUS", "STAGE", "PARENTS", "RM", "CREATED", "METRICS", "SHA256")
              : new Table(
                  "VERSION", "STATUS", "PARENT", "PAIRS-DATA", "CREATED", "METRICS", "SHA256");
      for (JsonNode v : answer.path("versions")) {
        if (k == Kind.policy) {
          table.row(
              "v" + v.path("version").asLong(),
              v.path("status").asText(),
              v.path("stage").asText(),
              Format.versions(v.path("parentVersions")),
              Format.optVersion(v.path("rewardModelVersion")),
              Format.time(v.path("createdAt")),
              Format.metrics(v.path("metrics"), 4),
              Format.shortSha(v.path("artifactSha256")));
        } else {
          table.row(
              "v" + v.path("version").asLong(),
              v.path("status").asText(),
              Format.optVersion(v.path("parentVersion")),
              Format.records(v.path("trainingData")) + " groups",
              Format.time(v.path("createdAt")),
              Format.metrics(v.path("metrics"), 4),
              Format.shortSha(v.path("artifactSha256")));
        }
      }
      if (table.size() == 0) {
        out.println("(no " + k + " versions)");
      } else {
        table.print(out);
      }
      if (kinds.size() > 1 && k == Kind.policy) {
        out.println();
      }
    }
    out.flush();
    return 0;
  }
}
