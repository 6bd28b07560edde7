package dev.flywheel.kit.auth;

import io.micronaut.context.annotation.Context;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resolves an API key to its app. Built once from {@code flywheel.auth.apps.*}; a malformed hash,
 * or the same hash configured for two apps, fails start-up rather than letting a key resolve
 * ambiguously.
 */
@Context // eager: a bad key configuration fails start-up, not the first request
public class ApiKeyAuthenticator {

  private static final Logger LOG = LoggerFactory.getLogger(ApiKeyAuthenticator.class);

  private final Map<String, ApiPrincipal> byHash;

  public ApiKeyAuthenticator(List<AppKeyConfig> apps) {
    Map<String, ApiPrincipal> map = new HashMap<>();
    for (AppKeyConfig app : apps) {
      ApiPrincipal principal =
          new ApiPrincipal(app.getAppId(), new LinkedHashSet<>(app.getScopes()));
      int i = 0;
      for (String configured : app.getKeyHashes()) {
        String where = "flywheel.auth.apps." + app.getAppId() + ".key-hashes[" + i++ + "]";
        String hash = ApiKeys.normaliseHash(configured, where);
        ApiPrincipal previous = map.putIfAbsent(hash, principal);
        if (previous != null && !previous.appId().equals(app.getAppId())) {
          throw new IllegalArgumentException(
              where + ": the same key hash is configured for app '" + previous.appId() + "'");
        }
      }
      if (app.getKeyHashes().isEmpty()) {
        LOG.warn("app '{}' has no key-hashes configured and cannot authenticate", app.getAppId());
      }
    }
    this.byHash = Map.copyOf(map);
    LOG.info("API keys configured for {} app(s)", apps.size());
  }

  /** The app owning {@code apiKey}, if any. */
  public Optional<ApiPrincipal> authenticate(String apiKey) {
    if (apiKey == null || apiKey.isEmpty()) {
      return Optional.empty();
    }
    return Optional.ofNullable(byHash.get(ApiKeys.sha256Hex(apiKey)));
  }
}
