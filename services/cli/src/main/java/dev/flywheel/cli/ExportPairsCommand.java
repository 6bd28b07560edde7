package dev.flywheel.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.flywheel.events.ComparisonGroup;
import dev.flywheel.events.DataSplit;
import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.schemas.topics.Topics;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(
    name = "export-pairs",
    mixinStandardHelpOptions = true,
    description = {
      "Export comparison pairs as JSONL for TRL or OpenRLHF.",
      "Reads training.comparisons up to its current end offsets and writes one line per (chosen, rejected) "
          + "pair; ties give no pair. Partitions are read one after the other in offset order, so the same "
          + "topic contents always give the same file. Progress and a summary go to stderr."
    })
class ExportPairsCommand implements Callable<Integer> {

  /** Progress lines go to stderr at most this often. */
  static final Duration PROGRESS_EVERY = Duration.ofSeconds(2);

  @ParentCommand FlywheelCli cli;

  @Spec CommandSpec spec;

  @Option(
      names = "--format",
      required = true,
      paramLabel = "trl|openrlhf",
      description = {
        "trl: {\"prompt\",\"chosen\",\"rejected\"} strings (TRL standard preference format);",
        "openrlhf: prompt as chat messages, chosen/rejected as [assistant message] lists."
      })
  PairFormat.Name format;

  @Option(
      names = "--out",
      required = true,
      paramLabel = "FILE",
      description = "Output .jsonl file (replaced).")
  Path out;

  @Option(
      names = "--split",
      paramLabel = "train|eval",
      description = "Only groups of this split (default: all).")
  String split;

  @Option(
      names = "--chat",
      description = "trl only: conversational format (message lists) instead of strings.")
  boolean chat;

  @Option(
      names = "--include-metadata",
      description = "Add group_id, pair_weight, split, chosen_id, rejected_id to every line.")
  boolean includeMetadata;

  @Option(
      names = "--topic",
      paramLabel = "TOPIC",
      description = "Source topic (default: ${DEFAULT-VALUE}).")
  String topic = Topics.TRAINING_COMPARISONS.name();

  @Override
  public Integer call() throws IOException {
    PrintWriter err = spec.commandLine().getErr();
    DataSplit wanted = parseSplit(split);
    PairFormat formatter = new PairFormat(format, chat, includeMetadata);
    AvroDeserializer<ComparisonGroup> groups =
        new AvroDeserializer<>(
            new HttpSchemaRegistryClient(cli.schemaRegistryUrl()), ComparisonGroup.class);
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cli.bootstrapServers());
    props.put(
        ConsumerConfig.CLIENT_ID_CONFIG,
        "flywheel-cli-export-" + UUID.randomUUID().toString().substring(0, 8));
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 2000);

    Path target = out.toAbsolutePath();
    if (target.getParent() != null) {
      Files.createDirectories(target.getParent());
    }
    Path partial = target.resolveSibling(target.getFileName() + ".partial");
    long groupsRead = 0;
    long groupsExported = 0;
    long pairs = 0;
    long dropped = 0;
    long undecodable = 0;
    long started = System.nanoTime();
    long lastProgress = started;
    try (KafkaConsumer<byte[], byte[]> consumer =
            new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        BufferedWriter writer = Files.newBufferedWriter(partial, StandardCharsets.UTF_8)) {
      List<TopicPartition> partitions =
          TailCommand.partitions(consumer, topic, cli.bootstrapServers());
      consumer.assign(
          partitions); // before listing offsets: read_committed offsets update assigned partitions
      Map<TopicPartition, Long> begin =
          consumer.beginningOffsets(partitions, Duration.ofSeconds(30));
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions, Duration.ofSeconds(30));
      long total = 0;
      for (TopicPartition tp : partitions) {
        total += Math.max(0, end.get(tp) - begin.get(tp));
      }
      long done = 0;
      // one partition at a time, in offset order: the file does not depend on fetch timing
      consumer.seekToBeginning(partitions);
      consumer.pause(partitions);
      for (TopicPartition tp : partitions) {
        long until = end.get(tp);
        if (until <= begin.get(tp)) {
          continue;
        }
        consumer.resume(List.of(tp));
        while (consumer.position(tp, Duration.ofSeconds(30)) < until) {
          for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
            if (r.offset() >= until) {
              continue;
            }
            done++;
            ComparisonGroup group;
            try {
              group = groups.deserialize(r.topic(), r.value());
            } catch (RuntimeException e) {
              undecodable++;
              err.println(
                  "flywheel: skipping "
                      + r.topic()
                      + "-"
                      + r.partition()
                      + "@"
                      + r.offset()
                      + ": "
                      + e.getMessage());
              continue;
            }
            if (group == null) {
              continue;
            }
            groupsRead++;
            if (wanted != null && group.getSplit() != wanted) {
              continue;
            }
            PairFormat.Result result = formatter.lines(group);
            dropped += result.dropped();
            if (!result.lines().isEmpty()) {
              groupsExported++;
            }
            for (ObjectNode line : result.lines()) {
              writer.write(line.toString());
              writer.write('\n');
              pairs++;
            }
          }
          long now = System.nanoTime();
          if (now - lastProgress > PROGRESS_EVERY.toNanos()) {
            lastProgress = now;
            err.printf(
                Locale.ROOT,
                "flywheel: %d/%d records (%.0f%%), %d pairs so far%n",
                done,
                total,
                total == 0 ? 100.0 : 100.0 * done / total,
                pairs);
            err.flush();
          }
        }
        consumer.pause(List.of(tp));
      }
    } catch (UncheckedIOException e) {
      Files.deleteIfExists(partial);
      throw e.getCause();
    } catch (RuntimeException | IOException e) {
      Files.deleteIfExists(partial);
      throw e;
    }
    Files.move(
        partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    err.printf(
        Locale.ROOT,
        "flywheel: wrote %d %s pairs from %d of %d groups%s to %s in %.1f s%s%s%n",
        pairs,
        format,
        groupsExported,
        groupsRead,
        wanted == null ? "" : " (split " + wanted.name().toLowerCase(Locale.ROOT) + ")",
        target,
        (System.nanoTime() - started) / 1e9,
        dropped == 0 ? "" : "; dropped " + dropped + " tied or inconsistent pair(s)",
        undecodable == 0 ? "" : "; " + undecodable + " undecodable record(s) skipped");
    err.flush();
    return 0;
  }

  static DataSplit parseSplit(String split) {
    if (split == null) {
      return null;
    }
    return switch (split.toLowerCase(Locale.ROOT)) {
      case "train" -> DataSplit.TRAIN;
      case "eval" -> DataSplit.EVAL;
      default -> throw new CliException("--split must be train or eval, not " + split, 2);
    };
  }
}
