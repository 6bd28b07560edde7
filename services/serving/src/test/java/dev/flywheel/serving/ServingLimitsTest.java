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
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Limits that need their own configuration: the decode deadline (decode-timeout) and the bound on
 * the SSE events waiting for a slow client (max-stream-buffer).
 */
@ExtendWith(FlywheelInfraExtension.class)
class ServingLimitsTest {

  /** Every batch passes its deadline after its first step. */
  static TestServing deadline;

  /**
   * A 4 KiB stream buffer, 32 candidates per request for volume, and a small server socket send
   * buffer.
   */
  static TestServing slow;

  static String expected;

  @BeforeAll
  static void start(FlywheelInfra infra) {
    deadline =
        new TestServing(infra, Map.of("flywheel.serving.decode-timeout", Duration.ofNanos(1)));
    deadline.artifact("v1", 1);
    deadline.publishVersion(1, ModelStatus.LIVE, "v1");
    slow =
        new TestServing(
            infra,
            Map.of(
                "flywheel.serving.max-stream-buffer",
                "4KB",
                "flywheel.serving.max-n",
                32,
                "micronaut.server.netty.child-options.so-sndbuf",
                4096));
    slow.artifact("v1", 1);
    slow.publishVersion(1, ModelStatus.LIVE, "v1");
    deadline.awaitLive(1, Duration.ofSeconds(60));
    slow.awaitLive(1, Duration.ofSeconds(60));
    expected =
        TestModels.reference(deadline.artifactDir("v1"), deadline.sha("v1"), "Hello", 12, 1f, 42);
  }

  @AfterAll
  static void stop() {
    deadline.close();
    slow.close();
  }

  @Test
  void aDecodePastItsDeadlineEndsWithFinishReasonLength() {
    // without a deadline this request samples `expected` (at least 3 tokens: see ChatApiTest)
    assertTrue(expected.length() >= 3, expected);
    Reply reply =
        deadline.completion(
            chat("flywheel", "Hello", "temperature", 1.0, "seed", 42, "max_tokens", 12, "n", 3));
    assertEquals(200, reply.status(), reply.text());
    for (JsonNode choice : reply.json().get("choices")) {
      assertEquals("length", choice.get("finish_reason").asText(), reply.text());
    }
    assertEquals(
        3,
        reply.json().get("usage").get("completion_tokens").asInt(),
        "one token per candidate: " + reply.text());

    Stream stream =
        deadline.stream(
            chat(
                "flywheel",
                "Hello",
                "temperature",
                1.0,
                "seed",
                42,
                "max_tokens",
                12,
                "stream",
                true));
    assertEquals("[DONE]", stream.data().get(stream.data().size() - 1), stream.raw());
    assertTrue(stream.raw().contains("\"finish_reason\":\"length\""), stream.raw());
    assertTrue(
        stream.raw().contains("\"completion_tokens\":1") || !stream.raw().contains("usage"),
        stream.raw());

    Reply prometheus = deadline.get("/prometheus", null);
    assertTrue(
        prometheus.text().contains("flywheel_serving_decode_deadline_rows_total"),
        "deadline counter");
  }

  static final Pattern STREAM_OUTCOME =
      Pattern.compile(
          "flywheel_serving_requests_total\\{outcome=\"(ok|stream_buffer_overflow)\",stream=\"true\"} ([0-9.]+)");

  /** Completed streaming requests, by outcome, from the Prometheus endpoint. */
  static double streamsEnded(TestServing serving) {
    Matcher m = STREAM_OUTCOME.matcher(serving.get("/prometheus", null).text());
    double total = 0;
    while (m.find()) {
      total += Double.parseDouble(m.group(2));
    }
    return total;
  }

  @Test
  void aClientThatDoesNotReadIsCutOffAtTheStreamBuffer() throws Exception {
    double before = streamsEnded(slow);
    String body =
        TestServing.JSON.writeValueAsString(
            chat(
                "flywheel",
                "Hi",
                "n",
                32,
                "max_tokens",
                58,
                "temperature",
                1.0,
                "seed",
                9,
                "stream",
                true));
    try (Socket socket = new Socket()) {
      socket.setReceiveBufferSize(2048); // before connect: caps the TCP window
      socket.connect(new InetSocketAddress("127.0.0.1", slow.base.getPort()), 5000);
      socket.setSoTimeout(30_000);
      OutputStream out = socket.getOutputStream();
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      out.write(
          ("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  + "Accept: text/event-stream\r\nAuthorization: Bearer "
                  + TestServing.KEY
                  + "\r\nContent-Length: "
                  + bytes.length
                  + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.write(bytes);
      out.flush();
      // read nothing until the server is done with the request, one way or the other
      TestServing.await(
          () -> streamsEnded(slow) > before, Duration.ofSeconds(30), "the stream to end");
      List<String> data = readEvents(socket.getInputStream());
      assertFalse(data.isEmpty());
      String last = data.get(data.size() - 1);
      assertFalse(data.contains("[DONE]"), "cut off, not completed: " + last);
      JsonNode error = TestServing.JSON.readTree(last).get("error");
      assertEquals("stream_buffer_overflow", error.get("code").asText(), last);
      // what was buffered before the cut arrives in order: the role chunks come first
      assertEquals(
          "assistant", TestServing.JSON.readTree(data.get(0)).at("/choices/0/delta/role").asText());
    }
    assertTrue(
        slow.get("/prometheus", null)
            .text()
            .contains(
                "flywheel_serving_requests_total{outcome=\"stream_buffer_overflow\",stream=\"true\"}"));
    // a stream whose events fit the buffer is unaffected
    Stream stream = slow.stream(chat("flywheel", "Hi", "max_tokens", 8, "stream", true));
    assertEquals("[DONE]", stream.data().get(stream.data().size() - 1), stream.raw());
  }

  /** The {@code data:} payloads of a chunked SSE response, up to its last chunk. */
  static List<String> readEvents(InputStream in) throws IOException {
    String head = readLine(in);
    assertTrue(head.startsWith("HTTP/1.1 200"), head);
    while (!readLine(in).isEmpty()) {
      // headers
    }
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    while (true) {
      int size = Integer.parseInt(readLine(in).trim(), 16);
      if (size == 0) {
        break;
      }
      body.write(in.readNBytes(size));
      readLine(in);
    }
    List<String> data = new ArrayList<>();
    for (String line : body.toString(StandardCharsets.UTF_8).split("\n")) {
      if (line.startsWith("data:")) {
        data.add(line.substring(5).strip());
      }
    }
    return data;
  }

  static String readLine(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) >= 0 && b != '\n') {
      if (b != '\r') {
        line.write(b);
      }
    }
    return line.toString(StandardCharsets.ISO_8859_1);
  }
}
