package dev.flywheel.pairs;

import dev.flywheel.events.DeadLetter;
import dev.flywheel.schemas.DeadLetters;
import dev.flywheel.schemas.serde.AvroSerdeConfig;
import dev.flywheel.schemas.serde.AvroSerdeException;
import dev.flywheel.schemas.serde.AvroSerializer;
import dev.flywheel.schemas.topics.Topics;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProcessingExceptionHandler;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Safety net for exceptions the processors do not expect (bugs): the source record goes to the
 * dead-letter topic as {@code PROCESSING_ERROR}, with its raw bytes, through Kafka Streams' own DLQ
 * records (KIP-1034), which the task's producer writes inside the same exactly-once transaction;
 * then processing continues. Expected bad input never gets here: the decoders and the assembler
 * dead-letter it themselves.
 *
 * <p>Registry outages are transient, not bad input: they fail the task (the records are read again
 * after restart) instead of being dead-lettered.
 */
public final class DeadLetterProcessingExceptionHandler implements ProcessingExceptionHandler {

  private static final Logger LOG =
      LoggerFactory.getLogger(DeadLetterProcessingExceptionHandler.class);

  private AvroSerializer<DeadLetter> serializer;

  /**
   * Reads the registry from the Streams configuration as the serdes do: the client instance of
   * {@link AvroSerdeConfig#SCHEMA_REGISTRY_CLIENT} (tests) or else {@link
   * AvroSerdeConfig#SCHEMA_REGISTRY_URL}, and {@link AvroSerdeConfig#AUTO_REGISTER_SCHEMAS}. With
   * neither, every error fails the task.
   */
  @Override
  public void configure(Map<String, ?> configs) {
    if (configs.get(AvroSerdeConfig.SCHEMA_REGISTRY_CLIENT) != null
        || configs.get(AvroSerdeConfig.SCHEMA_REGISTRY_URL) != null) {
      AvroSerializer<DeadLetter> configured = new AvroSerializer<>();
      configured.configure(configs, false);
      serializer = configured;
    }
  }

  @Override
  public Response handleError(
      ErrorHandlerContext context, Record<?, ?> record, Exception exception) {
    if (isTransient(exception) || serializer == null) {
      LOG.error(
          "processing failed at {} {}-{}@{}; failing the task",
          context.processorNodeId(),
          context.topic(),
          context.partition(),
          context.offset(),
          exception);
      return Response.fail();
    }
    LOG.error(
        "unexpected error at {} for {}-{}@{}; dead-lettering the record and continuing",
        context.processorNodeId(),
        context.topic(),
        context.partition(),
        context.offset(),
        exception);
    try {
      DeadLetter letter =
          DeadLetters.of(
              PairAssemblerTopology.SERVICE,
              ErrorTypes.PROCESSING_ERROR,
              exception + " at " + context.processorNodeId(),
              context.topic() == null ? "" : context.topic(),
              context.partition(),
              context.offset(),
              context.sourceRawKey(),
              context.sourceRawValue());
      byte[] value = serializer.serialize(Topics.DEAD_LETTERS.name(), letter);
      return Response.resume(
          List.of(
              new ProducerRecord<>(
                  Topics.DEAD_LETTERS.name(), null, context.sourceRawKey(), value)));
    } catch (RuntimeException e) {
      LOG.error("could not build the dead letter; failing the task", e);
      return Response.fail();
    }
  }

  private static boolean isTransient(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof AvroSerdeException avro
          && avro.problem() == AvroSerdeException.Problem.REGISTRY_ERROR) {
        return true;
      }
    }
    return false;
  }
}
