package dev.flywheel.simulator;

import java.util.ArrayList;
import java.util.List;

/**
 * A pool of synthetic labelers with one noise level and distinct seeds. Each item (candidate set)
 * is ranked by one labeler of the pool, chosen by hash of the item key. The TRAINING and HELD_OUT
 * pools of one simulator seed never share a labeler seed.
 */
public final class LabelerPool {

  /** Labelers per pool by default. */
  public static final int DEFAULT_SIZE = 5;

  private final SyntheticLabeler.Pool pool;
  private final List<SyntheticLabeler> labelers;

  public LabelerPool(SyntheticLabeler.Pool pool, int size, double sigma, long seed) {
    if (size < 1) {
      throw new IllegalArgumentException("a pool needs at least one labeler");
    }
    this.pool = pool;
    long poolSeed = SyntheticLabeler.mix(seed, 0x1000 + pool.ordinal());
    List<SyntheticLabeler> list = new ArrayList<>(size);
    for (int i = 0; i < size; i++) {
      list.add(
          new SyntheticLabeler(
              pool.idPrefix() + i, pool, sigma, SyntheticLabeler.mix(poolSeed, i)));
    }
    this.labelers = List.copyOf(list);
  }

  public SyntheticLabeler.Pool pool() {
    return pool;
  }

  public double sigma() {
    return labelers.get(0).sigma();
  }

  public List<SyntheticLabeler> labelers() {
    return labelers;
  }

  /** The labeler that ranks this item. */
  public SyntheticLabeler forItem(String itemKey) {
    long h = SyntheticLabeler.mix(SyntheticLabeler.hash64(itemKey), pool.ordinal());
    return labelers.get((int) Math.floorMod(h, (long) labelers.size()));
  }
}
