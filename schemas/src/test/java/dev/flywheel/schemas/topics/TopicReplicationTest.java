package dev.flywheel.schemas.topics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class TopicReplicationTest {

  @Test
  void environmentsOfTheCatalogue() {
    assertEquals(new TopicReplication(1, 1), TopicReplication.SINGLE_BROKER);
    assertEquals(new TopicReplication(3, 2), TopicReplication.PRODUCTION);
    assertEquals(Map.of("min.insync.replicas", "2"), TopicReplication.PRODUCTION.topicConfigs());
  }

  @Test
  void aTopicsConfigsCarryTheMinInsyncReplicasOfTheEnvironment() {
    Map<String, String> configs = Topics.CHAT_TRANSCRIPTS.topicConfigs(TopicReplication.PRODUCTION);
    assertEquals("2", configs.get("min.insync.replicas"));
    assertEquals("delete", configs.get("cleanup.policy"));
    assertEquals("-1", configs.get("retention.ms"));
  }

  @Test
  void refusesImpossibleReplication() {
    String tooMany =
        assertThrows(IllegalArgumentException.class, () -> new TopicReplication(1, 2)).getMessage();
    assertTrue(tooMany.contains("min.insync.replicas") && tooMany.contains("got 2"), tooMany);
    assertThrows(IllegalArgumentException.class, () -> new TopicReplication(0, 1));
    assertThrows(IllegalArgumentException.class, () -> new TopicReplication(3, 0));
  }
}
