package dev.flywheel.policy.service;

import dev.flywheel.events.ModelStatus;
import dev.flywheel.events.PolicyVersion;
import dev.flywheel.policy.train.SftConfig;
import dev.flywheel.policy.train.SftContinuation;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Loop events that count down once the loop has published an SFT version after which no SFT round
 * follows on the same demonstrations (REJECTED, or the chain's {@link SftContinuation#verdict} is
 * not CONTINUE) and then found nothing to do: the scheduler's own WAIT, not a timeout.
 */
final class IdleAfterSftChain implements PolicyTrainerLoop.Events {
  final CountDownLatch idle = new CountDownLatch(1);
  final AtomicReference<PolicyVersion> last = new AtomicReference<>();
  private final SftConfig sft;

  IdleAfterSftChain(SftConfig sft) {
    this.sft = sft;
  }

  @Override
  public void published(PolicyVersion version) {
    last.set(version);
  }

  @Override
  public void idle() {
    PolicyVersion v = last.get();
    if (v != null
        && (v.getStatus() == ModelStatus.REJECTED
            || SftContinuation.verdict(v.getMetrics(), sft) != SftContinuation.Verdict.CONTINUE)) {
      idle.countDown();
    }
  }
}
