package dev.flywheel.kit.auth;

import io.micronaut.context.annotation.EachProperty;
import io.micronaut.context.annotation.Parameter;
import java.util.List;

/**
 * One app allowed to call the service: {@code flywheel.auth.apps.<app-id>.key-hashes} (SHA-256 hex
 * of each valid key; more than one during a rotation) and {@code scopes} (e.g. {@code
 * rankings:write}; {@code *} for all).
 */
@EachProperty("flywheel.auth.apps")
public class AppKeyConfig {

  private final String appId;
  private List<String> keyHashes = List.of();
  private List<String> scopes = List.of();

  public AppKeyConfig(@Parameter String appId) {
    this.appId = appId;
  }

  public String getAppId() {
    return appId;
  }

  public List<String> getKeyHashes() {
    return keyHashes;
  }

  public void setKeyHashes(List<String> keyHashes) {
    this.keyHashes = keyHashes == null ? List.of() : List.copyOf(keyHashes);
  }

  public List<String> getScopes() {
    return scopes;
  }

  public void setScopes(List<String> scopes) {
    this.scopes = scopes == null ? List.of() : List.copyOf(scopes);
  }
}
