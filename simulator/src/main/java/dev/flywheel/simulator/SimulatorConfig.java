package dev.flywheel.simulator;

import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The simulator's settings. From code: {@link #builder()}. From the command line / environment:
 * {@link SimulatorCommand} (option {@code --name value}, else environment variable {@code
 * FLYWHEEL_SIM_NAME}, else the default). API keys are best given through the environment (a command
 * line is visible to every user of the machine).
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
 * @param k candidates per request (n), {@link #MIN_K}..{@link #MAX_K}
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
 * @param dedupCandidates when some of a request's K candidates are identical, ask serving for
 *     replacement completions so that the labeler ranks distinct responses ({@link CandidateDedup})
 * @param dedupReplacements most replacement completions asked for per ranking when {@code
 *     dedupCandidates} (0..{@link #MAX_DEDUP_REPLACEMENTS})
 * @param sigma labeler noise; null = calibrate for {@code targetAgreement}
 * @param targetAgreement inter-labeler agreement the calibration aims at
 * @param calibrationSets candidate sets in the calibration sample
 * @param calibrationSource what the labeler noise is calibrated on: {@code SYNTHETIC} sets drawn
 *     like an SFT policy's samples (at construction), or the {@code SERVED} policy's own candidate
 *     sets (the first {@code servedCalibrationSets} loop requests, before any is ranked)
 * @param servedCalibrationSets candidate sets asked from serving for a {@code SERVED} calibration
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
    boolean dedupCandidates,
    int dedupReplacements,
    Double sigma,
    double targetAgreement,
    int calibrationSets,
    CalibrationSource calibrationSource,
    int servedCalibrationSets,
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

  /** Fewest candidates per request: a ranking orders at least two responses. */
  public static final int MIN_K = 2;

  /**
   * Most candidates per request: the platform's bound on a ranking (the gateway's and the pair
   * assembler's K = 2..9) and serving's default {@code max-n} (9).
   */
  public static final int MAX_K = 9;

  /** What the labelers' noise is calibrated on ({@code --calibrate-on}). */
  public enum CalibrationSource {
    /** {@link NoiseCalibration#syntheticSample}: known before any policy serves. */
    SYNTHETIC,
    /**
     * The served policy's own candidate sets, as InstructGPT's agreement was measured on model
     * outputs; their gold gaps are smaller than the synthetic sets', so the same sigma gives
     * labelers that agree less.
     */
    SERVED
  }

  /**
   * A completion request as the loop asks it: the configured model, K, temperature and max tokens,
   * for one user turn; {@code seed} is masked to the range serving accepts.
   */
  ServingClient.Request loopRequest(String prompt, long seed, String user) {
    return new ServingClient.Request(
        model, prompt, k, temperature, maxTokens, seed & ServingClient.Request.MAX_SEED, user);
  }

  /** Most replacement completions per ranking ({@code --dedup-replacements}). */
  public static final int MAX_DEDUP_REPLACEMENTS = 10;

  public SimulatorConfig {
    List<String> problems = new ArrayList<>();
    if (k < MIN_K || k > MAX_K) {
      problems.add(
          "--k must be "
              + MIN_K
              + ".."
              + MAX_K
              + " (the gateway and the pair assembler accept rankings of 2..9 responses, serving"
              + " answers n up to its max-n, 9 by default): "
              + k);
    }
    if (dedupReplacements < 0 || dedupReplacements > MAX_DEDUP_REPLACEMENTS) {
      problems.add(
          "--dedup-replacements must be 0.." + MAX_DEDUP_REPLACEMENTS + ": " + dedupReplacements);
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
    if (maxTokens < 1 || calibrationSets < 1 || servedCalibrationSets < 1) {
      problems.add("max-tokens, calibration-sets and served-calibration-sets must be >= 1");
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
        + ", dedupCandidates="
        + dedupCandidates
        + (dedupCandidates ? ", dedupReplacements=" + dedupReplacements : "")
        + ", sigma="
        + (sigma == null ? "calibrate(" + targetAgreement + ")" : sigma)
        + ", calibrateOn="
        + calibrationSource
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

  /** Builder with the defaults; the command line's are the same ({@link SimulatorCommand}). */
  public static final class Builder {
    private URI servingUrl = URI.create("http://127.0.0.1:8092");
    private URI gatewayUrl = URI.create("http://127.0.0.1:8091");
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
    private boolean dedupCandidates;
    private int dedupReplacements = CandidateDedup.DEFAULT_MAX_REPLACEMENTS;
    private Double sigma;
    private double targetAgreement = NoiseCalibration.TARGET_AGREEMENT;
    private int calibrationSets = 2000;
    private CalibrationSource calibrationSource = CalibrationSource.SYNTHETIC;
    private int servedCalibrationSets = 200;
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

    public Builder dedupCandidates(boolean v) {
      dedupCandidates = v;
      return this;
    }

    public Builder dedupReplacements(int v) {
      dedupReplacements = v;
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

    public Builder calibrationSource(CalibrationSource v) {
      calibrationSource = v;
      return this;
    }

    public Builder servedCalibrationSets(int v) {
      servedCalibrationSets = v;
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
          dedupCandidates,
          dedupReplacements,
          sigma,
          targetAgreement,
          calibrationSets,
          calibrationSource,
          servedCalibrationSets,
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
