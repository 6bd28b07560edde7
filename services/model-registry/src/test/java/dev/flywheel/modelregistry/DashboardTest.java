package dev.flywheel.modelregistry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard: its data endpoint, and the page itself rendered by a real headless Chromium.
 * Without a Chromium the browser test is skipped locally, and FAILS when the environment variable
 * {@code CI} is set (CI installs one: {@code apt-get install -y chromium}). {@code CHROMIUM_BIN}
 * names a binary.
 */
@ExtendWith(FlywheelInfraExtension.class)
class DashboardTest {

  static RegistryHarness registry;

  @BeforeAll
  static void start(FlywheelInfra infra, @TempDir Path artifacts) {
    registry = new RegistryHarness(infra, artifacts);
    registry.publishStandardHistory();
    registry.start();
  }

  @AfterAll
  static void stop() {
    if (registry != null) {
      registry.close();
    }
  }

  @Test
  void dashboardDataHasVersionsLiveAndEveryChart() {
    JsonNode d = registry.getJson("/api/dashboard");
    assertEquals(3, d.path("versions").path("policy").size());
    assertEquals(2, d.path("versions").path("reward").size());
    assertEquals(1, d.path("live").path("policy").path("live").get(0).path("version").asLong());
    assertEquals(
        3, d.path("live").path("policy").path("candidates").get(0).path("version").asLong());
    JsonNode charts = d.path("charts");
    assertEquals(
        2, charts.path("rm_accuracy").size(), "one point per reward model with eval_accuracy");
    assertEquals(0.68, charts.path("rm_accuracy").get(1).path("y").asDouble(), 1e-9);
    assertEquals(1, charts.path("rm_eval").size());
    assertEquals(2, charts.path("agreement").size());
    assertEquals(0.73, charts.path("agreement").get(0).path("y").asDouble(), 1e-9);
    assertEquals(3, charts.path("ppo_mean_reward").size(), "one point per PPO round");
    assertEquals(0.305, charts.path("ppo_mean_reward").get(2).path("y").asDouble(), 1e-9);
    assertEquals(0.06, charts.path("ppo_kl").get(2).path("y").asDouble(), 1e-9);
    assertEquals(3, charts.path("ppo_kl").get(2).path("round").asLong());
    assertEquals(2, charts.path("pair_throughput").size());
    assertEquals(
        4.0, charts.path("pair_throughput").get(0).path("y").asDouble(), 1e-9, "published rate");
    assertEquals(
        6.5,
        charts.path("pair_throughput").get(1).path("y").asDouble(),
        1e-9,
        "derived from pairs_emitted");

    String html = new String(registry.get("/").body(), StandardCharsets.UTF_8);
    assertTrue(html.contains("<script src=\"/dashboard.js\">"), html);
    assertEquals(200, registry.get("/dashboard.js").statusCode());
    assertEquals(200, registry.get("/dashboard.css").statusCode());
  }

  @Test
  void theDashboardRendersInAHeadlessBrowser(@TempDir Path profile) throws Exception {
    Optional<String> chromium = findChromium();
    if (chromium.isEmpty()) {
      String message = "no Chromium found (apt-get install -y chromium, or set CHROMIUM_BIN)";
      if (System.getenv("CI") != null) {
        fail(message + ": the browser test must run in CI");
      }
      Assumptions.abort(message + "; skipping the browser test");
    }
    String dom = dumpDom(chromium.get(), registry.baseUrl() + "/", profile);
    String screenshot =
        System.getenv("DASHBOARD_SCREENSHOT"); // a PNG path, for looking at the page
    if (screenshot != null && !screenshot.isBlank()) {
      run(
          chromium.get(),
          profile,
          "--window-size=1400,1800",
          "--screenshot=" + Path.of(screenshot).toAbsolutePath(),
          registry.baseUrl() + "/");
    }

    assertTrue(dom.contains("id=\"status\""), "the page loaded:\n" + head(dom));
    assertTrue(
        Pattern.compile("id=\"status\"[^>]*data-state=\"ok\"").matcher(dom).find()
            || Pattern.compile("data-state=\"ok\"[^>]*id=\"status\"").matcher(dom).find(),
        "the page fetched /api/dashboard:\n" + head(dom));

    // the versions on the topics, in the table and on the timeline
    for (String v : List.of("1", "2", "3")) {
      assertTrue(
          hasElement(dom, "tr", "data-kind=\"policy\"", "data-version=\"" + v + "\""),
          "policy row v" + v);
      assertTrue(
          hasElement(dom, "circle", "data-kind=\"policy\"", "data-version=\"" + v + "\""),
          "policy dot v" + v);
    }
    assertTrue(
        hasElement(dom, "tr", "data-version=\"2\"", "data-status=\"ROLLED_BACK\""),
        "v2's latest status");
    assertTrue(
        hasElement(dom, "tr", "data-kind=\"reward\"", "data-version=\"2\""), "reward row v2");
    assertTrue(hasElement(dom, "div", "data-role=\"live\"", "data-version=\"1\""), "live card");
    assertTrue(
        hasElement(dom, "div", "data-role=\"candidate\"", "data-version=\"3\""), "candidate card");

    // plots with data points
    assertEquals(
        3, count(dom, "circle", "data-series=\"ppo_mean_reward\""), "PPO mean reward per round");
    assertEquals(3, count(dom, "circle", "data-series=\"ppo_kl\""));
    assertEquals(2, count(dom, "circle", "data-series=\"rm_accuracy\""));
    assertEquals(2, count(dom, "circle", "data-series=\"agreement\""));
    assertEquals(2, count(dom, "circle", "data-series=\"pair_throughput\""));
    assertTrue(hasElement(dom, "circle", "data-series=\"rm_accuracy\"", "data-y=\"0.68\""));
  }

  static String head(String dom) {
    return dom.length() > 3000 ? dom.substring(0, 3000) : dom;
  }

  /** Whether some {@code <tag ...>} carries all the given attributes. */
  static boolean hasElement(String dom, String tag, String... attributes) {
    return count(dom, tag, attributes) > 0;
  }

  static int count(String dom, String tag, String... attributes) {
    Matcher m = Pattern.compile("<" + tag + "\\b[^>]*>").matcher(dom);
    int n = 0;
    while (m.find()) {
      String element = m.group();
      boolean all = true;
      for (String a : attributes) {
        all &= element.contains(a);
      }
      if (all) {
        n++;
      }
    }
    return n;
  }

  static Optional<String> findChromium() {
    String configured = System.getenv("CHROMIUM_BIN");
    if (configured != null && !configured.isBlank()) {
      return Optional.of(configured);
    }
    String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
    for (String name :
        List.of("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")) {
      for (String dir : path.split(File.pathSeparator)) {
        Path candidate = Path.of(dir, name);
        if (Files.isExecutable(candidate)) {
          return Optional.of(candidate.toString());
        }
      }
    }
    return Optional.empty();
  }

  static String dumpDom(String chromium, String url, Path profile)
      throws IOException, InterruptedException {
    String dom = run(chromium, profile, "--dump-dom", url);
    if (dom.isBlank()) {
      fail("chromium dumped nothing:\n" + Files.readString(profile.resolve("chromium.log")));
    }
    return dom;
  }

  static String run(String chromium, Path profile, String... args)
      throws IOException, InterruptedException {
    List<String> command =
        new ArrayList<>(
            List.of(
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--user-data-dir=" + profile.resolve("profile"),
                "--virtual-time-budget=8000"));
    command.addAll(List.of(args));
    Path out = profile.resolve("dom.html");
    Path err = profile.resolve("chromium.log");
    Process process =
        new ProcessBuilder(command)
            .redirectOutput(out.toFile())
            .redirectError(err.toFile())
            .start();
    if (!process.waitFor(90, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      fail("chromium did not finish within 90 s: " + Files.readString(err));
    }
    if (process.exitValue() != 0) {
      fail("chromium exited " + process.exitValue() + ":\n" + Files.readString(err));
    }
    return Files.readString(out);
  }
}
