package dev.flywheel.pairs;

import dev.flywheel.events.SourceOffset;

/**
 * Where an input record was read, with its raw bytes: everything a dead letter or a group's {@code
 * sourceOffsets} needs. For a record that went through the re-keying repartition topic these are
 * the coordinates of the ORIGINAL record, carried in headers.
 */
public record SourceRef(
    String topic, int partition, long offset, long timestamp, byte[] rawKey, byte[] rawValue) {

  public SourceOffset toSourceOffset() {
    return new SourceOffset(topic, partition, offset);
  }

  @Override
  public String toString() {
    return topic + "-" + partition + "@" + offset;
  }
}
