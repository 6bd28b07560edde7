package dev.flywheel.serving;

import static dev.flywheel.serving.TestServing.chat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.events.CandidateResponse;
import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.Role;
import dev.flywheel.serving.TestServing.Reply;
import dev.flywheel.serving.TestServing.Stream;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Every completion is on chat.transcripts by the time it is answered: keyed and identified by the
 * completion id, with every candidate under the response id the API gave it, the policy version,
 * the sampling settings, token counts and finish reasons.
 */
@ExtendWith(FlywheelInfraExtension.class)
class TranscriptTest {

  static TestServing serving;

  @BeforeAll
  static void start(FlywheelInfra infra) {
    serving = new TestServing(infra, Map.of());
    serving.artifact("v4", 4);
    serving.publishVersion(4, ModelStatus.LIVE, "v4");
    serving.awaitLive(4, Duration.ofSeconds(60));
  }

  @AfterAll
  static void stop() {
    serving.close();
  }

  static ChatTranscript transcript(String id) {
    List<ConsumerRecord<String, ChatTranscript>> records =
        serving.readAll(serving.transcriptsTopic, ChatTranscript.class).stream()
            .filter(r -> r.key().equals(id))
            .toList();
    assertEquals(1, records.size(), "exactly one transcript for " + id);
    return records.get(0).value();
  }

  @Test
  void aCompletionIsPublishedWithAllItsCandidates() {
    Map<String, Object> body =
        Map.of(
            "model",
            "flywheel",
            "n",
            3,
            "temperature",
            0.9,
            "top_p",
            0.95,
            "max_tokens",
            9,
            "seed",
            1234,
            "user",
            "user-17",
            "metadata",
            Map.of("conversation_id", "conv-1"),
            "messages",
            List.of(
                Map.of("role", "system", "content", "Be kind."),
                Map.of("role", "user", "content", "What is 2+2?")));
    Reply reply = serving.completion(body);
    assertEquals(200, reply.status(), reply.text());
    String id = reply.json().get("id").asText();
    // answered only after the broker acknowledged: it is there now, no waiting
    ChatTranscript t = transcript(id);
    assertEquals(id, t.getTranscriptId());
    assertEquals("conv-1", t.getConversationId());
    assertEquals("shop", t.getAppId(), "the app of the API key");
    assertEquals("user-17", t.getUserId());
    assertEquals("What is 2+2?", t.getPrompt());
    assertEquals(2, t.getTurns().size());
    assertEquals(Role.SYSTEM, t.getTurns().get(0).getRole());
    assertEquals(Role.USER, t.getTurns().get(1).getRole());
    assertNotNull(t.getEventId());
    assertEquals(3, t.getResponses().size());
    for (int i = 0; i < 3; i++) {
      JsonNode choice = reply.json().get("choices").get(i);
      CandidateResponse r = t.getResponses().get(i);
      assertEquals(id + "-" + i, r.getResponseId());
      assertEquals(choice.get("response_id").asText(), r.getResponseId());
      assertEquals(choice.get("message").get("content").asText(), r.getText());
      assertEquals(choice.get("finish_reason").asText(), r.getFinishReason());
      assertEquals(4L, r.getPolicyVersion());
      assertTrue(r.getTokenCount() >= 1 && r.getTokenCount() <= 9);
      assertEquals(0.9, r.getSampling().getTemperature(), 1e-6);
      assertEquals(0.95, r.getSampling().getTopP(), 1e-6);
      assertEquals(9, r.getSampling().getMaxTokens());
      assertEquals(1234L, r.getSampling().getSeed());
    }
    assertEquals(
        reply.json().get("usage").get("completion_tokens").asInt(),
        t.getResponses().stream().mapToInt(CandidateResponse::getTokenCount).sum());
  }

  @Test
  void aStreamedCompletionIsPublishedBeforeDone() {
    Stream stream =
        serving.stream(chat("flywheel", "Stream me", "n", 2, "max_tokens", 6, "stream", true));
    assertEquals("[DONE]", stream.data().get(stream.data().size() - 1));
    String id = stream.chunks().get(0).get("id").asText();
    ChatTranscript t = transcript(id);
    assertEquals(2, t.getResponses().size());
    for (int i = 0; i < 2; i++) {
      assertEquals(id + "-" + i, t.getResponses().get(i).getResponseId());
      assertEquals(stream.content(i), t.getResponses().get(i).getText());
    }
    assertEquals(id, t.getConversationId(), "no conversation id given: the transcript id");
    assertNull(t.getUserId());
    assertNull(t.getResponses().get(0).getSampling().getSeed(), "no seed fixed by the caller");
    assertEquals(
        1.0, t.getResponses().get(0).getSampling().getTemperature(), 1e-9, "OpenAI's default");
  }

  @Test
  void everyCompletionIsPublishedExactlyOnce() throws Exception {
    List<Thread> threads = new ArrayList<>();
    List<String> ids = java.util.Collections.synchronizedList(new ArrayList<>());
    for (int t = 0; t < 4; t++) {
      int thread = t;
      threads.add(
          TestServing.startThread(
              () -> {
                for (int i = 0; i < 5; i++) {
                  Reply reply =
                      serving.completion(chat("flywheel", "q" + thread + "-" + i, "max_tokens", 4));
                  assertEquals(200, reply.status(), reply.text());
                  ids.add(reply.json().get("id").asText());
                }
              }));
    }
    for (Thread t : threads) {
      t.join();
    }
    assertEquals(20, ids.size());
    Map<String, ChatTranscript> published =
        serving.byKey(serving.transcriptsTopic, ChatTranscript.class);
    for (String id : ids) {
      assertTrue(published.containsKey(id), id);
    }
    List<ConsumerRecord<String, ChatTranscript>> all =
        serving.readAll(serving.transcriptsTopic, ChatTranscript.class);
    assertEquals(
        all.size(), all.stream().map(ConsumerRecord::key).distinct().count(), "no duplicates");
  }
}
