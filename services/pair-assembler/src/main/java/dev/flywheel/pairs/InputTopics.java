package dev.flywheel.pairs;

import dev.flywheel.schemas.topics.TopicSpec;
import dev.flywheel.schemas.topics.Topics;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.streams.StreamsConfig;

/** The start-up check of the topics the pair assembler reads and writes. */
final class InputTopics {

  private InputTopics() {}

  /**
   * Fails fast when a topic is missing or the inputs are not co-partitioned (the join is local to a
   * task).
   *
   * @param configured {@code flywheel.pair-assembler.input-partitions}: 0, or the count the topics
   *     must have
   * @return the input topics' partition count
   */
  static int checkedPartitionCount(Properties streamsProperties, int configured) {
    List<TopicSpec<?>> needed =
        List.of(
            Topics.CHAT_TRANSCRIPTS,
            Topics.FEEDBACK_RANKINGS,
            Topics.TRAINING_COMPARISONS,
            Topics.TRAINING_METRICS,
            Topics.DEAD_LETTERS);
    // the same client settings as the streams app (SASL/TLS included), not just the bootstrap
    // servers
    Map<String, Object> adminConfigs =
        new StreamsConfig(streamsProperties).getAdminConfigs("pair-assembler-startup-check");
    try (Admin admin = Admin.create(adminConfigs)) {
      Map<String, TopicDescription> topics =
          admin.describeTopics(names(needed)).allTopicNames().get(60, TimeUnit.SECONDS);
      int transcripts = topics.get(Topics.CHAT_TRANSCRIPTS.name()).partitions().size();
      int rankings = topics.get(Topics.FEEDBACK_RANKINGS.name()).partitions().size();
      if (transcripts != rankings) {
        throw new IllegalStateException(
            "not co-partitioned: "
                + Topics.CHAT_TRANSCRIPTS.name()
                + " has "
                + transcripts
                + " partitions, "
                + Topics.FEEDBACK_RANKINGS.name()
                + " has "
                + rankings);
      }
      if (configured > 0 && configured != transcripts) {
        throw new IllegalStateException(
            PairAssemblerConfig.PREFIX
                + ".input-partitions="
                + configured
                + " but the input topics have "
                + transcripts
                + " partitions");
      }
      return transcripts;
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(
          "cannot describe the pair assembler's topics "
              + names(needed)
              + ": "
              + (e.getCause() == null ? e : e.getCause()),
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while checking the topics", e);
    }
  }

  private static List<String> names(List<TopicSpec<?>> topics) {
    return topics.stream().map(TopicSpec::name).collect(Collectors.toList());
  }
}
