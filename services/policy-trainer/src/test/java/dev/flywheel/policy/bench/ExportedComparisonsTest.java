package dev.flywheel.policy.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flywheel.model.PairwiseRewardLoss.Comparison;
import dev.flywheel.policy.bench.RewardModelTraining.Group;
import dev.flywheel.simulator.Prompt;
import dev.flywheel.simulator.PromptSplit;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI's pair export ({@code export-pairs --format trl --include-metadata}) read back into
 * groups: rebuilt from their pairs, in ranking order, cut at an instant and a train count.
 */
class ExportedComparisonsTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void rebuildsEachGroupFromItsPairsInRankingOrder(@TempDir Path dir) throws Exception {
    Prompt train = PromptSplit.standard().train().get(0);
    Prompt heldOut = PromptSplit.standard().heldOut().get(0);
    List<String> lines = new ArrayList<>();
    // written in partition order, not ranking order: group "late" first
    lines.add(pair(train.text(), "late", "train", "2026-01-01T10:00:03Z", "x", "y"));
    // K=3 strict order: 3 pairs over 3 responses
    lines.add(pair(train.text(), "g", "train", "2026-01-01T10:00:01Z", "b", "c"));
    lines.add(pair(train.text(), "g", "train", "2026-01-01T10:00:01Z", "a", "b"));
    lines.add(pair(train.text(), "g", "train", "2026-01-01T10:00:01Z", "a", "c"));
    lines.add(pair(heldOut.text(), "e", "eval", "2026-01-01T10:00:02Z", "p", "q"));
    lines.add(pair(train.text(), "early", "train", "2026-01-01T10:00:00Z", "m", "n"));
    Path file = dir.resolve("pairs.jsonl");
    Files.write(file, lines);

    ExportedComparisons.Split all = ExportedComparisons.read(file, Instant.MAX, 10);
    assertEquals(3, all.train().size());
    assertEquals(List.of("text m", "text b", "text x"), firstTexts(all.train()));
    Group g = all.train().get(1);
    assertEquals(train, g.prompt());
    assertEquals(List.of("text b", "text c", "text a"), g.texts());
    assertEquals(
        List.of(new Comparison(0, 1), new Comparison(2, 0), new Comparison(2, 1)), g.pairs());
    assertArrayEquals(
        new double[] {train.gold("text b"), train.gold("text c"), train.gold("text a")}, g.gold());
    assertEquals(1, all.eval().size());
    assertEquals(heldOut, all.eval().get(0).prompt());

    ExportedComparisons.Split cut =
        ExportedComparisons.read(file, Instant.parse("2026-01-01T10:00:02Z"), 1);
    assertEquals(List.of("text m"), firstTexts(cut.train()), "the first train group only");
    assertEquals(1, cut.eval().size(), "eval groups up to the instant, all of them");
  }

  @Test
  void aLineWithoutMetadataIsRefusedNamingTheField(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("plain.jsonl");
    Files.writeString(
        file,
        JSON.writeValueAsString(
            Map.of(
                "prompt",
                PromptSplit.standard().train().get(0).text(),
                "chosen",
                "a",
                "rejected",
                "b")));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> ExportedComparisons.read(file, Instant.MAX, 10));
    assertEquals(true, e.getMessage().contains("group_id"), e.getMessage());
  }

  private static List<String> firstTexts(List<Group> groups) {
    return groups.stream().map(g -> g.texts().get(0)).toList();
  }

  /** One line as the CLI writes it with --include-metadata. */
  private static String pair(
      String prompt, String group, String split, String time, String chosen, String rejected)
      throws Exception {
    return JSON.writeValueAsString(
        Map.of(
            "prompt",
            prompt,
            "chosen",
            "text " + chosen,
            "rejected",
            "text " + rejected,
            "group_id",
            group,
            "split",
            split,
            "chosen_id",
            chosen,
            "rejected_id",
            rejected,
            "event_time",
            time,
            "policy_versions",
            List.of(1)));
  }
}
