package dev.flywheel.simulator;

import java.net.URI;
import java.time.Duration;
import java.util.Locale;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * The simulator's options, one per {@link SimulatorConfig} field, with the {@link
 * SimulatorConfig.Builder}'s defaults ({@code SimulatorCommandTest} checks that they agree). Mixed
 * into {@link SimulatorCommand}, which adds the environment fallback.
 */
final class SimulatorOptions {

  @Option(
      names = "--serving-url",
      paramLabel = "URL",
      defaultValue = "http://127.0.0.1:8092",
      description = "Serving's base URL. Default: ${DEFAULT-VALUE}.")
  URI servingUrl;

  @Option(
      names = "--gateway-url",
      paramLabel = "URL",
      defaultValue = "http://127.0.0.1:8091",
      description = "The feedback gateway's base URL. Default: ${DEFAULT-VALUE}.")
  URI gatewayUrl;

  @Option(
      names = "--registry-url",
      paramLabel = "URL",
      description =
          "The model registry's base URL. Default: none (eval then needs explicit versions).")
  URI registryUrl;

  @Option(
      names = "--serving-key",
      paramLabel = "KEY",
      description = "API key for serving (scope chat:write). Default: none.")
  String servingKey;

  @Option(
      names = "--gateway-key",
      paramLabel = "KEY",
      description =
          "API key for the gateway (scopes rankings:write, demonstrations:write). Default: none.")
  String gatewayKey;

  @Option(
      names = "--registry-key",
      paramLabel = "KEY",
      description = "API key for the model registry, if its reads need one. Default: none.")
  String registryKey;

  @Option(
      names = "--model",
      paramLabel = "MODEL",
      defaultValue = "flywheel",
      description =
          "Model asked in the loop: serving's alias (flywheel: live + canary share;"
              + " flywheel-live) or a pinned policy-v<N>. Default: ${DEFAULT-VALUE}.")
  String model;

  @Option(
      names = "--k",
      paramLabel = "K",
      defaultValue = "4",
      description =
          "Candidates per request (n), 2..9 (the gateway's and the pair assembler's K, serving's"
              + " default max-n). Default: ${DEFAULT-VALUE}.")
  int k;

  @Option(
      names = "--rate",
      paramLabel = "PER_SECOND",
      defaultValue = "2",
      description = "Most loop requests per second. Default: ${DEFAULT-VALUE}.")
  double rate;

  @Option(
      names = "--count",
      paramLabel = "N",
      defaultValue = "2000",
      description =
          "Most loop requests, answered or failed (503/429 waits do not count; 0: no limit,"
              + " then --duration is needed). Default: ${DEFAULT-VALUE}.")
  long count;

  @Option(
      names = "--duration",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description = "Most loop time, e.g. 90s, 10m, 1h. Default: none (no limit).")
  Duration duration;

  @Option(
      names = "--concurrency",
      paramLabel = "N",
      defaultValue = "1",
      description = "Loop requests in flight at once. Default: ${DEFAULT-VALUE}.")
  int concurrency;

  @Option(
      names = "--seed",
      paramLabel = "SEED",
      defaultValue = "42",
      description =
          "Seeds prompts, demonstrations, labelers and sampling. Default: ${DEFAULT-VALUE}.")
  long seed;

  @Option(
      names = "--demonstrations",
      paramLabel = "N",
      defaultValue = "2000",
      description = "Demonstrations posted before the loop (0: none). Default: ${DEFAULT-VALUE}.")
  int demonstrations;

  @Option(
      names = "--imperfect-share",
      paramLabel = "SHARE",
      defaultValue = "" + Demonstrations.DEFAULT_IMPERFECT_SHARE,
      description = "Share of imperfect demonstrations. Default: ${DEFAULT-VALUE}.")
  double imperfectShare;

  @Option(
      names = "--temperature",
      paramLabel = "T",
      defaultValue = "1.0",
      description = "Loop sampling temperature, 0..2. Default: ${DEFAULT-VALUE}.")
  double temperature;

  @Option(
      names = "--max-tokens",
      paramLabel = "N",
      defaultValue = "48",
      description = "Most tokens (bytes) per candidate. Default: ${DEFAULT-VALUE}.")
  int maxTokens;

  @Option(
      names = "--dedup-candidates",
      arity = "1",
      paramLabel = "true|false",
      defaultValue = "false",
      converter = BooleanConverter.class,
      description =
          "When some of the K candidates are identical, ask serving for replacement completions"
              + " so that the labeler ranks distinct responses; if none is distinct, rank the"
              + " distinct ones (>= 2) or skip the ranking. Default: ${DEFAULT-VALUE}.")
  boolean dedupCandidates;

  @Option(
      names = "--dedup-replacements",
      paramLabel = "N",
      defaultValue = "" + CandidateDedup.DEFAULT_MAX_REPLACEMENTS,
      description =
          "Most replacement completions (same request, new seed) asked for per ranking with"
              + " --dedup-candidates, 0.."
              + SimulatorConfig.MAX_DEDUP_REPLACEMENTS
              + ". Default: ${DEFAULT-VALUE}.")
  int dedupReplacements;

  @Option(
      names = "--sigma",
      paramLabel = "SIGMA|calibrate",
      defaultValue = "calibrate",
      converter = SigmaConverter.class,
      description =
          "Labeler noise, or calibrate: find it for --target-agreement. Default:"
              + " ${DEFAULT-VALUE}.")
  Double sigma;

  @Option(
      names = "--target-agreement",
      paramLabel = "SHARE",
      defaultValue = "" + NoiseCalibration.TARGET_AGREEMENT,
      description =
          "Inter-labeler agreement the calibration aims at, in (0.5, 1). Default:"
              + " ${DEFAULT-VALUE}.")
  double targetAgreement;

  @Option(
      names = "--calibration-sets",
      paramLabel = "N",
      defaultValue = "2000",
      description = "Candidate sets in the calibration sample. Default: ${DEFAULT-VALUE}.")
  int calibrationSets;

  @Option(
      names = "--calibrate-on",
      paramLabel = "SOURCE",
      defaultValue = "synthetic",
      converter = CalibrationSourceConverter.class,
      description =
          "What the labeler noise is calibrated on: synthetic (sets drawn like an SFT policy's"
              + " samples, before anything serves) or served (the served policy's own candidate"
              + " sets: the first --served-calibration-sets loop requests, not ranked). Default:"
              + " ${DEFAULT-VALUE}.")
  SimulatorConfig.CalibrationSource calibrationSource;

  @Option(
      names = "--served-calibration-sets",
      paramLabel = "N",
      defaultValue = "200",
      description =
          "Candidate sets asked from serving for --calibrate-on served. Default: ${DEFAULT-VALUE}.")
  int servedCalibrationSets;

  @Option(
      names = "--labelers-per-pool",
      paramLabel = "N",
      defaultValue = "" + LabelerPool.DEFAULT_SIZE,
      description =
          "Labelers in each of the TRAINING and HELD_OUT pools. Default: ${DEFAULT-VALUE}.")
  int labelersPerPool;

  @Option(
      names = "--eval-fraction",
      paramLabel = "SHARE",
      defaultValue = "" + PromptSplit.DEFAULT_EVAL_FRACTION,
      description =
          "Held-out share of the prompt space; must equal the pair assembler's eval-fraction."
              + " Default: ${DEFAULT-VALUE}.")
  double evalFraction;

  @Option(
      names = "--held-out-ranking-share",
      paramLabel = "SHARE",
      defaultValue = "0.1",
      description =
          "Share of loop requests on held-out prompts, ranked by the HELD_OUT pool (EVAL groups:"
              + " they measure the reward model, never train it). Default: ${DEFAULT-VALUE}.")
  double heldOutRankingShare;

  @Option(
      names = "--eval-on-new-version",
      arity = "1",
      paramLabel = "true|false",
      defaultValue = "true",
      converter = BooleanConverter.class,
      description =
          "Collect held-out answers from every policy version the moment it first answers."
              + " Default: ${DEFAULT-VALUE}.")
  boolean evalOnNewVersion;

  @Option(
      names = "--eval-samples",
      paramLabel = "N",
      defaultValue = "16",
      description = "Answers per held-out prompt in evaluations. Default: ${DEFAULT-VALUE}.")
  int evalSamples;

  @Option(
      names = "--eval-temperature",
      paramLabel = "T",
      defaultValue = "1.0",
      description = "Evaluation temperature (0: greedy). Default: ${DEFAULT-VALUE}.")
  double evalTemperature;

  @Option(
      names = "--eval-concurrency",
      paramLabel = "N",
      defaultValue = "4",
      description = "Evaluation requests in flight at once. Default: ${DEFAULT-VALUE}.")
  int evalConcurrency;

  @Option(
      names = "--baseline-version",
      paramLabel = "VERSION",
      description = "Compare every version with this one. Default: none (its SFT lineage root).")
  Long baselineVersion;

  @Option(
      names = "--progress-every",
      paramLabel = "DURATION",
      defaultValue = "10s",
      converter = DurationConverter.class,
      description = "Interval between progress lines. Default: ${DEFAULT-VALUE}.")
  Duration progressEvery;

  @Option(
      names = "--request-timeout",
      paramLabel = "DURATION",
      defaultValue = "60s",
      converter = DurationConverter.class,
      description = "Timeout of one HTTP request. Default: ${DEFAULT-VALUE}.")
  Duration requestTimeout;

  @Option(
      names = "--max-attempts",
      paramLabel = "N",
      defaultValue = "6",
      description =
          "Attempts per HTTP request on 429/502/503/504/connection errors. Default:"
              + " ${DEFAULT-VALUE}.")
  int maxAttempts;

  @Option(
      names = "--allow-remote",
      arity = "1",
      paramLabel = "true|false",
      defaultValue = "false",
      converter = BooleanConverter.class,
      description =
          "Allow URLs that are not loopback (the simulator is a local load generator). Default:"
              + " ${DEFAULT-VALUE}.")
  boolean allowRemote;

  /** The settings these options give; settings that do not fit together throw. */
  SimulatorConfig config() {
    return SimulatorConfig.builder()
        .servingUrl(servingUrl)
        .gatewayUrl(gatewayUrl)
        .registryUrl(registryUrl)
        .servingKey(servingKey)
        .gatewayKey(gatewayKey)
        .registryKey(registryKey)
        .model(model)
        .k(k)
        .rate(rate)
        .count(count)
        .duration(duration)
        .concurrency(concurrency)
        .seed(seed)
        .demonstrations(demonstrations)
        .imperfectShare(imperfectShare)
        .temperature(temperature)
        .maxTokens(maxTokens)
        .dedupCandidates(dedupCandidates)
        .dedupReplacements(dedupReplacements)
        .sigma(sigma)
        .targetAgreement(targetAgreement)
        .calibrationSets(calibrationSets)
        .calibrationSource(calibrationSource)
        .servedCalibrationSets(servedCalibrationSets)
        .labelersPerPool(labelersPerPool)
        .evalFraction(evalFraction)
        .heldOutRankingShare(heldOutRankingShare)
        .evalOnNewVersion(evalOnNewVersion)
        .evalSamples(evalSamples)
        .evalTemperature(evalTemperature)
        .evalConcurrency(evalConcurrency)
        .baselineVersion(baselineVersion)
        .progressEvery(progressEvery)
        .requestTimeout(requestTimeout)
        .maxAttempts(maxAttempts)
        .allowRemote(allowRemote)
        .build();
  }

  /**
   * {@code 500ms}, {@code 90s}, {@code 10m}, {@code 2h}, plain seconds, or ISO-8601 ({@code PT1M}).
   */
  static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String v) {
      String s = v.strip().toLowerCase(Locale.ROOT);
      if (s.startsWith("p")) {
        return Duration.parse(s.toUpperCase(Locale.ROOT));
      }
      if (s.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
      }
      char unit = s.isEmpty() ? '?' : s.charAt(s.length() - 1);
      if (Character.isDigit(unit)) {
        return Duration.ofMillis(Math.round(Double.parseDouble(s) * 1000));
      }
      long millisPerUnit =
          switch (unit) {
            case 's' -> 1000;
            case 'm' -> 60_000;
            case 'h' -> 3_600_000;
            default ->
                throw new CommandLine.TypeConversionException(
                    "'" + v + "' is not a duration (500ms, 90s, 10m, 2h, PT1M)");
          };
      return Duration.ofMillis(
          Math.round(Double.parseDouble(s.substring(0, s.length() - 1)) * millisPerUnit));
    }
  }

  /** {@code true/yes/1/on} or {@code false/no/0/off}, any case. */
  static final class BooleanConverter implements CommandLine.ITypeConverter<Boolean> {
    @Override
    public Boolean convert(String v) {
      return switch (v.strip().toLowerCase(Locale.ROOT)) {
        case "true", "yes", "1", "on" -> true;
        case "false", "no", "0", "off" -> false;
        default ->
            throw new CommandLine.TypeConversionException(
                "'" + v + "' is not a boolean (true/false, yes/no, 1/0, on/off)");
      };
    }
  }

  /** A non-negative number, or {@code calibrate} (null: calibrate for the target agreement). */
  static final class SigmaConverter implements CommandLine.ITypeConverter<Double> {
    @Override
    public Double convert(String v) {
      return v.strip().equalsIgnoreCase("calibrate") ? null : Double.valueOf(v.strip());
    }
  }

  /** {@code synthetic} or {@code served}, any case. */
  static final class CalibrationSourceConverter
      implements CommandLine.ITypeConverter<SimulatorConfig.CalibrationSource> {
    @Override
    public SimulatorConfig.CalibrationSource convert(String v) {
      return switch (v.strip().toLowerCase(Locale.ROOT)) {
        case "synthetic" -> SimulatorConfig.CalibrationSource.SYNTHETIC;
        case "served" -> SimulatorConfig.CalibrationSource.SERVED;
        default ->
            throw new CommandLine.TypeConversionException(
                "'" + v + "' is not a calibration source (synthetic or served)");
      };
    }
  }
}
