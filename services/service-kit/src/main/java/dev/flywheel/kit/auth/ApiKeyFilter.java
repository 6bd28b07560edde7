package dev.flywheel.kit.auth;

import dev.flywheel.kit.http.ApiError;
import io.micronaut.context.event.ApplicationEventPublisher;
import io.micronaut.core.annotation.AnnotationMetadata;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.order.Ordered;
import io.micronaut.http.HttpHeaders;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;
import io.micronaut.http.filter.ServerFilterPhase;
import io.micronaut.web.router.RouteMatch;
import java.util.Optional;

/**
 * Bearer API-key authentication for routes annotated with {@link RequiresApiKey}. Resolves {@code
 * Authorization: Bearer <key>} to the app (stored as {@link ApiPrincipal#ATTRIBUTE}); answers 401
 * for a missing or unknown key and 403 when the app lacks the route's scope, each with an {@link
 * ApiError} body. Routes without the annotation (health, metrics, the OpenAPI document) pass.
 */
@ServerFilter(ServerFilter.MATCH_ALL_PATTERN)
public class ApiKeyFilter implements Ordered {

  private static final String BEARER = "Bearer ";

  private final ApiKeyAuthenticator authenticator;
  private final ApplicationEventPublisher<ApiKeyRejected> events;

  public ApiKeyFilter(
      ApiKeyAuthenticator authenticator, ApplicationEventPublisher<ApiKeyRejected> events) {
    this.authenticator = authenticator;
    this.events = events;
  }

  @Override
  public int getOrder() {
    return ServerFilterPhase.SECURITY.order();
  }

  @RequestFilter
  @Nullable
  public HttpResponse<?> authenticate(HttpRequest<?> request, @Nullable RouteMatch<?> route) {
    if (route == null) {
      return null;
    }
    Optional<String> requiredScope = requiredScope(route.getAnnotationMetadata());
    if (requiredScope.isEmpty()) {
      return null;
    }
    String header = request.getHeaders().get(HttpHeaders.AUTHORIZATION);
    if (header == null || header.isBlank()) {
      return reject(
          request,
          "missing_api_key",
          null,
          HttpStatus.UNAUTHORIZED,
          new ApiError(
              "unauthorized",
              "missing API key: send the header 'Authorization: Bearer <api-key>'",
              null));
    }
    if (header.length() <= BEARER.length()
        || !header.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
      return reject(
          request,
          "missing_api_key",
          null,
          HttpStatus.UNAUTHORIZED,
          new ApiError(
              "unauthorized",
              "the Authorization header must use the Bearer scheme: 'Bearer <api-key>'",
              null));
    }
    String key = header.substring(BEARER.length()).trim();
    Optional<ApiPrincipal> principal = authenticator.authenticate(key);
    if (principal.isEmpty()) {
      return reject(
          request,
          "unknown_api_key",
          null,
          HttpStatus.UNAUTHORIZED,
          new ApiError("unauthorized", "unknown API key", null));
    }
    String scope = requiredScope.get();
    if (!principal.get().allows(scope)) {
      return reject(
          request,
          "forbidden",
          principal.get().appId(),
          HttpStatus.FORBIDDEN,
          new ApiError(
              "forbidden",
              "app '"
                  + principal.get().appId()
                  + "' lacks scope '"
                  + scope
                  + "' required by "
                  + request.getMethod()
                  + " "
                  + request.getPath(),
              null));
    }
    request.setAttribute(ApiPrincipal.ATTRIBUTE, principal.get());
    return null;
  }

  private static Optional<String> requiredScope(AnnotationMetadata metadata) {
    if (!metadata.hasAnnotation(RequiresApiKey.class)) {
      return Optional.empty();
    }
    return Optional.of(metadata.stringValue(RequiresApiKey.class, "scope").orElse(""));
  }

  private HttpResponse<?> reject(
      HttpRequest<?> request, String reason, String appId, HttpStatus status, ApiError body) {
    events.publishEvent(new ApiKeyRejected(reason, appId, request.getPath()));
    var response = HttpResponse.status(status).body(body);
    if (status == HttpStatus.UNAUTHORIZED) {
      response.header(
          HttpHeaders.WWW_AUTHENTICATE,
          "unknown_api_key".equals(reason)
              ? "Bearer realm=\"flywheel\", error=\"invalid_token\""
              : "Bearer realm=\"flywheel\"");
    }
    return response;
  }
}
