package dev.flywheel.kit.auth;

import io.micronaut.http.HttpRequest;
import java.util.Set;

/** The app an authenticated request acts for, resolved from its API key. */
public record ApiPrincipal(String appId, Set<String> scopes) {

  /** Request attribute under which {@link ApiKeyFilter} stores the principal. */
  public static final String ATTRIBUTE = "flywheel.api.principal";

  public static final String ALL_SCOPES = "*";

  public ApiPrincipal {
    scopes = Set.copyOf(scopes);
  }

  public boolean allows(String scope) {
    return scope == null
        || scope.isEmpty()
        || scopes.contains(ALL_SCOPES)
        || scopes.contains(scope);
  }

  /**
   * The principal of a request that passed {@link ApiKeyFilter}; throws if the route is
   * unprotected.
   */
  public static ApiPrincipal of(HttpRequest<?> request) {
    return request
        .getAttribute(ATTRIBUTE, ApiPrincipal.class)
        .orElseThrow(
            () ->
                new IllegalStateException(
                    "no API principal on "
                        + request.getPath()
                        + ": is the route annotated with @RequiresApiKey?"));
  }
}
