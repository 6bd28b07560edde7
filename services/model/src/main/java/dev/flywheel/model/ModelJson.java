package dev.flywheel.model;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The one JSON mapper of model artifacts (config, tokenizer layout, manifest): Jackson, as
 * everywhere else in Flywheel. Unknown fields are ignored on read, so that an artifact written by a
 * later version that adds a field still loads; a missing field reads as null / 0 and is refused by
 * the reader's own checks.
 */
public final class ModelJson {

  public static final ObjectMapper MAPPER =
      new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

  private ModelJson() {}
}
