package dev.flywheel.serving.api;

import io.micronaut.http.HttpStatus;
import java.time.Duration;

/**
 * An error answered in OpenAI's shape: {@code {"error":{"message","type","param","code"}}} with the
 * HTTP status, and {@code Retry-After} when given.
 */
public final class OpenAiException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final HttpStatus status;
  private final String type;
  private final String param;
  private final String code;
  private final transient Duration retryAfter;

  public OpenAiException(
      HttpStatus status,
      String type,
      String code,
      String param,
      String message,
      Duration retryAfter) {
    super(message);
    this.status = status;
    this.type = type;
    this.param = param;
    this.code = code;
    this.retryAfter = retryAfter;
  }

  /** 400 invalid_request_error naming the offending parameter. */
  public static OpenAiException invalid(String param, String message) {
    return new OpenAiException(
        HttpStatus.BAD_REQUEST, "invalid_request_error", null, param, message, null);
  }

  /** 400 invalid_request_error with a code. */
  public static OpenAiException invalid(String param, String code, String message) {
    return new OpenAiException(
        HttpStatus.BAD_REQUEST, "invalid_request_error", code, param, message, null);
  }

  public static OpenAiException modelNotFound(String model, String message) {
    return new OpenAiException(
        HttpStatus.NOT_FOUND, "invalid_request_error", "model_not_found", "model", message, null);
  }

  public static OpenAiException queueFull(Duration retryAfter) {
    return new OpenAiException(
        HttpStatus.TOO_MANY_REQUESTS,
        "rate_limit_error",
        "queue_full",
        null,
        "The server is busy: too many requests are waiting for this model. Retry after "
            + Math.max(1, retryAfter.toSeconds())
            + " s.",
        retryAfter);
  }

  public static OpenAiException unavailable(String code, String message, Duration retryAfter) {
    return new OpenAiException(
        HttpStatus.SERVICE_UNAVAILABLE,
        "service_unavailable_error",
        code,
        null,
        message,
        retryAfter);
  }

  public static OpenAiException internal(String message) {
    return new OpenAiException(
        HttpStatus.INTERNAL_SERVER_ERROR, "server_error", "internal_error", null, message, null);
  }

  public HttpStatus status() {
    return status;
  }

  public String type() {
    return type;
  }

  public String param() {
    return param;
  }

  public String code() {
    return code;
  }

  public Duration retryAfter() {
    return retryAfter;
  }

  /** What the metrics count it as. */
  public String outcome() {
    return code != null ? code : type;
  }

  public OpenAiError body() {
    return new OpenAiError(new OpenAiError.Detail(getMessage(), type, param, code));
  }
}
