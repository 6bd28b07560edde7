package dev.flywheel.serving.versions;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.convert.format.ReadableBytes;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;

/**
 * {@code flywheel.serving.artifact-registry.*}: fetch model artifacts over HTTP from the model
 * registry ({@code /api/artifacts}) instead of reading them from a shared file system. Off unless
 * {@code url} is set; see "Fetching artifacts from the model registry" in README.md.
 */
@ConfigurationProperties("flywheel.serving.artifact-registry")
public class ArtifactRegistryConfig {

  public static final String PREFIX = "flywheel.serving.artifact-registry";

  /** Base URL of the model registry's public port, e.g. http://flywheel-model-registry:8080. */
  private String url;

  /** API key (the key, not its hash) of an app the registry gives the scope artifacts:read. */
  private String apiKey;

  /** Directory for downloaded artifacts; emptied of earlier downloads at start-up. */
  private String cacheDir =
      Path.of(System.getProperty("java.io.tmpdir"), "flywheel-serving-artifacts").toString();

  /** Longest wait for a TCP connection to the registry. */
  private Duration connectTimeout = Duration.ofSeconds(5);

  /** Longest one HTTP request (the listing, or one file) may take. */
  private Duration requestTimeout = Duration.ofMinutes(2);

  /** Largest artifact (all its files together) that is downloaded; a larger one is refused. */
  private long maxArtifactBytes = 1L << 30;

  /** Downloaded artifacts kept in cache-dir (live, canary, standbys); older ones are deleted. */
  private int keepCached = 4;

  /** The base URL, checked: absolute http(s), no query. */
  public URI baseUri() {
    if (url == null || url.isBlank()) {
      throw new IllegalArgumentException(PREFIX + ".url is empty");
    }
    URI uri;
    try {
      uri = URI.create(url.strip());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(PREFIX + ".url is not a URL: " + url, e);
    }
    if (uri.getScheme() == null
        || !(uri.getScheme().equalsIgnoreCase("http") || uri.getScheme().equalsIgnoreCase("https"))
        || uri.getHost() == null
        || uri.getRawQuery() != null) {
      throw new IllegalArgumentException(
          PREFIX
              + ".url must be an http(s) base URL such as "
              + "http://model-registry:8080, not "
              + url);
    }
    return uri;
  }

  /** The API key, checked: without one every download would answer 401. */
  public String requireApiKey() {
    if (apiKey == null || apiKey.isBlank()) {
      throw new IllegalArgumentException(
          PREFIX
              + ".api-key is empty: artifact downloads need a key whose app "
              + "holds the scope artifacts:read on the model registry");
    }
    return apiKey.strip();
  }

  public String getUrl() {
    return url;
  }

  public void setUrl(String url) {
    this.url = url;
  }

  public String getApiKey() {
    return apiKey;
  }

  public void setApiKey(String apiKey) {
    this.apiKey = apiKey;
  }

  public String getCacheDir() {
    return cacheDir;
  }

  public void setCacheDir(String cacheDir) {
    this.cacheDir = cacheDir;
  }

  public Duration getConnectTimeout() {
    return connectTimeout;
  }

  public void setConnectTimeout(Duration connectTimeout) {
    requirePositive(connectTimeout, "connect-timeout");
    this.connectTimeout = connectTimeout;
  }

  public Duration getRequestTimeout() {
    return requestTimeout;
  }

  public void setRequestTimeout(Duration requestTimeout) {
    requirePositive(requestTimeout, "request-timeout");
    this.requestTimeout = requestTimeout;
  }

  public long getMaxArtifactBytes() {
    return maxArtifactBytes;
  }

  public void setMaxArtifactBytes(@ReadableBytes long maxArtifactBytes) {
    if (maxArtifactBytes < 1) {
      throw new IllegalArgumentException(
          PREFIX + ".max-artifact-bytes must be positive: " + maxArtifactBytes);
    }
    this.maxArtifactBytes = maxArtifactBytes;
  }

  public int getKeepCached() {
    return keepCached;
  }

  public void setKeepCached(int keepCached) {
    if (keepCached < 1) {
      throw new IllegalArgumentException(PREFIX + ".keep-cached must be at least 1: " + keepCached);
    }
    this.keepCached = keepCached;
  }

  private static void requirePositive(Duration d, String name) {
    if (d == null || d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(PREFIX + "." + name + " must be positive: " + d);
    }
  }

  @Override
  public String toString() {
    // never the key
    return "ArtifactRegistryConfig{url="
        + url
        + ", apiKey="
        + (apiKey == null || apiKey.isBlank() ? "unset" : "[redacted]")
        + ", cacheDir="
        + cacheDir
        + ", maxArtifactBytes="
        + maxArtifactBytes
        + ", keepCached="
        + keepCached
        + "}";
  }
}
