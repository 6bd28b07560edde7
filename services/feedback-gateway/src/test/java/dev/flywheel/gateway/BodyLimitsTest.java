package dev.flywheel.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.gateway.TestGateway.Reply;
import dev.flywheel.gateway.api.BodyBudgetFilter;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The body limits with the shipped defaults: one body at most max-request-size (413 beyond), and
 * all the bodies in flight at most max-in-flight-body-bytes (503 beyond, the reservation returned
 * however the request ends).
 */
@ExtendWith(FlywheelInfraExtension.class)
class BodyLimitsTest {

  static TestGateway gateway;

  @BeforeAll
  static void start(FlywheelInfra infra) {
    gateway = new TestGateway(infra);
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  /**
   * A valid batch of rankings with 100 000-character comments, padded with blanks to exactly {@code
   * bytes}.
   */
  static String rankings(int bytes) {
    StringBuilder body = new StringBuilder("{\"items\":[");
    String item =
        "{\"transcriptId\":\"t\",\"tiers\":[[\"a\"],[\"b\"]],\"annotatorId\":\"x\",\"comment\":\""
            + "c".repeat(100_000)
            + "\"}";
    while (body.length() + item.length() + 3 < bytes) {
      body.append(body.length() > 10 ? "," : "").append(item);
    }
    body.append(" ".repeat(bytes - body.length() - 2));
    return body.append("]}").toString();
  }

  @Test
  void aBodyOverMaxRequestSizeIs413() {
    // the shipped default is 4 MB: a body just over it is refused before it is parsed
    Reply tooLarge =
        gateway.post("/v1/rankings:batch", TestGateway.SHOP_KEY, rankings(4 * 1024 * 1024 + 1));
    assertEquals(
        413,
        tooLarge.status(),
        tooLarge.text().length() > 300 ? tooLarge.text().substring(0, 300) : tooLarge.text());
    assertEquals("payload_too_large", tooLarge.json().get("error").asText(), tooLarge.text());
    // just under it: parsed, validated and written
    Reply under =
        gateway.post("/v1/rankings:batch", TestGateway.SHOP_KEY, rankings(4 * 1024 * 1024));
    assertTrue(
        under.status() == 200,
        under.status()
            + " "
            + (under.text().length() > 300 ? under.text().substring(0, 300) : under.text()));
  }

  /**
   * Sends the headers of a POST with a Content-Length and {@code sent} bytes of its body, then
   * stops.
   */
  static Socket startUpload(long contentLength, int sent) throws IOException {
    Socket socket = new Socket("127.0.0.1", gateway.base.getPort());
    OutputStream out = socket.getOutputStream();
    out.write(
        ("POST /v1/rankings:batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Authorization: Bearer "
                + TestGateway.SHOP_KEY
                + "\r\nContent-Length: "
                + contentLength
                + "\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
    out.write("{\"items\":[".getBytes(StandardCharsets.US_ASCII));
    out.write(" ".repeat(sent).getBytes(StandardCharsets.US_ASCII));
    out.flush();
    return socket;
  }

  @Test
  void bodiesInFlightAreBoundedAndTheirReservationsReturned() throws Exception {
    BodyBudgetFilter budget = gateway.context.getBean(BodyBudgetFilter.class);
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (budget.inFlightBytes() != 0 && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    // four slow uploads of 4 MB each hold the whole default budget (16 MB) while their bodies
    // trickle in
    List<Socket> slow = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      slow.add(startUpload(4 * 1024 * 1024, 1000));
    }
    awaitInFlight(budget, 4L * 4 * 1024 * 1024);
    Map<String, Object> small =
        Map.of(
            "items",
            List.of(
                Map.of(
                    "eventId",
                    "b-" + UUID.randomUUID(),
                    "transcriptId",
                    "t",
                    "tiers",
                    List.of(List.of("a"), List.of("b")),
                    "annotatorId",
                    "x")));
    Reply busy = gateway.post("/v1/rankings:batch", TestGateway.SHOP_KEY, small);
    assertEquals(503, busy.status(), busy.text());
    assertEquals("overloaded", busy.json().get("error").asText(), busy.text());
    assertTrue(busy.header("Retry-After") != null, busy.headers().toString());
    // the clients go away mid-body: every reservation comes back, and requests are admitted again
    for (Socket s : slow) {
      s.close();
    }
    awaitInFlight(budget, 0);
    assertEquals(200, gateway.post("/v1/rankings:batch", TestGateway.SHOP_KEY, small).status());
    // an upload that completes returns its reservation too (here: a 400, the body is no valid
    // batch)
    try (Socket s = startUpload(20, 8)) {
      s.getOutputStream().write("  ]}".getBytes(StandardCharsets.US_ASCII));
      s.getOutputStream().flush();
      String head = readHead(s.getInputStream());
      assertTrue(head.startsWith("HTTP/1.1 400"), head);
    }
    awaitInFlight(budget, 0);
  }

  static void awaitInFlight(BodyBudgetFilter budget, long expected) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (budget.inFlightBytes() != expected) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            "in-flight body bytes: " + budget.inFlightBytes() + ", expected " + expected);
      }
      Thread.sleep(20);
    }
  }

  static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) >= 0) {
      head.write(b);
      if (head.size() >= 4 && head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
        break;
      }
    }
    return head.toString(StandardCharsets.ISO_8859_1);
  }
}
