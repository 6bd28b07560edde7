package dev.flywheel.schemas;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.AvroTypeException;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.SchemaCompatibility.SchemaPairCompatibility;
import org.apache.avro.SchemaParseException;

/**
 * Schema evolution rules for the contracts. BACKWARD: a consumer on the new schema must read every
 * record written with an old one (feedback topics keep data forever, so trainers replay old
 * records).
 */
public final class SchemaEvolution {

  private SchemaEvolution() {}

  /**
   * Why {@code newer} cannot read data written with {@code older}, or an empty list when it can.
   */
  public static List<String> backwardIncompatibilities(Schema newer, Schema older) {
    SchemaPairCompatibility result =
        SchemaCompatibility.checkReaderWriterCompatibility(newer, older);
    if (result.getType() == SchemaCompatibilityType.COMPATIBLE) {
      return List.of();
    }
    List<String> reasons = new ArrayList<>();
    for (SchemaCompatibility.Incompatibility incompatibility :
        result.getResult().getIncompatibilities()) {
      reasons.add(
          incompatibility.getType()
              + " at "
              + incompatibility.getLocation()
              + ": "
              + incompatibility.getMessage());
    }
    if (reasons.isEmpty()) {
      reasons.add(result.getDescription());
    }
    return reasons;
  }

  /**
   * Parses a set of {@code .avsc} texts that may reference each other by name, in whatever order
   * they come (a file is retried once the names it uses are defined). Returns every named schema by
   * full name.
   */
  public static Map<String, Schema> parseAll(Map<String, String> avscByFileName) {
    List<String> order = new ArrayList<>(avscByFileName.keySet());
    // A failed parse can leave a parser half-updated, so each attempt starts afresh; a file that
    // uses
    // a name not yet defined moves to the end. n files need at most n*n attempts.
    for (int attempt = 0; attempt <= order.size() * order.size(); attempt++) {
      Schema.Parser parser = new Schema.Parser();
      String failed = null;
      String failure = null;
      for (String file : order) {
        try {
          parser.parse(avscByFileName.get(file));
        } catch (SchemaParseException | AvroTypeException e) {
          failed = file;
          failure = e.getMessage();
          break;
        }
      }
      if (failed == null) {
        return new LinkedHashMap<>(parser.getTypes());
      }
      order.remove(failed);
      order.add(failed);
      if (attempt == order.size() * order.size()) {
        throw new SchemaParseException("cannot parse " + failed + ": " + failure);
      }
    }
    throw new IllegalStateException("unreachable");
  }
}
