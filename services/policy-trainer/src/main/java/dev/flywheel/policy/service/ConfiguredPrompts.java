package dev.flywheel.policy.service;

import dev.flywheel.model.ChatTurn;
import dev.flywheel.policy.config.PolicyTrainerConfig;
import dev.flywheel.policy.train.PromptPool;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The prompt pool's set-up: a new {@link PromptPool} holding the configured prompts, the built-in
 * set ({@code builtin-prompts}) and then the {@code prompts-file}, one user prompt a line (blank
 * lines and {@code #} comments skipped).
 */
final class ConfiguredPrompts {

  /** Logs as the loop it is a start-up step of. */
  private static final Logger LOG = LoggerFactory.getLogger(PolicyTrainerLoop.class);

  private ConfiguredPrompts() {}

  /** An empty pool with the configured prompts added. */
  static PromptPool pool(PolicyTrainerConfig config) throws IOException {
    PromptPool prompts =
        new PromptPool(config.getPromptEvalFraction(), config.getTranscriptWindow());
    if (config.isBuiltinPrompts()) {
      try (InputStream in = ConfiguredPrompts.class.getResourceAsStream("/prompts/builtin.txt")) {
        if (in == null) {
          throw new IOException("built-in prompt set missing from the class path");
        }
        read(new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)), prompts);
      }
    }
    if (config.getPromptsFile() != null && !config.getPromptsFile().isBlank()) {
      try (BufferedReader reader =
          Files.newBufferedReader(Path.of(config.getPromptsFile()), StandardCharsets.UTF_8)) {
        read(reader, prompts);
      }
    }
    LOG.info("{} configured prompts", prompts.configured().size());
    return prompts;
  }

  private static void read(BufferedReader reader, PromptPool prompts) throws IOException {
    for (String line = reader.readLine(); line != null; line = reader.readLine()) {
      String text = line.strip();
      if (!text.isEmpty() && !text.startsWith("#")) {
        prompts.addConfigured(List.of(ChatTurn.user(text)));
      }
    }
  }
}
