package dev.flywheel.local;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** The platform's services as the local launcher and the end-to-end tests run them. */
public enum FlywheelService {
  MODEL_REGISTRY("model-registry", "256m", 0, false),
  FEEDBACK_GATEWAY("feedback-gateway", "256m", 1, false),
  SERVING("serving", "512m", 2, true),
  PAIR_ASSEMBLER("pair-assembler", "256m", 3, false),
  REWARD_TRAINER("reward-trainer", "512m", 4, true),
  POLICY_TRAINER("policy-trainer", "768m", 5, true),
  /**
   * Started only when asked ({@code --rollout-workers N}): N processes, on the ports after the
   * policy trainer's.
   */
  ROLLOUT_WORKER("rollout-worker", "384m", 6, true);

  /** The services a platform always runs (one process each). */
  public static final List<FlywheelService> CORE =
      List.of(
          MODEL_REGISTRY,
          FEEDBACK_GATEWAY,
          SERVING,
          PAIR_ASSEMBLER,
          REWARD_TRAINER,
          POLICY_TRAINER);

  /**
   * Every service's Micronaut liveness endpoint: answers 200 once the process serves HTTP
   * (readiness may wait for data, e.g. a first model).
   */
  public static final String LIVENESS_PATH = "/health/liveness";

  private final String module;
  private final String heap;
  private final int portOffset;
  private final boolean usesTorch;

  FlywheelService(String module, String heap, int portOffset, boolean usesTorch) {
    this.module = module;
    this.heap = heap;
    this.portOffset = portOffset;
    this.usesTorch = usesTorch;
  }

  /** Folder under {@code services/}. */
  public String module() {
    return module;
  }

  public String heap() {
    return heap;
  }

  public int portOffset() {
    return portOffset;
  }

  public boolean usesTorch() {
    return usesTorch;
  }

  /** The runnable jar built by {@code mvn package}: {@code services/<module>/target/*-all.jar}. */
  public Path jar(Path repoRoot) {
    Path target = repoRoot.resolve("services").resolve(module).resolve("target");
    try (Stream<Path> files = Files.exists(target) ? Files.list(target) : Stream.empty()) {
      return files
          .filter(p -> p.getFileName().toString().endsWith("-all.jar"))
          .findFirst()
          .orElse(target.resolve("flywheel-" + module + "-all.jar (not built)"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
