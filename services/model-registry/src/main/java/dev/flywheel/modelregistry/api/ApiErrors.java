package dev.flywheel.modelregistry.api;

import dev.flywheel.kit.http.ApiError;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MutableHttpResponse;
import java.util.Locale;

/**
 * Error answers in the platform's shape ({@link ApiError}): {@code {"error": "not_found",
 * "message": ...}}.
 */
public final class ApiErrors {

  private ApiErrors() {}

  public static <T> MutableHttpResponse<T> error(HttpStatus status, String message) {
    String code = status.getReason().toLowerCase(Locale.ROOT).replace(' ', '_').replace("-", "_");
    @SuppressWarnings("unchecked")
    MutableHttpResponse<T> response =
        (MutableHttpResponse<T>) HttpResponse.status(status).body(ApiError.of(code, message));
    return response;
  }

  public static <T> MutableHttpResponse<T> notFound(String message) {
    return error(HttpStatus.NOT_FOUND, message);
  }

  public static <T> MutableHttpResponse<T> badRequest(String message) {
    return error(HttpStatus.BAD_REQUEST, message);
  }

  /**
   * 400 with a specific code ({@code too_long}, {@code invalid_value}, ...) naming the offending
   * field.
   */
  public static <T> MutableHttpResponse<T> invalid(String code, String field, String message) {
    @SuppressWarnings("unchecked")
    MutableHttpResponse<T> response =
        (MutableHttpResponse<T>)
            HttpResponse.status(HttpStatus.BAD_REQUEST).body(new ApiError(code, message, field));
    return response;
  }
}
