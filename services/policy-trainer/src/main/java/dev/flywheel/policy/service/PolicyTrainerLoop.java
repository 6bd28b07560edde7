package dev.flywheel.policy.service;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;

import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.OffsetRange;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.Devices;
import dev.flywheel.model.LoadedModel;
import dev.flywheel.model.LocalArtifactStore;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.SftExample;
import dev.flywheel.model.ValueModel;
import dev.flywheel.policy.config.PolicyTrainerConfig;
import dev.flywheel.policy.train.PolicyEvaluator;
import dev.flywheel.policy.train.PpoConfig;
import dev.flywheel.policy.train.PolicyOptimizer;
import dev.flywheel.policy.train.PpoTrainer;
import dev.flywheel.policy.train.PromptPool;
import dev.flywheel.policy.train.RewardModelScorer;
import dev.flywheel.policy.train.ScoreNormalizer;
import dev.flywheel.policy.train.SftConfig;
import dev.flywheel.policy.train.SftTrainer;
import dev.flywheel.trainerkit.Checkpoints;
import dev.flywheel.trainerkit.KafkaSettings;
import dev.flywheel.trainerkit.MetricsPublisher;
import dev.flywheel.trainerkit.OffsetRanges;
import dev.flywheel.trainerkit.TrainingProgress;
import dev.flywheel.trainerkit.VersionLedger;
import dev.flywheel.trainerkit.VersionPublisher;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeoutException;

import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The policy trainer's service loop: the Kafka plumbing around {@link SftTrainer} and {@link PpoTrainer}.
 * One thread runs {@link #run()}: it polls the input, decides what to train, trains (checkpointing as it
 * goes), evaluates, and publishes a {@link PolicyVersion} plus {@code TrainingMetrics}.
 *
 * <h2>What starts a round</h2>
 * <ol>
 *   <li><b>First SFT</b>: no SFT version exists and at least {@code min-demonstrations} demonstrations are in.</li>
 *   <li><b>Further SFT</b> ({@code sft-retrain}): {@code sft-retrain-min-new} demonstrations arrived beyond
 *       the data of the latest SFT version; warm-started from it, trained on all demonstrations.</li>
 *   <li><b>PPO</b>: a reward model is accepted (latest {@code LIVE} on the reward versions topic), a base
 *       policy exists (the highest policy version whose status is LIVE or CANDIDATE), there are
 *       {@code min-train-prompts} training prompts, and either no PPO version has optimised this reward
 *       model yet, or the base is an SFT version no PPO round has continued from yet, or
 *       {@code ppo-schedule} has passed since the latest PPO version.</li>
 * </ol>
 *
 * <h2>Statuses</h2>
 * SFT: {@code LIVE} when no policy version is LIVE (the first policy: serving needs one to start), or (with
 * {@code auto-promote}) when the LIVE version is an SFT version with a higher held-out demonstration loss on
 * the round's eval split; else {@code CANDIDATE}. PPO: {@code REJECTED} when the held-out KL exceeds {@code ppo.max-eval-kl} or the held-out
 * reward fell below the base policy's by more than {@code ppo.reward-drop-tolerance}; otherwise
 * {@code LIVE} with {@code auto-promote} (published as CANDIDATE then LIVE in one transaction), else
 * {@code CANDIDATE}.
 *
 * <h2>Crash safety</h2>
 * Version numbers come from the {@link VersionLedger} (highest ever seen + 1, never reused) and are
 * published through a transactional {@link VersionPublisher} (a second instance fences the first).
 * Rounds checkpoint every {@code sft-checkpoint-every} steps / {@code ppo-checkpoint-every} iterations
 * and on a graceful stop; a restart resumes the checkpointed round (policy and value weights, step, β,
 * score statistics, the round's data) unless the ledger already holds a version carrying the round's
 * {@code round_id} (published, then crashed before the checkpoint was cleared). Optimizer moments are
 * not checkpointed: they restart at a resume.
 */
public final class PolicyTrainerLoop implements Runnable, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PolicyTrainerLoop.class);
    public static final String SOURCE = "policy-trainer";

    /** Hooks for tests and embedding: called on the loop thread; an exception thrown here ends the loop. */
    public interface Events {
        default void checkpointed(String kind, long round, long step) {}

        default void resumed(String kind, long round, long step) {}

        default void published(PolicyVersion version) {}
    }

    private final PolicyTrainerConfig config;
    private final SftConfig sftConfig;
    private final PpoConfig ppoConfig;
    private final KafkaSettings kafka;
    private final TrainerStatus status;
    private final Events events;
    private volatile boolean stopRequested;
    private volatile Thread thread;

    private NDManager manager;
    private LocalArtifactStore store;
    private Checkpoints checkpoints;
    private VersionPublisher<PolicyVersion> publisher;
    private VersionLedger<PolicyVersion> policies;
    private VersionLedger<RewardModelVersion> rewards;
    private MetricsPublisher metrics;
    private PromptPool prompts;
    private InputFeed feed;
    private Checkpoints.Checkpoint pendingResume;
    private long lastWaitingLog;
    private final java.util.Set<String> unusable = new java.util.HashSet<>();

    public PolicyTrainerLoop(PolicyTrainerConfig config, SftConfig sftConfig, PpoConfig ppoConfig, KafkaSettings kafka,
            TrainerStatus status, Events events) {
        this.config = config;
        this.sftConfig = sftConfig.copy().validate();
        this.ppoConfig = ppoConfig.copy().validate();
        this.kafka = kafka;
        this.status = status;
        this.events = events == null ? new Events() {} : events;
    }

    /** Starts {@link #run()} on a new thread named {@code policy-trainer-loop}. */
    public synchronized Thread start() {
        if (thread != null) {
            throw new IllegalStateException("already started");
        }
        thread = new Thread(this, "policy-trainer-loop");
        thread.start();
        return thread;
    }

    public TrainerStatus status() {
        return status;
    }

    /** The loop thread, once started. */
    public Thread thread() {
        return thread;
    }

    /** Asks the loop to stop at the next step boundary (it checkpoints the round in progress first). */
    public void requestStop() {
        stopRequested = true;
    }

    /** Requests a stop and waits up to {@code timeout} for the loop thread to end. */
    public boolean stop(Duration timeout) throws InterruptedException {
        requestStop();
        Thread t = thread;
        if (t != null) {
            t.join(timeout.toMillis());
            return !t.isAlive();
        }
        return true;
    }

    @Override
    public void close() {
        try {
            stop(Duration.ofSeconds(60));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- the loop -----------------------------------------------------------------------------

    @Override
    public void run() {
        try {
            init();
            while (!stopRequested) {
                tick();
            }
            status.phase(TrainerStatus.Phase.STOPPED);
        } catch (StopSignal s) {
            status.phase(TrainerStatus.Phase.STOPPED);
        } catch (Throwable t) {
            LOG.error("policy trainer loop failed", t);
            status.failed(t);
        } finally {
            closeResources();
            LOG.info("policy trainer loop ended ({})", status.phase());
        }
    }

    /** A version's artifact cannot be resolved, verified or loaded. */
    static final class ArtifactUnavailable extends RuntimeException {
        ArtifactUnavailable(String what, IOException cause) {
            super("cannot load " + what + ": " + cause.getMessage(), cause);
        }
    }

    private static final class StopSignal extends RuntimeException {
        StopSignal() {
            super(null, null, false, false);
        }
    }

    private void init() throws IOException, TimeoutException {
        status.phase(TrainerStatus.Phase.STARTING);
        manager = Devices.newManager(config.getDevice());
        store = new LocalArtifactStore(Path.of(config.getArtifactRoot()));
        checkpoints = new Checkpoints(Path.of(config.getStateDir()).resolve("checkpoints"), 2);
        Duration timeout = config.getKafkaTimeout();
        // the transactional publisher first: initTransactions() aborts a crashed predecessor's transaction
        publisher = VersionPublisher.create(kafka, config.getPolicyVersionsTopic(), PolicyVersion::getVersion,
                config.getTransactionalId(), timeout);
        Map<TopicPartition, Long> versionStart = endOffsets(List.of(config.getPolicyVersionsTopic(), config.getRewardVersionsTopic()));
        policies = VersionLedger.loadPolicyVersions(kafka, config.getPolicyVersionsTopic(), timeout);
        rewards = VersionLedger.loadRewardVersions(kafka, config.getRewardVersionsTopic(), timeout);
        metrics = MetricsPublisher.create(kafka, config.getMetricsTopic(), SOURCE);
        prompts = new PromptPool(config.getPromptEvalFraction(), config.getTranscriptWindow());
        loadConfiguredPrompts();
        feed = new InputFeed(kafka, config, policies, rewards, versionStart, prompts, status);

        status.phase(TrainerStatus.Phase.CATCHING_UP);
        while (!feed.caughtUp()) {
            checkStop();
            feed.poll(Duration.ofMillis(200));
        }
        LOG.info("caught up: {} demonstrations, {} transcript prompts ({} train), {} configured prompts; policy versions "
                + "up to {}, latest accepted reward model {}", feed.demos().size(), prompts.transcriptPrompts().size(),
                prompts.trainCount(), prompts.configured().size(), policies.highestVersion(),
                rewards.latestAccepted().map(RewardModelVersion::getVersion).orElse(null));

        Optional<Checkpoints.Checkpoint> latest = checkpoints.latest();
        if (latest.isPresent()) {
            Checkpoints.Checkpoint c = latest.get();
            String roundId = c.state().extra().get("round_id");
            Optional<PolicyVersion> done = policies.versions().values().stream()
                    .filter(v -> roundId != null && roundId.equals(v.getHyperparameters().get("round_id"))).findFirst();
            if (done.isPresent()) {
                LOG.info("checkpoint {} belongs to round {}, already published as version {}: discarding it",
                        c.directory(), roundId, done.get().getVersion());
                checkpoints.clear();
            } else {
                pendingResume = c;
            }
        }
        status.phase(TrainerStatus.Phase.IDLE);
    }

    private Map<TopicPartition, Long> endOffsets(List<String> topics) {
        Map<String, Object> cfg = kafka.consumerConfig(SOURCE + "-offsets", null);
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(cfg, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (String topic : topics) {
                var infos = c.partitionsFor(topic, config.getKafkaTimeout());
                if (infos == null || infos.isEmpty()) {
                    throw new IllegalStateException("topic " + topic + " does not exist");
                }
                infos.forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
            }
            c.assign(partitions); // read_committed end offsets (LSO) of assigned partitions, without a warning
            return new HashMap<>(c.endOffsets(partitions, config.getKafkaTimeout()));
        }
    }

    private void loadConfiguredPrompts() throws IOException {
        int before = prompts.configured().size();
        if (config.isBuiltinPrompts()) {
            try (InputStream in = PolicyTrainerLoop.class.getResourceAsStream("/prompts/builtin.txt")) {
                if (in == null) {
                    throw new IOException("built-in prompt set missing from the class path");
                }
                readPrompts(new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)));
            }
        }
        if (config.getPromptsFile() != null && !config.getPromptsFile().isBlank()) {
            try (BufferedReader reader = Files.newBufferedReader(Path.of(config.getPromptsFile()), StandardCharsets.UTF_8)) {
                readPrompts(reader);
            }
        }
        LOG.info("{} configured prompts", prompts.configured().size() - before);
    }

    private void readPrompts(BufferedReader reader) throws IOException {
        for (String line = reader.readLine(); line != null; line = reader.readLine()) {
            String text = line.strip();
            if (!text.isEmpty() && !text.startsWith("#")) {
                prompts.addConfigured(List.of(ChatTurn.user(text)));
            }
        }
    }

    private void tick() throws IOException, VersionPublisher.PublishException {
        feed.poll(pendingResume != null ? Duration.ZERO : config.getPollInterval());
        if (pendingResume != null) {
            Checkpoints.Checkpoint c = pendingResume;
            pendingResume = null;
            String kind = c.state().extra().getOrDefault("kind", "");
            status.resumed();
            events.resumed(kind, c.state().round(), c.state().step());
            LOG.info("resuming {} round {} at step {} from {}", kind, c.state().round(), c.state().step(), c.directory());
            if (kind.equals("sft")) {
                runSft(c);
            } else if (kind.equals("ppo") && resumablePpo(c)) {
                runPpo(c);
            } else {
                LOG.warn("cannot resume checkpoint {} (kind '{}'); discarding it", c.directory(), kind);
                checkpoints.clear();
            }
            return;
        }
        String decision = decide();
        if (decision.equals("sft")) {
            runSft(null);
        } else if (decision.equals("ppo")) {
            String pair = rewards.latestAccepted().map(RewardModelVersion::getVersion).orElse(-1L) + "/"
                    + basePolicy().map(PolicyVersion::getVersion).orElse(-1L);
            try {
                runPpo(null);
            } catch (ArtifactUnavailable e) {
                // an unreadable or corrupt artifact (checksum mismatch, missing file) would fail every retry:
                // skip this (reward model, base policy) pair until either changes
                LOG.error("PPO round on reward model / base policy {} failed to load an artifact; skipping the pair: {}", pair, e.toString());
                unusable.add(pair);
                status.error(e);
                status.phase(TrainerStatus.Phase.IDLE);
            }
        }
    }

    /** "sft", "ppo" or "" (nothing to do). */
    String decide() {
        Optional<PolicyVersion> latestSft = latestSft();
        int demos = feed.demoCount();
        if (latestSft.isEmpty()) {
            if (demos >= config.getMinDemonstrations()) {
                return "sft";
            }
            waiting("waiting for demonstrations: {} of {}", demos, config.getMinDemonstrations());
            return "";
        }
        if (config.isSftRetrain() && newDemonstrations(latestSft.get()) >= config.getSftRetrainMinNew()) {
            return "sft";
        }
        Optional<RewardModelVersion> rm = rewards.latestAccepted();
        Optional<PolicyVersion> base = basePolicy();
        if (rm.isEmpty() || base.isEmpty()) {
            waiting("waiting for an accepted reward model (policy base {})", base.map(PolicyVersion::getVersion).orElse(null), null);
            return "";
        }
        if (prompts.trainCount() < config.getMinTrainPrompts()) {
            waiting("waiting for prompts: {} of {}", prompts.trainCount(), config.getMinTrainPrompts());
            return "";
        }
        long rmVersion = rm.get().getVersion();
        if (unusable.contains(rmVersion + "/" + base.get().getVersion())) {
            return "";
        }
        List<PolicyVersion> ppo = policies.versions().values().stream().filter(v -> v.getStage() == PolicyStage.PPO).toList();
        boolean rmNew = ppo.stream().noneMatch(v -> v.getRewardModelVersion() != null && v.getRewardModelVersion() == rmVersion);
        long baseVersion = base.get().getVersion();
        boolean baseFresh = base.get().getStage() == PolicyStage.SFT
                && ppo.stream().noneMatch(v -> v.getParentVersions().contains(baseVersion));
        boolean scheduled = false;
        if (!config.getPpoSchedule().isZero() && !ppo.isEmpty()) {
            Instant last = ppo.get(ppo.size() - 1).getCreatedAt();
            scheduled = Duration.between(last, Instant.now()).compareTo(config.getPpoSchedule()) >= 0;
        }
        return rmNew || baseFresh || scheduled ? "ppo" : "";
    }

    private void waiting(String message, Object a, Object b) {
        long now = System.currentTimeMillis();
        if (now - lastWaitingLog > 60_000) {
            lastWaitingLog = now;
            LOG.info(message, a, b);
        }
    }

    /** The highest SFT version that is not REJECTED or ROLLED_BACK. */
    private Optional<PolicyVersion> latestSft() {
        return policies.versions().descendingMap().values().stream()
                .filter(v -> v.getStage() == PolicyStage.SFT && accepted(v.getStatus())).findFirst();
    }

    /** The policy PPO continues from: the highest version whose status is LIVE or CANDIDATE. */
    private Optional<PolicyVersion> basePolicy() {
        return policies.versions().descendingMap().values().stream().filter(v -> accepted(v.getStatus())).findFirst();
    }

    private static boolean accepted(ModelStatus s) {
        return s == ModelStatus.LIVE || s == ModelStatus.CANDIDATE;
    }

    /** The SFT reference of a policy version: itself for SFT, {@code reference_version} (or its last parent) for PPO. */
    private long referenceOf(PolicyVersion v) {
        if (v.getStage() == PolicyStage.SFT) {
            return v.getVersion();
        }
        String ref = v.getHyperparameters().get("reference_version");
        if (ref != null) {
            return Long.parseLong(ref);
        }
        List<Long> parents = v.getParentVersions();
        return parents.get(parents.size() - 1);
    }

    private long newDemonstrations(PolicyVersion sft) {
        Map<Integer, Long> until = OffsetRanges.of(config.getDemonstrationsTopic(), sft.getTrainingData()).untilOffsets();
        return feed.demos().stream().filter(d -> d.offset() >= until.getOrDefault(d.partition(), 0L)).count();
    }

    private void checkStop() {
        if (stopRequested) {
            throw new StopSignal();
        }
    }

    // ---- SFT ----------------------------------------------------------------------------------

    private void runSft(Checkpoints.Checkpoint resume) throws IOException, VersionPublisher.PublishException {
        status.phase(TrainerStatus.Phase.SFT);
        Map<String, String> extra = new LinkedHashMap<>();
        long target;
        PolicyVersion base;
        Map<Integer, long[]> demoRange;
        if (resume == null) {
            extra.put("kind", "sft");
            extra.put("round_id", UUID.randomUUID().toString());
            target = policies.nextVersion();
            base = latestSft().orElse(null);
            demoRange = new TreeMap<>();
            Map<Integer, Long> first = feed.firstDemoOffsets();
            feed.demoPositions().forEach((p, until) -> demoRange.put(p, new long[] {first.getOrDefault(p, until), until}));
            extra.put("base_version", base == null ? "" : String.valueOf(base.getVersion()));
            extra.put("demo_ranges", encodeRanges(demoRange));
        } else {
            extra.putAll(resume.state().extra());
            target = Math.max(resume.state().round(), policies.nextVersion());
            String b = extra.getOrDefault("base_version", "");
            base = b.isEmpty() ? null : policies.get(Long.parseLong(b)).orElse(null);
            if (!b.isEmpty() && base == null) {
                LOG.warn("SFT checkpoint's base version {} is gone; discarding the checkpoint", b);
                checkpoints.clear();
                return;
            }
            demoRange = decodeRanges(extra.get("demo_ranges"));
        }
        List<SftTrainer.Demo> demos = feed.demos().stream()
                .filter(d -> inRange(demoRange, d.partition(), d.offset())).map(InputFeed.StoredDemo::demo).toList();
        int fromStep = resume == null ? 0 : (int) resume.state().step();
        SftTrainer trainer = new SftTrainer(sftConfig);

        PolicyModel policy;
        LoadedModel loaded = null;
        if (resume != null) {
            loaded = ModelArtifacts.load(resume.file("policy"), null, manager);
            policy = loaded.policy();
        } else if (base != null) {
            loaded = loadVersion(base.getArtifactUri(), base.getArtifactSha256());
            policy = loaded.policy();
        } else {
            Engine.getInstance().setRandomSeed((int) config.getInitSeed());
            policy = PolicyModel.create(config.modelConfig(), manager);
        }
        try {
            int total = trainer.totalSteps(trainer.split(demos, policy.config().contextLength()).get(0).size());
            LOG.info("SFT round for version {}: {} demonstrations, {} steps from step {}, {} ({})", target, demos.size(),
                    total, fromStep, base == null ? "new root " + config.getModelPreset() : "warm start from v" + base.getVersion(),
                    policy);
            status.round(target, fromStep);
            TrainingProgress progress = TrainingProgress.start(LOG, "sft", target, 0, total, Duration.ofSeconds(10));
            long roundTarget = target;
            SftTrainer.Result result;
            try {
                result = trainer.train(policy, demos, fromStep, new SftTrainer.Listener() {
                    @Override
                    public void onStep(int step, int totalSteps, float loss, float learningRate) {
                        progress.step(step, loss, Map.of("lr", learningRate));
                        status.round(roundTarget, step);
                        if (step % sftConfig.getLogEvery() == 0 || step == totalSteps) {
                            metrics.publish("sft", roundTarget, roundTarget, step, Map.of("loss", loss, "learning_rate", learningRate));
                            status.figures(Map.of("sft_loss", loss));
                        }
                        if (step % config.getSftCheckpointEvery() == 0 && step < totalSteps) {
                            checkpoint("sft", roundTarget, step, extra, policy, null);
                        }
                    }

                    @Override
                    public boolean stopRequested() {
                        return stopRequested;
                    }
                });
            } catch (SftTrainer.Stopped s) {
                int step = (int) status.step();
                if (step > fromStep) {
                    checkpoint("sft", target, step, extra, policy, null);
                }
                throw new StopSignal();
            }
            LOG.info("SFT version {} trained: {}", target, result.metrics());
            metrics.publish("sft", target, target, result.steps(), result.metrics());

            status.phase(TrainerStatus.Phase.PUBLISHING);
            Map<String, Double> m = new LinkedHashMap<>(result.metrics());
            ModelStatus st = sftStatus(trainer, demos, result, m);
            Map<String, String> hp = new LinkedHashMap<>(sftConfig.toMap());
            hp.putAll(config.toMap());
            hp.put("round_id", extra.get("round_id"));
            hp.put("model", policy.config().toJson().replaceAll("\\s+", ""));
            hp.put("init", base == null ? "random(seed=" + config.getInitSeed() + ")" : "v" + base.getVersion());
            m.put("demonstrations", (double) demos.size());
            OffsetRanges data = new OffsetRanges(config.getDemonstrationsTopic());
            demoRange.forEach((p, r) -> data.cover(p, r[0], r[1]));
            List<Long> parents = base == null ? List.of() : List.of(base.getVersion());
            publish(PolicyStage.SFT, st, parents, null, policy, m, hp, data.toList(), extra.get("round_id"));
            status.sftRoundDone();
        } finally {
            if (loaded != null) {
                loaded.close();
            } else {
                policy.close();
            }
        }
    }

    /**
     * The status of a new SFT version: LIVE for the first policy (serving needs one). Later, LIVE (with
     * {@code auto-promote}) when the LIVE policy is an SFT version whose held-out demonstration loss, measured
     * now on this round's eval split, is higher than the new version's — a retrained SFT must not wait as
     * CANDIDATE while users are served a worse one. A LIVE PPO version is not judged by imitation loss (RL
     * trades it for reward): the new SFT is then a CANDIDATE, and the next PPO round continues from it.
     * Records {@code live_eval_loss} (and {@code live_version}) in {@code metrics} when it compared.
     */
    private ModelStatus sftStatus(SftTrainer trainer, List<SftTrainer.Demo> demos, SftTrainer.Result result,
            Map<String, Double> metrics) throws IOException {
        Optional<PolicyVersion> live = policies.latestAccepted();
        if (live.isEmpty()) {
            return ModelStatus.LIVE;
        }
        if (!config.isAutoPromote() || live.get().getStage() != PolicyStage.SFT || Double.isNaN(result.evalLoss())) {
            return ModelStatus.CANDIDATE;
        }
        try (LoadedModel current = loadVersion(live.get().getArtifactUri(), live.get().getArtifactSha256())) {
            List<SftExample> eval = trainer.split(demos, current.policy().config().contextLength()).get(1);
            double liveLoss = SftTrainer.evalLoss(current.policy(), eval, sftConfig.getBatchSize());
            metrics.put("live_eval_loss", liveLoss);
            metrics.put("live_version", (double) live.get().getVersion());
            boolean better = result.evalLoss() < liveLoss;
            LOG.info("SFT held-out loss {} against LIVE v{}'s {} on the same {} demonstrations: {}",
                    String.format(Locale.ROOT, "%.4f", result.evalLoss()), live.get().getVersion(),
                    String.format(Locale.ROOT, "%.4f", liveLoss), eval.size(), better ? "promoted LIVE" : "CANDIDATE");
            return better ? ModelStatus.LIVE : ModelStatus.CANDIDATE;
        }
    }

    // ---- PPO ----------------------------------------------------------------------------------

    private boolean resumablePpo(Checkpoints.Checkpoint c) {
        Map<String, String> extra = c.state().extra();
        long rm = Long.parseLong(extra.getOrDefault("reward_version", "-1"));
        long base = Long.parseLong(extra.getOrDefault("base_version", "-1"));
        long ref = Long.parseLong(extra.getOrDefault("reference_version", "-1"));
        boolean rmOk = rewards.get(rm).map(v -> v.getStatus() == ModelStatus.LIVE).orElse(false);
        boolean policiesOk = policies.get(base).isPresent() && policies.get(ref).isPresent();
        if (!rmOk || !policiesOk) {
            LOG.warn("PPO checkpoint {}: reward model v{} no longer LIVE or policy v{}/v{} gone", c.directory(), rm, base, ref);
        }
        return rmOk && policiesOk;
    }

    private void runPpo(Checkpoints.Checkpoint resume) throws IOException, VersionPublisher.PublishException {
        status.phase(TrainerStatus.Phase.PPO);
        Map<String, String> extra = new LinkedHashMap<>();
        RewardModelVersion rm;
        PolicyVersion base;
        long target;
        int fromIteration = 0;
        Map<Integer, long[]> transcriptRange;
        if (resume == null) {
            rm = rewards.latestAccepted().orElseThrow();
            base = basePolicy().orElseThrow();
            target = policies.nextVersion();
            transcriptRange = prompts.transcriptRanges();
            extra.put("kind", "ppo");
            extra.put("round_id", UUID.randomUUID().toString());
            extra.put("reward_version", String.valueOf(rm.getVersion()));
            extra.put("base_version", String.valueOf(base.getVersion()));
            extra.put("reference_version", String.valueOf(referenceOf(base)));
            extra.put("transcript_ranges", encodeRanges(transcriptRange));
        } else {
            extra.putAll(resume.state().extra());
            rm = rewards.get(Long.parseLong(extra.get("reward_version"))).orElseThrow();
            base = policies.get(Long.parseLong(extra.get("base_version"))).orElseThrow();
            target = Math.max(resume.state().round(), policies.nextVersion());
            fromIteration = (int) resume.state().step();
            transcriptRange = decodeRanges(extra.get("transcript_ranges"));
        }
        long refVersion = Long.parseLong(extra.get("reference_version"));
        PolicyVersion ref = policies.get(refVersion).orElseThrow(() -> new IllegalStateException("reference v" + refVersion + " unknown"));
        List<AutoCloseable> owned = new ArrayList<>();
        try {
            LoadedModel rmLoaded = own(owned, loadOrFail("reward model v" + rm.getVersion(), rm.getArtifactUri(), rm.getArtifactSha256()));
            rmLoaded.reward().setTrainable(false);
            LoadedModel refLoaded = own(owned, loadOrFail("policy v" + refVersion, ref.getArtifactUri(), ref.getArtifactSha256()));
            LoadedModel previous = base.getVersion() == refVersion ? refLoaded
                    : own(owned, loadOrFail("policy v" + base.getVersion(), base.getArtifactUri(), base.getArtifactSha256()));
            refLoaded.policy().setTrainable(false);
            previous.policy().setTrainable(false);
            PolicyModel policy;
            ValueModel value;
            double beta;
            ScoreNormalizer normalizer;
            if (resume != null) {
                policy = own(owned, ModelArtifacts.load(resume.file("policy"), null, manager)).policy();
                value = PolicyOptimizer.needsValueModel(ppoConfig)
                        ? own(owned, ModelArtifacts.load(resume.file("value"), null, manager)).value() : null;
                beta = Double.parseDouble(extra.get("beta"));
                normalizer = new ScoreNormalizer(Long.parseLong(extra.get("norm_count")),
                        Double.parseDouble(extra.get("norm_mean")), Double.parseDouble(extra.get("norm_m2")));
            } else {
                policy = own(owned, loadOrFail("policy v" + base.getVersion(), base.getArtifactUri(), base.getArtifactSha256())).policy();
                value = PolicyOptimizer.initValue(ppoConfig, policy, rmLoaded.reward(), rm.getRewardOffset(), manager);
                if (value != null) {
                    own(owned, value);
                }
                extra.put("value_init", value == null ? "none"
                        : PpoTrainer.valueFromRewardModel(ppoConfig.getValueInit(), policy, rmLoaded.reward())
                        ? "reward_model_v" + rm.getVersion() : "policy_v" + base.getVersion());
                beta = initialBeta(base, refVersion);
                normalizer = new ScoreNormalizer();
                extra.put("first_mean_reward", "");
            }
            RewardModelScorer scorer = new RewardModelScorer(rmLoaded.reward(), rm.getRewardOffset());
            List<SftExample> ptx = ppoConfig.getPtxCoef() > 0 ? ptxExamples(policy.config().contextLength()) : List.of();
            PolicyOptimizer trainer = PolicyOptimizer.create(ppoConfig, policy, refLoaded.policy(), value, scorer, beta, normalizer, ptx);
            int iterations = ppoConfig.getIterationsPerRound();
            LOG.info("{} round for version {}: policy v{} (reference v{}) against reward model v{} (offset {}), iterations {}..{}, "
                    + "β {}, value from {}", ppoConfig.toMap().get("ppo.algorithm"), target, base.getVersion(), refVersion, rm.getVersion(),
                    rm.getRewardOffset(), fromIteration + 1, iterations, trainer.kl().value(), extra.get("value_init"));
            PpoTrainer.IterationStats last = null;
            for (int it = fromIteration; it < iterations; it++) {
                if (stopRequested) {
                    if (it > fromIteration) {
                        checkpointPpo(target, it, extra, trainer, policy, value);
                    }
                    throw new StopSignal();
                }
                feed.poll(Duration.ZERO);
                long seed = mix(ppoConfig.getSeed(), target, it);
                List<int[]> batch = prompts.sampleTrain(ppoConfig.getRolloutBatchSize(), ppoConfig.getTranscriptPromptShare(), new Random(seed));
                status.round(target, it);
                last = trainer.iterate(batch, seed);
                if (extra.getOrDefault("first_mean_reward", "").isEmpty()) {
                    extra.put("first_mean_reward", String.valueOf(last.meanReward()));
                }
                Map<String, Double> values = last.metrics();
                metrics.publish("ppo", target, target, it + 1, values);
                status.figures(values);
                status.ppoIteration();
                status.round(target, it + 1);
                LOG.info(String.format(Locale.ROOT,
                        "ppo v%d iteration %d/%d: reward %.4f kl %.3f β %.4f entropy %.3f clip %.3f vloss %.4f ev %.3f | "
                                + "%d steps%s, %.0f rollout tok/s, generation %.0f%% of %.1fs",
                        target, it + 1, iterations, last.meanReward(), last.kl(), last.beta(), last.entropy(), last.clipFraction(),
                        last.valueLoss(), last.explainedVariance(), last.updateSteps(), last.earlyStopped() ? " (KL early stop)" : "",
                        last.rolloutTokensPerSecond(), 100 * last.generationShare(), last.totalSeconds()));
                if ((it + 1) % config.getPpoCheckpointEvery() == 0 && it + 1 < iterations) {
                    checkpointPpo(target, it + 1, extra, trainer, policy, value);
                }
            }

            status.phase(TrainerStatus.Phase.EVALUATING);
            List<int[]> heldOut = prompts.heldOut(ppoConfig.getEvalPrompts()).stream().map(trainer::fitPrompt).toList();
            boolean onTrain = heldOut.isEmpty();
            if (onTrain) {
                LOG.warn("no held-out prompts: evaluating on training prompts");
                heldOut = prompts.sampleTrain(ppoConfig.getEvalPrompts(), ppoConfig.getTranscriptPromptShare(), new Random(ppoConfig.getSeed()))
                        .stream().map(trainer::fitPrompt).toList();
            }
            PolicyEvaluator evaluator = new PolicyEvaluator(scorer, ppoConfig.getMaxNewTokens(), ppoConfig.getEvalSamplesPerPrompt());
            PolicyEvaluator.Result eval = evaluator.evaluate(policy, previous.policy(), refLoaded.policy(), heldOut, mix(ppoConfig.getSeed(), 0, -1));
            PromotionGate.Verdict verdict = PromotionGate.judge(eval, ppoConfig.getMaxEvalKl(), ppoConfig.getRewardDropTolerance(),
                    config.isAutoPromote());
            LOG.info("PPO version {} evaluation on {} held-out prompts: {} -> {} ({})", target, eval.prompts(), eval.metrics(),
                    verdict.status(), verdict.reason());
            Map<String, Double> m = new LinkedHashMap<>(eval.metrics());
            m.put("eval_on_train_prompts", onTrain ? 1.0 : 0.0);
            if (last != null) {
                m.put("mean_reward", last.meanReward());
                m.put("kl", last.kl());
                m.put("entropy", last.entropy());
                m.put("explained_variance", last.explainedVariance());
            }
            String first = extra.get("first_mean_reward");
            if (first != null && !first.isEmpty()) {
                m.put("first_mean_reward", Double.parseDouble(first));
            }
            m.put("beta", trainer.kl().value());
            m.put("iterations", (double) iterations);
            m.put("gate_kl_exceeded", verdict.klExceeded() ? 1.0 : 0.0);
            m.put("gate_reward_fell", verdict.rewardFell() ? 1.0 : 0.0);
            m.values().removeIf(v -> v == null || !Double.isFinite(v));
            metrics.publish("eval", target, target, iterations, m);

            status.phase(TrainerStatus.Phase.PUBLISHING);
            ModelStatus st = verdict.status();
            Map<String, String> hp = new LinkedHashMap<>(ppoConfig.toMap());
            hp.putAll(config.toMap());
            hp.put("round_id", extra.get("round_id"));
            hp.put("reference_version", String.valueOf(refVersion));
            hp.put("base_version", String.valueOf(base.getVersion()));
            hp.put("reward_model_sha256", rm.getArtifactSha256());
            hp.put("reward_offset", String.valueOf(rm.getRewardOffset()));
            hp.put("value_init", extra.getOrDefault("value_init", ""));
            hp.put("model", policy.config().toJson().replaceAll("\\s+", ""));
            OffsetRanges transcripts = new OffsetRanges(config.getTranscriptsTopic());
            transcriptRange.forEach((p, r) -> transcripts.cover(p, r[0], r[1]));
            List<OffsetRange> data = new ArrayList<>(transcripts.toList());
            if (!ptx.isEmpty()) {
                OffsetRanges demos = new OffsetRanges(config.getDemonstrationsTopic());
                Map<Integer, Long> firstDemo = feed.firstDemoOffsets();
                feed.demoPositions().forEach((p, until) -> demos.cover(p, Math.min(firstDemo.getOrDefault(p, until), until), until));
                data.addAll(demos.toList());
            }
            List<Long> parents = new ArrayList<>(new LinkedHashSet<>(List.of(base.getVersion(), refVersion)));
            publish(PolicyStage.PPO, st, parents, rm.getVersion(), policy, m, hp, data, extra.get("round_id"));
            status.ppoRoundDone();
        } finally {
            for (int i = owned.size() - 1; i >= 0; i--) {
                try {
                    owned.get(i).close();
                } catch (Exception e) {
                    LOG.warn("closing {}: {}", owned.get(i), e.toString());
                }
            }
        }
    }

    /** β at the start of a round: the base's final β when it is a PPO policy with the same reference, else the initial β. */
    private double initialBeta(PolicyVersion base, long refVersion) {
        if (ppoConfig.getKlControl() == PpoConfig.KlControl.ADAPTIVE && base.getStage() == PolicyStage.PPO
                && String.valueOf(refVersion).equals(base.getHyperparameters().get("reference_version"))) {
            Double b = base.getMetrics().get("beta");
            if (b != null && Double.isFinite(b) && b > 0) {
                return b;
            }
        }
        return ppoConfig.getInitKlCoef();
    }

    private List<SftExample> ptxExamples(int contextLength) {
        SftTrainer sft = new SftTrainer(sftConfig);
        return feed.demos().stream().map(d -> sft.example(d.demo(), contextLength)).toList();
    }

    private void checkpointPpo(long target, int iteration, Map<String, String> extra, PolicyOptimizer trainer, PolicyModel policy,
            ValueModel value) {
        extra.put("beta", String.valueOf(trainer.kl().value()));
        extra.put("norm_count", String.valueOf(trainer.normalizer().count()));
        extra.put("norm_mean", String.valueOf(trainer.normalizer().mean()));
        extra.put("norm_m2", String.valueOf(trainer.normalizer().m2()));
        checkpoint("ppo", target, iteration, extra, policy, value);
    }

    // ---- checkpoints, artifacts, publishing ---------------------------------------------------

    private void checkpoint(String kind, long round, long step, Map<String, String> extra, PolicyModel policy, ValueModel value) {
        try {
            Map<String, String> metadata = Map.of("kind", kind, "round", String.valueOf(round), "step", String.valueOf(step));
            Checkpoints.Checkpoint c = checkpoints.save(new Checkpoints.State(round, step, round, Map.of(), extra), dir -> {
                ModelArtifacts.save(dir.resolve("policy"), policy, ByteTokenizer.INSTANCE, metadata);
                if (value != null) {
                    ModelArtifacts.save(dir.resolve("value"), value, ByteTokenizer.INSTANCE, metadata);
                }
            });
            LOG.info("checkpoint {} round {} step {}: {}", kind, round, step, c.directory());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write a checkpoint", e);
        }
        events.checkpointed(kind, round, step);
    }

    private LoadedModel loadOrFail(String what, String uri, String sha) {
        try {
            return loadVersion(uri, sha);
        } catch (IOException e) {
            throw new ArtifactUnavailable(what + " from " + uri, e);
        }
    }

    private LoadedModel loadVersion(String uri, String sha) throws IOException {
        return ModelArtifacts.load(resolve(uri), sha, manager);
    }

    /** A local directory for an artifact URI: through the store if it is one of its URIs, else any {@code file:} URI. */
    Path resolve(String uri) throws IOException {
        URI u = URI.create(uri);
        if (store.supports(u)) {
            return store.resolve(u);
        }
        if ("file".equalsIgnoreCase(u.getScheme())) {
            return Path.of(u);
        }
        throw new IOException("cannot resolve artifact URI " + uri + " (only file: URIs)");
    }

    private void publish(PolicyStage stage, ModelStatus st, List<Long> parents, Long rmVersion, PolicyModel policy,
            Map<String, Double> m, Map<String, String> hp, List<OffsetRange> data, String roundId)
            throws IOException, VersionPublisher.PublishException {
        long version = policies.nextVersion();
        String name = "policy/v" + version + "-" + roundId.substring(0, 8);
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("version", String.valueOf(version));
        metadata.put("stage", stage.name());
        metadata.put("parents", parents.toString());
        metadata.put("round_id", roundId);
        if (rmVersion != null) {
            metadata.put("reward_model_version", String.valueOf(rmVersion));
        }
        Path staging = Path.of(config.getStateDir()).resolve("staging").resolve(UUID.randomUUID().toString());
        URI uri;
        String sha;
        try {
            sha = ModelArtifacts.save(staging, policy, ByteTokenizer.INSTANCE, metadata);
            uri = store.put(name, staging);
        } finally {
            deleteQuietly(staging);
        }
        Instant now = Instant.now();
        // a version that replaces a LIVE one passes through CANDIDATE (the canary path); the first policy is LIVE at once
        List<ModelStatus> statuses = st == ModelStatus.LIVE && policies.latestAccepted().isPresent()
                ? List.of(ModelStatus.CANDIDATE, ModelStatus.LIVE) : List.of(st);
        List<PolicyVersion> records = new ArrayList<>();
        for (ModelStatus s : statuses) {
            records.add(PolicyVersion.newBuilder()
                    .setEventId(UUID.randomUUID().toString())
                    .setEventTime(now)
                    .setVersion(version)
                    .setStage(stage)
                    .setParentVersions(parents)
                    .setRewardModelVersion(rmVersion)
                    .setStatus(s)
                    .setCreatedAt(now)
                    .setArtifactUri(uri.toString())
                    .setArtifactSha256(sha)
                    .setMetrics(m)
                    .setHyperparameters(hp)
                    .setTrainingData(data)
                    .build());
        }
        VersionPublisher.PublishException failure = null;
        for (int attempt = 1; attempt <= 3; attempt++) {
            try {
                publisher.publish(records, Map.of(), null);
                failure = null;
                break;
            } catch (VersionPublisher.PublishException e) {
                failure = e;
                if (e.isFatal()) {
                    break;
                }
                LOG.warn("publishing policy version {} failed (attempt {}): {}", version, attempt, e.getMessage());
            }
        }
        if (failure != null) {
            throw failure;
        }
        PolicyVersion published = records.get(records.size() - 1);
        policies.apply(published);
        status.published(version, st == ModelStatus.REJECTED);
        LOG.info("published policy version {} ({} {}, parents {}, reward model {}) at {} sha256 {}", version, stage, st,
                parents, rmVersion, uri, sha);
        events.published(published);
        checkpoints.clear();
        status.phase(TrainerStatus.Phase.IDLE);
    }

    private static <T extends AutoCloseable> T own(List<AutoCloseable> owned, T resource) {
        owned.add(resource);
        return resource;
    }

    private static boolean inRange(Map<Integer, long[]> ranges, int partition, long offset) {
        long[] r = ranges.get(partition);
        return r != null && offset >= r[0] && offset < r[1];
    }

    static String encodeRanges(Map<Integer, long[]> ranges) {
        StringBuilder sb = new StringBuilder();
        ranges.forEach((p, r) -> sb.append(sb.length() == 0 ? "" : ",").append(p).append(':').append(r[0]).append('-').append(r[1]));
        return sb.toString();
    }

    static Map<Integer, long[]> decodeRanges(String s) {
        Map<Integer, long[]> out = new TreeMap<>();
        if (s == null || s.isBlank()) {
            return out;
        }
        for (String part : s.split(",")) {
            String[] pr = part.split(":");
            String[] fu = pr[1].split("-");
            out.put(Integer.parseInt(pr[0]), new long[] {Long.parseLong(fu[0]), Long.parseLong(fu[1])});
        }
        return out;
    }

    static long mix(long seed, long a, long b) {
        long z = seed * 0x9E3779B97F4A7C15L + a * 0xBF58476D1CE4E5B9L + b * 0x94D049BB133111EBL;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static void deleteQuietly(Path path) {
        try {
            if (Files.exists(path)) {
                try (var walk = Files.walk(path)) {
                    for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(p);
                    }
                }
            }
        } catch (IOException e) {
            LOG.debug("could not delete {}: {}", path, e.toString());
        }
    }

    private void closeResources() {
        for (AutoCloseable c : new AutoCloseable[] {feed, metrics, publisher}) {
            if (c != null) {
                try {
                    c.close();
                } catch (Exception e) {
                    LOG.warn("closing {}: {}", c.getClass().getSimpleName(), e.toString());
                }
            }
        }
        if (manager != null) {
            manager.close();
        }
    }
}
