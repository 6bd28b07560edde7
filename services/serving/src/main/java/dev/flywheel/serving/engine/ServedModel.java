package dev.flywheel.serving.engine;

import dev.flywheel.events.PolicyVersion;
import dev.flywheel.model.ChatTemplate;
import dev.flywheel.model.LoadedModel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A loaded policy version with its decode worker. Requests hold on to the instance they were
 * admitted to: {@link #retire()} stops admission, lets the worker finish every queued job, and only
 * then frees the model's parameters — a swap never cuts a request off.
 */
public final class ServedModel {

  private static final Logger LOG = LoggerFactory.getLogger(ServedModel.class);

  private final long version;
  private final PolicyVersion record;
  private final LoadedModel loaded;
  private final ChatTemplate template;
  private final DecodeWorker worker;
  private final long loadedAtMillis = System.currentTimeMillis();
  private final AtomicBoolean retired = new AtomicBoolean();
  private final CompletableFuture<Void> closed = new CompletableFuture<>();

  public ServedModel(
      PolicyVersion record,
      LoadedModel loaded,
      DecodeWorker.Settings settings,
      BatchObserver observer) {
    this.version = record.getVersion();
    this.record = record;
    this.loaded = loaded;
    this.template = new ChatTemplate(loaded.tokenizer());
    this.worker = new DecodeWorker(name(version), loaded.policy(), settings, observer);
  }

  /** The public model id of a version: {@code policy-v7}. */
  public static String name(long version) {
    return "policy-v" + version;
  }

  public ServedModel start() {
    worker.start();
    return this;
  }

  /** Completes once the worker has warmed up and accepts jobs. */
  public CompletableFuture<Void> ready() {
    return worker.ready();
  }

  public long version() {
    return version;
  }

  public String name() {
    return name(version);
  }

  public PolicyVersion record() {
    return record;
  }

  public String sha256() {
    return loaded.sha256();
  }

  public ChatTemplate template() {
    return template;
  }

  public int contextLength() {
    return worker.contextLength();
  }

  public long loadedAtMillis() {
    return loadedAtMillis;
  }

  public DecodeWorker.Admission submit(DecodeJob job) {
    return worker.submit(job);
  }

  public int queuedRows() {
    return worker.queuedRows();
  }

  public int pendingRows() {
    return worker.pendingRows();
  }

  public boolean retired() {
    return retired.get();
  }

  /** Completes when the model's memory has been freed. */
  public CompletableFuture<Void> closed() {
    return closed;
  }

  /** Stops admission; the model is closed once its queued and running jobs are done. */
  public CompletableFuture<Void> retire() {
    if (retired.compareAndSet(false, true)) {
      LOG.info("retiring {}: {} rows still pending", name(), worker.pendingRows());
      worker
          .shutdown()
          .whenComplete(
              (v, e) -> {
                try {
                  loaded.close();
                  LOG.info("{} closed", name());
                } finally {
                  closed.complete(null);
                }
              });
    }
    return closed;
  }

  @Override
  public String toString() {
    return name();
  }
}
