package dev.flywheel.schemas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;

class SchemaEvolutionTest {

  private static Schema parse(String json) {
    return new Schema.Parser().parse(json);
  }

  private static final String V1 =
      """
      {"type":"record","name":"R","namespace":"t","fields":[{"name":"a","type":"string"}]}""";

  @Test
  void addingAFieldWithADefaultIsBackwardCompatible() {
    Schema v2 =
        parse(
            """
        {"type":"record","name":"R","namespace":"t","fields":[{"name":"a","type":"string"},
         {"name":"b","type":["null","string"],"default":null}]}""");
    assertEquals(List.of(), SchemaEvolution.backwardIncompatibilities(v2, parse(V1)));
  }

  @Test
  void addingAFieldWithoutADefaultIsRejectedWithTheFieldNamed() {
    Schema v2 =
        parse(
            """
        {"type":"record","name":"R","namespace":"t","fields":[{"name":"a","type":"string"},
         {"name":"b","type":"string"}]}""");
    List<String> reasons = SchemaEvolution.backwardIncompatibilities(v2, parse(V1));
    assertEquals(1, reasons.size(), reasons.toString());
    assertTrue(reasons.get(0).contains("READER_FIELD_MISSING_DEFAULT_VALUE"), reasons.get(0));
    assertTrue(reasons.get(0).contains("b"), reasons.get(0));
  }

  @Test
  void changingAFieldTypeIsRejected() {
    Schema v2 =
        parse(
            """
        {"type":"record","name":"R","namespace":"t","fields":[{"name":"a","type":"int"}]}""");
    List<String> reasons = SchemaEvolution.backwardIncompatibilities(v2, parse(V1));
    assertTrue(reasons.get(0).contains("TYPE_MISMATCH"), reasons.toString());
  }

  @Test
  void parsesFilesThatReferenceEachOtherInAnyOrder() {
    Map<String, Schema> all =
        SchemaEvolution.parseAll(
            Map.of(
                "Outer.avsc",
                    """
            {"type":"record","name":"Outer","namespace":"t","fields":[{"name":"e","type":"E"}]}""",
                "E.avsc",
                    """
            {"type":"enum","name":"E","namespace":"t","symbols":["X"]}"""));
    assertEquals(Schema.Type.ENUM, all.get("t.Outer").getField("e").schema().getType());
  }
}
