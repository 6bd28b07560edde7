package dev.flywheel.feedback.client;

import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.Demonstration;
import dev.flywheel.events.HumanRanking;
import dev.flywheel.schemas.topics.TopicSpec;
import dev.flywheel.schemas.topics.Topics;
import org.apache.avro.specific.SpecificRecord;

/** Where each feedback event goes, and its key, as the topic catalogue declares them. */
public final class FeedbackTopics {

  private FeedbackTopics() {}

  public static TopicSpec<?> topicOf(SpecificRecord event) {
    if (event instanceof ChatTranscript) {
      return Topics.CHAT_TRANSCRIPTS;
    }
    if (event instanceof HumanRanking) {
      return Topics.FEEDBACK_RANKINGS;
    }
    if (event instanceof Demonstration) {
      return Topics.FEEDBACK_DEMONSTRATIONS;
    }
    throw new IllegalArgumentException("not a feedback event: " + event.getClass().getName());
  }

  /**
   * transcriptId for transcripts and rankings (co-partitioned for the join), demonstrationId
   * otherwise.
   */
  public static String keyOf(SpecificRecord event) {
    if (event instanceof ChatTranscript t) {
      return t.getTranscriptId();
    }
    if (event instanceof HumanRanking r) {
      return r.getTranscriptId();
    }
    if (event instanceof Demonstration d) {
      return d.getDemonstrationId();
    }
    throw new IllegalArgumentException("not a feedback event: " + event.getClass().getName());
  }

  public static String eventIdOf(SpecificRecord event) {
    if (event instanceof ChatTranscript t) {
      return t.getEventId();
    }
    if (event instanceof HumanRanking r) {
      return r.getEventId();
    }
    if (event instanceof Demonstration d) {
      return d.getEventId();
    }
    throw new IllegalArgumentException("not a feedback event: " + event.getClass().getName());
  }
}
