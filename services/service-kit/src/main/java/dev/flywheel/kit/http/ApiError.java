package dev.flywheel.kit.http;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;

/**
 * The JSON error body of every Flywheel HTTP service: {@code error} is a stable machine-readable
 * code ({@code k_out_of_range}, {@code unauthorized}, ...), {@code message} says what is wrong for
 * a human, {@code field} names the offending request field as a path ({@code tiers}, {@code
 * items[2].turns[0].role}) when there is one.
 */
@Serdeable
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ApiError(String error, String message, @Nullable String field) {

  public static ApiError of(String error, String message) {
    return new ApiError(error, message, null);
  }
}
