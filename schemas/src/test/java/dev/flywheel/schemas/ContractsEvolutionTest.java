package dev.flywheel.schemas;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;

/**
 * Guards schema evolution: every {@code .avsc} as it is now must read data written with every
 * version of it ever committed (BACKWARD, transitively: feedback topics keep their data forever).
 * Compares the working tree with each commit in git history that touched the contracts.
 */
class ContractsEvolutionTest {

  private static final Path AVRO_DIR = Path.of("src/main/avro");
  private static final int MAX_COMMITS = 200;

  @Test
  void everyContractIsBackwardCompatibleWithEveryCommittedVersion() throws Exception {
    Path repoRoot = gitRoot();
    assumeTrue(repoRoot != null, "not a git checkout: nothing committed to compare with");
    String avroPath = repoRoot.relativize(AVRO_DIR.toAbsolutePath().normalize()).toString();

    Map<String, Schema> current = SchemaEvolution.parseAll(readWorkingTree());
    List<String> failures = new ArrayList<>();
    assumeTrue(hasCommits(repoRoot), "no commits yet: nothing committed to compare with");
    List<String> commits =
        git(repoRoot, "log", "--format=%H", "-n", Integer.toString(MAX_COMMITS), "--", avroPath);
    for (String commit : commits) {
      Map<String, Schema> committed = SchemaEvolution.parseAll(readAt(repoRoot, commit, avroPath));
      for (Map.Entry<String, Schema> old : committed.entrySet()) {
        Schema now = current.get(old.getKey());
        if (now == null) {
          failures.add(
              old.getKey() + " existed in " + commit.substring(0, 10) + " but was removed");
          continue;
        }
        for (String reason : SchemaEvolution.backwardIncompatibilities(now, old.getValue())) {
          failures.add(
              old.getKey()
                  + " cannot read data written with its version in commit "
                  + commit.substring(0, 10)
                  + ": "
                  + reason);
        }
      }
    }
    assertTrue(
        failures.isEmpty(),
        "schema changes that are not BACKWARD compatible:\n  " + String.join("\n  ", failures));
  }

  private static Map<String, String> readWorkingTree() throws IOException {
    Map<String, String> files = new LinkedHashMap<>();
    try (Stream<Path> paths = Files.walk(AVRO_DIR)) {
      for (Path p : paths.filter(p -> p.toString().endsWith(".avsc")).sorted().toList()) {
        files.put(AVRO_DIR.relativize(p).toString(), Files.readString(p));
      }
    }
    return files;
  }

  private static Map<String, String> readAt(Path root, String commit, String avroPath)
      throws Exception {
    Map<String, String> files = new LinkedHashMap<>();
    for (String file : git(root, "ls-tree", "-r", "--name-only", commit, "--", avroPath)) {
      if (file.endsWith(".avsc")) {
        files.put(file, String.join("\n", git(root, "show", commit + ":" + file)));
      }
    }
    return files;
  }

  private static boolean hasCommits(Path root) {
    try {
      git(root, "rev-parse", "--verify", "HEAD");
      return true;
    } catch (Exception e) {
      return false;
    }
  }

  private static Path gitRoot() {
    try {
      List<String> out = git(Path.of("."), "rev-parse", "--show-toplevel");
      return out.isEmpty() ? null : Path.of(out.get(0));
    } catch (Exception e) {
      return null;
    }
  }

  private static List<String> git(Path dir, String... args)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("git", "-C", dir.toString()));
    command.addAll(List.of(args));
    Process process =
        new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (process.waitFor() != 0) {
      throw new IOException("git " + String.join(" ", args) + " failed");
    }
    return out.isBlank() ? List.of() : List.of(out.split("\n"));
  }
}
