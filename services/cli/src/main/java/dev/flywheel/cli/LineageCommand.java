package dev.flywheel.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(
    name = "lineage",
    mixinStandardHelpOptions = true,
    description = {
      "Show where a version came from.",
      "For a policy: the reward model it optimised, that reward model's parent chain with the "
          + "comparison-data offset ranges each was trained on, and the policy parents down to the SFT root. "
          + "For a reward model: its parent chain."
    })
class LineageCommand implements Callable<Integer> {

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

  @Option(names = "--json", description = "Print the registry's JSON.")
  boolean json;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    JsonNode lineage =
        cli.modelRegistry().get("/api/versions/" + kind + "/" + version + "/lineage");
    if (json) {
      out.println(lineage.toString());
      out.flush();
      return 0;
    }
    if (kind == Kind.policy) {
      JsonNode p = lineage.path("policy");
      out.println(
          "policy v"
              + p.path("version").asLong()
              + "  "
              + p.path("stage").asText()
              + "  "
              + p.path("status").asText()
              + "  created "
              + Format.time(p.path("createdAt")));
      out.println(
          "  artifact "
              + p.path("artifactUri").asText()
              + "  sha256 "
              + p.path("artifactSha256").asText());
      JsonNode chain = lineage.path("rewardModelChain");
      if (chain.isEmpty()) {
        out.println(
            "  reward model: none ("
                + ("SFT".equals(p.path("stage").asText()) ? "SFT policy" : "unknown")
                + ")");
      } else {
        out.println("  reward model chain (optimised first):");
        for (JsonNode rm : chain) {
          printReward(out, rm, "    ");
        }
      }
      out.println("  policy ancestors:");
      if (lineage.path("policyAncestors").isEmpty()) {
        out.println("    none: this is an SFT root");
      }
      for (JsonNode a : lineage.path("policyAncestors")) {
        boolean root = "SFT".equals(a.path("stage").asText()) && a.path("parentVersions").isEmpty();
        out.println(
            "    v"
                + a.path("version").asLong()
                + "  "
                + a.path("stage").asText()
                + "  "
                + a.path("status").asText()
                + (a.path("parentVersions").isEmpty()
                    ? ""
                    : "  parents " + Format.versions(a.path("parentVersions")))
                + (a.path("rewardModelVersion").isNull()
                    ? ""
                    : "  RM " + Format.optVersion(a.path("rewardModelVersion")))
                + (root ? "  (SFT root)" : ""));
      }
      out.println("  SFT root(s): " + Format.versions(lineage.path("sftRoots")));
    } else {
      out.println("reward model chain of v" + version + " (newest first):");
      for (JsonNode rm : lineage.path("chain")) {
        printReward(out, rm, "  ");
      }
    }
    if (!lineage.path("missing").isEmpty()) {
      out.println("  missing from the registry: " + lineage.path("missing"));
    }
    out.flush();
    return 0;
  }

  private static void printReward(PrintWriter out, JsonNode rm, String indent) {
    out.println(
        indent
            + "reward model v"
            + rm.path("version").asLong()
            + "  "
            + rm.path("status").asText()
            + (rm.path("parentVersion").isNull()
                ? ""
                : "  parent " + Format.optVersion(rm.path("parentVersion")))
            + "  eval_accuracy "
            + Format.num(rm.path("metrics").path("eval_accuracy")));
    out.println(indent + "  comparison data: " + Format.ranges(rm.path("trainingData")));
  }
}
