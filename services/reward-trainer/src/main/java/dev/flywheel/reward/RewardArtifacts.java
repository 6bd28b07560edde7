package dev.flywheel.reward;

import static dev.flywheel.schemas.support.FileTrees.deleteRecursively;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.events.RewardModelVersion;
import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.LoadedModel;
import dev.flywheel.model.LocalArtifactStore;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.RewardModel;
import dev.flywheel.trainerkit.KafkaSettings;
import dev.flywheel.trainerkit.VersionLedger;
import java.io.IOException;
import java.net.URI;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The models a reward-trainer round starts from and leaves behind: the first version's initial
 * model (from the latest SFT policy's trunk), a published version's verified artifact, and the new
 * version's artifact in the store.
 */
final class RewardArtifacts {

  private static final Logger LOG = LoggerFactory.getLogger(RewardArtifacts.class);

  private final RewardTrainerConfig config;
  private final KafkaSettings kafka;
  private final LocalArtifactStore store;
  private final NDManager manager;

  RewardArtifacts(
      RewardTrainerConfig config,
      KafkaSettings kafka,
      LocalArtifactStore store,
      NDManager manager) {
    this.config = config;
    this.kafka = kafka;
    this.store = store;
    this.manager = manager;
  }

  /**
   * The first version's starting point: the latest SFT policy's trunk under a fresh scalar head
   * (InstructGPT §3.5), or random weights when there is none (or {@code init-from-policy} is off).
   */
  RewardModel initialModel() {
    Engine.getInstance().setRandomSeed((int) config.getSeed());
    GptConfig fresh = config.freshModelConfig();
    Optional<PolicyVersion> sft = config.isInitFromPolicy() ? latestSftPolicy() : Optional.empty();
    if (sft.isPresent()) {
      PolicyVersion p = sft.get();
      try (LoadedModel policy =
          ModelArtifacts.load(
              store.resolve(URI.create(p.getArtifactUri())), p.getArtifactSha256(), manager)) {
        if (policy.config().contextLength() == fresh.contextLength()) {
          // the policy's shape, the reward trainer's own dropout (the policy's is an SFT setting)
          RewardModel model =
              RewardModel.create(policy.config().withDropout(fresh.dropout()), manager);
          model.copyTrunkFrom(policy.policy());
          LOG.info(
              "first reward model starts from SFT policy v{} (InstructGPT §3.5)", p.getVersion());
          return model;
        }
        LOG.warn(
            "SFT policy v{} has context {} but the trainer encodes {}; starting from random weights",
            p.getVersion(),
            policy.config().contextLength(),
            fresh.contextLength());
      } catch (IOException | RuntimeException e) {
        LOG.warn(
            "cannot start from SFT policy v{} ({}); starting from random weights",
            p.getVersion(),
            e.toString());
      }
    }
    return RewardModel.create(fresh, manager);
  }

  private Optional<PolicyVersion> latestSftPolicy() {
    try {
      return VersionLedger.loadPolicyVersions(
              kafka, config.getPolicyVersionsTopic(), config.getKafkaTimeout())
          .versions()
          .values()
          .stream()
          .filter(v -> v.getStage() == PolicyStage.SFT && v.getStatus() != ModelStatus.REJECTED)
          .reduce((older, newer) -> newer);
    } catch (TimeoutException | RuntimeException e) {
      LOG.warn(
          "cannot read policy versions ({}); the first reward model starts from random weights",
          e.toString());
      return Optional.empty();
    }
  }

  /** A version's model, SHA-256 verified. */
  LoadedModel load(RewardModelVersion v) throws IOException {
    Path dir = store.resolve(URI.create(v.getArtifactUri()));
    return ModelArtifacts.load(dir, v.getArtifactSha256(), manager);
  }

  /**
   * Saves the model as {@code reward/v<version>-<sha12>}. A retry of an attempt that crashed after
   * writing it finds the same name only if the bytes are identical; it then reuses it.
   */
  record Artifact(URI uri, String sha256) {}

  Artifact save(
      RewardModel model, long version, Optional<RewardModelVersion> parent, double rewardOffset)
      throws IOException {
    Path staging = Files.createTempDirectory(store.root(), ".reward-v" + version + "-");
    try {
      Path dir = staging.resolve("model");
      Map<String, String> meta = new LinkedHashMap<>();
      meta.put("version", Long.toString(version));
      meta.put("parent", parent.map(p -> Long.toString(p.getVersion())).orElse(""));
      meta.put("reward_offset", Double.toString(rewardOffset));
      meta.put("trainer", RewardTrainer.SOURCE);
      String sha = ModelArtifacts.save(dir, model, ByteTokenizer.INSTANCE, meta);
      String name = "reward/v" + version + "-" + sha.substring(0, 12);
      try {
        return new Artifact(store.put(name, dir), sha);
      } catch (FileAlreadyExistsException e) {
        Path existing = store.root().resolve(name);
        ModelArtifacts.verify(existing, sha);
        return new Artifact(existing.toUri(), sha);
      }
    } finally {
      deleteRecursively(staging);
    }
  }
}
