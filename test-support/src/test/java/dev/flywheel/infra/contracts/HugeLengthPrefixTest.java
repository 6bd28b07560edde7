package dev.flywheel.infra.contracts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.Demonstration;
import dev.flywheel.events.Role;
import dev.flywheel.events.Turn;
import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import dev.flywheel.schemas.serde.AvroSerializer;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * One record must not crash-loop a consumer: a Demonstration whose first string declares 200 MB,
 * read in a JVM with the chart's {@code -XX:+ExitOnOutOfMemoryError} and a small heap, is a
 * malformed payload (the consumer dead-letters it) and the JVM lives on. The control run raises
 * Avro's string limit back to its own default, as before the fix: the same record kills that JVM
 * with exit code 3.
 */
@ExtendWith(FlywheelInfraExtension.class)
class HugeLengthPrefixTest {

  @Test
  void aHugeLengthPrefixIsADeadLetterNotAnExitedJvm(FlywheelInfra infra) throws Exception {
    Demonstration sample =
        Demonstration.newBuilder()
            .setEventId("e")
            .setEventTime(Instant.now())
            .setDemonstrationId("d")
            .setAppId("app")
            .setTurns(List.of(new Turn(Role.USER, "hi")))
            .setResponse("hello")
            .setAnnotatorId("a")
            .build();
    byte[] valid =
        new AvroSerializer<Demonstration>(new HttpSchemaRegistryClient(infra.registryUrl()), true)
            .serialize("feedback.demonstrations", sample);
    // keep the 5-byte header (magic byte, schema id); the body's first field, eventId, now declares
    // 200 MB
    ByteArrayOutputStream forged = new ByteArrayOutputStream();
    forged.write(valid, 0, 5);
    long zigzag = (200L << 20) << 1;
    while ((zigzag & ~0x7FL) != 0) {
      forged.write((int) ((zigzag & 0x7F) | 0x80));
      zigzag >>>= 7;
    }
    forged.write((int) zigzag);
    forged.write("xyz".getBytes(StandardCharsets.UTF_8));
    String hex = HexFormat.of().formatHex(forged.toByteArray());

    Fork fixed = fork(infra.registryUrl(), hex, List.of());
    assertEquals(0, fixed.exitCode(), fixed.output());
    assertTrue(fixed.output().contains("DEAD_LETTER MALFORMED_PAYLOAD"), fixed.output());

    Fork unbounded =
        fork(
            infra.registryUrl(),
            hex,
            List.of("-Dorg.apache.avro.limits.string.maxLength=2147483639"));
    assertEquals(
        3,
        unbounded.exitCode(),
        "without the bound the allocation kills the JVM: " + unbounded.output());
  }

  record Fork(int exitCode, String output) {}

  private static Fork fork(String registryUrl, String hex, List<String> jvmFlags) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx64m");
    command.add("-XX:+ExitOnOutOfMemoryError");
    command.addAll(jvmFlags);
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(HugeLengthProbe.class.getName());
    command.add(registryUrl);
    command.add(hex);
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the probe finished");
    return new Fork(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }
}
