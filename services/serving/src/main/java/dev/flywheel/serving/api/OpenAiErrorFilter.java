package dev.flywheel.serving.api;

import dev.flywheel.kit.http.ApiError;
import io.micronaut.core.order.Ordered;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.ResponseFilter;
import io.micronaut.http.annotation.ServerFilter;
import io.micronaut.http.filter.ServerFilterPhase;
import java.util.Optional;

/**
 * Under {@code /v1/**} every error has OpenAI's shape. The service kit renders its own errors — the
 * API-key filter's 401/403 and the framework's 404/405/413/415/500 — as {@link ApiError} ({@code
 * {"error":"unauthorized","message":...}}), which OpenAI clients cannot read; this filter runs
 * around the kit's (before it on the way in, after it on the way out) and rewrites those bodies.
 * Errors of the chat API itself are built as {@link OpenAiError} directly.
 */
@ServerFilter("/v1/**")
public class OpenAiErrorFilter implements Ordered {

  @Override
  public int getOrder() {
    return ServerFilterPhase.SECURITY.before(); // wraps the kit's ApiKeyFilter (SECURITY phase)
  }

  @ResponseFilter
  public void rewrite(HttpRequest<?> request, MutableHttpResponse<?> response) {
    Optional<?> body = response.getBody();
    if (body.isEmpty() || !(body.get() instanceof ApiError error)) {
      return;
    }
    OpenAiError converted = convert(request, response.code(), error);
    @SuppressWarnings("unchecked")
    MutableHttpResponse<Object> r = (MutableHttpResponse<Object>) response;
    r.body(converted).contentType(MediaType.APPLICATION_JSON_TYPE);
  }

  static OpenAiError convert(HttpRequest<?> request, int status, ApiError error) {
    String type;
    String code = null;
    String message = error.message();
    switch (status) {
      case 401 -> {
        type = "invalid_request_error";
        code = "invalid_api_key";
      }
      case 403 -> {
        type = "permission_error";
        code = "permission_denied";
      }
      case 404 -> {
        type = "invalid_request_error";
        code = "not_found";
        message = "Invalid URL (" + request.getMethodName() + " " + request.getPath() + ")";
      }
      case 429 -> type = "rate_limit_error";
      case 503 -> type = "service_unavailable_error";
      default -> type = status >= 500 ? "server_error" : "invalid_request_error";
    }
    if (code == null && status < 500 && error.error() != null) {
      code = error.error();
    }
    return new OpenAiError(new OpenAiError.Detail(message, type, error.field(), code));
  }
}
