package dev.flywheel.infra.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Properties;

/**
 * Settings of the infra module: a system property, else an environment variable, else the values
 * Maven wrote into {@code flywheel-infra.properties} at build time.
 */
public final class Settings {

  private static final Properties BUILD = load();

  private Settings() {}

  /** A system property, else an environment variable; blank values count as absent. */
  public static Optional<String> get(String systemProperty, String environmentVariable) {
    String value = System.getProperty(systemProperty);
    if (value == null || value.isBlank()) {
      value = environmentVariable == null ? null : System.getenv(environmentVariable);
    }
    return value == null || value.isBlank() ? Optional.empty() : Optional.of(value.trim());
  }

  /** A value from {@code flywheel-infra.properties}, if Maven filled it in. */
  public static Optional<String> build(String key) {
    String value = BUILD.getProperty(key);
    return value == null || value.isBlank() || value.contains("${")
        ? Optional.empty()
        : Optional.of(value.trim());
  }

  /** The user's home directory. */
  public static Path home() {
    return Path.of(System.getProperty("user.home"));
  }

  /**
   * The local Maven repository: {@code -Dflywheel.maven.repo.local} / {@code
   * FLYWHEEL_MAVEN_REPO_LOCAL}, else {@code -Dmaven.repo.local}, else the one of the build, else
   * {@code ~/.m2/repository}.
   */
  public static Path localMavenRepository() {
    return get("flywheel.maven.repo.local", "FLYWHEEL_MAVEN_REPO_LOCAL")
        .or(() -> Optional.ofNullable(System.getProperty("maven.repo.local")))
        .or(() -> build("local.repository"))
        .map(Path::of)
        .orElse(home().resolve(".m2").resolve("repository"));
  }

  /**
   * Flywheel's cache directory: {@code -Dflywheel.cache.dir} / {@code FLYWHEEL_CACHE_DIR}, else
   * {@code $XDG_CACHE_HOME/flywheel}, else {@code ~/.cache/flywheel}.
   */
  public static Path cacheDirectory() {
    return get("flywheel.cache.dir", "FLYWHEEL_CACHE_DIR")
        .map(Path::of)
        .or(
            () ->
                Optional.ofNullable(System.getenv("XDG_CACHE_HOME"))
                    .filter(s -> !s.isBlank())
                    .map(s -> Path.of(s, "flywheel")))
        .orElse(home().resolve(".cache").resolve("flywheel"));
  }

  private static Properties load() {
    Properties props = new Properties();
    try (InputStream in = Settings.class.getResourceAsStream("/flywheel-infra.properties")) {
      if (in != null) {
        props.load(in);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return props;
  }
}
