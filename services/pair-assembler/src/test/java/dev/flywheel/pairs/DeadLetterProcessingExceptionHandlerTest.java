package dev.flywheel.pairs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.flywheel.events.DeadLetter;
import dev.flywheel.schemas.schemaregistry.HttpSchemaRegistryClient;
import dev.flywheel.schemas.schemaregistry.InMemorySchemaRegistryClient;
import dev.flywheel.schemas.schemaregistry.SchemaRegistryClient;
import dev.flywheel.schemas.serde.AvroDeserializer;
import dev.flywheel.schemas.serde.AvroSerdeConfig;
import dev.flywheel.schemas.serde.AvroSerdeException;
import dev.flywheel.schemas.topics.Topics;
import dev.flywheel.testing.FlywheelInfra;
import dev.flywheel.testing.FlywheelInfraExtension;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProcessingExceptionHandler;
import org.apache.kafka.streams.processor.TaskId;
import org.apache.kafka.streams.processor.api.Record;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The handler as Kafka Streams configures it: on an in-memory registry (the client handed over in
 * the configuration, as the topology tests do), and once by URL on the real registry, as in
 * production.
 */
class DeadLetterProcessingExceptionHandlerTest {

  private static final byte[] KEY = "t-1".getBytes(StandardCharsets.UTF_8);
  private static final byte[] VALUE = {0, 0, 0, 0, 1, 2, 3};

  private static ErrorHandlerContext context() {
    return new ErrorHandlerContext() {
      public String topic() {
        return Topics.FEEDBACK_RANKINGS.name();
      }

      public int partition() {
        return 3;
      }

      public long offset() {
        return 42;
      }

      public Headers headers() {
        return new RecordHeaders();
      }

      public String processorNodeId() {
        return "assembler";
      }

      public TaskId taskId() {
        return new TaskId(0, 3);
      }

      public long timestamp() {
        return 0;
      }

      public byte[] sourceRawKey() {
        return KEY;
      }

      public byte[] sourceRawValue() {
        return VALUE;
      }
    };
  }

  @Test
  void anUnexpectedExceptionDeadLettersTheSourceRecordAndResumes() {
    InMemorySchemaRegistryClient registry = new InMemorySchemaRegistryClient();
    DeadLetterProcessingExceptionHandler handler = new DeadLetterProcessingExceptionHandler();
    handler.configure(
        Map.of(
            AvroSerdeConfig.SCHEMA_REGISTRY_CLIENT,
            registry,
            AvroSerdeConfig.SCHEMA_REGISTRY_URL,
            Harness.UNUSED_REGISTRY_URL));
    assertProcessingErrorDeadLetter(handler, registry);
  }

  /** The production configuration: by URL, on the real registry. */
  @Test
  @ExtendWith(FlywheelInfraExtension.class)
  void configuredByUrlItDeadLettersThroughTheRealRegistry(FlywheelInfra infra) {
    DeadLetterProcessingExceptionHandler handler = new DeadLetterProcessingExceptionHandler();
    handler.configure(Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_URL, infra.registryUrl()));
    assertProcessingErrorDeadLetter(handler, new HttpSchemaRegistryClient(infra.registryUrl()));
  }

  private static void assertProcessingErrorDeadLetter(
      DeadLetterProcessingExceptionHandler handler, SchemaRegistryClient registry) {
    ProcessingExceptionHandler.Response response =
        handler.handleError(
            context(), new Record<>("k", "v", 0L), new NullPointerException("a bug"));
    assertEquals(ProcessingExceptionHandler.Result.RESUME, response.result());
    assertEquals(1, response.deadLetterQueueRecords().size());
    ProducerRecord<byte[], byte[]> record = response.deadLetterQueueRecords().get(0);
    assertEquals(Topics.DEAD_LETTERS.name(), record.topic());
    assertArrayEquals(KEY, record.key());
    DeadLetter d =
        new AvroDeserializer<>(registry, DeadLetter.class)
            .deserialize(Topics.DEAD_LETTERS.name(), record.value());
    assertEquals(ErrorTypes.PROCESSING_ERROR, d.getErrorType());
    assertTrue(d.getReason().contains("a bug"), d.getReason());
    assertEquals(Topics.FEEDBACK_RANKINGS.name(), d.getSourceTopic());
    assertEquals(3, d.getSourcePartition());
    assertEquals(42, d.getSourceOffset());
    assertArrayEquals(VALUE, Utils.toArray(d.getRawValue()));
  }

  @Test
  void aRegistryOutageFailsTheTaskInsteadOfDeadLettering() {
    DeadLetterProcessingExceptionHandler handler = new DeadLetterProcessingExceptionHandler();
    handler.configure(
        Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_CLIENT, new InMemorySchemaRegistryClient()));
    AvroSerdeException outage =
        new AvroSerdeException(
            AvroSerdeException.Problem.REGISTRY_ERROR,
            Topics.FEEDBACK_RANKINGS.name(),
            1,
            "connection refused",
            null);
    ProcessingExceptionHandler.Response response =
        handler.handleError(
            context(), new Record<>("k", "v", 0L), new RuntimeException("wrapped", outage));
    assertEquals(ProcessingExceptionHandler.Result.FAIL, response.result());
    assertTrue(response.deadLetterQueueRecords().isEmpty());
  }

  @Test
  void withoutARegistryEveryErrorFailsTheTask() {
    DeadLetterProcessingExceptionHandler handler = new DeadLetterProcessingExceptionHandler();
    handler.configure(Map.of());
    ProcessingExceptionHandler.Response response =
        handler.handleError(
            context(), new Record<>("k", "v", 0L), new NullPointerException("a bug"));
    assertEquals(ProcessingExceptionHandler.Result.FAIL, response.result());
    assertTrue(response.deadLetterQueueRecords().isEmpty());
  }
}
