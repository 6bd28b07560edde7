package dev.flywheel.policy.service;

import ai.djl.ndarray.NDManager;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.OffsetRange;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.LoadedModel;
import dev.flywheel.model.LocalArtifactStore;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.ValueModel;
import dev.flywheel.policy.config.PolicyTrainerConfig;
import dev.flywheel.schemas.support.FileTrees;
import dev.flywheel.trainerkit.Checkpoints;
import dev.flywheel.trainerkit.VersionLedger;
import dev.flywheel.trainerkit.VersionPublisher;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a policy-trainer round writes and reads: checkpoints of the round in progress, version
 * artifacts (SHA-256 verified on load), and the versions themselves on {@code
 * models.policy.versions} through the transactional {@link VersionPublisher}.
 */
final class PolicyPublisher {

  private static final Logger LOG = LoggerFactory.getLogger(PolicyPublisher.class);

  private final PolicyTrainerConfig config;
  private final NDManager manager;
  private final LocalArtifactStore store;
  private final Checkpoints checkpoints;
  private final VersionPublisher<PolicyVersion> publisher;
  private final VersionLedger<PolicyVersion> policies;
  private final PolicyTrainerStatus status;
  private final PolicyTrainerLoop.Events events;

  PolicyPublisher(
      PolicyTrainerConfig config,
      NDManager manager,
      LocalArtifactStore store,
      Checkpoints checkpoints,
      VersionPublisher<PolicyVersion> publisher,
      VersionLedger<PolicyVersion> policies,
      PolicyTrainerStatus status,
      PolicyTrainerLoop.Events events) {
    this.config = config;
    this.manager = manager;
    this.store = store;
    this.checkpoints = checkpoints;
    this.publisher = publisher;
    this.policies = policies;
    this.status = status;
    this.events = events;
  }

  /**
   * Saves the round in progress (policy, and the value model when there is one) and tells the
   * events hook.
   */
  void checkpoint(
      String kind,
      long round,
      long step,
      Map<String, String> extra,
      PolicyModel policy,
      ValueModel value) {
    try {
      Map<String, String> metadata =
          Map.of("kind", kind, "round", String.valueOf(round), "step", String.valueOf(step));
      Checkpoints.Checkpoint c =
          checkpoints.save(
              new Checkpoints.State(round, step, round, Map.of(), extra),
              dir -> {
                ModelArtifacts.save(
                    dir.resolve("policy"), policy, ByteTokenizer.INSTANCE, metadata);
                if (value != null) {
                  ModelArtifacts.save(
                      dir.resolve("value"), value, ByteTokenizer.INSTANCE, metadata);
                }
              });
      LOG.info("checkpoint {} round {} step {}: {}", kind, round, step, c.directory());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write a checkpoint", e);
    }
    events.checkpointed(kind, round, step);
  }

  /** {@link #loadVersion}, failing with {@link PolicyTrainerLoop.ArtifactUnavailable}. */
  LoadedModel loadOrFail(String what, String uri, String sha) {
    try {
      return loadVersion(uri, sha);
    } catch (IOException e) {
      throw new PolicyTrainerLoop.ArtifactUnavailable(what + " from " + uri, e);
    }
  }

  /** A version's artifact, SHA-256 verified, on this trainer's device. */
  LoadedModel loadVersion(String uri, String sha) throws IOException {
    return ModelArtifacts.load(resolve(uri), sha, manager);
  }

  /**
   * A local directory for an artifact URI: through the store if it is one of its URIs, else any
   * {@code file:} URI.
   */
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

  /** Drops the checkpoint of a round that cannot go on. */
  void clearCheckpoint() throws IOException {
    checkpoints.clear();
  }

  /**
   * Saves the policy's artifact into the store and publishes its version, through CANDIDATE when it
   * replaces a LIVE version, then clears the round's checkpoint. A failed publish is thrown (no
   * retry here: see {@link dev.flywheel.trainerkit.TrainerSupervisor}).
   */
  void publish(
      PolicyStage stage,
      ModelStatus st,
      List<Long> parents,
      Long rmVersion,
      PolicyModel policy,
      Map<String, Double> m,
      Map<String, String> hp,
      List<OffsetRange> data,
      String roundId)
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
    Path staging =
        Path.of(config.getStateDir()).resolve("staging").resolve(UUID.randomUUID().toString());
    URI uri;
    String sha;
    try {
      sha = ModelArtifacts.save(staging, policy, ByteTokenizer.INSTANCE, metadata);
      uri = store.put(name, staging);
    } finally {
      deleteQuietly(staging);
    }
    Instant now = Instant.now();
    // a version that replaces a LIVE one passes through CANDIDATE (the canary path); the first
    // policy is LIVE at once
    List<ModelStatus> statuses =
        st == ModelStatus.LIVE && policies.latestAccepted().isPresent()
            ? List.of(ModelStatus.CANDIDATE, ModelStatus.LIVE)
            : List.of(st);
    List<PolicyVersion> records = new ArrayList<>();
    for (ModelStatus s : statuses) {
      records.add(
          PolicyVersion.newBuilder()
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
    // one attempt: a failure ends the loop, and the trainers' supervisor starts a fresh one that
    // resumes
    // the round from its checkpoint (the same policy as the reward trainer's)
    publisher.publish(records, Map.of(), null);
    PolicyVersion published = records.get(records.size() - 1);
    policies.apply(published);
    status.published(version, st == ModelStatus.REJECTED);
    LOG.info(
        "published policy version {} ({} {}, parents {}, reward model {}) at {} sha256 {}",
        version,
        stage,
        st,
        parents,
        rmVersion,
        uri,
        sha);
    events.published(published);
    checkpoints.clear();
    status.phase(PolicyTrainerStatus.Phase.IDLE);
  }

  private static void deleteQuietly(Path path) {
    try {
      FileTrees.deleteRecursively(path);
    } catch (IOException e) {
      LOG.debug("could not delete {}: {}", path, e.toString());
    }
  }
}
