package dev.flywheel.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Formatting of registry JSON for humans. */
final class Format {

  private Format() {}

  static String num(JsonNode n) {
    if (n == null || n.isNull() || n.isMissingNode()) {
      return "-";
    }
    double v = n.asDouble();
    return String.format(Locale.ROOT, "%.4g", v)
        .replaceAll("(\\.\\d*?)0+($|e)", "$1$2")
        .replaceAll("\\.($|e)", "$1");
  }

  static String metrics(JsonNode metrics, int max) {
    List<String> parts = new ArrayList<>();
    Iterator<Map.Entry<String, JsonNode>> it = metrics.fields();
    while (it.hasNext() && parts.size() < max) {
      Map.Entry<String, JsonNode> e = it.next();
      parts.add(e.getKey() + "=" + num(e.getValue()));
    }
    return String.join(" ", parts);
  }

  static String versions(JsonNode array) {
    List<String> out = new ArrayList<>();
    if (array != null) {
      array.forEach(v -> out.add("v" + v.asLong()));
    }
    return String.join(",", out);
  }

  static String optVersion(JsonNode n) {
    return n == null || n.isNull() || n.isMissingNode() ? "" : "v" + n.asLong();
  }

  static String time(JsonNode n) {
    return n == null || n.isNull() ? "" : n.asText().replace('T', ' ');
  }

  static String shortSha(JsonNode n) {
    String s = n == null || n.isNull() ? "" : n.asText();
    return s.length() > 12 ? s.substring(0, 12) : s;
  }

  static String ranges(JsonNode trainingData) {
    List<String> out = new ArrayList<>();
    for (JsonNode r : trainingData) {
      out.add(
          r.path("topic").asText()
              + "["
              + r.path("partition").asInt()
              + "] "
              + r.path("fromOffset").asLong()
              + ".."
              + r.path("untilOffset").asLong()
              + " ("
              + r.path("records").asLong()
              + ")");
    }
    return out.isEmpty() ? "none recorded" : String.join(", ", out);
  }

  static long records(JsonNode trainingData) {
    long n = 0;
    for (JsonNode r : trainingData) {
      n += r.path("records").asLong();
    }
    return n;
  }
}
