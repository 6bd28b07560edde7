package dev.flywheel.infra.topics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.infra.topics.TopicCreator.TopicDefinition;
import dev.flywheel.schemas.topics.TopicReplication;
import dev.flywheel.schemas.topics.TopicSpec;
import dev.flywheel.schemas.topics.Topics;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
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
      spec.topicConfigs()
          .forEach(
              (key, value) ->
                  assertEquals(value, config.get(key).value(), spec.name() + " " + key));
      // the test environment's replication, set on the topic rather than left to the broker's
      // defaults
      described
          .get(spec.name())
          .partitions()
          .forEach(p -> assertEquals(1, p.replicas().size(), spec.name() + " replicas"));
      ConfigEntry minIsr = config.get("min.insync.replicas");
      assertEquals("1", minIsr.value(), spec.name());
      assertEquals(
          ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG,
          minIsr.source(),
          spec.name() + " min.insync.replicas is the topic's own");
    }
    assertEquals(
        "compact", config(admin, Topics.POLICY_VERSIONS.name()).get("cleanup.policy").value());
    assertEquals(
        "delete", config(admin, Topics.CHAT_TRANSCRIPTS.name()).get("cleanup.policy").value());
  }

  @Test
  void ensuringTheCatalogueAgainChangesNothing(FlywheelInfra infra) {
    TopicCreator.Result again =
        TopicCreator.ensureTopics(infra.admin(), Topics.ALL, TopicReplication.SINGLE_BROKER);
    assertFalse(again.changed(), () -> "second run changed " + again);
    assertTrue(again.replicationShortfalls().isEmpty(), again::toString);
  }

  @Test
  void createsTopicsWithTheAskedReplication(FlywheelInfra infra) throws Exception {
    Admin admin = infra.admin();
    String name = infra.uniqueName("replicated");
    TopicCreator.Result result =
        TopicCreator.ensure(
            admin,
            List.of(
                new TopicDefinition(
                    name, 2, Map.of("cleanup.policy", "delete"), new TopicReplication(1, 1))),
            Duration.ofSeconds(30));
    assertEquals(List.of(name), result.created());
    admin
        .describeTopics(List.of(name))
        .allTopicNames()
        .get()
        .get(name)
        .partitions()
        .forEach(p -> assertEquals(1, p.replicas().size()));
    ConfigEntry minIsr = config(admin, name).get("min.insync.replicas");
    assertEquals("1", minIsr.value());
    assertEquals(ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG, minIsr.source());
    assertEquals("delete", config(admin, name).get("cleanup.policy").value());
  }

  @Test
  void askingForMoreReplicasThanBrokersIsAClearErrorAndCreatesNothing(FlywheelInfra infra)
      throws Exception {
    Admin admin = infra.admin();
    String small = infra.uniqueName("small");
    String big = infra.uniqueName("big");
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () ->
                TopicCreator.ensure(
                    admin,
                    List.of(
                        new TopicDefinition(small, 1, Map.of(), TopicReplication.SINGLE_BROKER),
                        new TopicDefinition(big, 1, Map.of(), TopicReplication.PRODUCTION)),
                    Duration.ofSeconds(30)));
    assertTrue(e.getMessage().contains("replication factor 3"), e.getMessage());
    assertTrue(e.getMessage().contains("the cluster has 1 broker"), e.getMessage());
    assertTrue(e.getMessage().contains(big) && !e.getMessage().contains(small), e.getMessage());
    Set<String> topics = admin.listTopics().names().get();
    assertFalse(topics.contains(big) || topics.contains(small), "nothing created");
  }

  @Test
  void anExistingTopicBelowTheAskedReplicationIsReportedAndFailsWhenAsked(FlywheelInfra infra)
      throws Exception {
    Admin admin = infra.admin();
    String name = infra.uniqueName("thin");
    TopicCreator.ensure(
        admin,
        List.of(new TopicDefinition(name, 1, Map.of(), TopicReplication.SINGLE_BROKER)),
        Duration.ofSeconds(30));

    List<TopicDefinition> asked =
        List.of(new TopicDefinition(name, 1, Map.of(), TopicReplication.PRODUCTION));
    TopicCreator.Result result = TopicCreator.ensure(admin, asked, Duration.ofSeconds(30));
    assertFalse(result.changed(), result::toString);
    String shortfall = result.replicationShortfalls().get(name);
    assertTrue(shortfall != null && shortfall.contains("1 replica, 3 asked"), result::toString);
    assertTrue(shortfall.contains("min.insync.replicas 1, 2 asked (not raised"), shortfall);
    assertTrue(TopicCreator.describe(result).contains("WARNING"), TopicCreator.describe(result));
    // raising it above the topic's one replica would refuse every acks=all write
    assertEquals("1", config(admin, name).get("min.insync.replicas").value());

    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> TopicCreator.ensure(admin, asked, Duration.ofSeconds(30), true));
    assertTrue(e.getMessage().contains(name + ": 1 replica, 3 asked"), e.getMessage());
  }

  @Test
  void aHigherMinInsyncReplicasIsNeverLowered(FlywheelInfra infra) throws Exception {
    Admin admin = infra.admin();
    String name = infra.uniqueName("strict");
    TopicCreator.ensure(
        admin,
        List.of(new TopicDefinition(name, 1, Map.of("min.insync.replicas", "2"))),
        Duration.ofSeconds(30));
    TopicCreator.Result result =
        TopicCreator.ensure(
            admin,
            List.of(new TopicDefinition(name, 1, Map.of(), TopicReplication.SINGLE_BROKER)),
            Duration.ofSeconds(30));
    assertFalse(result.changed(), result::toString);
    assertTrue(result.replicationShortfalls().isEmpty(), result::toString);
    assertEquals("2", config(admin, name).get("min.insync.replicas").value());
  }

  @Test
  void increasesPartitionsAndAppliesConfigsThatDiffer(FlywheelInfra infra) throws Exception {
    Admin admin = infra.admin();
    String name = infra.uniqueName("evolving");
    TopicCreator.Result first =
        TopicCreator.ensure(
            admin,
            List.of(new TopicDefinition(name, 1, Map.of("cleanup.policy", "delete"))),
            Duration.ofSeconds(30));
    assertEquals(List.of(name), first.created());

    TopicCreator.Result second =
        TopicCreator.ensure(
            admin,
            List.of(
                new TopicDefinition(
                    name, 3, Map.of("cleanup.policy", "compact", "retention.ms", "-1"))),
            Duration.ofSeconds(30));
    assertThat(second.created()).isEmpty();
    assertEquals(Map.of(name, 3), second.partitionsIncreased());
    assertEquals(
        Map.of("cleanup.policy", "compact", "retention.ms", "-1"),
        second.configsChanged().get(name));
    assertEquals(
        3, admin.describeTopics(List.of(name)).allTopicNames().get().get(name).partitions().size());
    assertEquals("compact", config(admin, name).get("cleanup.policy").value());
    assertEquals("-1", config(admin, name).get("retention.ms").value());

    TopicCreator.Result third =
        TopicCreator.ensure(
            admin,
            List.of(
                new TopicDefinition(
                    name, 3, Map.of("cleanup.policy", "compact", "retention.ms", "-1"))),
            Duration.ofSeconds(30));
    assertFalse(third.changed(), () -> "third run changed " + third);
    // declaring fewer partitions never shrinks a topic
    TopicCreator.ensure(
        admin, List.of(new TopicDefinition(name, 1, Map.of())), Duration.ofSeconds(30));
    assertEquals(
        3, admin.describeTopics(List.of(name)).allTopicNames().get().get(name).partitions().size());
  }

  @Test
  void createTopicsCommandSucceedsAgainstTheBroker(FlywheelInfra infra) {
    String bootstrap = infra.bootstrapServers();
    assertEquals(
        0,
        CreateTopics.run(
            new String[] {
              "--bootstrap-servers",
              bootstrap,
              "--replication-factor",
              "1",
              "--min-insync-replicas",
              "1",
              "--fail-on-replication-shortfall"
            }));
    assertEquals(
        0,
        CreateTopics.run(
            new String[] {"--bootstrap-servers", bootstrap, "--replication-factor", "1"}));
    assertEquals(2, CreateTopics.run(new String[] {}));
    assertEquals(
        2,
        CreateTopics.run(
            new String[] {
              "--bootstrap-servers",
              bootstrap,
              "--replication-factor",
              "1",
              "--min-insync-replicas",
              "2"
            }));
  }

  @Test
  void createTopicsCommandReportsTopicsBelowItsDefaultProductionReplication(FlywheelInfra infra) {
    // the catalogue topics exist with one replica: the production default (3, min ISR 2) reports
    // them,
    // and fails on them when asked, without changing them
    String[] out = new String[2];
    assertEquals(
        0,
        captured(
            out,
            () ->
                CreateTopics.run(new String[] {"--bootstrap-servers", infra.bootstrapServers()})));
    assertTrue(out[0].contains("replication factor 3, min.insync.replicas 2"), out[0]);
    assertTrue(
        out[0].contains("WARNING: " + Topics.ALL.size() + " topics below the asked replication"),
        out[0]);
    assertEquals(
        1,
        captured(
            out,
            () ->
                CreateTopics.run(
                    new String[] {
                      "--bootstrap-servers",
                      infra.bootstrapServers(),
                      "--fail-on-replication-shortfall"
                    })));
    assertTrue(out[1].contains(Topics.CHAT_TRANSCRIPTS.name() + ": 1 replica, 3 asked"), out[1]);
    assertFalse(
        TopicCreator.ensureTopics(infra.admin(), Topics.ALL, TopicReplication.SINGLE_BROKER)
            .changed(),
        "the topics were left as they were");
  }

  /**
   * Runs {@code command} with stdout and stderr captured into {@code out[0]} and {@code out[1]}.
   */
  private static int captured(String[] out, java.util.function.IntSupplier command) {
    PrintStream stdout = System.out;
    PrintStream stderr = System.err;
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
      return command.getAsInt();
    } finally {
      System.setOut(stdout);
      System.setErr(stderr);
      out[0] = o.toString(StandardCharsets.UTF_8);
      out[1] = e.toString(StandardCharsets.UTF_8);
    }
  }

  @Test
  void newTopicIsReadableAtOnce(FlywheelInfra infra) throws Exception {
    String name = infra.uniqueName("ready");
    infra.createTopic(name, 4);
    var offsets =
        infra
            .admin()
            .listOffsets(
                Map.of(
                    new org.apache.kafka.common.TopicPartition(name, 3),
                    org.apache.kafka.clients.admin.OffsetSpec.latest()))
            .all()
            .get();
    assertTrue(offsets.values().stream().allMatch(o -> o.offset() == 0));
  }

  private static Config config(Admin admin, String topic) throws Exception {
    ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
    return admin.describeConfigs(List.of(resource)).all().get().get(resource);
  }
}
