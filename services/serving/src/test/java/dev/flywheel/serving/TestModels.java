package dev.flywheel.serving;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.ChatTemplate;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.LoadedModel;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.Sampler;
import dev.flywheel.model.SamplingConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Tiny untrained policy artifacts: two seeds give two distinguishable models. */
public final class TestModels {

  private TestModels() {}

  /** Saves a new tiny policy initialised from {@code seed}; returns the artifact SHA-256. */
  public static synchronized String save(Path dir, int seed) {
    return save(dir, seed, GptConfig.tiny());
  }

  public static synchronized String save(Path dir, int seed, GptConfig config) {
    Engine.getInstance().setRandomSeed(seed);
    try (NDManager manager = NDManager.newBaseManager(Device.cpu());
        PolicyModel policy = PolicyModel.create(config, manager)) {
      return ModelArtifacts.save(
          dir, policy, ByteTokenizer.INSTANCE, Map.of("seed", Integer.toString(seed)));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * What the model's own {@link Sampler} answers to {@code user} with the artifact in {@code dir},
   * sampling at {@code temperature} (top-p 1) from the stream the serving API uses for candidate 0
   * of a request with this {@code seed}. (Untrained tiny models answer greedily with special tokens
   * only, i.e. empty text, so tests tell models apart by seeded samples.)
   */
  public static String reference(
      Path dir, String sha, String user, int maxTokens, float temperature, long seed) {
    try (NDManager manager = NDManager.newBaseManager(Device.cpu());
        LoadedModel loaded = ModelArtifacts.load(dir, sha, manager)) {
      int[] prompt = new ChatTemplate().encodeForGeneration(List.of(ChatTurn.user(user)));
      SamplingConfig config = new SamplingConfig(temperature, 1f, 0, maxTokens, true, seed, true);
      int[] tokens = new Sampler(loaded.policy()).generate(List.of(prompt), config).get(0).tokens();
      return ByteTokenizer.INSTANCE.decode(tokens);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
