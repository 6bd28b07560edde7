package dev.flywheel.kit.kafka;

import io.micronaut.context.annotation.ConfigurationProperties;

/**
 * {@code flywheel.registry.*}: the Confluent-compatible schema registry (for Apicurio, its {@code
 * /apis/ccompat/v7} URL) and whether writer schemas are registered on first use.
 */
@ConfigurationProperties("flywheel.registry")
public class RegistryProperties {

  private String url = "http://localhost:8081";
  private boolean autoRegister = true;

  public String getUrl() {
    return url;
  }

  public void setUrl(String url) {
    this.url = url;
  }

  /**
   * When false the schemas must have been registered beforehand (e.g. by CI), else producing fails.
   */
  public boolean isAutoRegister() {
    return autoRegister;
  }

  public void setAutoRegister(boolean autoRegister) {
    this.autoRegister = autoRegister;
  }
}
