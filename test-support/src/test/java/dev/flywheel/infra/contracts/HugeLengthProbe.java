package dev.flywheel.infra.contracts;

import dev.flywheel.events.Demonstration;
import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.schemas.serde.AvroSerdeException;
import java.util.HexFormat;

/**
 * Run in a forked JVM by {@link HugeLengthPrefixTest}: deserializes one record (hex, argument 2) as
 * a Demonstration against the registry at argument 1 and prints what a consumer would do with it.
 */
public final class HugeLengthProbe {

  private HugeLengthProbe() {}

  public static void main(String[] args) {
    AvroDeserializer<Demonstration> deserializer =
        new AvroDeserializer<>(new HttpSchemaRegistryClient(args[0]), Demonstration.class);
    try {
      Demonstration d =
          deserializer.deserialize("feedback.demonstrations", HexFormat.of().parseHex(args[1]));
      System.out.println("READ " + d.getEventId().length());
    } catch (AvroSerdeException e) {
      System.out.println("DEAD_LETTER " + e.problem() + ": " + e.getMessage());
    }
  }
}
