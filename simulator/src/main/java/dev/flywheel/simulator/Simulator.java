package dev.flywheel.simulator;

import java.io.IOException;
import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * The traffic simulator: plays the product apps of the synthetic product (see {@code
 * simulator/README.md}).
 *
 * <ol>
 *   <li>Posts {@code demonstrations} human-like demonstrations on train prompts to the gateway.
 *   <li>Loops, at most {@code rate} requests per second, until {@code count} requests were answered
 *       or {@code duration} passed: asks serving for K candidates to a prompt ({@code n = K});
 *       ranks them with a synthetic labeler; posts the ranking (transcript id and response ids from
 *       the completion) to the gateway. Most prompts are train prompts ranked by the TRAINING pool;
 *       a {@code held-out-ranking-share} are held-out prompts ranked by the HELD_OUT pool, which
 *       the pair assembler files as EVAL groups (reward-model accuracy), never as training data.
 *       Serving publishes the transcripts itself. 503 (no policy version yet) and 429 are waited
 *       out as serving's Retry-After says. With {@code dedup-candidates}, a completion with
 *       identical candidates is replaced or trimmed to its distinct ones ({@link CandidateDedup}).
 *   <li>Whenever a policy version answers for the first time, collects its held-out answers ({@link
 *       Evaluation#collect}) while it is loaded, and prints the evaluation table.
 * </ol>
 *
 * <p>Command line: {@code Simulator [run|demos|loop|eval [VERSION...]|calibrate] [--option
 * value...]}; see {@link SimulatorCommand} for the options (also {@code FLYWHEEL_SIM_*} environment
 * variables).
 */
public final class Simulator implements AutoCloseable {

  private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");
  static final int MAX_CONSECUTIVE_ERRORS = 100;

  private final SimulatorConfig config;
  private final Consumer<String> log;
  private final HttpJson http;
  private final ServingClient serving;
  private final GatewayClient gateway;
  private final ModelRegistryClient registry;
  private final PromptSplit split;

  /** Replaced once, before the loop's first ranking, by a {@code SERVED} calibration. */
  private volatile Labelers labelers;

  private volatile Evaluation evaluation;
  private final CandidateDedup dedup;
  private final Stats stats = new Stats();
  private final AtomicBoolean stopped = new AtomicBoolean();
  private final Set<Long> versionsSeen = ConcurrentHashMap.newKeySet();
  private final ExecutorService evaluator =
      Executors.newSingleThreadExecutor(r -> daemon(r, "sim-evaluator"));
  private final List<Thread> workers = new ArrayList<>();

  /** A simulator printing to standard output. */
  public Simulator(SimulatorConfig config) {
    this(
        config,
        line -> System.out.println(line),
        HttpJson.create(config.requestTimeout(), retryPolicy(config)));
  }

  /** A simulator printing its progress lines to {@code log}. */
  public Simulator(SimulatorConfig config, Consumer<String> log) {
    this(config, log, HttpJson.create(config.requestTimeout(), retryPolicy(config)));
  }

  Simulator(SimulatorConfig config, Consumer<String> log, HttpJson http) {
    this.config = config;
    this.log = log;
    this.http = http;
    this.serving = new ServingClient(config.servingUrl(), config.servingKey(), http);
    this.gateway = new GatewayClient(config.gatewayUrl(), config.gatewayKey(), http);
    this.registry =
        config.registryUrl() == null
            ? null
            : new ModelRegistryClient(config.registryUrl(), config.registryKey(), http);
    this.split = PromptSplit.standard(config.evalFraction());
    if (split.train().isEmpty() || split.heldOut().isEmpty()) {
      throw new IllegalArgumentException(
          "eval fraction " + config.evalFraction() + " leaves no train or no held-out prompt");
    }
    List<NoiseCalibration.CandidateSet> sample =
        NoiseCalibration.syntheticSample(
            split.train(), config.k(), config.calibrationSets(), config.seed());
    useLabelers(Labelers.of(calibrate(sample), config));
    this.dedup = new CandidateDedup(config.dedupReplacements());
  }

  /** Calibrates sigma on {@code sample}, or reports what the fixed {@code --sigma} gives on it. */
  private NoiseCalibration.Result calibrate(List<NoiseCalibration.CandidateSet> sample) {
    return config.sigma() == null
        ? NoiseCalibration.calibrate(sample, config.targetAgreement(), config.seed())
        : NoiseCalibration.evaluate(
            sample, config.sigma(), config.targetAgreement(), config.seed());
  }

  private void useLabelers(Labelers l) {
    this.labelers = l;
    this.evaluation =
        new Evaluation(serving, registry, split, l.heldOut(), config.evaluationSettings());
  }

  /**
   * {@code --calibrate-on served}: calibrates sigma on the served policy's own candidate sets
   * ({@link ServedCalibrationSample}) and replaces the labelers, before the loop ranks anything.
   */
  private void calibrateOnServed(long deadline) throws InterruptedException {
    List<NoiseCalibration.CandidateSet> sets =
        new ServedCalibrationSample(serving, split, config)
            .collect(() -> stopped.get() || System.nanoTime() >= deadline);
    if (sets.size() < config.servedCalibrationSets()) {
      log("served calibration stopped after " + sets.size() + " sets; labelers unchanged");
      return;
    }
    NoiseCalibration.Result before = labelers.calibration();
    NoiseCalibration.Result served;
    try {
      served = calibrate(sets);
    } catch (IllegalArgumentException e) {
      // every set's answers had equal gold (e.g. K identical answers): nothing to measure on
      log("served calibration: " + e.getMessage() + "; labelers unchanged");
      return;
    }
    useLabelers(Labelers.of(served, config));
    log(
        String.format(
            Locale.ROOT,
            "calibration on %d served candidate sets: %s (synthetic sets gave sigma %.4f)",
            sets.size(),
            served,
            before.sigma()));
  }

  static HttpJson.RetryPolicy retryPolicy(SimulatorConfig config) {
    HttpJson.RetryPolicy d = HttpJson.RetryPolicy.DEFAULT;
    return new HttpJson.RetryPolicy(
        config.maxAttempts(), d.baseDelay(), d.maxDelay(), d.maxRetryAfter());
  }

  public SimulatorConfig config() {
    return config;
  }

  public PromptSplit split() {
    return split;
  }

  /**
   * The noise calibration (or, with a fixed sigma, the agreement that sigma gives on the same
   * sample).
   */
  public NoiseCalibration.Result calibration() {
    return labelers.calibration();
  }

  /** The evaluation (held-out answers collected so far are cached in it). */
  public Evaluation evaluation() {
    return evaluation;
  }

  /**
   * A separate evaluation on the same held-out prompts and judges with other settings (e.g. sampled
   * at the serving temperature where the default is greedy); it keeps its own answer cache.
   */
  public Evaluation evaluation(Evaluation.Settings settings) {
    return new Evaluation(serving, registry, split, labelers.heldOut(), settings);
  }

  public Stats stats() {
    return stats;
  }

  /** Makes {@link #runLoop} return soon (in-flight requests are abandoned). */
  public void stop() {
    stopped.set(true);
    synchronized (workers) {
      workers.forEach(Thread::interrupt);
    }
  }

  /** Demonstrations, then the loop; prints the evaluation of every version seen at the end. */
  public Stats.Snapshot run() throws IOException, InterruptedException {
    log("calibration: " + labelers.calibration());
    if (config.demonstrations() > 0) {
      postDemonstrations();
    }
    Stats.Snapshot result = runLoop();
    if (config.evalOnNewVersion()) {
      evaluator.shutdown();
      if (stopped.get()) {
        evaluator.shutdownNow();
      }
      evaluator.awaitTermination(10, TimeUnit.MINUTES);
      if (!stopped.get() && !evaluation.collected().isEmpty()) {
        log(report().table());
      }
    }
    return result;
  }

  /**
   * Posts the configured number of demonstrations (idempotent: stable event ids); returns how many.
   */
  public int postDemonstrations() throws IOException, InterruptedException {
    List<Demonstrations.Demonstration> demos =
        Demonstrations.generate(
            split, config.demonstrations(), config.imperfectShare(), config.seed());
    long imperfect = demos.stream().filter(d -> d.style() != Style.GOOD).count();
    log(
        String.format(
            "posting %d demonstrations (%d imperfect) on %d train prompts",
            demos.size(), imperfect, split.train().size()));
    int acknowledged = gateway.postDemonstrations(demos, GatewayClient.DEFAULT_BATCH);
    stats.demonstrations.addAndGet(acknowledged);
    log("demonstrations acknowledged: " + acknowledged);
    return acknowledged;
  }

  /** The loop (see the class documentation); returns the final counters. */
  public Stats.Snapshot runLoop() throws InterruptedException {
    long start = System.nanoTime();
    long deadline =
        config.duration() == null ? Long.MAX_VALUE : start + config.duration().toNanos();
    if (config.calibrationSource() == SimulatorConfig.CalibrationSource.SERVED) {
      calibrateOnServed(deadline);
    }
    Pacer pacer = new Pacer((long) (1e9 / config.rate()));
    stats.startNanos = start;
    log(
        String.format(
            "loop: %s to %s, k=%d, %.2f req/s, %s; %d train / %d held-out prompts; labeler sigma %.4f",
            config.model(),
            config.servingUrl(),
            config.k(),
            config.rate(),
            (config.count() > 0 ? "count " + config.count() : "")
                + (config.duration() != null ? " duration " + config.duration() : ""),
            split.train().size(),
            split.heldOut().size(),
            labelers.calibration().sigma()));
    AtomicReference<RuntimeException> fatal = new AtomicReference<>();
    synchronized (workers) {
      for (int w = 0; w < config.concurrency(); w++) {
        Thread t =
            new Thread(
                () -> {
                  try {
                    work(pacer, deadline);
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  } catch (RuntimeException e) {
                    fatal.compareAndSet(null, e);
                    stop();
                  }
                },
                "sim-loop-" + w);
        t.setDaemon(true);
        workers.add(t);
      }
      workers.forEach(Thread::start);
    }
    Thread progress =
        daemon(
            () -> {
              try {
                while (true) {
                  Thread.sleep(config.progressEvery().toMillis());
                  log(progressLine());
                }
              } catch (InterruptedException e) {
                // done
              }
            },
            "sim-progress");
    progress.start();
    try {
      for (Thread t : List.copyOf(workers)) {
        t.join();
      }
    } finally {
      progress.interrupt();
      synchronized (workers) {
        workers.clear();
      }
    }
    log(progressLine() + " (loop done)");
    if (fatal.get() != null) {
      throw fatal.get();
    }
    return stats.snapshot();
  }

  private void work(Pacer pacer, long deadline) throws InterruptedException {
    while (!stopped.get() && System.nanoTime() < deadline) {
      long ticket = stats.tryStart(config.count());
      if (ticket < 0) {
        return;
      }
      long slot = pacer.reserve();
      long wait = slot - System.nanoTime();
      if (wait > 0) {
        if (slot >= deadline) {
          stats.unstart();
          return;
        }
        TimeUnit.NANOSECONDS.sleep(wait);
      }
      Outcome outcome = attempt(ticket, pacer, deadline);
      switch (outcome.kind()) {
        case DONE -> stats.consecutiveErrors.set(0);
        case UNAVAILABLE -> {
          stats.unstart();
          sleepUntil(outcome.waitMillis, deadline);
        }
        case ERROR -> {
          if (stats.consecutiveErrors.incrementAndGet() >= MAX_CONSECUTIVE_ERRORS) {
            throw new IllegalStateException(
                MAX_CONSECUTIVE_ERRORS + " consecutive errors; last: " + stats.lastError);
          }
          sleepUntil(Math.min(5000, 250L * stats.consecutiveErrors.get()), deadline);
        }
      }
    }
  }

  private void sleepUntil(long millis, long deadline) throws InterruptedException {
    long left = (deadline - System.nanoTime()) / 1_000_000;
    Thread.sleep(Math.max(0, Math.min(millis, left)));
  }

  private enum Kind {
    DONE,
    UNAVAILABLE,
    ERROR
  }

  private record Outcome(Kind kind, long waitMillis) {
    static final Outcome DONE = new Outcome(Kind.DONE, 0);
  }

  /** One request: complete, (with dedup: replace repeated candidates), rank, post. */
  Outcome attempt(long ticket, Pacer pacer, long deadline) throws InterruptedException {
    SplittableRandom random = new SplittableRandom(SyntheticLabeler.mix(config.seed(), ticket));
    boolean evalItem = random.nextDouble() < config.heldOutRankingShare();
    Prompt prompt = evalItem ? split.randomHeldOut(random) : split.randomTrain(random);
    ServingClient.Request request =
        config.loopRequest(prompt.text(), random.nextLong(), "sim-user-" + (ticket % 64));
    ServingClient.Completion completion;
    try {
      completion = serving.complete(request);
    } catch (HttpJson.HttpFailure f) {
      if (f.status() == 503 || f.status() == 429) {
        stats.unavailable.incrementAndGet();
        stats.lastUnavailable = f.status() + " " + brief(f.body());
        // at least 100 ms between polls, whatever Retry-After says
        return new Outcome(
            Kind.UNAVAILABLE, Math.max(100, f.retryAfter().map(Duration::toMillis).orElse(2000L)));
      }
      return error("serving: " + f.getMessage());
    } catch (IOException e) {
      return error("serving: " + e.getMessage());
    }
    stats.requests.incrementAndGet();
    if (completion.choices().size() < 2) {
      return error(
          "serving returned " + completion.choices().size() + " candidates for n=" + config.k());
    }
    served(completion, prompt);
    CandidateDedup.Selection selection =
        config.dedupCandidates()
            ? dedup.select(
                completion,
                attempt -> replacement(request, random.nextLong(), prompt, pacer, deadline))
            : CandidateDedup.all(completion);
    if (selection.hadDuplicates()) {
      stats.rankingsWithDuplicates.incrementAndGet();
    }
    stats.replacementRequests.addAndGet(selection.replacements());
    if (selection.skipped()) {
      stats.rankingsSkipped.incrementAndGet();
      return Outcome.DONE;
    }
    ServingClient.Completion ranked = selection.completion();
    List<Integer> rankedIndexes = selection.ranked();
    double[] gold = new double[rankedIndexes.size()];
    for (int i = 0; i < gold.length; i++) {
      gold[i] = prompt.gold(ranked.choices().get(rankedIndexes.get(i)).text());
    }
    Labelers current = labelers;
    LabelerPool pool = evalItem ? current.heldOut() : current.training();
    SyntheticLabeler labeler = pool.forItem(ranked.transcriptId());
    List<List<Integer>> tiers = labeler.rankScores(gold, ranked.transcriptId());
    stats.agreement(
        tiers,
        (evalItem ? current.shadowHeldOut() : current.shadowTraining())
            .rankScores(gold, ranked.transcriptId()),
        gold);
    List<List<String>> ids = new ArrayList<>(tiers.size());
    for (List<Integer> tier : tiers) {
      ids.add(
          tier.stream().map(i -> ranked.choices().get(rankedIndexes.get(i)).responseId()).toList());
    }
    try {
      gateway.postRanking(ranked.transcriptId(), ids, labeler.annotatorId(), pool.pool());
    } catch (IOException e) {
      return error("gateway: " + e.getMessage());
    }
    (evalItem ? stats.heldOutRankings : stats.trainingRankings).incrementAndGet();
    return Outcome.DONE;
  }

  /** Notes the answering version (evaluating a new one) and the served candidates' gold. */
  private void served(ServingClient.Completion completion, Prompt prompt) {
    Long version = completion.policyVersion();
    if (version != null) {
      stats.currentVersion = version;
      if (versionsSeen.add(version)) {
        log("policy v" + version + " answered for the first time (" + completion.model() + ")");
        if (config.evalOnNewVersion()) {
          try {
            evaluator.submit(() -> evaluateNewVersion(version));
          } catch (RejectedExecutionException e) {
            log("v" + version + " not evaluated: the simulator is closing");
          }
        }
      }
    }
    stats.served(version, completion.texts().stream().mapToDouble(prompt::gold).toArray());
  }

  /**
   * One replacement completion for {@code --dedup-candidates}: the same request with a new seed,
   * paced like every loop request; null when the loop stops or the deadline comes first, or when
   * serving fails (counted as an error; the candidates at hand are ranked).
   */
  private ServingClient.Completion replacement(
      ServingClient.Request original, long seed, Prompt prompt, Pacer pacer, long deadline)
      throws InterruptedException {
    long slot = pacer.reserve();
    if (stopped.get() || slot >= deadline) {
      return null;
    }
    long wait = slot - System.nanoTime();
    if (wait > 0) {
      TimeUnit.NANOSECONDS.sleep(wait);
    }
    ServingClient.Request request =
        new ServingClient.Request(
            original.model(),
            original.prompt(),
            original.n(),
            original.temperature(),
            original.maxTokens(),
            seed & ServingClient.Request.MAX_SEED,
            original.user());
    try {
      ServingClient.Completion c = serving.complete(request);
      if (c.choices().size() < 2) {
        return null;
      }
      served(c, prompt);
      return c;
    } catch (IOException e) {
      error("serving (replacement): " + e.getMessage());
      return null;
    }
  }

  private Outcome error(String message) {
    stats.errors.incrementAndGet();
    stats.lastError = message;
    long n = stats.errors.get();
    if (n <= 5 || n % 100 == 0) {
      log("error #" + n + ": " + message);
    }
    return new Outcome(Kind.ERROR, 0);
  }

  private void evaluateNewVersion(long version) {
    try {
      Evaluation.VersionAnswers answers = evaluation.collect(version);
      if (!answers.complete()) {
        log(
            "evaluation of v"
                + version
                + ": "
                + answers.errors().size()
                + " requests failed, e.g. "
                + answers.errors().get(0));
        return;
      }
      log(report().table());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      log("evaluation of v" + version + " failed: " + e);
    }
  }

  /**
   * The evaluation of every version collected so far (no new requests): stages and lineage from the
   * registry when there is one, else every version against the lowest one.
   */
  public EvaluationReport report() throws InterruptedException {
    Set<Long> collected = evaluation.collected().keySet();
    if (registry != null) {
      try {
        List<ModelRegistryClient.PolicyVersionInfo> listed =
            registry.policyVersions().stream()
                .filter(v -> collected.contains(v.version()))
                .toList();
        if (listed.size() == collected.size()) {
          return evaluation.evaluate(listed);
        }
      } catch (IOException e) {
        log(
            "registry unavailable for the report ("
                + e.getMessage()
                + "); comparing with the lowest version");
      }
    }
    return evaluation.evaluateVersions(collected, null);
  }

  /**
   * One progress line: counters, current version, served gold per version, live labeler agreement.
   */
  public String progressLine() {
    Stats.Snapshot s = stats.snapshot();
    StringBuilder line =
        new StringBuilder(
            String.format(
                "requests %d (%.2f/s) rankings %d (+%d held-out) demos %d errors %d retries %d waits(503/429) %d | policy %s",
                s.requests(),
                s.requestsPerSecond(),
                s.trainingRankings(),
                s.heldOutRankings(),
                s.demonstrations(),
                s.errors(),
                http.retries(),
                s.unavailable(),
                s.currentVersion() == null ? "-" : "v" + s.currentVersion()));
    if (config.dedupCandidates()) {
      line.append(
          String.format(
              " | dedup: with duplicates %d replacements %d skipped %d",
              s.rankingsWithDuplicates(), s.replacementRequests(), s.rankingsSkipped()));
    }
    if (!s.servedGold().isEmpty()) {
      line.append(" | served gold");
      s.servedGold().forEach((v, g) -> line.append(String.format(" v%d %.3f", v, g)));
    }
    if (!Double.isNaN(s.liveAgreement())) {
      line.append(String.format(" | labeler agreement %.3f", s.liveAgreement()));
    }
    if (s.requests() == 0 && s.unavailable() > 0 && stats.lastUnavailable != null) {
      line.append(" | waiting: ").append(stats.lastUnavailable);
    }
    return line.toString();
  }

  void log(String message) {
    log.accept("[simulator " + LocalTime.now().format(CLOCK) + "] " + message);
  }

  private static String brief(String body) {
    String b = body.replaceAll("\\s+", " ");
    return b.length() <= 160 ? b : b.substring(0, 160) + "...";
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  @Override
  public void close() {
    stop();
    evaluator.shutdownNow();
  }

  /** Spaces requests {@code interval} apart, shared by every worker. */
  static final class Pacer {
    private final long intervalNanos;
    private long next = Long.MIN_VALUE;

    Pacer(long intervalNanos) {
      this.intervalNanos = intervalNanos;
    }

    synchronized long reserve() {
      long now = System.nanoTime();
      long slot = next == Long.MIN_VALUE ? now : Math.max(now, next);
      next = slot + intervalNanos;
      return slot;
    }
  }

  /** The simulator's counters (thread-safe). */
  public static final class Stats {
    final AtomicLong started = new AtomicLong();
    final AtomicLong requests = new AtomicLong();
    final AtomicLong trainingRankings = new AtomicLong();
    final AtomicLong heldOutRankings = new AtomicLong();
    final AtomicLong demonstrations = new AtomicLong();
    final AtomicLong errors = new AtomicLong();
    final AtomicLong unavailable = new AtomicLong();
    final AtomicLong consecutiveErrors = new AtomicLong();
    final AtomicLong agreePairs = new AtomicLong();
    final AtomicLong pairs = new AtomicLong();
    final AtomicLong rankingsWithDuplicates = new AtomicLong();
    final AtomicLong replacementRequests = new AtomicLong();
    final AtomicLong rankingsSkipped = new AtomicLong();
    private final Map<Long, double[]> gold = new TreeMap<>();
    volatile Long currentVersion;
    volatile String lastError;
    volatile String lastUnavailable;
    volatile long startNanos = System.nanoTime();

    /**
     * Counters at one moment.
     *
     * @param requests completions received
     * @param trainingRankings rankings posted by the TRAINING pool
     * @param heldOutRankings rankings posted by the HELD_OUT pool (held-out prompts)
     * @param demonstrations demonstrations acknowledged
     * @param errors failed requests or ranking posts
     * @param unavailable 503/429 answers waited out (after the client's own retries)
     * @param currentVersion the policy version of the latest completion
     * @param servedGold mean gold score of the served candidates, per policy version
     * @param liveAgreement share of distinct-gold pairs on which a second labeler agreed with the
     *     one that ranked (NaN before any)
     * @param requestsPerSecond completions per second since the loop started
     * @param lastError the latest error message, or null
     * @param rankingsWithDuplicates completions (first asked, not replacements) with identical
     *     candidates, whether or not {@code --dedup-candidates} is on
     * @param replacementRequests replacement completions received ({@code --dedup-candidates})
     * @param rankingsSkipped rankings not posted: fewer than two distinct candidates even after the
     *     replacements ({@code --dedup-candidates})
     */
    public record Snapshot(
        long requests,
        long trainingRankings,
        long heldOutRankings,
        long demonstrations,
        long errors,
        long unavailable,
        Long currentVersion,
        Map<Long, Double> servedGold,
        double liveAgreement,
        double requestsPerSecond,
        String lastError,
        long rankingsWithDuplicates,
        long replacementRequests,
        long rankingsSkipped) {
      public long rankings() {
        return trainingRankings + heldOutRankings;
      }
    }

    long tryStart(long limit) {
      while (true) {
        long s = started.get();
        if (limit > 0 && s >= limit) {
          return -1;
        }
        if (started.compareAndSet(s, s + 1)) {
          return s;
        }
      }
    }

    void unstart() {
      started.decrementAndGet();
    }

    void served(Long version, double[] scores) {
      if (version == null) {
        return;
      }
      synchronized (gold) {
        double[] g = gold.computeIfAbsent(version, v -> new double[2]);
        g[0] += Arrays.stream(scores).sum();
        g[1] += scores.length;
      }
    }

    void agreement(List<List<Integer>> a, List<List<Integer>> b, double[] gold) {
      int[] ta = SyntheticLabeler.tierIndex(a, gold.length);
      int[] tb = SyntheticLabeler.tierIndex(b, gold.length);
      for (int i = 0; i < gold.length; i++) {
        for (int j = i + 1; j < gold.length; j++) {
          if (gold[i] != gold[j]) {
            pairs.incrementAndGet();
            if (Integer.signum(ta[i] - ta[j]) == Integer.signum(tb[i] - tb[j])) {
              agreePairs.incrementAndGet();
            }
          }
        }
      }
    }

    public Snapshot snapshot() {
      Map<Long, Double> means = new TreeMap<>();
      synchronized (gold) {
        gold.forEach((v, g) -> means.put(v, g[0] / g[1]));
      }
      long p = pairs.get();
      double seconds = Math.max(1e-9, (System.nanoTime() - startNanos) / 1e9);
      return new Snapshot(
          requests.get(),
          trainingRankings.get(),
          heldOutRankings.get(),
          demonstrations.get(),
          errors.get(),
          unavailable.get(),
          currentVersion,
          Map.copyOf(means),
          p == 0 ? Double.NaN : agreePairs.get() / (double) p,
          requests.get() / seconds,
          lastError,
          rankingsWithDuplicates.get(),
          replacementRequests.get(),
          rankingsSkipped.get());
    }
  }

  // ------------------------------------------------------------------------------------------ main

  /**
   * {@code Simulator [run|demos|loop|eval [VERSION...]|calibrate] [--option value]...}; {@code
   * --help} lists the options ({@link SimulatorCommand}).
   */
  public static void main(String[] args) {
    int exitCode = SimulatorCommand.execute(System.getenv(), args);
    if (exitCode != 0) { // on success, return: the shutdown hook waits for this thread to end
      System.exit(exitCode);
    }
  }
}
