package dev.flywheel.modelregistry.api;

import dev.flywheel.events.ModelKind;
import dev.flywheel.events.PolicyStage;
import dev.flywheel.modelregistry.api.Views.VersionView;
import dev.flywheel.modelregistry.state.ModelState;
import dev.flywheel.modelregistry.state.VersionEntry;
import io.micronaut.serde.annotation.Serdeable;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Walks the lineage of a version through the materialised state. */
public final class Lineage {

  private Lineage() {}

  /**
   * Lineage of a policy version.
   *
   * @param policy the version asked about
   * @param rewardModel the reward model it optimised (PPO), null for SFT or when unknown
   * @param rewardModelChain that reward model, its parent, its parent's parent... (first =
   *     rewardModel), each with its comparison-data offset ranges
   * @param policyAncestors every policy it descends from, breadth first, down to the SFT root(s)
   * @param sftRoots versions of the SFT roots reached (stage SFT, no parents)
   * @param missing versions referenced but not (or no longer) in the registry, e.g. {@code reward
   *     4}
   */
  @Serdeable
  public record PolicyLineage(
      VersionView policy,
      VersionView rewardModel,
      List<VersionView> rewardModelChain,
      List<VersionView> policyAncestors,
      List<Long> sftRoots,
      List<String> missing) {}

  /** Lineage of a reward model: itself then its warm-start parents, oldest last. */
  @Serdeable
  public record RewardLineage(
      VersionView rewardModel, List<VersionView> chain, List<String> missing) {}

  public static Optional<PolicyLineage> policy(ModelState state, long version) {
    Optional<VersionEntry> start = state.version(ModelKind.POLICY, version);
    if (start.isEmpty()) {
      return Optional.empty();
    }
    List<String> missing = new ArrayList<>();
    VersionEntry policy = start.get();

    List<VersionView> ancestors = new ArrayList<>();
    List<Long> roots = new ArrayList<>();
    Set<Long> seen = new LinkedHashSet<>();
    seen.add(policy.version());
    Deque<Long> queue = new ArrayDeque<>(policy.parentVersions());
    if (isRoot(policy)) {
      roots.add(policy.version());
    }
    while (!queue.isEmpty()) {
      long v = queue.removeFirst();
      if (!seen.add(v)) {
        continue;
      }
      Optional<VersionEntry> e = state.version(ModelKind.POLICY, v);
      if (e.isEmpty()) {
        missing.add("policy " + v);
        continue;
      }
      ancestors.add(Views.version(e.get(), state));
      if (isRoot(e.get())) {
        roots.add(v);
      }
      queue.addAll(e.get().parentVersions());
    }

    VersionView rewardModel = null;
    List<VersionView> rmChain = List.of();
    if (policy.rewardModelVersion() != null) {
      RewardLineage rl = reward(state, policy.rewardModelVersion(), missing);
      rewardModel = rl.rewardModel();
      rmChain = rl.chain();
    }
    return Optional.of(
        new PolicyLineage(
            Views.version(policy, state), rewardModel, rmChain, ancestors, roots, missing));
  }

  public static Optional<RewardLineage> reward(ModelState state, long version) {
    if (state.version(ModelKind.REWARD, version).isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(reward(state, version, new ArrayList<>()));
  }

  private static RewardLineage reward(ModelState state, long version, List<String> missing) {
    List<VersionView> chain = new ArrayList<>();
    Set<Long> seen = new LinkedHashSet<>();
    Long next = version;
    while (next != null && seen.add(next)) {
      Optional<VersionEntry> e = state.version(ModelKind.REWARD, next);
      if (e.isEmpty()) {
        missing.add("reward " + next);
        break;
      }
      chain.add(Views.version(e.get(), state));
      next = e.get().parentVersion();
    }
    return new RewardLineage(chain.isEmpty() ? null : chain.get(0), chain, missing);
  }

  private static boolean isRoot(VersionEntry e) {
    return e.stage() == PolicyStage.SFT && e.parentVersions().isEmpty();
  }
}
