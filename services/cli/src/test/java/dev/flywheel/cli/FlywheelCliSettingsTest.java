package dev.flywheel.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.infra.kafka.KafkaBrokerProcess;
import dev.flywheel.infra.schemaregistry.SchemaRegistryServer;
import dev.flywheel.kit.kafka.KafkaProperties;
import dev.flywheel.kit.kafka.RegistryProperties;
import dev.flywheel.local.FlywheelService;
import dev.flywheel.local.Platform;
import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.context.env.PropertySource;
import io.micronaut.context.env.PropertySourcePropertyResolver;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Where the CLI connects: the defaults are the local platform's addresses, and the environment
 * variables for Kafka and the schema registry are the very ones the services read. Nothing is
 * started: the local platform's addresses come from infra's own defaults ({@link
 * Platform.Settings#defaults}), the services' variable names from Micronaut's environment-variable
 * convention applied to service-kit's configuration keys.
 */
class FlywheelCliSettingsTest {

  static FlywheelCli parse(Map<String, String> env, String... args) {
    FlywheelCli cli = new FlywheelCli(env);
    new CommandLine(cli).parseArgs(args);
    return cli;
  }

  @Test
  void withNoFlagsTheCliTargetsTheLocalPlatform() {
    Platform.Settings local = Platform.Settings.defaults(Path.of("."));
    String modelRegistry =
        "http://127.0.0.1:" + (local.basePort() + FlywheelService.MODEL_REGISTRY.portOffset());
    String kafka;
    try (KafkaBrokerProcess broker = KafkaBrokerProcess.builder().port(local.kafkaPort()).build()) {
      kafka = broker.bootstrapServers();
    }
    String schemaRegistry;
    try (SchemaRegistryServer registry =
        SchemaRegistryServer.builder().port(local.registryPort()).build()) {
      schemaRegistry = registry.url();
    }

    FlywheelCli cli = parse(Map.of(), "versions");
    assertEquals(modelRegistry, cli.modelRegistryUrl());
    assertEquals(kafka, cli.bootstrapServers());
    assertEquals(schemaRegistry, cli.schemaRegistryUrl());
    assertEquals("http://127.0.0.1:8090", cli.modelRegistryUrl(), "the README's dashboard address");
  }

  @Test
  void kafkaAndSchemaRegistryVariablesAreTheServicesOnes() {
    String kafkaKey =
        KafkaProperties.class.getAnnotation(ConfigurationProperties.class).value()
            + ".bootstrap-servers";
    String registryKey =
        RegistryProperties.class.getAnnotation(ConfigurationProperties.class).value() + ".url";
    PropertySourcePropertyResolver services =
        new PropertySourcePropertyResolver(
            PropertySource.of(
                "env",
                Map.of(
                    FlywheelCli.ENV_KAFKA_BOOTSTRAP_SERVERS,
                    "broker-1:9092",
                    FlywheelCli.ENV_SCHEMA_REGISTRY_URL,
                    "http://schema-registry:8081"),
                PropertySource.PropertyConvention.ENVIRONMENT_VARIABLE));
    assertEquals("broker-1:9092", services.getProperty(kafkaKey, String.class).orElse(null));
    assertEquals(
        "http://schema-registry:8081",
        services.getProperty(registryKey, String.class).orElse(null));
    assertFalse(FlywheelCli.ENV_MODEL_REGISTRY_URL.equals(FlywheelCli.ENV_SCHEMA_REGISTRY_URL));
  }

  @Test
  void eachVariableMeansOneThing() {
    FlywheelCli cli =
        parse(
            Map.of(
                "FLYWHEEL_MODEL_REGISTRY_URL", "http://models:8080/",
                "FLYWHEEL_KAFKA_BOOTSTRAP_SERVERS", "broker-1:9092,broker-2:9092",
                "FLYWHEEL_REGISTRY_URL", "http://apicurio:8080/apis/ccompat/v7"),
            "versions");
    assertEquals("http://models:8080", cli.modelRegistryUrl(), "trailing slash dropped");
    assertEquals("broker-1:9092,broker-2:9092", cli.bootstrapServers());
    assertEquals("http://apicurio:8080/apis/ccompat/v7", cli.schemaRegistryUrl());

    // the names the CLI used to read are not read any more: the defaults stay
    FlywheelCli old =
        parse(
            Map.of(
                "FLYWHEEL_BOOTSTRAP_SERVERS",
                "old:9092",
                "FLYWHEEL_SCHEMA_REGISTRY_URL",
                "http://old:8081"),
            "versions");
    assertEquals(FlywheelCli.DEFAULT_BOOTSTRAP_SERVERS, old.bootstrapServers());
    assertEquals(FlywheelCli.DEFAULT_SCHEMA_REGISTRY_URL, old.schemaRegistryUrl());
  }

  @Test
  void flagsWinOverTheEnvironmentBeforeOrAfterTheSubcommand() {
    Map<String, String> env =
        Map.of(
            "FLYWHEEL_MODEL_REGISTRY_URL",
            "http://env:1",
            "FLYWHEEL_KAFKA_BOOTSTRAP_SERVERS",
            "env:2",
            "FLYWHEEL_REGISTRY_URL",
            "http://env:3");
    FlywheelCli before =
        parse(
            env,
            "--model-registry-url",
            "http://flag:1",
            "--bootstrap-servers",
            "flag:2",
            "--schema-registry-url",
            "http://flag:3",
            "versions");
    assertEquals("http://flag:1", before.modelRegistryUrl());
    assertEquals("flag:2", before.bootstrapServers());
    assertEquals("http://flag:3", before.schemaRegistryUrl());
    FlywheelCli after = parse(env, "tail", "t", "--bootstrap-servers", "flag:2");
    assertEquals("flag:2", after.bootstrapServers());
    assertEquals("http://env:3", after.schemaRegistryUrl());
  }

  @Test
  void helpNamesTheVariables() {
    StringWriter out = new StringWriter();
    CommandLine cmd = FlywheelCli.commandLine(new FlywheelCli(Map.of()));
    cmd.setOut(new PrintWriter(out, true));
    assertEquals(0, cmd.execute("--help"));
    String help = out.toString().replaceAll("\\s+", ""); // the usage text wraps long values
    for (String name :
        new String[] {
          "--model-registry-url",
          "FLYWHEEL_MODEL_REGISTRY_URL",
          "FLYWHEEL_KAFKA_BOOTSTRAP_SERVERS",
          "FLYWHEEL_REGISTRY_URL",
          "http://127.0.0.1:8090",
          "127.0.0.1:9092",
          "http://127.0.0.1:8081/apis/ccompat/v7"
        }) {
      assertTrue(help.contains(name), name + " missing from:\n" + help);
    }
    assertFalse(help.contains("FLYWHEEL_BOOTSTRAP_SERVERS"), help);
    assertFalse(help.contains("FLYWHEEL_SCHEMA_REGISTRY_URL"), help);
  }
}
