package dev.flywheel.policy.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import dev.flywheel.model.InferenceMode;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.RewardModel;
import dev.flywheel.model.ValueModel;
import java.util.List;

/**
 * The critic's starting weights for a PPO run ({@link PpoConfig.ValueInit}): the reward model's, so
 * that V starts as the score of each prefix (InstructGPT), or the policy's trunk with a fresh head.
 */
public final class ValueInitialisation {

  private ValueInitialisation() {}

  /**
   * A value model for a PPO run. {@link PpoConfig.ValueInit#REWARD_MODEL} (InstructGPT): the reward
   * model's shape, trunk and head, with the head bias lowered by the reward offset and the head
   * divided by the reward scale, so that V starts as the score of the prefix on the scale the
   * scorer gives ((raw − offset) / scale); it needs a reward model whose context is at least the
   * policy's, else the policy initialisation is used. {@link PpoConfig.ValueInit#POLICY}: the
   * policy's trunk and a fresh head.
   */
  public static ValueModel create(
      PpoConfig.ValueInit init,
      PolicyModel policy,
      RewardModel rewardModel,
      double rewardOffset,
      double rewardScale,
      NDManager manager) {
    if (fromRewardModel(init, policy, rewardModel)) {
      ValueModel v = ValueModel.create(rewardModel.config(), manager);
      v.copyTrunkFrom(rewardModel);
      copyHead(rewardModel, v, (float) rewardOffset, (float) rewardScale);
      return v;
    }
    ValueModel v = ValueModel.create(policy.config(), manager);
    v.copyTrunkFrom(policy);
    return v;
  }

  /** Whether {@link #create} would really initialise from the reward model. */
  public static boolean fromRewardModel(
      PpoConfig.ValueInit init, PolicyModel policy, RewardModel rewardModel) {
    return init == PpoConfig.ValueInit.REWARD_MODEL
        && rewardModel != null
        && rewardModel.config().contextLength() >= policy.config().contextLength();
  }

  private static void copyHead(RewardModel from, ValueModel to, float offset, float scale) {
    try (InferenceMode ignored = InferenceMode.enter()) {
      for (String name : List.of("head_weight", "head_bias")) {
        Parameter source = from.getParameters().get(name);
        Parameter target = to.getParameters().get(name);
        if (source == null || target == null) {
          throw new IllegalStateException("no parameter " + name);
        }
        NDArray t = target.getArray();
        NDArray copy =
            name.equals("head_bias")
                ? source.getArray().sub(offset).div(scale)
                : source.getArray().div(scale);
        NDArray moved = copy.toDevice(t.getDevice(), false);
        t.intern(moved);
        if (moved != copy) {
          copy.close();
        }
        t.setRequiresGradient(target.requiresGradient());
      }
    }
  }
}
