package dev.flywheel.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Base64;
import java.util.Collection;
import java.util.Map;
import org.apache.avro.LogicalType;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericEnumSymbol;
import org.apache.avro.generic.GenericFixed;
import org.apache.avro.generic.IndexedRecord;

/**
 * Avro values as plain JSON: records are objects, unions are their value (no {"type": value}
 * wrapper), enums are strings, bytes/fixed are base64, {@code timestamp-millis} is an ISO-8601
 * string.
 */
final class AvroJson {

  private static final JsonNodeFactory F = JsonNodeFactory.instance;

  private AvroJson() {}

  static JsonNode toJson(Object value, Schema schema) {
    if (value == null) {
      return F.nullNode();
    }
    switch (schema.getType()) {
      case UNION -> {
        int branch = GenericData.get().resolveUnion(schema, value);
        return toJson(value, schema.getTypes().get(branch));
      }
      case RECORD -> {
        IndexedRecord record = (IndexedRecord) value;
        ObjectNode node = F.objectNode();
        for (Schema.Field f : record.getSchema().getFields()) {
          node.set(f.name(), toJson(record.get(f.pos()), f.schema()));
        }
        return node;
      }
      case ARRAY -> {
        ArrayNode node = F.arrayNode();
        for (Object item : (Collection<?>) value) {
          node.add(toJson(item, schema.getElementType()));
        }
        return node;
      }
      case MAP -> {
        ObjectNode node = F.objectNode();
        for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
          node.set(e.getKey().toString(), toJson(e.getValue(), schema.getValueType()));
        }
        return node;
      }
      case ENUM -> {
        return F.textNode(
            value instanceof GenericEnumSymbol<?> s ? s.toString() : value.toString());
      }
      case STRING -> {
        return F.textNode(value.toString());
      }
      case BYTES -> {
        ByteBuffer buffer = ((ByteBuffer) value).duplicate();
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        return F.textNode(Base64.getEncoder().encodeToString(bytes));
      }
      case FIXED -> {
        return F.textNode(Base64.getEncoder().encodeToString(((GenericFixed) value).bytes()));
      }
      case INT -> {
        return F.numberNode(((Number) value).intValue());
      }
      case LONG -> {
        LogicalType logical = schema.getLogicalType();
        long v = value instanceof Instant i ? i.toEpochMilli() : ((Number) value).longValue();
        if (logical instanceof LogicalTypes.TimestampMillis) {
          return F.textNode(Instant.ofEpochMilli(v).toString());
        }
        return F.numberNode(v);
      }
      case FLOAT, DOUBLE -> {
        double d = ((Number) value).doubleValue();
        return Double.isFinite(d) ? F.numberNode(d) : F.textNode(Double.toString(d));
      }
      case BOOLEAN -> {
        return F.booleanNode((Boolean) value);
      }
      case NULL -> {
        return F.nullNode();
      }
      default -> {
        return F.textNode(value.toString());
      }
    }
  }
}
