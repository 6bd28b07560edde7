package dev.flywheel.infra.topics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.infra.testing.FlywheelInfra;
import dev.flywheel.infra.testing.FlywheelInfraExtension;
import dev.flywheel.infra.topics.TopicCreator.TopicDefinition;
import dev.flywheel.schemas.topics.TopicSpec;
import dev.flywheel.schemas.topics.Topics;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(FlywheelInfraExtension.class)
class TopicCreatorTest {

  @Test
  void catalogueTopicsExistWithTheirPartitionsAndConfigs(FlywheelInfra infra) throws Exception {
    Admin admin = infra.admin();
    Set<String> names = Topics.ALL.stream().map(TopicSpec::name).collect(Collectors.toSet());
    Map<String, TopicDescription> described = admin.describeTopics(names).allTopicNames().get();
    for (TopicSpec<?> spec : Topics.ALL) {
      assertEquals(spec.partitions(), described.get(spec.name()).partitions().size(), spec.name());
      Config config = config(admin, spec.name());
      spec.topicConfigs().forEach((key, value) ->
          assertEquals(value, config.get(key).value(), spec.name() + " " + key));
    }
    assertEquals("compact", config(admin, Topics.POLICY_VERSIONS.name()).get("cleanup.policy").value());
    assertEquals("delete", config(admin, Topics.CHAT_TRANSCRIPTS.name()).get("cleanup.policy").value());
  }

  @Test
  void ensuringTheCatalogueAgainChangesNothing(FlywheelInfra infra) {
    TopicCreator.Result again = TopicCreator.ensureTopics(infra.admin(), Topics.ALL);
    assertFalse(again.changed(), () -> "second run changed " + again);
  }

  @Test
  void increasesPartitionsAndAppliesConfigsThatDiffer(FlywheelInfra infra) throws Exception {
    Admin admin = infra.admin();
    String name = infra.uniqueName("evolving");
    TopicCreator.Result first = TopicCreator.ensure(admin,
        List.of(new TopicDefinition(name, 1, Map.of("cleanup.policy", "delete"))), Duration.ofSeconds(30));
    assertEquals(List.of(name), first.created());

    TopicCreator.Result second = TopicCreator.ensure(admin, List.of(new TopicDefinition(name, 3,
        Map.of("cleanup.policy", "compact", "retention.ms", "-1"))), Duration.ofSeconds(30));
    assertThat(second.created()).isEmpty();
    assertEquals(Map.of(name, 3), second.partitionsIncreased());
    assertEquals(Map.of("cleanup.policy", "compact", "retention.ms", "-1"),
        second.configsChanged().get(name));
    assertEquals(3, admin.describeTopics(List.of(name)).allTopicNames().get().get(name)
        .partitions().size());
    assertEquals("compact", config(admin, name).get("cleanup.policy").value());
    assertEquals("-1", config(admin, name).get("retention.ms").value());

    TopicCreator.Result third = TopicCreator.ensure(admin, List.of(new TopicDefinition(name, 3,
        Map.of("cleanup.policy", "compact", "retention.ms", "-1"))), Duration.ofSeconds(30));
    assertFalse(third.changed(), () -> "third run changed " + third);
    // declaring fewer partitions never shrinks a topic
    TopicCreator.ensure(admin, List.of(new TopicDefinition(name, 1, Map.of())), Duration.ofSeconds(30));
    assertEquals(3, admin.describeTopics(List.of(name)).allTopicNames().get().get(name)
        .partitions().size());
  }

  @Test
  void createTopicsCommandSucceedsAgainstTheBroker(FlywheelInfra infra) {
    assertEquals(0, CreateTopics.run(new String[] {"--bootstrap-servers", infra.bootstrapServers()}));
    assertEquals(2, CreateTopics.run(new String[] {}));
  }

  @Test
  void newTopicIsReadableAtOnce(FlywheelInfra infra) throws Exception {
    String name = infra.uniqueName("ready");
    infra.createTopic(name, 4);
    var offsets = infra.admin().listOffsets(Map.of(
        new org.apache.kafka.common.TopicPartition(name, 3),
        org.apache.kafka.clients.admin.OffsetSpec.latest())).all().get();
    assertTrue(offsets.values().stream().allMatch(o -> o.offset() == 0));
  }

  private static Config config(Admin admin, String topic) throws Exception {
    ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
    return admin.describeConfigs(List.of(resource)).all().get().get(resource);
  }
}
