package dev.flywheel.kit.http;

import io.micronaut.context.annotation.Primary;
import io.micronaut.http.HttpMethod;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.server.exceptions.response.Error;
import io.micronaut.http.server.exceptions.response.ErrorContext;
import io.micronaut.http.server.exceptions.response.ErrorResponseProcessor;
import jakarta.inject.Singleton;
import java.util.Optional;

/**
 * Renders the framework's own errors (malformed JSON, 404, 405, 413, unhandled exceptions) as
 * {@link ApiError}, so that every error a Flywheel service answers has the same shape.
 */
@Singleton
@Primary
public class ApiErrorResponseProcessor implements ErrorResponseProcessor<ApiError> {

  @Override
  @SuppressWarnings("unchecked")
  public MutableHttpResponse<ApiError> processResponse(
      ErrorContext context, MutableHttpResponse<?> response) {
    if (context.getRequest().getMethod() == HttpMethod.HEAD) {
      return (MutableHttpResponse<ApiError>) response;
    }
    int status = response.getStatus().getCode();
    String message =
        context.getErrors().stream()
            .map(Error::getMessage)
            .findFirst()
            .orElse(response.getStatus().getReason());
    String field =
        context.getErrors().stream()
            .map(Error::getPath)
            .flatMap(Optional::stream)
            .findFirst()
            .map(path -> path.startsWith("/") ? path.substring(1) : path)
            .orElse(null);
    ApiError body = new ApiError(codeFor(status), message, field);
    return ((MutableHttpResponse<ApiError>) response)
        .body(body)
        .contentType(MediaType.APPLICATION_JSON_TYPE);
  }

  static String codeFor(int status) {
    return switch (status) {
      case 400 -> "malformed_request";
      case 401 -> "unauthorized";
      case 403 -> "forbidden";
      case 404 -> "not_found";
      case 405 -> "method_not_allowed";
      case 413 -> "payload_too_large";
      case 415 -> "unsupported_media_type";
      case 503 -> "unavailable";
      default -> status >= 500 ? "internal_error" : "bad_request";
    };
  }
}
