package dev.flywheel.registry.api;

import dev.flywheel.kit.http.ApiError;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MutableHttpResponse;
import java.util.Locale;

/** Error answers in the platform's shape ({@link ApiError}): {@code {"error": "not_found", "message": ...}}. */
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

  /** 400 with a specific code ({@code too_long}, {@code invalid_value}, ...) naming the offending field. */
  public static <T> MutableHttpResponse<T> invalid(String code, String field, String message) {
    @SuppressWarnings("unchecked")
    MutableHttpResponse<T> response =
        (MutableHttpResponse<T>) HttpResponse.status(HttpStatus.BAD_REQUEST).body(new ApiError(code, message, field));
    return response;
  }

  /** Index of the first NUL or unpaired UTF-16 surrogate in {@code s} (text UTF-8 cannot carry), or -1. */
  public static int invalidCharAt(CharSequence s) {
    int n = s.length();
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c == 0) {
        return i;
      }
      if (Character.isSurrogate(c)) {
        if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
          i++;
        } else {
          return i;
        }
      }
    }
    return -1;
  }
}
