package dev.flywheel.trainerkit;

import static dev.flywheel.schemas.support.FileTrees.deleteRecursively;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Atomic checkpoint directories under one root: {@code root/checkpoint-<sequence>/} with a small
 * JSON {@code state.json} (round, step, version, input offsets, free-form extras) plus whatever
 * files the caller writes (model parameters, ...).
 *
 * <p>{@link #save} writes everything into a hidden temporary directory, fsyncs every file and the
 * directory, renames it into place atomically and fsyncs the root: after a crash a checkpoint
 * directory is either complete or absent. Leftover temporary directories are deleted when a {@code
 * Checkpoints} is created. {@link #latest()} returns the complete checkpoint with the highest
 * sequence; {@link #prune} keeps the newest {@code keep}. One writer per root.
 */
public final class Checkpoints {

  private static final Logger LOG = LoggerFactory.getLogger(Checkpoints.class);
  public static final String STATE_FILE = "state.json";
  private static final ObjectMapper JSON =
      new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
  private static final Pattern NAME = Pattern.compile("checkpoint-(\\d{12})");
  private static final String TMP_PREFIX = ".tmp-checkpoint-";

  /** Next offset to consume of one input partition. */
  public record PartitionOffset(String topic, int partition, long offset) {}

  /**
   * What {@code state.json} holds.
   *
   * @param round training round the checkpoint belongs to
   * @param step optimizer steps done in that round
   * @param version version being trained, or the last one published (caller's convention), or null
   * @param offsets next offset to consume per input partition
   * @param extra free-form key/values (e.g. the round's end offsets, a parent version)
   * @param createdAtEpochMs when it was written
   */
  public record State(
      long round,
      long step,
      Long version,
      List<PartitionOffset> offsets,
      Map<String, String> extra,
      long createdAtEpochMs) {

    public State {
      offsets = offsets == null ? List.of() : List.copyOf(offsets);
      extra = extra == null ? Map.of() : Map.copyOf(extra);
    }

    public State(
        long round,
        long step,
        Long version,
        Map<TopicPartition, Long> offsets,
        Map<String, String> extra) {
      this(round, step, version, toList(offsets), extra, System.currentTimeMillis());
    }

    /** Offsets as a map (the form a consumer {@code seek}s with). */
    public Map<TopicPartition, Long> offsetMap() {
      Map<TopicPartition, Long> out = new LinkedHashMap<>();
      for (PartitionOffset o : offsets) {
        out.put(new TopicPartition(o.topic(), o.partition()), o.offset());
      }
      return out;
    }

    private static List<PartitionOffset> toList(Map<TopicPartition, Long> offsets) {
      List<PartitionOffset> out = new ArrayList<>();
      offsets.entrySet().stream()
          .sorted(
              Comparator.comparing((Map.Entry<TopicPartition, Long> e) -> e.getKey().topic())
                  .thenComparingInt(e -> e.getKey().partition()))
          .forEach(
              e ->
                  out.add(
                      new PartitionOffset(
                          e.getKey().topic(), e.getKey().partition(), e.getValue())));
      return out;
    }
  }

  /** A complete checkpoint on disk. */
  public record Checkpoint(Path directory, long sequence, State state) {
    /** A file the caller saved into the checkpoint. */
    public Path file(String name) {
      return directory.resolve(name);
    }
  }

  /** Writes the caller's files into the (temporary) checkpoint directory. */
  @FunctionalInterface
  public interface Writer {
    void write(Path directory) throws IOException;
  }

  private final Path root;
  private final int keep;

  /**
   * @param root directory holding the checkpoints (created if missing)
   * @param keep how many checkpoints {@link #prune} keeps (at least 1)
   */
  public Checkpoints(Path root, int keep) throws IOException {
    if (keep < 1) {
      throw new IllegalArgumentException("keep must be >= 1");
    }
    this.root = Files.createDirectories(root);
    this.keep = keep;
    try (Stream<Path> listing = Files.list(root)) {
      for (Path p :
          listing.filter(p -> p.getFileName().toString().startsWith(TMP_PREFIX)).toList()) {
        LOG.info("deleting incomplete checkpoint {}", p);
        deleteRecursively(p);
      }
    }
  }

  public Path root() {
    return root;
  }

  /** Writes a new checkpoint (state plus the caller's files) atomically, then prunes old ones. */
  public Checkpoint save(State state, Writer files) throws IOException {
    Objects.requireNonNull(state, "state");
    long sequence = list().stream().mapToLong(Checkpoint::sequence).max().orElse(0) + 1;
    Path target = root.resolve(String.format("checkpoint-%012d", sequence));
    Path staging = root.resolve(TMP_PREFIX + UUID.randomUUID());
    Files.createDirectory(staging);
    try {
      if (files != null) {
        files.write(staging);
      }
      Files.writeString(
          staging.resolve(STATE_FILE),
          JSON.writerWithDefaultPrettyPrinter().writeValueAsString(state),
          StandardCharsets.UTF_8);
      try (Stream<Path> walk = Files.walk(staging)) {
        for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
          fsync(p);
        }
      }
      try {
        Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(staging, target);
      }
      fsync(root);
    } finally {
      deleteRecursively(staging);
    }
    prune();
    return new Checkpoint(target, sequence, state);
  }

  /** A checkpoint with only a state file. */
  public Checkpoint save(State state) throws IOException {
    return save(state, null);
  }

  /** The complete checkpoint with the highest sequence, if any. */
  public Optional<Checkpoint> latest() {
    List<Checkpoint> all = list();
    return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
  }

  /** Every readable checkpoint, oldest first. Unreadable ones are logged and skipped. */
  public List<Checkpoint> list() {
    List<Checkpoint> out = new ArrayList<>();
    try (Stream<Path> listing = Files.list(root)) {
      for (Path dir : listing.sorted().toList()) {
        Matcher m = NAME.matcher(dir.getFileName().toString());
        if (!m.matches() || !Files.isDirectory(dir)) {
          continue;
        }
        try {
          State state =
              JSON.readValue(
                  Files.readString(dir.resolve(STATE_FILE), StandardCharsets.UTF_8), State.class);
          if (state == null) {
            throw new IOException("empty " + STATE_FILE);
          }
          out.add(new Checkpoint(dir, Long.parseLong(m.group(1)), state));
        } catch (IOException e) { // JsonProcessingException included
          LOG.warn("skipping unreadable checkpoint {}: {}", dir, e.toString());
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /** Deletes all but the newest {@code keep} checkpoints; returns how many were deleted. */
  public int prune() throws IOException {
    List<Checkpoint> all = list();
    int excess = all.size() - keep;
    for (int i = 0; i < excess; i++) {
      deleteRecursively(all.get(i).directory());
    }
    return Math.max(excess, 0);
  }

  /** Deletes every checkpoint (e.g. once its round is published and nothing is left to resume). */
  public void clear() throws IOException {
    for (Checkpoint c : list()) {
      deleteRecursively(c.directory());
    }
  }

  private static void fsync(Path path) throws IOException {
    boolean dir = Files.isDirectory(path);
    try (FileChannel channel =
        FileChannel.open(path, dir ? StandardOpenOption.READ : StandardOpenOption.WRITE)) {
      channel.force(true);
    } catch (IOException e) {
      if (!dir) {
        throw e;
      }
      // some file systems do not allow opening a directory; the rename is still atomic
    }
  }
}
