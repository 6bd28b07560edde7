package dev.flywheel.policy.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.flywheel.model.PairwiseRewardLoss;
import dev.flywheel.policy.bench.RewardModelTraining.Group;
import dev.flywheel.simulator.Prompt;
import dev.flywheel.simulator.TaskFamily;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * LoopExperiment's {@code --comparisons}: a platform run's own rankings, as the CLI exports them
 * ({@code flywheel export-pairs --format trl --include-metadata}, strings or {@code --chat}),
 * turned back into the bench's groups so that the reward-model sweep trains on what the reward
 * trainer read. Each group is rebuilt from its pairs ({@code group_id}; responses by {@code
 * chosen_id} / {@code rejected_id}; a response tied with every other one is in no pair and so not
 * rebuilt, which changes no loss), its gold from the simulator's prompt of that text. Groups are
 * ordered by {@code event_time}, as the reward trainer reads them; {@code until} keeps those ranked
 * at or before it (e.g. a round's start, from the reward trainer's log), then the first {@code
 * trainLimit} TRAIN groups and every EVAL group.
 */
final class ExportedComparisons {

  private static final ObjectMapper JSON = new ObjectMapper();

  private ExportedComparisons() {}

  /** The rebuilt groups of each split, in ranking order. */
  record Split(List<Group> train, List<Group> eval) {}

  static Split read(Path file, Instant until, int trainLimit) throws IOException {
    Map<String, Prompt> prompts =
        TaskFamily.allPrompts().stream()
            .collect(Collectors.toMap(Prompt::text, Function.identity(), (a, b) -> a));
    Map<String, Rebuilt> groups = new LinkedHashMap<>();
    for (String line : Files.readAllLines(file)) {
      if (line.isBlank()) {
        continue;
      }
      JsonNode n = JSON.readTree(line);
      String id = required(n, "group_id").asText();
      Rebuilt g = groups.get(id);
      if (g == null) {
        String text = promptText(required(n, "prompt"));
        Prompt prompt = prompts.get(text);
        if (prompt == null) {
          throw new IllegalArgumentException(
              "group " + id + ": prompt is none of the simulator's: " + text);
        }
        g =
            new Rebuilt(
                prompt,
                "eval".equals(required(n, "split").asText()),
                Instant.parse(required(n, "event_time").asText()));
        groups.put(id, g);
      }
      int chosen = g.response(required(n, "chosen_id").asText(), responseText(n, "chosen"));
      int rejected = g.response(required(n, "rejected_id").asText(), responseText(n, "rejected"));
      g.pairs.add(new PairwiseRewardLoss.Comparison(chosen, rejected));
    }
    List<Rebuilt> ordered =
        groups.values().stream()
            .filter(g -> !g.time.isAfter(until))
            .sorted(Comparator.comparing((Rebuilt g) -> g.time))
            .toList();
    List<Group> train = new ArrayList<>();
    List<Group> eval = new ArrayList<>();
    for (Rebuilt g : ordered) {
      if (g.eval) {
        eval.add(g.group());
      } else if (train.size() < trainLimit) {
        train.add(g.group());
      }
    }
    return new Split(train, eval);
  }

  /** The prompt's text: the string, or the last user message of a {@code --chat} export. */
  private static String promptText(JsonNode prompt) {
    if (!prompt.isArray()) {
      return prompt.asText();
    }
    String text = null;
    for (JsonNode m : prompt) {
      if ("user".equals(m.path("role").asText())) {
        text = m.path("content").asText();
      }
    }
    return text;
  }

  private static String responseText(JsonNode line, String field) {
    JsonNode v = required(line, field);
    return v.isArray() ? v.get(v.size() - 1).path("content").asText() : v.asText();
  }

  private static JsonNode required(JsonNode line, String field) {
    JsonNode v = line.get(field);
    if (v == null || v.isNull()) {
      throw new IllegalArgumentException(
          "line without " + field + " (export with --include-metadata): " + line);
    }
    return v;
  }

  private static final class Rebuilt {
    final Prompt prompt;
    final boolean eval;
    final Instant time;
    final Map<String, Integer> index = new LinkedHashMap<>();
    final List<String> texts = new ArrayList<>();
    final List<PairwiseRewardLoss.Comparison> pairs = new ArrayList<>();

    Rebuilt(Prompt prompt, boolean eval, Instant time) {
      this.prompt = prompt;
      this.eval = eval;
      this.time = time;
    }

    int response(String id, String text) {
      return index.computeIfAbsent(
          id,
          k -> {
            texts.add(text);
            return texts.size() - 1;
          });
    }

    Group group() {
      return new Group(
          prompt,
          List.copyOf(texts),
          texts.stream().map(t -> RewardModelTraining.sequence(prompt, t)).toList(),
          List.copyOf(pairs),
          texts.stream().mapToDouble(prompt::gold).toArray());
    }
  }
}
