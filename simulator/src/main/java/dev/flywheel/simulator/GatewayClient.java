package dev.flywheel.simulator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.util.List;

/**
 * Client of the feedback gateway ({@code services/feedback-gateway/README.md}): demonstrations in
 * {@code :batch} requests, rankings one by one. Every event carries a stable event id, so the
 * retries of {@link HttpJson} (and a rerun of the simulator with the same seed) are answered as
 * replays, never written twice. Needs a key with the {@code rankings:write} and {@code
 * demonstrations:write} scopes.
 */
public final class GatewayClient {

  /** Items per demonstrations batch (the gateway's default limit is 500). */
  public static final int DEFAULT_BATCH = 200;

  private final URI demonstrationsBatch;
  private final URI rankings;
  private final String apiKey;
  private final HttpJson http;

  GatewayClient(URI baseUrl, String apiKey, HttpJson http) {
    this.demonstrationsBatch = Endpoints.resolve(baseUrl, "v1/demonstrations:batch");
    this.rankings = Endpoints.resolve(baseUrl, "v1/rankings");
    this.apiKey = apiKey;
    this.http = http;
  }

  /**
   * Posts the demonstrations in batches; returns how many the gateway acknowledged (replays
   * included).
   */
  public int postDemonstrations(List<Demonstrations.Demonstration> demos, int batchSize)
      throws IOException, InterruptedException {
    int acknowledged = 0;
    for (int from = 0; from < demos.size(); from += batchSize) {
      ObjectNode body = HttpJson.JSON.createObjectNode();
      ArrayNode items = body.putArray("items");
      for (Demonstrations.Demonstration d :
          demos.subList(from, Math.min(demos.size(), from + batchSize))) {
        ObjectNode item = items.addObject();
        item.put("eventId", d.demonstrationId());
        item.put("demonstrationId", d.demonstrationId());
        ObjectNode turn = item.putArray("turns").addObject();
        turn.put("role", "user");
        turn.put("text", d.prompt().text());
        item.put("response", d.response());
        item.put("annotatorId", d.annotatorId());
      }
      JsonNode answer = http.post(demonstrationsBatch, apiKey, body).body();
      acknowledged += answer.path("accepted").asInt(items.size());
    }
    return acknowledged;
  }

  /**
   * Posts one ranking: {@code tiers} of response ids, best first, ties grouped. The event id is
   * derived from the transcript id (one ranking per served completion), so a retry is a replay.
   */
  public void postRanking(
      String transcriptId, List<List<String>> tiers, String annotatorId, SyntheticLabeler.Pool pool)
      throws IOException, InterruptedException {
    http.post(rankings, apiKey, rankingBody(transcriptId, tiers, annotatorId, pool));
  }

  static ObjectNode rankingBody(
      String transcriptId,
      List<List<String>> tiers,
      String annotatorId,
      SyntheticLabeler.Pool pool) {
    ObjectNode body = HttpJson.JSON.createObjectNode();
    body.put("eventId", "sim-rank-" + transcriptId);
    body.put("transcriptId", transcriptId);
    ArrayNode t = body.putArray("tiers");
    for (List<String> tier : tiers) {
      ArrayNode group = t.addArray();
      tier.forEach(group::add);
    }
    body.put("annotatorId", annotatorId);
    body.put("annotatorPool", pool.wire());
    return body;
  }
}
