package dev.flywheel.simulator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The simulator's client protocol only: what it sends to serving, the gateway and the registry, and
 * how it retries, against a tiny in-test {@link HttpServer} that answers in the services'
 * documented shapes. The real services are exercised end to end in {@code e2e-tests}.
 */
class SimulatorHttpTest {

  private HttpServer server;
  private URI base;
  private final List<JsonNode> chats = Collections.synchronizedList(new ArrayList<>());
  private final List<JsonNode> rankings = Collections.synchronizedList(new ArrayList<>());
  private final List<JsonNode> demoBatches = Collections.synchronizedList(new ArrayList<>());
  private final List<String> auth = Collections.synchronizedList(new ArrayList<>());
  private final Map<String, List<String>> responseIds =
      Collections.synchronizedMap(new HashMap<>());
  private final AtomicInteger aliasCalls = new AtomicInteger();
  private final AtomicInteger rankingCalls = new AtomicInteger();
  private final AtomicInteger completionIds = new AtomicInteger();
  private final List<Duration> sleeps = Collections.synchronizedList(new ArrayList<>());

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/v1/chat/completions", this::chat);
    server.createContext("/v1/rankings", this::ranking);
    server.createContext("/v1/demonstrations:batch", this::demonstrations);
    server.createContext(
        "/api/versions/policy",
        ex ->
            reply(
                ex,
                200,
                "{\"kind\":\"policy\",\"count\":1,\"versions\":[{\"version\":1,\"stage\":\"SFT\",\"status\":\"LIVE\","
                    + "\"parentVersions\":[]}]}",
                Map.of()));
    server.start();
    base = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  /** Serving: the first alias request gets 503 + Retry-After (no version yet), then v1 answers. */
  private void chat(HttpExchange ex) throws IOException {
    JsonNode body = HttpJson.JSON.readTree(ex.getRequestBody());
    auth.add("serving " + ex.getRequestHeaders().getFirst("Authorization"));
    chats.add(body);
    String model = body.path("model").asText();
    if (model.equals("flywheel") && aliasCalls.incrementAndGet() == 1) {
      reply(
          ex,
          503,
          "{\"error\":{\"message\":\"no policy version is live yet\",\"type\":\"service_unavailable_error\","
              + "\"code\":\"no_live_version\"}}",
          Map.of("Retry-After", "1"));
      return;
    }
    String id = "chatcmpl-" + completionIds.incrementAndGet();
    ObjectNode out = HttpJson.JSON.createObjectNode();
    out.put("id", id)
        .put("object", "chat.completion")
        .put("model", "policy-v1")
        .put("system_fingerprint", "policy-v1");
    ArrayNode choices = out.putArray("choices");
    List<String> ids = new ArrayList<>();
    String[] texts = {"12", "13", "The answer is 12, I am quite sure.", "12"};
    for (int i = 0; i < body.path("n").asInt(1); i++) {
      ObjectNode c = choices.addObject();
      c.put("index", i).put("finish_reason", "stop").put("response_id", id + "-" + i);
      c.putObject("message").put("role", "assistant").put("content", texts[i % texts.length]);
      ids.add(id + "-" + i);
    }
    responseIds.put(id, ids);
    reply(ex, 200, out.toString(), Map.of("X-Flywheel-Policy-Version", "1"));
  }

  /**
   * Gateway rankings: the first post gets 503 + Retry-After (Kafka unavailable), later ones 200.
   */
  private void ranking(HttpExchange ex) throws IOException {
    JsonNode body = HttpJson.JSON.readTree(ex.getRequestBody());
    auth.add("gateway " + ex.getRequestHeaders().getFirst("Authorization"));
    rankings.add(body);
    if (rankingCalls.incrementAndGet() == 1) {
      reply(
          ex,
          503,
          "{\"error\":\"kafka_unavailable\",\"message\":\"try again\"}",
          Map.of("Retry-After", "2"));
      return;
    }
    reply(
        ex,
        200,
        "{\"eventId\":\"" + body.path("eventId").asText() + "\",\"kind\":\"ranking\"}",
        Map.of());
  }

  private void demonstrations(HttpExchange ex) throws IOException {
    JsonNode body = HttpJson.JSON.readTree(ex.getRequestBody());
    auth.add("gateway " + ex.getRequestHeaders().getFirst("Authorization"));
    demoBatches.add(body);
    int n = body.path("items").size();
    reply(ex, 200, "{\"accepted\":" + n + ",\"failed\":0,\"items\":[]}", Map.of());
  }

  private static void reply(HttpExchange ex, int status, String json, Map<String, String> headers)
      throws IOException {
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().add("Content-Type", "application/json");
    headers.forEach((k, v) -> ex.getResponseHeaders().add(k, v));
    ex.sendResponseHeaders(status, bytes.length);
    ex.getResponseBody().write(bytes);
    ex.close();
  }

  @Test
  void demonstrationsThenRankedCompletionsThenEvaluationOfTheNewVersion() throws Exception {
    SimulatorConfig config =
        SimulatorConfig.builder()
            .servingUrl(base)
            .gatewayUrl(base)
            .registryUrl(base)
            .servingKey("sk-serving")
            .gatewayKey("gk-gateway")
            .k(4)
            .rate(50)
            .count(3)
            .demonstrations(10)
            .heldOutRankingShare(0)
            .seed(3)
            .progressEvery(Duration.ofHours(1))
            .build();
    HttpJson http =
        new HttpJson(
            HttpClient.newHttpClient(),
            Duration.ofSeconds(10),
            HttpJson.RetryPolicy.DEFAULT,
            sleeps::add);
    List<String> log = Collections.synchronizedList(new ArrayList<>());
    Simulator.Stats.Snapshot stats;
    try (Simulator simulator = new Simulator(config, log::add, http)) {
      stats = simulator.run();
    }

    // demonstrations: one batch, stable ids, one user turn each
    assertThat(demoBatches).hasSize(1);
    JsonNode items = demoBatches.get(0).path("items");
    assertThat(items).hasSize(10);
    for (JsonNode item : items) {
      assertThat(item.path("eventId").asText())
          .startsWith("sim-demo-3-")
          .isEqualTo(item.path("demonstrationId").asText());
      assertThat(item.path("turns")).hasSize(1);
      assertThat(item.path("turns").get(0).path("role").asText()).isEqualTo("user");
      assertThat(item.path("response").asText()).isNotBlank();
    }

    // loop requests: n = K candidates from the alias; the 503 was waited out for its Retry-After
    List<JsonNode> loop =
        chats.stream().filter(c -> c.path("model").asText().equals("flywheel")).toList();
    assertThat(loop).hasSize(4);
    for (JsonNode c : loop) {
      assertThat(c.path("n").asInt()).isEqualTo(4);
      assertThat(c.path("temperature").asDouble()).isEqualTo(1.0);
      assertThat(c.path("max_tokens").asInt()).isEqualTo(48);
      assertThat(c.path("messages")).hasSize(1);
      assertThat(c.path("messages").get(0).path("role").asText()).isEqualTo("user");
    }
    assertThat(sleeps).contains(Duration.ofSeconds(1), Duration.ofSeconds(2));

    // rankings: one per completion (plus the resend after the 503, with the same event id), ids
    // from it
    assertThat(rankings).hasSize(4);
    assertThat(rankings.get(0)).isEqualTo(rankings.get(1));
    List<JsonNode> distinct = rankings.subList(1, rankings.size());
    for (JsonNode r : distinct) {
      String transcriptId = r.path("transcriptId").asText();
      assertThat(r.path("eventId").asText()).isEqualTo("sim-rank-" + transcriptId);
      assertThat(r.path("annotatorPool").asText()).isEqualTo("training");
      assertThat(r.path("annotatorId").asText()).startsWith("sim-training-");
      List<String> ranked = new ArrayList<>();
      r.path("tiers").forEach(tier -> tier.forEach(id -> ranked.add(id.asText())));
      assertThat(ranked).containsExactlyInAnyOrderElementsOf(responseIds.get(transcriptId));
      // "12" twice: candidates 0 and 3 have equal gold and always share a tier
      JsonNode tierOf0 = null;
      for (JsonNode tier : r.path("tiers")) {
        if (tier.toString().contains("\"" + transcriptId + "-0\"")) {
          tierOf0 = tier;
        }
      }
      assertThat(tierOf0.toString()).contains("\"" + transcriptId + "-3\"");
    }

    // evaluation of v1 on the held-out prompts, pinned, 16 samples each at the loop's temperature
    // (the
    // default), with seeds that differ between the samples of one prompt
    List<JsonNode> eval =
        chats.stream().filter(c -> c.path("model").asText().equals("policy-v1")).toList();
    assertThat(eval).hasSize(PromptSplit.standard().heldOut().size() * 16);
    assertThat(eval)
        .allMatch(c -> c.path("n").asInt() == 1 && c.path("temperature").asDouble() == 1.0);
    String firstPrompt = eval.get(0).path("messages").get(0).path("content").asText();
    assertThat(
            eval.stream()
                .filter(c -> c.path("messages").get(0).path("content").asText().equals(firstPrompt))
                .map(c -> c.path("seed").asLong())
                .distinct()
                .count())
        .isEqualTo(16);

    assertThat(auth)
        .allMatch(
            a -> a.equals("serving Bearer sk-serving") || a.equals("gateway Bearer gk-gateway"));
    assertThat(stats.requests()).isEqualTo(3);
    assertThat(stats.rankings()).isEqualTo(3);
    assertThat(stats.errors()).isZero();
    assertThat(stats.unavailable()).isZero(); // the client's own retry absorbed the single 503
    assertThat(stats.currentVersion()).isEqualTo(1);
    assertThat(stats.servedGold()).containsKey(1L);
    assertThat(log).anyMatch(l -> l.contains("policy v1 answered for the first time"));
    assertThat(log).anyMatch(l -> l.contains("held-out evaluation") && l.contains("v1"));
  }

  @Test
  void persistentUnavailabilityIsWaitedOutNotCountedAsErrors() throws Exception {
    server.removeContext("/v1/chat/completions");
    AtomicInteger calls = new AtomicInteger();
    server.createContext(
        "/v1/chat/completions",
        ex -> {
          calls.incrementAndGet();
          reply(
              ex, 503, "{\"error\":{\"message\":\"no live version\"}}", Map.of("Retry-After", "0"));
        });
    SimulatorConfig config =
        SimulatorConfig.builder()
            .servingUrl(base)
            .gatewayUrl(base)
            .count(5)
            .duration(Duration.ofMillis(600))
            .rate(1000)
            .demonstrations(0)
            .maxAttempts(2)
            .evalOnNewVersion(false)
            .progressEvery(Duration.ofHours(1))
            .build();
    HttpJson http =
        new HttpJson(
            HttpClient.newHttpClient(),
            Duration.ofSeconds(5),
            new HttpJson.RetryPolicy(
                2, Duration.ofMillis(1), Duration.ofMillis(1), Duration.ofMillis(1)),
            sleeps::add);
    Simulator.Stats.Snapshot stats;
    try (Simulator simulator = new Simulator(config, line -> {}, http)) {
      stats = simulator.runLoop();
    }
    assertThat(calls.get()).isGreaterThan(2);
    assertThat(stats.unavailable()).isGreaterThan(0);
    assertThat(stats.errors()).isZero();
    assertThat(stats.requests()).isZero();
  }

  /**
   * --dedup-candidates: serving answers odd calls with four identical candidates and even calls
   * with distinct ones (or, with {@code alwaysIdentical}, identical ones every time).
   */
  private Simulator.Stats.Snapshot dedupRun(boolean alwaysIdentical) throws Exception {
    server.removeContext("/v1/chat/completions");
    AtomicInteger calls = new AtomicInteger();
    server.createContext(
        "/v1/chat/completions",
        ex -> {
          JsonNode body = HttpJson.JSON.readTree(ex.getRequestBody());
          chats.add(body);
          int call = calls.incrementAndGet();
          String id = "chatcmpl-" + call;
          ObjectNode out = HttpJson.JSON.createObjectNode();
          out.put("id", id).put("model", "policy-v1");
          ArrayNode choices = out.putArray("choices");
          List<String> ids = new ArrayList<>();
          String[] texts =
              alwaysIdentical || call % 2 == 1
                  ? new String[] {"12", "12", "12", "12"}
                  : new String[] {"12", "13", "The answer is 12.", "14"};
          for (int i = 0; i < body.path("n").asInt(); i++) {
            ObjectNode c = choices.addObject();
            c.put("index", i).put("response_id", id + "-" + i);
            c.putObject("message").put("role", "assistant").put("content", texts[i % 4]);
            ids.add(id + "-" + i);
          }
          responseIds.put(id, ids);
          reply(ex, 200, out.toString(), Map.of("X-Flywheel-Policy-Version", "1"));
        });
    SimulatorConfig config =
        SimulatorConfig.builder()
            .servingUrl(base)
            .gatewayUrl(base)
            .k(4)
            .rate(1000)
            .count(2)
            .demonstrations(0)
            .heldOutRankingShare(0)
            .evalOnNewVersion(false)
            .dedupCandidates(true)
            .dedupReplacements(2)
            .progressEvery(Duration.ofHours(1))
            .build();
    HttpJson http =
        new HttpJson(
            HttpClient.newHttpClient(),
            Duration.ofSeconds(10),
            HttpJson.RetryPolicy.DEFAULT,
            sleeps::add);
    try (Simulator simulator = new Simulator(config, line -> {}, http)) {
      Simulator.Stats.Snapshot stats = simulator.runLoop();
      assertThat(simulator.progressLine())
          .contains(
              "dedup: with duplicates "
                  + stats.rankingsWithDuplicates()
                  + " replacements "
                  + stats.replacementRequests()
                  + " skipped "
                  + stats.rankingsSkipped());
      return stats;
    }
  }

  @Test
  void dedupRanksTheDistinctReplacementOfARepeatedSet() throws Exception {
    Simulator.Stats.Snapshot stats = dedupRun(false);
    // per request: the repeated set, then one replacement: the same request with a new seed
    assertThat(chats).hasSize(4);
    for (int t = 0; t < 2; t++) {
      JsonNode first = chats.get(2 * t);
      JsonNode replacement = chats.get(2 * t + 1);
      assertThat(replacement.path("messages")).isEqualTo(first.path("messages"));
      assertThat(replacement.path("n").asInt()).isEqualTo(4);
      assertThat(replacement.path("user")).isEqualTo(first.path("user"));
      assertThat(replacement.path("seed").asLong()).isNotEqualTo(first.path("seed").asLong());
    }
    // the rankings name the replacements' transcripts and all their candidates (the first post
    // was answered 503 and sent again)
    List<String> ranked =
        rankings.stream().map(r -> r.path("transcriptId").asText()).distinct().toList();
    assertThat(ranked).containsExactly("chatcmpl-2", "chatcmpl-4");
    for (JsonNode r : rankings) {
      List<String> ids = new ArrayList<>();
      r.path("tiers").forEach(tier -> tier.forEach(id -> ids.add(id.asText())));
      assertThat(ids)
          .containsExactlyInAnyOrderElementsOf(responseIds.get(r.path("transcriptId").asText()));
    }
    assertThat(stats.requests()).isEqualTo(2);
    assertThat(stats.rankings()).isEqualTo(2);
    assertThat(stats.rankingsWithDuplicates()).isEqualTo(2);
    assertThat(stats.replacementRequests()).isEqualTo(2);
    assertThat(stats.rankingsSkipped()).isZero();
    assertThat(stats.errors()).isZero();
  }

  @Test
  void dedupSkipsARankingWhoseCandidatesNeverDiffer() throws Exception {
    Simulator.Stats.Snapshot stats = dedupRun(true);
    assertThat(chats).as("2 requests, 2 replacements each").hasSize(6);
    assertThat(rankings).isEmpty();
    assertThat(stats.requests()).isEqualTo(2);
    assertThat(stats.rankings()).isZero();
    assertThat(stats.rankingsWithDuplicates()).isEqualTo(2);
    assertThat(stats.replacementRequests()).isEqualTo(4);
    assertThat(stats.rankingsSkipped()).isEqualTo(2);
  }

  @Test
  void servedCalibrationMeasuresTheServedSetsAndRanksNoneOfThem() throws Exception {
    SimulatorConfig config =
        SimulatorConfig.builder()
            .servingUrl(base)
            .gatewayUrl(base)
            .k(4)
            .rate(50)
            .count(3)
            .demonstrations(0)
            .heldOutRankingShare(0)
            .evalOnNewVersion(false)
            .calibrationSource(SimulatorConfig.CalibrationSource.SERVED)
            .servedCalibrationSets(20)
            .seed(3)
            .progressEvery(Duration.ofHours(1))
            .build();
    HttpJson http =
        new HttpJson(
            HttpClient.newHttpClient(),
            Duration.ofSeconds(10),
            HttpJson.RetryPolicy.DEFAULT,
            sleeps::add);
    List<String> log = Collections.synchronizedList(new ArrayList<>());
    NoiseCalibration.Result synthetic;
    NoiseCalibration.Result served;
    Simulator.Stats.Snapshot stats;
    try (Simulator simulator = new Simulator(config, log::add, http)) {
      synthetic = simulator.calibration();
      stats = simulator.run();
      served = simulator.calibration();
    }

    // the calibration requests: asked as the loop asks, before it; the first one's 503 waited out
    List<JsonNode> calibration =
        chats.stream().filter(c -> c.path("user").asText().equals("sim-calibration")).toList();
    assertThat(calibration).hasSize(21);
    assertThat(calibration.get(0)).isEqualTo(calibration.get(1));
    assertThat(calibration).allMatch(c -> c.path("n").asInt() == 4);
    assertThat(chats.indexOf(calibration.get(20))).isLessThan(chats.size() - 3);

    // sigma is the calibration of exactly the served sets, not of the synthetic ones
    PromptSplit split = PromptSplit.standard();
    List<NoiseCalibration.CandidateSet> sets = new ArrayList<>();
    for (JsonNode c : calibration.subList(1, 21)) {
      String text = c.path("messages").get(0).path("content").asText();
      Prompt prompt = split.train().stream().filter(p -> p.text().equals(text)).findFirst().get();
      sets.add(
          new NoiseCalibration.CandidateSet(
              prompt, List.of("12", "13", "The answer is 12, I am quite sure.", "12")));
    }
    NoiseCalibration.Result expected =
        NoiseCalibration.calibrate(sets, NoiseCalibration.TARGET_AGREEMENT, 3);
    assertThat(served.sets()).isEqualTo(20);
    assertThat(served.sigma()).isEqualTo(expected.sigma());
    assertThat(served.sigma()).isNotEqualTo(synthetic.sigma());
    assertThat(log).anyMatch(l -> l.contains("calibration on 20 served candidate sets"));

    // the loop ranked only its own three completions, none of the calibration's
    List<String> calibrationResponseIds = new ArrayList<>();
    responseIds.forEach(
        (id, ids) -> {
          if (Integer.parseInt(id.substring("chatcmpl-".length())) <= 20) {
            ids.forEach(i -> calibrationResponseIds.add("\"" + i + "\""));
          }
        });
    assertThat(calibrationResponseIds).hasSize(80);
    assertThat(stats.rankings()).isEqualTo(3);
    for (JsonNode r : rankings) {
      assertThat(r.toString()).doesNotContain(calibrationResponseIds.toArray(String[]::new));
    }
    assertThat(stats.requests()).isEqualTo(3);
  }
}
