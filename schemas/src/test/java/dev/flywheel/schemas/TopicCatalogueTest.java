package dev.flywheel.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.schemas.topics.TopicSpec;
import dev.flywheel.schemas.topics.Topics;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;

class TopicCatalogueTest {

  @Test
  void topicNamesAreUnique() {
    Set<String> names = new HashSet<>();
    Topics.ALL.forEach(t -> assertTrue(names.add(t.name()), "duplicate topic " + t.name()));
  }

  @Test
  void versionTopicsAreCompactedAndKeptForever() {
    for (TopicSpec<?> t : List.of(Topics.REWARD_VERSIONS, Topics.POLICY_VERSIONS)) {
      assertEquals("compact", t.topicConfigs().get("cleanup.policy"), t.name());
      assertEquals("-1", t.topicConfigs().get("retention.ms"), t.name());
    }
    assertEquals("delete", Topics.TRAINING_METRICS.topicConfigs().get("cleanup.policy"));
  }

  @Test
  void rankingsAndTranscriptsAreCoPartitioned() {
    assertEquals(Topics.CHAT_TRANSCRIPTS.partitions(), Topics.FEEDBACK_RANKINGS.partitions());
    assertEquals(
        Topics.CHAT_TRANSCRIPTS.keyDescription(), Topics.FEEDBACK_RANKINGS.keyDescription());
  }

  @Test
  void everyFieldOfEveryContractIsDocumented() {
    List<String> undocumented = new ArrayList<>();
    for (TopicSpec<?> t : Topics.ALL) {
      collectUndocumented(t.valueSchema(), new HashSet<>(), undocumented);
    }
    assertTrue(undocumented.isEmpty(), "fields without doc: " + undocumented);
  }

  @Test
  void everyEventCarriesAnIdAndAnEventTime() {
    for (TopicSpec<?> t : Topics.ALL) {
      Schema s = t.valueSchema();
      assertFalse(s.getField("eventId") == null, t.name() + " lacks eventId");
      assertEquals(
          "timestamp-millis",
          s.getField("eventTime").schema().getLogicalType().getName(),
          t.name());
    }
  }

  private static void collectUndocumented(Schema schema, Set<String> seen, List<String> out) {
    switch (schema.getType()) {
      case RECORD -> {
        if (!seen.add(schema.getFullName())) {
          return;
        }
        if (schema.getDoc() == null) {
          out.add(schema.getFullName());
        }
        for (Schema.Field f : schema.getFields()) {
          if (f.doc() == null || f.doc().isBlank()) {
            out.add(schema.getFullName() + "." + f.name());
          }
          collectUndocumented(f.schema(), seen, out);
        }
      }
      case ARRAY -> collectUndocumented(schema.getElementType(), seen, out);
      case MAP -> collectUndocumented(schema.getValueType(), seen, out);
      case UNION -> schema.getTypes().forEach(s -> collectUndocumented(s, seen, out));
      default -> {}
    }
  }
}
