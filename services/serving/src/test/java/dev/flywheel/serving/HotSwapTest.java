package dev.flywheel.serving;

import static dev.flywheel.serving.TestServing.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.DeadLetter;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.serving.TestServing.Reply;
import dev.flywheel.serving.engine.ServedModel;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A new LIVE version under continuous load: no request fails, responses switch to it and never
 * back, the old model is freed once its last request is done. Then a tampered artifact: refused,
 * dead-lettered, and the current version keeps answering.
 */
@ExtendWith(FlywheelInfraExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HotSwapTest {

  static TestServing serving;

  @BeforeAll
  static void start(FlywheelInfra infra) {
    // keep-previous 0: the old version is not kept as a standby, so it must be closed after the
    // swap
    serving = new TestServing(infra, Map.of("flywheel.serving.keep-previous", 0));
    serving.artifact("v1", 1);
    serving.artifact("v2", 2);
    serving.publishVersion(1, ModelStatus.LIVE, "v1");
    serving.awaitLive(1, Duration.ofSeconds(60));
  }

  @AfterAll
  static void stop() {
    serving.close();
  }

  record Outcome(int thread, long startNanos, int status, String model, String text) {}

  @Test
  @Order(1)
  void swapUnderContinuousLoadFailsNoRequest() throws Exception {
    ServedModel v1 = serving.manager().routing().live();
    AtomicBoolean running = new AtomicBoolean(true);
    ConcurrentLinkedQueue<Outcome> outcomes = new ConcurrentLinkedQueue<>();
    List<Thread> clients = new ArrayList<>();
    for (int t = 0; t < 6; t++) {
      int thread = t;
      boolean stream = t % 3 == 2;
      clients.add(
          TestServing.startThread(
              () -> {
                while (running.get()) {
                  long start = System.nanoTime();
                  Map<String, Object> body =
                      chat("flywheel", "load " + thread, "max_tokens", 12, "n", 1 + thread % 2);
                  if (stream) {
                    body.put("stream", true);
                    TestServing.Stream s = serving.stream(body);
                    boolean done =
                        !s.data().isEmpty() && s.data().get(s.data().size() - 1).equals("[DONE]");
                    String model =
                        s.chunks().isEmpty() ? null : s.chunks().get(0).get("model").asText();
                    outcomes.add(
                        new Outcome(thread, start, done ? s.status() : -s.status(), model, null));
                  } else {
                    Reply r = serving.completion(body);
                    outcomes.add(
                        new Outcome(
                            thread,
                            start,
                            r.status(),
                            r.status() == 200 ? r.json().get("model").asText() : r.text(),
                            null));
                  }
                }
              }));
    }
    // load is flowing on v1 before the swap
    TestServing.await(
        () -> outcomes.stream().filter(o -> "policy-v1".equals(o.model())).count() >= 10,
        Duration.ofSeconds(60),
        "10 answers from v1");
    long published = System.nanoTime();
    serving.publishVersion(2, ModelStatus.LIVE, "v2");
    TestServing.await(
        () ->
            outcomes.stream()
                    .filter(o -> o.startNanos() > published)
                    .filter(o -> "policy-v2".equals(o.model()))
                    .count()
                >= 30,
        Duration.ofSeconds(60),
        "30 answers from v2");
    running.set(false);
    for (Thread c : clients) {
      c.join(30_000);
    }

    List<Outcome> all = new ArrayList<>(outcomes);
    assertTrue(all.size() > 50, "continuous load: " + all.size());
    List<Outcome> failed = all.stream().filter(o -> o.status() != 200).toList();
    assertEquals(List.of(), failed, "zero failed requests");
    assertTrue(
        all.stream()
            .anyMatch(
                o -> "policy-v1".equals(o.model()) && o.startNanos() > published - 500_000_000L),
        "v1 was answering right up to the swap");
    // per client, answers switch from v1 to v2 once and never back
    for (int t = 0; t < 6; t++) {
      int thread = t;
      List<String> models =
          all.stream()
              .filter(o -> o.thread() == thread)
              .sorted((a, b) -> Long.compare(a.startNanos(), b.startNanos()))
              .map(Outcome::model)
              .toList();
      int firstV2 = models.indexOf("policy-v2");
      assertTrue(firstV2 >= 0, "client " + t + " reached v2: " + models);
      assertFalse(
          models.subList(firstV2, models.size()).contains("policy-v1"),
          "client " + t + ": " + models);
    }
    // the old model is freed once its last request has finished
    v1.closed().get(30, TimeUnit.SECONDS);
    assertTrue(v1.retired());
    TestServing.await(
        () ->
            serving.manager().loadedModels().stream()
                .map(ServedModel::version)
                .toList()
                .equals(List.of(2L)),
        Duration.ofSeconds(10),
        "only v2 loaded: " + serving.manager().loadedModels());

    // and v2 really is the other model: its seeded sample is v2's, not v1's
    String expectedV2 =
        TestModels.reference(serving.artifactDir("v2"), serving.sha("v2"), "Hello", 12, 1f, 5);
    String expectedV1 =
        TestModels.reference(serving.artifactDir("v1"), serving.sha("v1"), "Hello", 12, 1f, 5);
    assertNotEquals(expectedV1, expectedV2);
    Reply solo = serving.completion(chat("flywheel", "Hello", "max_tokens", 12, "seed", 5));
    assertEquals(
        expectedV2, solo.json().get("choices").get(0).get("message").get("content").asText());
  }

  @Test
  @Order(2)
  void aTamperedArtifactIsRefusedAndTheOldVersionKeepsAnswering() throws IOException {
    serving.awaitLive(2, Duration.ofSeconds(60));
    // v3: bytes changed after the manifest was written
    String uri3 = serving.artifact("v3", 3);
    Path params = serving.artifactDir("v3").resolve("parameters.bin");
    byte[] bytes = Files.readAllBytes(params);
    bytes[bytes.length / 2] ^= 0x5A;
    Files.write(params, bytes);
    serving.publishVersion(3, ModelStatus.LIVE, "v3");
    // v4: an intact artifact, but the event's SHA-256 is not its own
    String uri4 = serving.artifact("v4", 4);
    serving.publishVersion(4, ModelStatus.LIVE, uri4, "0".repeat(64));

    TestServing.await(
        () ->
            serving
                .byKey(serving.deadLettersTopic, DeadLetter.class)
                .keySet()
                .containsAll(List.of("3", "4")),
        Duration.ofSeconds(60),
        "dead letters for versions 3 and 4");
    Map<String, DeadLetter> letters = serving.byKey(serving.deadLettersTopic, DeadLetter.class);
    for (String v : List.of("3", "4")) {
      DeadLetter letter = letters.get(v);
      assertEquals("ARTIFACT_INTEGRITY", letter.getErrorType());
      assertEquals("serving", letter.getService());
      assertEquals(serving.versionsTopic, letter.getSourceTopic());
      assertTrue(
          letter.getRawValue() != null && letter.getRawValue().remaining() > 0,
          "the version record's bytes");
      assertTrue(letter.getReason().contains("policy-v" + v), letter.getReason());
    }
    assertTrue(uri3.startsWith("file:"));

    for (int i = 0; i < 5; i++) {
      Reply reply = serving.completion(chat("flywheel", "still there?", "max_tokens", 4));
      assertEquals(200, reply.status(), reply.text());
      assertEquals("policy-v2", reply.json().get("model").asText());
    }
    assertEquals(404, serving.completion(chat("policy-v3", "hi")).status());
    String metrics = serving.get("/prometheus", null).text();
    assertTrue(
        metrics.contains("flywheel_serving_model_loads_total{outcome=\"ARTIFACT_INTEGRITY\"} 2.0"),
        metrics);
    assertEquals(2, serving.manager().routing().live().version());
  }
}
