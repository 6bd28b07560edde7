package dev.flywheel.serving.versions;

import ai.djl.ndarray.NDManager;
import dev.flywheel.model.ArtifactIntegrityException;
import dev.flywheel.model.Devices;
import dev.flywheel.model.LoadedModel;
import dev.flywheel.model.ModelArtifacts;
import dev.flywheel.model.ModelKind;
import dev.flywheel.serving.ServingConfig;
import dev.flywheel.serving.engine.BatchObserver;
import dev.flywheel.serving.engine.ServedModel;
import dev.flywheel.serving.versions.ArtifactFetcher.UnsupportedArtifactException;
import io.micronaut.context.event.ApplicationEventPublisher;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the right policy versions loaded and publishes the {@link Routing} requests use.
 *
 * <p>After every change of the {@link VersionBook} (applied by the {@link VersionWatcher}) and
 * after every load, {@link #reconcile} selects the live version, the canary and the standbys,
 * starts loading what is missing (one background thread: fetch, verify the SHA-256, load, warm up),
 * and swaps in a new routing snapshot. A version becomes routable only once it is loaded and warm;
 * until then the previous live model keeps answering. Models no longer selected are retired:
 * admission stops at once, their queued requests still finish on them, and their memory is freed
 * after that.
 *
 * <p>A version whose artifact fails verification or loading is refused ({@link ArtifactRejected}
 * event, metric, log) and skipped by the selection, so the previous version keeps serving; a new
 * record for the version with another artifact clears the refusal. Fetch failures that may be
 * transient are retried after {@code load-retry-backoff}.
 */
@Singleton
public class ModelManager implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ModelManager.class);

  /** A refused artifact. */
  private record Failure(String uri, String sha256, boolean permanent, long retryAtMillis) {
    boolean sameArtifact(VersionBook.Entry e) {
      return Objects.equals(uri, e.artifactUri()) && Objects.equals(sha256, e.artifactSha256());
    }
  }

  private final ServingConfig config;
  private final ArtifactFetchers fetchers;
  private final BatchObserver observer;
  private final LoadListener listener;
  private final ApplicationEventPublisher<ArtifactRejected> rejections;
  private final VersionBook book = new VersionBook();
  private final ExecutorService loader = Executors.newSingleThreadExecutor(daemon("model-loader"));
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(daemon("model-retry"));
  private final Map<Long, ServedModel> ready = new HashMap<>();
  private final Map<Long, String> loading = new HashMap<>();
  private final Map<Long, Failure> failures = new HashMap<>();
  private final List<ServedModel> retiring = new ArrayList<>();
  private NDManager root;
  private boolean caughtUp;
  private boolean closed;
  private volatile Routing routing = Routing.EMPTY;

  /** Told about loads (metrics). */
  public interface LoadListener {
    LoadListener NONE = new LoadListener() {};

    default void loaded(long version, long nanos) {}

    default void refused(long version, String errorType) {}

    default void routingChanged(Routing routing) {}
  }

  public ModelManager(
      ServingConfig config,
      ArtifactFetchers fetchers,
      BatchObserver observer,
      LoadListener listener,
      ApplicationEventPublisher<ArtifactRejected> rejections) {
    this.config = config;
    this.fetchers = fetchers;
    this.observer = observer;
    this.listener = listener;
    this.rejections = rejections;
  }

  public VersionBook book() {
    return book;
  }

  /** The current snapshot; never null. */
  public Routing routing() {
    return routing;
  }

  /** The versions topic has been replayed to its end: start selecting and loading. */
  public synchronized void caughtUp() {
    caughtUp = true;
    reconcile();
  }

  /** Re-evaluates what should be loaded and serving; call after changing the {@link #book()}. */
  public synchronized void reconcile() {
    if (!caughtUp || closed) {
      return;
    }
    long now = System.currentTimeMillis();
    VersionBook.Selection selection = book.select(e -> usable(e, now), config.getKeepPrevious());

    List<VersionBook.Entry> wanted = new ArrayList<>();
    if (selection.live() != null) {
      wanted.add(selection.live());
    }
    if (selection.canary() != null) {
      wanted.add(selection.canary());
    }
    wanted.addAll(selection.standby());
    for (VersionBook.Entry entry : wanted) {
      if (readyFor(entry) == null && !entry.artifactSha256().equals(loading.get(entry.version()))) {
        startLoad(entry);
      }
    }

    ServedModel live = null;
    if (selection.live() != null) {
      live = readyFor(selection.live());
      if (live == null && routing.live() != null && ready.containsValue(routing.live())) {
        live =
            routing.live(); // keep answering with the previous live model until the new one is warm
      }
      for (int i = 0; live == null && i < selection.standby().size(); i++) {
        live =
            readyFor(
                selection
                    .standby()
                    .get(i)); // e.g. at start-up: an earlier LIVE version loaded first
      }
    }
    ServedModel canary = selection.canary() == null ? null : readyFor(selection.canary());
    Map<Long, ServedModel> served = new LinkedHashMap<>();
    if (live != null) {
      served.put(live.version(), live);
    }
    if (canary != null) {
      served.put(canary.version(), canary);
    }
    for (VersionBook.Entry standby : selection.standby()) {
      ServedModel model = readyFor(standby);
      if (model != null) {
        served.put(model.version(), model);
      }
    }
    List<ServedModel> unused = new ArrayList<>();
    for (var it = ready.entrySet().iterator(); it.hasNext(); ) {
      ServedModel model = it.next().getValue();
      if (!served.containsValue(model)) {
        it.remove();
        unused.add(model);
      }
    }
    Routing previous = routing;
    routing = new Routing(live, canary, Map.copyOf(served), book.all(), true);
    // retire only after the new routing is visible: a request refused by a retired model (CLOSED)
    // then
    // finds its replacement when it routes again
    unused.forEach(this::retire);
    if (previous.live() != live
        || previous.canary() != canary
        || !previous.served().equals(routing.served())) {
      LOG.info("serving: live={} canary={} loaded={}", live, canary, served.keySet());
    }
    listener.routingChanged(routing);
  }

  private boolean usable(VersionBook.Entry entry, long now) {
    Failure failure = failures.get(entry.version());
    if (failure == null) {
      return true;
    }
    if (!failure.sameArtifact(entry)) {
      failures.remove(entry.version()); // a new record with another artifact: try again
      return true;
    }
    return !failure.permanent() && now >= failure.retryAtMillis();
  }

  private ServedModel readyFor(VersionBook.Entry entry) {
    ServedModel model = ready.get(entry.version());
    return model != null && model.sha256().equalsIgnoreCase(entry.artifactSha256()) ? model : null;
  }

  private void startLoad(VersionBook.Entry entry) {
    loading.put(entry.version(), entry.artifactSha256());
    LOG.info("loading policy version {} from {}", entry.version(), entry.artifactUri());
    loader.execute(() -> load(entry));
  }

  private void load(VersionBook.Entry entry) {
    long start = System.nanoTime();
    Path dir;
    try {
      dir = fetchers.fetch(entry.artifactUri(), entry.artifactSha256());
    } catch (UnsupportedArtifactException e) {
      failed(entry, "ARTIFACT_UNSUPPORTED", e.getMessage(), true);
      return;
    } catch (IOException | RuntimeException e) {
      failed(entry, "ARTIFACT_UNAVAILABLE", e.toString(), false);
      return;
    }
    ServedModel model = null;
    try {
      LoadedModel loaded = ModelArtifacts.load(dir, entry.artifactSha256(), root());
      if (loaded.kind() != ModelKind.POLICY) {
        loaded.close();
        failed(
            entry,
            "ARTIFACT_UNSUPPORTED",
            "artifact holds a " + loaded.kind() + " model, not a policy",
            true);
        return;
      }
      model = new ServedModel(entry.record(), loaded, config.workerSettings(), observer).start();
      model.ready().get(5, TimeUnit.MINUTES);
      loaded(entry, model, System.nanoTime() - start);
    } catch (ArtifactIntegrityException e) {
      failed(entry, "ARTIFACT_INTEGRITY", e.getMessage(), true);
    } catch (Exception e) {
      if (model != null) {
        model.retire();
      }
      failed(entry, "ARTIFACT_INVALID", e.toString(), true);
    }
  }

  private synchronized NDManager root() {
    if (root == null) {
      root = Devices.newManager(config.getDevice());
      LOG.info("models run on {}", root.getDevice());
    }
    return root;
  }

  private synchronized void loaded(VersionBook.Entry entry, ServedModel model, long nanos) {
    loading.remove(entry.version());
    if (closed) {
      model.retire();
      return;
    }
    ServedModel old = ready.put(entry.version(), model);
    LOG.info(
        "policy version {} loaded and warm in {} ms (sha256 {})",
        entry.version(),
        nanos / 1_000_000,
        model.sha256());
    listener.loaded(entry.version(), nanos);
    reconcile();
    if (old != null) {
      retire(old); // the same version with another artifact: replaced in the routing by now
    }
  }

  private synchronized void failed(
      VersionBook.Entry entry, String errorType, String reason, boolean permanent) {
    loading.remove(entry.version());
    long retryAt = System.currentTimeMillis() + config.getLoadRetryBackoff().toMillis();
    failures.put(
        entry.version(),
        new Failure(entry.artifactUri(), entry.artifactSha256(), permanent, retryAt));
    LOG.error(
        "REFUSED policy version {} ({}{}): {}",
        entry.version(),
        errorType,
        permanent ? "" : ", retrying in " + config.getLoadRetryBackoff(),
        reason);
    listener.refused(entry.version(), errorType);
    try {
      rejections.publishEvent(new ArtifactRejected(entry, errorType, reason, permanent));
    } catch (RuntimeException e) {
      LOG.warn("could not report the refused artifact of version {}", entry.version(), e);
    }
    if (!permanent && !closed) {
      timer.schedule(
          this::reconcile, config.getLoadRetryBackoff().toMillis() + 10, TimeUnit.MILLISECONDS);
    }
    reconcile();
  }

  private void retire(ServedModel model) {
    retiring.add(model);
    model
        .retire()
        .whenComplete(
            (v, e) -> {
              synchronized (this) {
                retiring.remove(model);
              }
            });
  }

  /** Every model loaded now, serving or draining (for tests and health). */
  public synchronized List<ServedModel> loadedModels() {
    List<ServedModel> all = new ArrayList<>(ready.values());
    all.addAll(retiring);
    return all;
  }

  @Override
  @PreDestroy
  public void close() {
    List<CompletableFuture<Void>> closing = new ArrayList<>();
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      routing = Routing.EMPTY;
      for (ServedModel model : ready.values()) {
        closing.add(model.retire());
      }
      for (ServedModel model : retiring) {
        closing.add(model.closed());
      }
      ready.clear();
    }
    loader.shutdownNow();
    timer.shutdownNow();
    try {
      CompletableFuture.allOf(closing.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
      loader.awaitTermination(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.warn("models did not close in time: {}", e.toString());
    }
    synchronized (this) {
      if (root != null) {
        root.close();
        root = null;
      }
    }
  }

  static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }
}
