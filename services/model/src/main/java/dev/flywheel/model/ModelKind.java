package dev.flywheel.model;

/** Which head sits on a {@link Gpt} trunk; recorded in model artifacts. */
public enum ModelKind {
  /** {@link PolicyModel}: next-token logits. */
  POLICY,
  /** {@link RewardModel}: one scalar per sequence. */
  REWARD,
  /** {@link ValueModel}: one scalar per token (PPO critic). */
  VALUE
}
