package dev.flywheel.policy.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.LoadedModel;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.RewardModel;
import dev.flywheel.simulator.Demonstrations;
import dev.flywheel.simulator.PromptSplit;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The benchmark's reward-model trunks: the policy's own, or an SFT trunk of another shape. */
class RewardTrunkTest {

  static NDManager manager;
  static PolicyModel sft;

  @BeforeAll
  static void setUp() {
    manager = NDManager.newBaseManager();
    sft = PolicyModel.create(GptConfig.tiny(), manager);
  }

  @AfterAll
  static void tearDown() {
    sft.close();
    manager.close();
  }

  private static RewardTrunk trunks(Path cache) {
    List<Demonstrations.Demonstration> demos =
        Demonstrations.generate(PromptSplit.standard(), 16, 0, 1);
    return new RewardTrunk(cache, "sft-test", demos, 2, 0, sft);
  }

  @Test
  void aShapeIsLayersByWidthWithThePolicysContextAndDropoutAndHeadsOf32(@TempDir Path cache) {
    RewardTrunk trunks = trunks(cache);
    assertEquals(sft.config(), trunks.shape(RewardTrunk.POLICY));
    GptConfig shape = trunks.shape("3x96");
    assertEquals(3, shape.layers());
    assertEquals(96, shape.dModel());
    assertEquals(3, shape.heads());
    assertEquals(sft.config().contextLength(), shape.contextLength());
    assertEquals(sft.config().dropout(), shape.dropout());
    for (String bad : List.of("big", "6x100", "6x", "x64")) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> trunks.shape(bad));
      assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
    }
  }

  @Test
  void thePolicyTrunkIsTheSftPolicysOwn(@TempDir Path cache) throws Exception {
    try (RewardModel rm = trunks(cache).create(RewardTrunk.POLICY, 0f, manager)) {
      assertSameTrunk(sft, rm);
      assertEquals(0f, rm.config().dropout());
    }
  }

  @Test
  void anotherShapeIsTrainedOnceOnTheDemonstrationsAndItsTrunkCopied(@TempDir Path cache)
      throws Exception {
    RewardTrunk trunks = trunks(cache);
    Path dir = cache.resolve("sft-test-trunk2x32");
    try (RewardModel rm = trunks.create("2x32", 0.1f, manager)) {
      assertEquals(2, rm.config().layers());
      assertEquals(32, rm.config().dModel());
      try (LoadedModel saved = ModelArtifacts.load(dir, null, manager)) {
        assertSameTrunk(saved.policy(), rm);
      }
    }
    FileTime trained = Files.getLastModifiedTime(dir.resolve(ModelArtifacts.MANIFEST));
    try (RewardModel again = trunks.create("2x32", 0.1f, manager)) {
      assertEquals(trained, Files.getLastModifiedTime(dir.resolve(ModelArtifacts.MANIFEST)));
    }
  }

  private static void assertSameTrunk(
      dev.flywheel.model.GptModel from, dev.flywheel.model.GptModel to) {
    List<Parameter> a = from.trunk().getParameters().values();
    List<Parameter> b = to.trunk().getParameters().values();
    assertEquals(a.size(), b.size());
    for (int i = 0; i < a.size(); i++) {
      assertTrue(
          a.get(i).getArray().contentEquals(b.get(i).getArray()),
          "trunk parameter " + a.get(i).getName() + " differs");
    }
  }
}
