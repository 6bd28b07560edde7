package dev.flywheel.simulator;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Scores policy versions on the held-out prompts: every version answers every held-out prompt
 * (greedy by default, or {@code samples} answers at a fixed temperature with seeds that are the
 * same for every version) through serving, pinned with {@code model: policy-v<N>}; the report gives
 * each version's mean gold score and its win rate against its SFT lineage root, as judged by the
 * HELD_OUT labeler pool (the reward model plays no part), ties counting half.
 *
 * <p>Serving answers a pinned version only while it is loaded (live, canary or a kept previous
 * version), so answers are cached per version once complete: collect a version while it serves
 * ({@link #collect}, which the simulator does whenever a new version starts answering) and later
 * reports still compare against it. A version that could not be collected is reported with a note,
 * never fails the report.
 */
public final class Evaluation {

  /**
   * @param samples answers per held-out prompt
   * @param temperature 0 = greedy (then one sample is enough)
   * @param maxTokens most tokens per answer
   * @param seed seeds the sampling (same seeds for every version) and nothing else
   * @param concurrency requests in flight at once
   * @param baselineVersion compare every version with this one instead of its SFT lineage root
   */
  public record Settings(
      int samples,
      double temperature,
      int maxTokens,
      long seed,
      int concurrency,
      Long baselineVersion) {
    /** One greedy answer per prompt. */
    public static final Settings GREEDY = new Settings(1, 0.0, 48, 42, 2, null);

    public Settings {
      if (samples < 1 || concurrency < 1 || maxTokens < 1 || temperature < 0) {
        throw new IllegalArgumentException(
            "samples, concurrency, max tokens >= 1 and temperature >= 0 required");
      }
    }

    /** These settings with one greedy answer per prompt. */
    public Settings greedy() {
      return new Settings(1, 0.0, maxTokens, seed, concurrency, baselineVersion);
    }
  }

  /**
   * A version's answers, index {@code promptIndex x samples + sample} over the held-out prompts
   * (null where the request failed).
   */
  public record VersionAnswers(long version, List<String> answers, List<String> errors) {
    public int answered() {
      return (int) answers.stream().filter(a -> a != null).count();
    }

    public boolean complete() {
      return errors.isEmpty();
    }
  }

  private final ChatCompletions serving;
  private final ModelRegistryClient registry;
  private final PromptSplit split;
  private final LabelerPool judges;
  private final Settings settings;
  private final Map<Long, VersionAnswers> cache = new ConcurrentHashMap<>();
  private final Map<String, Integer> groupPrompts;

  /**
   * @param registry where the versions, stages and lineage come from; may be null when versions are
   *     given to {@link #evaluateVersions}
   * @param judges the HELD_OUT labeler pool
   */
  public Evaluation(
      ChatCompletions serving,
      ModelRegistryClient registry,
      PromptSplit split,
      LabelerPool judges,
      Settings settings) {
    if (judges.pool() != SyntheticLabeler.Pool.HELD_OUT) {
      throw new IllegalArgumentException("win rates are judged by the HELD_OUT pool");
    }
    if (split.heldOut().isEmpty()) {
      throw new IllegalArgumentException("no held-out prompts to evaluate on");
    }
    this.serving = serving;
    this.registry = registry;
    this.split = split;
    this.judges = judges;
    this.settings = settings;
    Map<String, Integer> counts = new LinkedHashMap<>();
    groupNames().forEach(g -> counts.put(g, 0));
    for (Prompt p : split.heldOut()) {
      groupsOf(p).forEach(g -> counts.merge(g, 1, Integer::sum));
    }
    this.groupPrompts = Map.copyOf(counts);
  }

  public Settings settings() {
    return settings;
  }

  /** The versions collected completely so far. */
  public Map<Long, VersionAnswers> collected() {
    return Map.copyOf(cache);
  }

  /** Every policy version the registry lists, each against its SFT lineage root. */
  public EvaluationReport evaluate() throws IOException, InterruptedException {
    if (registry == null) {
      throw new IllegalStateException("no registry URL: give the versions to evaluateVersions");
    }
    return evaluate(registry.policyVersions());
  }

  /** These versions (stage and lineage as listed); baselines are looked up among them. */
  public EvaluationReport evaluate(List<ModelRegistryClient.PolicyVersionInfo> versions)
      throws InterruptedException {
    Map<Long, ModelRegistryClient.PolicyVersionInfo> byVersion = new HashMap<>();
    versions.forEach(v -> byVersion.put(v.version(), v));
    List<EvaluationReport.VersionScore> rows = new ArrayList<>();
    for (ModelRegistryClient.PolicyVersionInfo info : versions) {
      rows.add(
          score(
              info.version(), info.stage(), info.status(), baselineOf(info, byVersion, versions)));
    }
    rows.sort((a, b) -> Long.compare(a.version(), b.version()));
    return report(rows);
  }

  /**
   * Versions without registry information: each is compared with {@code baseline} (or the settings'
   * baseline, else the lowest of them).
   */
  public EvaluationReport evaluateVersions(Collection<Long> versions, Long baseline)
      throws InterruptedException {
    List<Long> sorted = versions.stream().sorted().distinct().toList();
    Long base =
        baseline != null
            ? baseline
            : settings.baselineVersion() != null
                ? settings.baselineVersion()
                : sorted.isEmpty() ? null : sorted.get(0);
    List<EvaluationReport.VersionScore> rows = new ArrayList<>();
    for (long v : sorted) {
      rows.add(score(v, "", "", base));
    }
    return report(rows);
  }

  private EvaluationReport report(List<EvaluationReport.VersionScore> rows) {
    return new EvaluationReport(
        rows, split.heldOut().size(), settings.samples(), settings.temperature(), judges.sigma());
  }

  /**
   * The version's SFT lineage root: breadth first through parentVersions to the first SFT version.
   */
  Long baselineOf(
      ModelRegistryClient.PolicyVersionInfo info,
      Map<Long, ModelRegistryClient.PolicyVersionInfo> byVersion,
      List<ModelRegistryClient.PolicyVersionInfo> all) {
    if (settings.baselineVersion() != null) {
      return settings.baselineVersion();
    }
    if (info.sft()) {
      return info.version();
    }
    Deque<Long> queue = new ArrayDeque<>(info.parentVersions());
    Set<Long> seen = new HashSet<>();
    while (!queue.isEmpty()) {
      long v = queue.removeFirst();
      ModelRegistryClient.PolicyVersionInfo parent = byVersion.get(v);
      if (!seen.add(v) || parent == null) {
        continue;
      }
      if (parent.sft()) {
        return v;
      }
      queue.addAll(parent.parentVersions());
    }
    return all.stream()
        .filter(ModelRegistryClient.PolicyVersionInfo::sft)
        .map(ModelRegistryClient.PolicyVersionInfo::version)
        .min(Long::compare)
        .orElse(null);
  }

  private EvaluationReport.VersionScore score(
      long version, String stage, String status, Long baseline) throws InterruptedException {
    VersionAnswers mine = collect(version);
    List<Prompt> prompts = split.heldOut();
    int samples = settings.samples();
    ScoreTally overall = new ScoreTally();
    // one tally per group: the families in declaration order, then twin / no twin
    Map<String, ScoreTally> groups = new LinkedHashMap<>();
    for (String g : groupNames()) {
      groups.put(g, new ScoreTally());
    }
    for (int i = 0; i < mine.answers().size(); i++) {
      String answer = mine.answers().get(i);
      if (answer != null) {
        Prompt p = prompts.get(i / samples);
        double g = p.gold(answer);
        overall.answer(g);
        groupsOf(p).forEach(name -> groups.get(name).answer(g));
      }
    }
    Map<TaskFamily, Double> familyGold = new EnumMap<>(TaskFamily.class);
    for (TaskFamily family : TaskFamily.values()) {
      ScoreTally t = groups.get(EvaluationReport.groupName(family));
      if (t.answered() > 0) {
        familyGold.put(family, t.meanGold());
      }
    }
    List<String> notes = new ArrayList<>();
    if (!mine.errors().isEmpty()) {
      notes.add(mine.errors().size() + " failed: " + mine.errors().get(0));
    }
    // per held-out prompt: the sum and count of (this answer's gold − the baseline's) over samples
    double[] gainSum = new double[prompts.size()];
    int[] gainCount = new int[prompts.size()];
    if (baseline == null) {
      notes.add("no SFT baseline");
    } else {
      VersionAnswers base = baseline == version ? mine : collect(baseline);
      if (base.answered() == 0) {
        notes.add("baseline v" + baseline + " could not be collected");
      } else {
        for (int i = 0; i < mine.answers().size(); i++) {
          String a = mine.answers().get(i);
          String b = base.answers().get(i);
          if (a == null || b == null) {
            continue;
          }
          Prompt p = prompts.get(i / samples);
          String key = "eval|" + p.text() + "|" + (i % samples) + "|v" + version + "|v" + baseline;
          double win = judges.forItem(key).judge(p, a, b, key);
          double ga = p.gold(a);
          double gb = p.gold(b);
          overall.comparison(win, ga, gb);
          gainSum[i / samples] += ga - gb;
          gainCount[i / samples]++;
          groupsOf(p).forEach(name -> groups.get(name).comparison(win, ga, gb));
        }
      }
    }
    List<EvaluationReport.GroupScore> groupRows = new ArrayList<>();
    groups.forEach((name, t) -> groupRows.add(t.group(name, groupPrompts.get(name))));
    return new EvaluationReport.VersionScore(
        version,
        stage,
        status,
        baseline,
        overall.answered(),
        mine.errors().size(),
        overall.meanGold(),
        Map.copyOf(familyGold),
        overall.comparisons(),
        overall.winRate(),
        overall.goldWinRate(),
        overall.baselineGold(),
        goldGain(gainSum, gainCount),
        notes.isEmpty() ? null : String.join("; ", notes),
        groupRows);
  }

  /**
   * The mean over prompts of each prompt's mean gold gain over the baseline, with its paired
   * bootstrap interval; null when no prompt was compared.
   */
  private PairedBootstrap.Interval goldGain(double[] sum, int[] count) {
    double[] perPrompt =
        java.util.stream.IntStream.range(0, sum.length)
            .filter(p -> count[p] > 0)
            .mapToDouble(p -> sum[p] / count[p])
            .toArray();
    return perPrompt.length == 0 ? null : PairedBootstrap.of(perPrompt, settings.seed());
  }

  /** The report's group names, in the order of its rows. */
  static List<String> groupNames() {
    List<String> names = new ArrayList<>();
    for (TaskFamily family : TaskFamily.values()) {
      names.add(EvaluationReport.groupName(family));
    }
    names.add(EvaluationReport.TWIN);
    names.add(EvaluationReport.NO_TWIN);
    return names;
  }

  /** The groups a held-out prompt belongs to: its family, and twin or no twin. */
  private List<String> groupsOf(Prompt p) {
    return List.of(
        EvaluationReport.groupName(p.family()),
        split.hasTwin(p) ? EvaluationReport.TWIN : EvaluationReport.NO_TWIN);
  }

  /**
   * The version's answers to every held-out prompt: from the cache, else asked of serving (pinned
   * to {@code policy-v<N>}) and cached if every request succeeded.
   */
  public VersionAnswers collect(long version) throws InterruptedException {
    VersionAnswers cached = cache.get(version);
    if (cached != null) {
      return cached;
    }
    List<Prompt> prompts = split.heldOut();
    int samples = settings.samples();
    int total = prompts.size() * samples;
    String model = "policy-v" + version;
    ExecutorService pool =
        Executors.newFixedThreadPool(
            settings.concurrency(),
            r -> {
              Thread t = new Thread(r, "sim-eval");
              t.setDaemon(true);
              return t;
            });
    try {
      List<Future<String>> futures = new ArrayList<>(total);
      for (int i = 0; i < total; i++) {
        Prompt p = prompts.get(i / samples);
        long seed =
            SyntheticLabeler.mix(settings.seed(), SyntheticLabeler.hash64(p.text()) + i % samples)
                & ServingClient.Request.MAX_SEED;
        ServingClient.Request request =
            new ServingClient.Request(
                model, p.text(), 1, settings.temperature(), settings.maxTokens(), seed, "sim-eval");
        futures.add(
            pool.submit(
                () -> {
                  ServingClient.Completion c = serving.complete(request);
                  if (c.policyVersion() != null && c.policyVersion() != version) {
                    throw new IOException(model + " was answered by v" + c.policyVersion());
                  }
                  if (c.choices().isEmpty()) {
                    throw new IOException(model + " returned no choice");
                  }
                  return c.choices().get(0).text();
                }));
      }
      List<String> answers = new ArrayList<>(total);
      List<String> errors = new ArrayList<>();
      for (Future<String> f : futures) {
        try {
          answers.add(f.get());
        } catch (ExecutionException e) {
          answers.add(null);
          errors.add(String.valueOf(e.getCause().getMessage()));
        }
      }
      VersionAnswers result =
          new VersionAnswers(
              version, java.util.Collections.unmodifiableList(answers), List.copyOf(errors));
      if (result.complete()) {
        cache.put(version, result);
      }
      return result;
    } finally {
      pool.shutdownNow();
    }
  }
}
