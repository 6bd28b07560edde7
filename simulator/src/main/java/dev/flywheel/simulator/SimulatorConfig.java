package dev.flywheel.simulator;

import java.net.URI;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * The simulator's settings. From code: {@link #builder()}. From the command line / environment:
 * {@link #parse}: option {@code --name value} (or {@code --name=value}), else environment variable
 * {@code FLYWHEEL_SIM_NAME} (upper case, dashes as underscores), else the default. API keys are
 * best given through the environment (a command line is visible to every user of the machine).
 *
 * @param servingUrl serving's base URL
 * @param gatewayUrl the feedback gateway's base URL
 * @param registryUrl the model registry's base URL (null: evaluation needs explicit versions)
 * @param servingKey API key for serving (scope {@code chat:write})
 * @param gatewayKey API key for the gateway (scopes {@code rankings:write}, {@code
 *     demonstrations:write})
 * @param registryKey API key for the model registry, if its reads need one
 * @param model model asked in the loop: serving's alias ({@code flywheel}: live + canary share;
 *     {@code flywheel-live}) or a pinned {@code policy-v<N>}
 * @param k candidates per request (n), 2..9
 * @param rate most loop requests per second
 * @param count most loop requests, answered or failed (503/429 waits do not count; 0 = no limit,
 *     then {@code duration} must be set)
 * @param duration most loop time (null = no limit, then {@code count} must be set)
 * @param concurrency loop requests in flight at once
 * @param seed seeds prompts, demonstrations, labelers and sampling
 * @param demonstrations demonstrations posted before the loop (0 = none)
 * @param imperfectShare share of imperfect demonstrations
 * @param temperature loop sampling temperature
 * @param maxTokens most tokens (bytes) per candidate
 * @param sigma labeler noise; null = calibrate for {@code targetAgreement}
 * @param targetAgreement inter-labeler agreement the calibration aims at
 * @param calibrationSets candidate sets in the calibration sample
 * @param labelersPerPool labelers in each of the TRAINING and HELD_OUT pools
 * @param evalFraction held-out share of the prompt space; must equal the pair assembler's eval
 *     fraction
 * @param heldOutRankingShare share of loop requests on held-out prompts, ranked by the HELD_OUT
 *     pool (the pair assembler files them as EVAL groups: they measure the reward model, never
 *     train it)
 * @param evalOnNewVersion collect held-out answers from every policy version the moment it first
 *     answers
 * @param evalSamples answers per held-out prompt in evaluations
 * @param evalTemperature evaluation temperature (0 = greedy)
 * @param evalConcurrency evaluation requests in flight at once
 * @param baselineVersion compare every version with this one instead of its SFT lineage root
 * @param progressEvery interval between progress lines
 * @param requestTimeout timeout of one HTTP request
 * @param maxAttempts attempts per HTTP request on 429/503/connection errors
 * @param allowRemote allow URLs that are not loopback (off: the simulator is a local load
 *     generator)
 */
public record SimulatorConfig(
    URI servingUrl,
    URI gatewayUrl,
    URI registryUrl,
    String servingKey,
    String gatewayKey,
    String registryKey,
    String model,
    int k,
    double rate,
    long count,
    Duration duration,
    int concurrency,
    long seed,
    int demonstrations,
    double imperfectShare,
    double temperature,
    int maxTokens,
    Double sigma,
    double targetAgreement,
    int calibrationSets,
    int labelersPerPool,
    double evalFraction,
    double heldOutRankingShare,
    boolean evalOnNewVersion,
    int evalSamples,
    double evalTemperature,
    int evalConcurrency,
    Long baselineVersion,
    Duration progressEvery,
    Duration requestTimeout,
    int maxAttempts,
    boolean allowRemote) {

  public SimulatorConfig {
    List<String> problems = new ArrayList<>();
    if (k < 2 || k > 9) {
      problems.add("k must be 2..9 (the gateway ranks 2..9 responses): " + k);
    }
    if (!(rate > 0)) {
      problems.add("rate must be > 0: " + rate);
    }
    if (count < 0 || (count == 0 && duration == null)) {
      problems.add("the loop needs a bound: count >= 1 or a duration");
    }
    if (concurrency < 1
        || evalConcurrency < 1
        || labelersPerPool < 1
        || evalSamples < 1
        || maxAttempts < 1) {
      problems.add(
          "concurrency, eval-concurrency, labelers-per-pool, eval-samples, max-attempts must be >= 1");
    }
    if (demonstrations < 0 || !(imperfectShare >= 0 && imperfectShare <= 1)) {
      problems.add("demonstrations >= 0 and imperfect-share in [0, 1] required");
    }
    if (!(temperature >= 0 && temperature <= 2)
        || !(evalTemperature >= 0 && evalTemperature <= 2)) {
      problems.add("temperatures must be in [0, 2]");
    }
    if (maxTokens < 1 || calibrationSets < 1) {
      problems.add("max-tokens and calibration-sets must be >= 1");
    }
    if (sigma != null && !(sigma >= 0)) {
      problems.add("sigma must be >= 0: " + sigma);
    }
    if (!(targetAgreement > 0.5 && targetAgreement < 1)) {
      problems.add("target-agreement must be in (0.5, 1): " + targetAgreement);
    }
    if (!(evalFraction > 0 && evalFraction < 1)
        || !(heldOutRankingShare >= 0 && heldOutRankingShare <= 1)) {
      problems.add("eval-fraction in (0, 1) and held-out-ranking-share in [0, 1] required");
    }
    if (servingUrl == null || gatewayUrl == null) {
      problems.add("serving-url and gateway-url are required");
    }
    if (!allowRemote) {
      for (URI url : new URI[] {servingUrl, gatewayUrl, registryUrl}) {
        if (url != null && !Endpoints.isLoopback(url)) {
          problems.add(
              url
                  + " is not a loopback address (the simulator is a local load generator; "
                  + "--allow-remote true overrides)");
        }
      }
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(String.join("; ", problems));
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The evaluation settings this configuration implies. */
  public Evaluation.Settings evaluationSettings() {
    return new Evaluation.Settings(
        evalSamples, evalTemperature, maxTokens, seed, evalConcurrency, baselineVersion);
  }

  @Override
  public String toString() { // never print the keys
    return "SimulatorConfig[serving="
        + servingUrl
        + ", gateway="
        + gatewayUrl
        + ", registry="
        + registryUrl
        + ", model="
        + model
        + ", k="
        + k
        + ", rate="
        + rate
        + "/s, count="
        + count
        + ", duration="
        + duration
        + ", concurrency="
        + concurrency
        + ", seed="
        + seed
        + ", demonstrations="
        + demonstrations
        + ", imperfectShare="
        + imperfectShare
        + ", temperature="
        + temperature
        + ", maxTokens="
        + maxTokens
        + ", sigma="
        + (sigma == null ? "calibrate(" + targetAgreement + ")" : sigma)
        + ", labelersPerPool="
        + labelersPerPool
        + ", evalFraction="
        + evalFraction
        + ", heldOutRankingShare="
        + heldOutRankingShare
        + ", evalOnNewVersion="
        + evalOnNewVersion
        + ", evalSamples="
        + evalSamples
        + ", evalTemperature="
        + evalTemperature
        + "]";
  }

  /** The options {@link #parse} understands, with their defaults (for usage messages). */
  public static final Map<String, String> OPTIONS = options();

  private static Map<String, String> options() {
    Map<String, String> o = new LinkedHashMap<>();
    o.put("serving-url", "http://127.0.0.1:8082");
    o.put("gateway-url", "http://127.0.0.1:8080");
    o.put("registry-url", "(none)");
    o.put("serving-key", "(none)");
    o.put("gateway-key", "(none)");
    o.put("registry-key", "(none)");
    o.put("model", "flywheel");
    o.put("k", "4");
    o.put("rate", "2");
    o.put("count", "2000");
    o.put("duration", "(none; e.g. 90s, 10m, 1h)");
    o.put("concurrency", "1");
    o.put("seed", "42");
    o.put("demonstrations", "2000");
    o.put("imperfect-share", String.valueOf(Demonstrations.DEFAULT_IMPERFECT_SHARE));
    o.put("temperature", "1.0");
    o.put("max-tokens", "48");
    o.put("sigma", "(calibrate)");
    o.put("target-agreement", String.valueOf(NoiseCalibration.TARGET_AGREEMENT));
    o.put("calibration-sets", "2000");
    o.put("labelers-per-pool", String.valueOf(LabelerPool.DEFAULT_SIZE));
    o.put("eval-fraction", String.valueOf(PromptSplit.DEFAULT_EVAL_FRACTION));
    o.put("held-out-ranking-share", "0.1");
    o.put("eval-on-new-version", "true");
    o.put("eval-samples", "16");
    o.put("eval-temperature", "1.0");
    o.put("eval-concurrency", "4");
    o.put("baseline-version", "(SFT lineage root)");
    o.put("progress-every", "10s");
    o.put("request-timeout", "60s");
    o.put("max-attempts", "6");
    o.put("allow-remote", "false");
    return java.util.Collections.unmodifiableMap(o);
  }

  /**
   * Parses {@code --name value} / {@code --name=value} options; what is not given comes from {@code
   * env} ({@code FLYWHEEL_SIM_NAME}), else the default. Unknown options are an error; arguments
   * that are not options are returned through {@code positional}.
   */
  public static SimulatorConfig parse(
      List<String> args, Map<String, String> env, List<String> positional) {
    Map<String, String> given = new LinkedHashMap<>();
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (!a.startsWith("--")) {
        positional.add(a);
        continue;
      }
      String name = a.substring(2);
      String value;
      int eq = name.indexOf('=');
      if (eq >= 0) {
        value = name.substring(eq + 1);
        name = name.substring(0, eq);
      } else if (i + 1 < args.size()) {
        value = args.get(++i);
      } else {
        throw new IllegalArgumentException("option --" + name + " needs a value");
      }
      if (!OPTIONS.containsKey(name)) {
        throw new IllegalArgumentException(
            "unknown option --" + name + "; known: " + OPTIONS.keySet());
      }
      given.put(name, value);
    }
    Function<String, String> get =
        name -> {
          String v = given.get(name);
          if (v == null) {
            v = env.get("FLYWHEEL_SIM_" + name.toUpperCase(Locale.ROOT).replace('-', '_'));
          }
          return v == null || v.isBlank() ? null : v.strip();
        };
    Builder b = builder();
    try {
      set(get, "serving-url", v -> b.servingUrl(URI.create(v)));
      set(get, "gateway-url", v -> b.gatewayUrl(URI.create(v)));
      set(get, "registry-url", v -> b.registryUrl(URI.create(v)));
      set(get, "serving-key", b::servingKey);
      set(get, "gateway-key", b::gatewayKey);
      set(get, "registry-key", b::registryKey);
      set(get, "model", b::model);
      set(get, "k", v -> b.k(Integer.parseInt(v)));
      set(get, "rate", v -> b.rate(Double.parseDouble(v)));
      set(get, "count", v -> b.count(Long.parseLong(v)));
      set(get, "duration", v -> b.duration(duration(v)));
      set(get, "concurrency", v -> b.concurrency(Integer.parseInt(v)));
      set(get, "seed", v -> b.seed(Long.parseLong(v)));
      set(get, "demonstrations", v -> b.demonstrations(Integer.parseInt(v)));
      set(get, "imperfect-share", v -> b.imperfectShare(Double.parseDouble(v)));
      set(get, "temperature", v -> b.temperature(Double.parseDouble(v)));
      set(get, "max-tokens", v -> b.maxTokens(Integer.parseInt(v)));
      set(
          get,
          "sigma",
          v -> b.sigma(v.equalsIgnoreCase("calibrate") ? null : Double.parseDouble(v)));
      set(get, "target-agreement", v -> b.targetAgreement(Double.parseDouble(v)));
      set(get, "calibration-sets", v -> b.calibrationSets(Integer.parseInt(v)));
      set(get, "labelers-per-pool", v -> b.labelersPerPool(Integer.parseInt(v)));
      set(get, "eval-fraction", v -> b.evalFraction(Double.parseDouble(v)));
      set(get, "held-out-ranking-share", v -> b.heldOutRankingShare(Double.parseDouble(v)));
      set(get, "eval-on-new-version", v -> b.evalOnNewVersion(bool(v)));
      set(get, "eval-samples", v -> b.evalSamples(Integer.parseInt(v)));
      set(get, "eval-temperature", v -> b.evalTemperature(Double.parseDouble(v)));
      set(get, "eval-concurrency", v -> b.evalConcurrency(Integer.parseInt(v)));
      set(get, "baseline-version", v -> b.baselineVersion(Long.parseLong(v)));
      set(get, "progress-every", v -> b.progressEvery(duration(v)));
      set(get, "request-timeout", v -> b.requestTimeout(duration(v)));
      set(get, "max-attempts", v -> b.maxAttempts(Integer.parseInt(v)));
      set(get, "allow-remote", v -> b.allowRemote(bool(v)));
    } catch (NumberFormatException | DateTimeParseException e) {
      throw new IllegalArgumentException("bad option value: " + e.getMessage(), e);
    }
    return b.build();
  }

  private static void set(
      Function<String, String> get, String name, java.util.function.Consumer<String> apply) {
    String v = get.apply(name);
    if (v != null) {
      try {
        apply.accept(v);
      } catch (RuntimeException e) {
        throw new IllegalArgumentException("--" + name + " " + v + ": " + e.getMessage(), e);
      }
    }
  }

  private static boolean bool(String v) {
    return switch (v.toLowerCase(Locale.ROOT)) {
      case "true", "yes", "1", "on" -> true;
      case "false", "no", "0", "off" -> false;
      default -> throw new IllegalArgumentException("not a boolean: " + v);
    };
  }

  /**
   * {@code 500ms}, {@code 90s}, {@code 10m}, {@code 2h}, plain seconds, or ISO-8601 ({@code PT1M}).
   */
  static Duration duration(String v) {
    String s = v.strip().toLowerCase(Locale.ROOT);
    if (s.startsWith("p")) {
      return Duration.parse(s.toUpperCase(Locale.ROOT));
    }
    if (s.endsWith("ms")) {
      return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
    }
    char unit = s.charAt(s.length() - 1);
    if (Character.isDigit(unit)) {
      return Duration.ofMillis(Math.round(Double.parseDouble(s) * 1000));
    }
    double n = Double.parseDouble(s.substring(0, s.length() - 1));
    return switch (unit) {
      case 's' -> Duration.ofMillis(Math.round(n * 1000));
      case 'm' -> Duration.ofMillis(Math.round(n * 60_000));
      case 'h' -> Duration.ofMillis(Math.round(n * 3_600_000));
      default -> throw new IllegalArgumentException("not a duration: " + v);
    };
  }

  /** Builder with the defaults of {@link #OPTIONS}. */
  public static final class Builder {
    private URI servingUrl = URI.create("http://127.0.0.1:8082");
    private URI gatewayUrl = URI.create("http://127.0.0.1:8080");
    private URI registryUrl;
    private String servingKey;
    private String gatewayKey;
    private String registryKey;
    private String model = "flywheel";
    private int k = 4;
    private double rate = 2;
    private long count = 2000;
    private Duration duration;
    private int concurrency = 1;
    private long seed = 42;
    private int demonstrations = 2000;
    private double imperfectShare = Demonstrations.DEFAULT_IMPERFECT_SHARE;
    private double temperature = 1.0;
    private int maxTokens = 48;
    private Double sigma;
    private double targetAgreement = NoiseCalibration.TARGET_AGREEMENT;
    private int calibrationSets = 2000;
    private int labelersPerPool = LabelerPool.DEFAULT_SIZE;
    private double evalFraction = PromptSplit.DEFAULT_EVAL_FRACTION;
    private double heldOutRankingShare = 0.1;
    private boolean evalOnNewVersion = true;
    // the loop's temperature: a version is judged on what its users get, with enough samples per
    // prompt
    // that the difference between two versions is not one flipped greedy answer (0.02 of the mean)
    private int evalSamples = 16;
    private double evalTemperature = 1.0;
    private int evalConcurrency = 4;
    private Long baselineVersion;
    private Duration progressEvery = Duration.ofSeconds(10);
    private Duration requestTimeout = Duration.ofSeconds(60);
    private int maxAttempts = 6;
    private boolean allowRemote;

    public Builder servingUrl(URI v) {
      servingUrl = v;
      return this;
    }

    public Builder gatewayUrl(URI v) {
      gatewayUrl = v;
      return this;
    }

    public Builder registryUrl(URI v) {
      registryUrl = v;
      return this;
    }

    public Builder servingKey(String v) {
      servingKey = v;
      return this;
    }

    public Builder gatewayKey(String v) {
      gatewayKey = v;
      return this;
    }

    public Builder registryKey(String v) {
      registryKey = v;
      return this;
    }

    public Builder model(String v) {
      model = v;
      return this;
    }

    public Builder k(int v) {
      k = v;
      return this;
    }

    public Builder rate(double v) {
      rate = v;
      return this;
    }

    public Builder count(long v) {
      count = v;
      return this;
    }

    public Builder duration(Duration v) {
      duration = v;
      return this;
    }

    public Builder concurrency(int v) {
      concurrency = v;
      return this;
    }

    public Builder seed(long v) {
      seed = v;
      return this;
    }

    public Builder demonstrations(int v) {
      demonstrations = v;
      return this;
    }

    public Builder imperfectShare(double v) {
      imperfectShare = v;
      return this;
    }

    public Builder temperature(double v) {
      temperature = v;
      return this;
    }

    public Builder maxTokens(int v) {
      maxTokens = v;
      return this;
    }

    public Builder sigma(Double v) {
      sigma = v;
      return this;
    }

    public Builder targetAgreement(double v) {
      targetAgreement = v;
      return this;
    }

    public Builder calibrationSets(int v) {
      calibrationSets = v;
      return this;
    }

    public Builder labelersPerPool(int v) {
      labelersPerPool = v;
      return this;
    }

    public Builder evalFraction(double v) {
      evalFraction = v;
      return this;
    }

    public Builder heldOutRankingShare(double v) {
      heldOutRankingShare = v;
      return this;
    }

    public Builder evalOnNewVersion(boolean v) {
      evalOnNewVersion = v;
      return this;
    }

    public Builder evalSamples(int v) {
      evalSamples = v;
      return this;
    }

    public Builder evalTemperature(double v) {
      evalTemperature = v;
      return this;
    }

    public Builder evalConcurrency(int v) {
      evalConcurrency = v;
      return this;
    }

    public Builder baselineVersion(Long v) {
      baselineVersion = v;
      return this;
    }

    public Builder progressEvery(Duration v) {
      progressEvery = v;
      return this;
    }

    public Builder requestTimeout(Duration v) {
      requestTimeout = v;
      return this;
    }

    public Builder maxAttempts(int v) {
      maxAttempts = v;
      return this;
    }

    public Builder allowRemote(boolean v) {
      allowRemote = v;
      return this;
    }

    public SimulatorConfig build() {
      return new SimulatorConfig(
          servingUrl,
          gatewayUrl,
          registryUrl,
          servingKey,
          gatewayKey,
          registryKey,
          model,
          k,
          rate,
          count,
          duration,
          concurrency,
          seed,
          demonstrations,
          imperfectShare,
          temperature,
          maxTokens,
          sigma,
          targetAgreement,
          calibrationSets,
          labelersPerPool,
          evalFraction,
          heldOutRankingShare,
          evalOnNewVersion,
          evalSamples,
          evalTemperature,
          evalConcurrency,
          baselineVersion,
          progressEvery,
          requestTimeout,
          maxAttempts,
          allowRemote);
    }
  }
}
