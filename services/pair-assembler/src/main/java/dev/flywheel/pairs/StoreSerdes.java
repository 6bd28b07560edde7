package dev.flywheel.pairs;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Serdes of the internal state (stores, their changelogs, the task-totals repartition topic). Small
 * versioned binary formats, not registered: nobody outside this application reads them. Event
 * payloads inside them (transcripts, rankings) stay in the Confluent wire format, so they are read
 * with the registry's schema resolution whatever schema version wrote them.
 */
final class StoreSerdes {

  private static final byte VERSION = 1;

  private StoreSerdes() {}

  interface Writer<T> {
    void write(DataOutputStream out, T value) throws IOException;
  }

  interface Reader<T> {
    T read(DataInputStream in) throws IOException;
  }

  static <T> Serde<T> serde(Writer<T> writer, Reader<T> reader) {
    Serializer<T> serializer =
        (topic, value) -> {
          if (value == null) {
            return null;
          }
          ByteArrayOutputStream bytes = new ByteArrayOutputStream(128);
          try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(VERSION);
            writer.write(out, value);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
          return bytes.toByteArray();
        };
    Deserializer<T> deserializer =
        (topic, data) -> {
          if (data == null) {
            return null;
          }
          try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(data))) {
            byte version = in.readByte();
            if (version != VERSION) {
              throw new IllegalStateException("unknown state format version " + version);
            }
            return reader.read(in);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        };
    return Serdes.serdeFrom(serializer, deserializer);
  }

  static void writeBytes(DataOutputStream out, byte[] bytes) throws IOException {
    if (bytes == null) {
      out.writeInt(-1);
    } else {
      out.writeInt(bytes.length);
      out.write(bytes);
    }
  }

  static byte[] readBytes(DataInputStream in) throws IOException {
    int length = in.readInt();
    if (length < 0) {
      return null;
    }
    return in.readNBytes(length);
  }

  /** A record's coordinates and raw bytes (held transcripts and pending rankings). */
  static Serde<SourceRef> sourceRef() {
    return serde(
        (out, s) -> {
          out.writeUTF(s.topic());
          out.writeInt(s.partition());
          out.writeLong(s.offset());
          out.writeLong(s.timestamp());
          writeBytes(out, s.rawKey());
          writeBytes(out, s.rawValue());
        },
        in ->
            new SourceRef(
                in.readUTF(),
                in.readInt(),
                in.readLong(),
                in.readLong(),
                readBytes(in),
                readBytes(in)));
  }

  /** The earlier judgements of one transcript (agreement store). */
  static Serde<List<Agreement.Judgement>> judgements() {
    return serde(
        (out, list) -> {
          out.writeInt(list.size());
          for (Agreement.Judgement j : list) {
            out.writeUTF(j.rankingId());
            out.writeUTF(j.annotatorId());
            out.writeInt(j.tierOf().size());
            for (Map.Entry<String, Integer> e : j.tierOf().entrySet()) {
              out.writeUTF(e.getKey());
              out.writeInt(e.getValue());
            }
          }
        },
        in -> {
          int n = in.readInt();
          List<Agreement.Judgement> list = new ArrayList<>(n);
          for (int i = 0; i < n; i++) {
            String rankingId = in.readUTF();
            String annotatorId = in.readUTF();
            int m = in.readInt();
            Map<String, Integer> tierOf = new LinkedHashMap<>();
            for (int k = 0; k < m; k++) {
              tierOf.put(in.readUTF(), in.readInt());
            }
            list.add(new Agreement.Judgement(rankingId, annotatorId, tierOf));
          }
          return list;
        });
  }

  /** Named counts (the per-task counter store and the task-totals topic). */
  static Serde<Counters> counters() {
    return serde(
        (out, c) -> {
          Map<String, Long> values = c.asMap();
          out.writeInt(values.size());
          for (Map.Entry<String, Long> e : values.entrySet()) {
            out.writeUTF(e.getKey());
            out.writeLong(e.getValue());
          }
        },
        in -> {
          int n = in.readInt();
          TreeMap<String, Long> values = new TreeMap<>();
          for (int i = 0; i < n; i++) {
            values.put(in.readUTF(), in.readLong());
          }
          return new Counters(values);
        });
  }
}
