package dev.flywheel.serving;

import static dev.flywheel.serving.TestServing.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.serving.TestServing.Reply;
import dev.flywheel.serving.TestServing.Stream;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A transcript Kafka does not acknowledge (here: its topic does not exist and the broker does not
 * create topics) is never silently lost: the completion is answered 503 instead, and a stream ends
 * with an error event instead of [DONE].
 */
@ExtendWith(FlywheelInfraExtension.class)
class TranscriptFailureTest {

  static TestServing serving;

  @BeforeAll
  static void start(FlywheelInfra infra) {
    serving =
        new TestServing(
            infra,
            Map.of(
                "flywheel.serving.transcripts-topic",
                infra.uniqueName("no-such-topic"),
                "flywheel.serving.transcript-timeout",
                "2s"));
    serving.artifact("v1", 1);
    serving.publishVersion(1, ModelStatus.LIVE, "v1");
    serving.awaitLive(1, Duration.ofSeconds(60));
  }

  @AfterAll
  static void stop() {
    serving.close();
  }

  @Test
  void anUnacknowledgedTranscriptFailsTheCompletion() {
    long start = System.nanoTime();
    Reply reply = serving.completion(chat("flywheel", "hello", "max_tokens", 4));
    double seconds = (System.nanoTime() - start) / 1e9;
    assertEquals(503, reply.status(), reply.text());
    assertEquals("service_unavailable_error", reply.error().get("type").asText());
    assertEquals("transcript_unavailable", reply.error().get("code").asText());
    assertEquals("5", reply.header("Retry-After"));
    assertTrue(seconds < 10, "bounded by transcript-timeout: " + seconds);
  }

  @Test
  void anUnacknowledgedStreamEndsWithAnErrorInsteadOfDone() {
    Stream stream = serving.stream(chat("flywheel", "hello", "max_tokens", 4, "stream", true));
    assertEquals(200, stream.status());
    assertFalse(stream.data().contains("[DONE]"), stream.raw());
    JsonNode last = stream.chunks().get(stream.chunks().size() - 1);
    assertEquals("transcript_unavailable", last.get("error").get("code").asText(), stream.raw());
    assertTrue(stream.chunks().get(0).has("choices"), "the text itself was streamed");
    assertTrue(
        serving
            .get("/prometheus", null)
            .text()
            .contains("flywheel_serving_transcripts_total{outcome=\"error\"}"));
  }
}
