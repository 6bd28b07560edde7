package dev.flywheel.schemas.serde;

import java.lang.reflect.Method;
import org.apache.avro.SystemLimitException;

/**
 * Bounds on what one Avro record may declare, so that a garbage length prefix is a malformed
 * payload (a dead letter) instead of a huge allocation. Without them Avro allows ~2^31 bytes per
 * string or bytes field and ~2^31 items per array or map: a 200 MB prefix on a 256 MB heap is an
 * {@link OutOfMemoryError}, and with {@code -XX:+ExitOnOutOfMemoryError} (every chart component)
 * the JVM exits before any catch block runs; under exactly-once the record is read again after the
 * restart, forever.
 *
 * <p>Avro reads its limits once, from the system properties {@value
 * SystemLimitException#MAX_BYTES_LENGTH_PROPERTY}, {@value
 * SystemLimitException#MAX_STRING_LENGTH_PROPERTY} and {@value
 * SystemLimitException#MAX_COLLECTION_LENGTH_PROPERTY}. {@link #apply} sets each one the operator
 * did not set (explicit {@code -D} settings win) and makes Avro re-read them. Applied by {@link
 * AvroDeserializer} before its first read; {@link AvroSerdeConfig#MAX_LENGTH} and {@link
 * AvroSerdeConfig#MAX_ITEMS} override the defaults.
 */
public final class AvroLimits {

  /**
   * 16 MiB: above Kafka's largest record in this platform (1 MiB by default; the gateway's body
   * limit).
   */
  public static final int DEFAULT_MAX_LENGTH = 16 << 20;

  /** One million items per array or map block sequence (a comparison group has tens). */
  public static final int DEFAULT_MAX_ITEMS = 1_000_000;

  private AvroLimits() {}

  /** The defaults, unless set by system property. */
  public static synchronized void applyDefaults() {
    apply(DEFAULT_MAX_LENGTH, DEFAULT_MAX_ITEMS, false);
  }

  /**
   * @param force when false, a limit already set by system property is kept; when true (a serde
   *     config asked for these bounds) it is replaced
   */
  public static synchronized void apply(int maxLength, int maxItems, boolean force) {
    if (maxLength < 1 || maxItems < 1) {
      throw new IllegalArgumentException(
          "Avro limits must be >= 1: " + maxLength + ", " + maxItems);
    }
    set(SystemLimitException.MAX_BYTES_LENGTH_PROPERTY, maxLength, force);
    set(SystemLimitException.MAX_STRING_LENGTH_PROPERTY, maxLength, force);
    set(SystemLimitException.MAX_COLLECTION_LENGTH_PROPERTY, maxItems, force);
    try {
      // Avro caches the properties in static fields at class initialisation; resetLimits() re-reads
      // them
      Method reset = SystemLimitException.class.getDeclaredMethod("resetLimits");
      reset.setAccessible(true);
      reset.invoke(null);
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw new IllegalStateException(
          "cannot apply Avro's length limits (Avro "
              + SystemLimitException.class.getPackage().getImplementationVersion()
              + "): "
              + e,
          e);
    }
  }

  private static void set(String property, int value, boolean force) {
    if (force || System.getProperty(property) == null) {
      System.setProperty(property, Integer.toString(value));
    }
  }
}
