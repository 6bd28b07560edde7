package dev.flywheel.serving.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;

/**
 * OpenAI's error body: {@code {"error":{"message","type","param","code"}}} (param and code may be
 * null).
 */
@Serdeable
public record OpenAiError(Detail error) {

  @Serdeable
  @JsonInclude(JsonInclude.Include.ALWAYS)
  public record Detail(
      String message, String type, @Nullable String param, @Nullable String code) {}
}
