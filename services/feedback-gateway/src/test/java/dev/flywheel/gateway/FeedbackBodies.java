package dev.flywheel.gateway;

import dev.flywheel.feedback.client.FeedbackRules;
import dev.flywheel.testing.Gen;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Request bodies of the feedback API for property-based tests, as plain JSON values (maps, lists,
 * strings, numbers): valid ones under the default limits, and valid ones with one part changed to
 * anything.
 */
public final class FeedbackBodies {

  /** The API's kinds of event, as the routes name them. */
  public enum Kind {
    TRANSCRIPTS("transcriptId", "conversationId", "userId", "turns", "prompt", "responses"),
    RANKINGS(
        "rankingId",
        "transcriptId",
        "tiers",
        "responseA",
        "responseB",
        "choice",
        "annotatorId",
        "annotatorPool",
        "comment"),
    DEMONSTRATIONS("demonstrationId", "turns", "response", "annotatorId");

    private final List<String> fields;

    Kind(String... fields) {
      List<String> all = new ArrayList<>(List.of("eventId", "eventTime"));
      all.addAll(List.of(fields));
      this.fields = List.copyOf(all);
    }

    /** The body's fields, as the JSON API spells them. */
    public List<String> fields() {
      return fields;
    }

    public String path() {
      return "/v1/" + name().toLowerCase();
    }
  }

  private FeedbackBodies() {}

  /** A valid body of {@code kind} (texts of at most 200 characters, within every default limit). */
  public static Map<String, Object> valid(Gen gen, Kind kind) {
    return switch (kind) {
      case TRANSCRIPTS -> validTranscript(gen);
      case RANKINGS -> validRanking(gen);
      case DEMONSTRATIONS -> validDemonstration(gen);
    };
  }

  /**
   * A body that is anything from valid to garbage: a valid body with one field replaced by any JSON
   * value, removed, or joined by an unknown field; or an object of the kind's keys with any values.
   */
  public static Object any(Gen gen, Kind kind) {
    Map<String, Object> body = valid(gen, kind);
    switch (gen.between(0, 6)) {
      case 0 -> body.put(gen.pick(kind.fields()), gen.json(3));
      case 1, 2, 3 -> {
        String field = gen.pick(kind.fields());
        body.put(field, plausible(gen, field));
      }
      case 4 -> body.remove(gen.pick(kind.fields()));
      case 5 ->
          body.put(
              gen.chance(0.5) ? gen.text(20) : gen.oneOf("appId", "annotator_pool", "items"),
              gen.json(1));
      default -> {
        return gen.chance(0.8) ? gen.object(3, kind.fields()) : gen.json(3);
      }
    }
    return body;
  }

  /**
   * A value that might pass for the field: ids and texts of any kind, numbers at their edges, odd
   * times.
   */
  public static Object plausible(Gen gen, String field) {
    return switch (field) {
      case "eventTime" -> anyTime(gen);
      case "turns" ->
          gen.list(
              0,
              4,
              () ->
                  gen.chance(0.9)
                      ? object(
                          "role",
                          gen.chance(0.8)
                              ? gen.oneOf("user", "USER", "system", "assistant", "tool", " user ")
                              : gen.json(1),
                          "text",
                          gen.text(300))
                      : gen.json(1));
      case "responses" ->
          gen.list(
              0,
              4,
              () ->
                  object(
                      "responseId",
                      gen.text(150),
                      "text",
                      gen.text(300),
                      "policyVersion",
                      gen.number(),
                      "tokenCount",
                      gen.number(),
                      "finishReason",
                      gen.text(10),
                      "sampling",
                      gen.chance(0.7)
                          ? object(
                              "temperature",
                              gen.number(),
                              "topP",
                              gen.number(),
                              "topK",
                              gen.number(),
                              "maxTokens",
                              gen.number(),
                              "seed",
                              gen.number())
                          : gen.json(1)));
      case "tiers" ->
          gen.list(
              0, 11, () -> gen.chance(0.9) ? gen.list(0, 4, () -> gen.text(150)) : gen.json(1));
      case "choice" -> gen.oneOf("A", "b", "tie", "TIE", "C", "", gen.text(5));
      case "annotatorPool" ->
          gen.oneOf("training", "held_out", "held-out", "HELD_OUT", "eval", gen.text(10));
      default -> gen.text(gen.oneOf(20, 140, 300));
    };
  }

  /**
   * An eventTime that might pass: ISO-8601 at any instant an OffsetDateTime can spell (years
   * ±999999999), epoch milliseconds as a number or a string, a number at an edge, or any text.
   */
  public static Object anyTime(Gen gen) {
    return switch (gen.between(0, 4)) {
      case 0 ->
          OffsetDateTime.of(
                  gen.oneOf(
                      -999_999_999,
                      999_999_999,
                      -292_278_994,
                      292_278_994,
                      0,
                      1969,
                      2025,
                      gen.between(-999_999_999, 999_999_999)),
                  gen.between(1, 12),
                  gen.between(1, 28),
                  gen.between(0, 23),
                  gen.between(0, 59),
                  gen.between(0, 59),
                  gen.between(0, 999_999_999),
                  ZoneOffset.ofHours(gen.between(-18, 18)))
              .toString();
      case 1 -> gen.number();
      case 2 -> Long.toString(gen.anyLong());
      case 3 -> Instant.now().minusSeconds(gen.between(-3600, 3600)).toString();
      default -> gen.text(40);
    };
  }

  // ------------------------------------------------------------------------------------------
  // valid bodies

  static Map<String, Object> validRanking(Gen gen) {
    Map<String, Object> m = new LinkedHashMap<>();
    common(gen, m);
    m.put("transcriptId", gen.id(128));
    if (gen.chance(0.3)) {
      m.put("rankingId", gen.id(128));
    }
    List<String> ids = new ArrayList<>();
    int k = gen.between(FeedbackRules.MIN_K, FeedbackRules.MAX_K);
    while (ids.size() < k) {
      String id = gen.chance(0.7) ? "r" + gen.between(0, 99) : gen.validText(1, 128).strip();
      if (!id.isBlank() && !ids.contains(id)) {
        ids.add(id);
      }
    }
    if (k == 2 && gen.chance(0.5)) {
      m.put("responseA", ids.get(0));
      m.put("responseB", ids.get(1));
      m.put("choice", gen.oneOf("A", "B", "tie", "a", "Tie"));
    } else {
      List<List<String>> tiers = new ArrayList<>();
      int i = 0;
      while (i < ids.size()) {
        int tier = gen.between(1, ids.size() - i);
        tiers.add(new ArrayList<>(ids.subList(i, i + tier)));
        i += tier;
      }
      m.put("tiers", tiers);
    }
    m.put("annotatorId", gen.id(128));
    if (gen.chance(0.5)) {
      m.put("annotatorPool", gen.oneOf("training", "held_out", "HELD_OUT", "held-out"));
    }
    if (gen.chance(0.4)) {
      m.put("comment", gen.validText(1, 200));
    }
    return m;
  }

  static Map<String, Object> validTranscript(Gen gen) {
    Map<String, Object> m = new LinkedHashMap<>();
    common(gen, m);
    m.put("transcriptId", gen.id(128));
    if (gen.chance(0.3)) {
      m.put("conversationId", gen.id(128));
    }
    if (gen.chance(0.3)) {
      m.put("userId", gen.id(128));
    }
    List<Map<String, Object>> turns = turns(gen);
    m.put("turns", turns);
    if (gen.chance(0.3)) {
      m.put("prompt", turns.get(turns.size() - 1).get("text"));
    }
    List<Map<String, Object>> responses = new ArrayList<>();
    int n = gen.between(1, 4);
    for (int i = 0; i < n; i++) {
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("responseId", "r" + i + (gen.chance(0.3) ? gen.id(40) : ""));
      r.put("text", gen.validText(1, 200));
      if (gen.chance(0.5)) {
        r.put("policyVersion", gen.chance(0.2) ? Long.MAX_VALUE : gen.between(0, 1000));
      }
      if (gen.chance(0.5)) {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("temperature", gen.chance(0.2) ? 0 : gen.nextDouble() * 2);
        if (gen.chance(0.5)) {
          s.put("topP", gen.chance(0.3) ? 1 : Math.max(1e-6, gen.nextDouble()));
        }
        if (gen.chance(0.5)) {
          s.put("topK", gen.between(0, 100));
        }
        s.put("maxTokens", gen.between(1, 4096));
        if (gen.chance(0.5)) {
          s.put("seed", gen.chance(0.2) ? FeedbackRules.MAX_SAFE_SEED : gen.nextLong() >> 11);
        }
        r.put("sampling", s);
      }
      if (gen.chance(0.5)) {
        r.put("tokenCount", gen.between(0, 4096));
      }
      if (gen.chance(0.5)) {
        r.put("finishReason", gen.oneOf("stop", "length"));
      }
      responses.add(r);
    }
    m.put("responses", responses);
    return m;
  }

  static Map<String, Object> validDemonstration(Gen gen) {
    Map<String, Object> m = new LinkedHashMap<>();
    common(gen, m);
    if (gen.chance(0.3)) {
      m.put("demonstrationId", gen.id(128));
    }
    m.put("turns", turns(gen));
    m.put("response", gen.validText(1, 200));
    m.put("annotatorId", gen.id(128));
    return m;
  }

  private static void common(Gen gen, Map<String, Object> m) {
    m.put("eventId", "fuzz-" + gen.id(100));
    switch (gen.between(0, 3)) {
      case 0 ->
          m.put("eventTime", Instant.now().minusSeconds(gen.between(0, 86_400 * 365)).toString());
      case 1 ->
          m.put("eventTime", Instant.now().minusSeconds(gen.between(0, 86_400)).toEpochMilli());
      case 2 ->
          m.put(
              "eventTime",
              BigDecimal.valueOf(gen.between(0, 1_700_000_000)).movePointRight(3).toString());
      default -> {}
    }
  }

  private static List<Map<String, Object>> turns(Gen gen) {
    List<Map<String, Object>> turns = new ArrayList<>();
    int n = gen.between(1, 4);
    for (int i = 0; i < n; i++) {
      String role =
          i == n - 1 ? gen.oneOf("user", "User", "USER") : gen.oneOf("system", "user", "assistant");
      turns.add(object("role", role, "text", gen.validText(1, 200)));
    }
    return turns;
  }

  /** A JSON object of the given pairs (values may be null). */
  public static Map<String, Object> object(Object... pairs) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      out.put((String) pairs[i], pairs[i + 1]);
    }
    return out;
  }
}
