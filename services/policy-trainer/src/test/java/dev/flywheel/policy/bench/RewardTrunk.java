package dev.flywheel.policy.bench;

import ai.djl.ndarray.NDManager;
import dev.flywheel.model.GptConfig;
import dev.flywheel.model.LoadedModel;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.RewardModel;
import dev.flywheel.simulator.Demonstrations;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a benchmark's reward model starts: the SFT policy's own trunk ({@code policy}, what the
 * reward trainer does), or the trunk of an SFT policy of another shape, {@code <layers>x<width>}
 * (heads of 32 dimensions, the policy's context length and dropout), trained by {@link
 * SftCheckpoint} on the same demonstrations for the same number of steps. InstructGPT's reward
 * model is not the policy's size (6B against 175B); this is how the benchmark asks whether the
 * reward model's size, not its data, is what it lacks.
 */
record RewardTrunk(
    Path cache,
    String sftName,
    List<Demonstrations.Demonstration> demonstrations,
    int sftSteps,
    int sftEvalEvery,
    PolicyModel sft) {

  static final String POLICY = "policy";
  private static final Pattern SHAPE = Pattern.compile("(\\d+)x(\\d+)");
  private static final int HEAD_SIZE = 32;

  /** The trunk's shape for {@code spec}: the policy's, or {@code <layers>x<width>}. */
  GptConfig shape(String spec) {
    return shape(sft.config(), spec);
  }

  /**
   * {@code base} for {@code policy}, or {@code <layers>x<width>} with {@code base}'s vocabulary,
   * context length and dropout and heads of 32 dimensions.
   */
  static GptConfig shape(GptConfig base, String spec) {
    if (spec.equals(POLICY)) {
      return base;
    }
    Matcher m = SHAPE.matcher(spec);
    if (!m.matches() || Integer.parseInt(m.group(2)) % HEAD_SIZE != 0) {
      throw new IllegalArgumentException(
          "trunk '" + spec + "': 'policy' or <layers>x<width> with width a multiple of 32");
    }
    GptConfig p = base;
    int width = Integer.parseInt(m.group(2));
    return new GptConfig(
        p.vocabSize(),
        p.contextLength(),
        Integer.parseInt(m.group(1)),
        width,
        width / HEAD_SIZE,
        p.dropout());
  }

  /** A fresh reward model (head untrained) on the trunk {@code spec} names, with this dropout. */
  RewardModel create(String spec, float dropout, NDManager manager) throws IOException {
    GptConfig shape = shape(spec);
    RewardModel rm = RewardModel.create(shape.withDropout(dropout), manager);
    if (spec.equals(POLICY)) {
      rm.copyTrunkFrom(sft);
      return rm;
    }
    Path dir =
        SftCheckpoint.trainOrLoad(
            cache.resolve(sftName + "-trunk" + spec),
            shape,
            demonstrations,
            sftSteps,
            sftEvalEvery,
            manager);
    try (LoadedModel trunk = ModelArtifacts.load(dir, null, manager)) {
      rm.copyTrunkFrom(trunk.policy());
    }
    return rm;
  }
}
