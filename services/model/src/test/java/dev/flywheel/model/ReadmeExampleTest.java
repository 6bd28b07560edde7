package dev.flywheel.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The usage example of README.md, kept compiling and working. */
class ReadmeExampleTest {

  @TempDir Path artifacts;

  @Test
  void readmeExample() throws Exception {
    Engine.getInstance().setRandomSeed(8);
    try (NDManager root = Devices.newManager("auto");
        PolicyModel policy = PolicyModel.create(GptConfig.tiny(), root)) {
      ChatTemplate chat = new ChatTemplate();
      List<SftExample> data =
          List.of(chat.sftExample(List.of(ChatTurn.user("2+2?"), ChatTurn.assistant("4"))));
      Learner learner =
          new Learner(OptimizerConfig.adamW(LearningRateSchedule.cosine(3e-3f, 20, 250)), policy);
      for (int step = 0; step < 250; step++) {
        learner.step(
            (sm, micro) -> {
              TokenBatch b =
                  TokenBatch.of(
                      sm, data.stream().map(SftExample::tokens).toList(), TokenBatch.Side.RIGHT);
              NDArray lossMask =
                  TokenBatch.pad(
                      sm,
                      data.stream().map(SftExample::lossMask).toList(),
                      TokenBatch.Side.RIGHT,
                      (int) b.length(),
                      0);
              return SftLoss.loss(policy.logits(b.tokens(), b.mask(), true), b.tokens(), lossMask);
            });
      }
      List<Generation> out =
          new Sampler(policy)
              .generate(
                  List.of(chat.encodeForGeneration(List.of(ChatTurn.user("2+2?")))),
                  SamplingConfig.chat(64, 42L));
      String reply = ByteTokenizer.INSTANCE.decode(out.get(0).tokens());
      assertEquals("4", reply);
      String sha =
          ModelArtifacts.save(
              artifacts.resolve("policy-v1"),
              policy,
              ByteTokenizer.INSTANCE,
              Map.of("version", "1"));
      try (LoadedModel loaded = ModelArtifacts.load(artifacts.resolve("policy-v1"), sha, root)) {
        assertEquals("1", loaded.metadata().get("version"));
      }
    }
  }
}
