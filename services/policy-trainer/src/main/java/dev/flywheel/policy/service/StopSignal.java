package dev.flywheel.policy.service;

/**
 * Thrown on the loop thread to end it at a step boundary after a requested stop (the round
 * checkpointed first).
 */
final class StopSignal extends RuntimeException {
  StopSignal() {
    super(null, null, false, false);
  }
}
