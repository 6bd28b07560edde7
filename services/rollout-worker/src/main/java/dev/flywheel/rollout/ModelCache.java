package dev.flywheel.rollout;

import ai.djl.ndarray.NDManager;
import dev.flywheel.model.LoadedModel;
import dev.flywheel.model.LocalArtifactStore;
import dev.flywheel.model.ModelArtifacts;
import java.io.IOException;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Models a worker has loaded, by artifact SHA-256, least recently used evicted (and closed) beyond
 * {@code capacity}. Every load verifies the artifact against the SHA-256 the request names ({@link
 * ModelArtifacts#load}), and only {@code file:} URIs below the shared artifact root are read.
 * Single-threaded (the worker's loop).
 */
final class ModelCache implements AutoCloseable {

  private final LocalArtifactStore store;
  private final NDManager manager;
  private final int capacity;
  private final LinkedHashMap<String, LoadedModel> loaded = new LinkedHashMap<>(16, 0.75f, true);

  ModelCache(LocalArtifactStore store, NDManager manager, int capacity) {
    if (capacity < 2) {
      throw new IllegalArgumentException(
          "cached-models must be >= 2 (a policy and a reward model)");
    }
    this.store = store;
    this.manager = manager;
    this.capacity = capacity;
  }

  /** Whether the artifact with this SHA-256 is loaded already. */
  boolean contains(String sha256) {
    return loaded.containsKey(sha256);
  }

  /**
   * The artifact at {@code uri}, verified against {@code sha256}.
   *
   * @throws IOException when it is missing, outside the artifact root, or its checksum differs
   */
  LoadedModel get(String uri, String sha256) throws IOException {
    LoadedModel model = loaded.get(sha256);
    if (model != null) {
      return model;
    }
    URI u = URI.create(uri);
    if (!store.supports(u)) {
      throw new IOException("artifact " + uri + " is not below the artifact root " + store.root());
    }
    model = ModelArtifacts.load(store.resolve(u), sha256, manager);
    loaded.put(sha256, model);
    while (loaded.size() > capacity) {
      Map.Entry<String, LoadedModel> eldest = loaded.entrySet().iterator().next();
      loaded.remove(eldest.getKey());
      eldest.getValue().close();
    }
    return model;
  }

  @Override
  public void close() {
    loaded.values().forEach(LoadedModel::close);
    loaded.clear();
  }
}
