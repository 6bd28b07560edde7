package dev.flywheel.infra.schemaregistry;

import dev.flywheel.infra.support.MoreFiles;
import dev.flywheel.infra.support.Processes;
import dev.flywheel.infra.support.Settings;
import dev.flywheel.schemas.support.FileTrees;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An unpacked Apicurio Registry server and the Java to run it with.
 *
 * <p>Apicurio Registry 3.x needs Java 21+; it is run with {@code FLYWHEEL_REGISTRY_JAVA_HOME} (or
 * {@code -Dflywheel.registry.java.home}), else the current JVM if it is 21+, else the newest JDK
 * 21+ found under {@code /usr/lib/jvm}. Without one, the 2.x line (which runs on Java 17) is used
 * with the current JVM; {@code FLYWHEEL_REGISTRY_LEGACY=true} (or {@code
 * -Dflywheel.registry.legacy=true}) forces that.
 *
 * <p>The archive {@code io.apicurio:apicurio-registry-app:VERSION:tar.gz:all} is taken from the
 * local Maven repository (the infra build puts the 3.x one there) or resolved with {@code mvn} on
 * first use, and unpacked once into {@code ~/.cache/flywheel/apicurio-registry-VERSION}: into a
 * temporary directory first, then renamed, so that concurrent JVMs never see half an unpacked
 * server.
 */
public final class RegistryDistribution {

  private static final Logger LOG = LoggerFactory.getLogger(RegistryDistribution.class);
  static final String GROUP_PATH = "io/apicurio/apicurio-registry-app";
  static final String ARTIFACT = "apicurio-registry-app";
  static final String COMPLETE_MARKER = ".flywheel-unpacked";

  /** Registry version run on Java 21+. */
  public static final String CURRENT_VERSION = Settings.build("apicurio.version").orElse("3.3.3");

  /** Registry version run on Java 17 when no Java 21+ is available. */
  public static final String LEGACY_VERSION =
      Settings.build("apicurio.legacy.version").orElse("2.6.13.Final");

  private final String version;
  private final Path home;
  private final Path runnerJar;
  private final Path java;

  private RegistryDistribution(String version, Path home, Path runnerJar, Path java) {
    this.version = version;
    this.home = home;
    this.runnerJar = runnerJar;
    this.java = java;
  }

  /** Finds a Java and the matching registry version, unpacking (and if need be resolving) it. */
  public static RegistryDistribution resolve() {
    boolean forceLegacy =
        Settings.get("flywheel.registry.legacy", "FLYWHEEL_REGISTRY_LEGACY")
            .map(Boolean::parseBoolean)
            .orElse(false);
    Optional<Path> java21 = forceLegacy ? Optional.empty() : findJava(21);
    if (java21.isPresent()) {
      return resolve(CURRENT_VERSION, java21.get());
    }
    LOG.warn(
        "No Java 21+ found (set FLYWHEEL_REGISTRY_JAVA_HOME); using Apicurio Registry {} on {}",
        LEGACY_VERSION,
        System.getProperty("java.home"));
    return resolve(LEGACY_VERSION, Processes.currentJava());
  }

  /** A given registry version, run with the given {@code java} executable. */
  public static RegistryDistribution resolve(String version, Path javaExecutable) {
    Path home = unpacked(version);
    return new RegistryDistribution(version, home, findRunnerJar(home), javaExecutable);
  }

  public String version() {
    return version;
  }

  /**
   * Whether this is the 2.x line (configuration keys {@code registry.*} instead of {@code
   * apicurio.*}).
   */
  public boolean legacy() {
    return version.startsWith("2.");
  }

  /** The unpacked server directory. */
  public Path home() {
    return home;
  }

  /** The jar to run with {@code java -jar}. */
  public Path runnerJar() {
    return runnerJar;
  }

  /** The {@code java} executable to run it with. */
  public Path java() {
    return java;
  }

  @Override
  public String toString() {
    return "Apicurio Registry " + version + " at " + home + " with " + java;
  }

  // ---------------------------------------------------------------- Java

  /**
   * A {@code java} executable of at least the given feature version: the configured one, the
   * current JVM, or the newest JDK under {@code /usr/lib/jvm}.
   */
  public static Optional<Path> findJava(int minFeature) {
    Optional<String> configured =
        Settings.get("flywheel.registry.java.home", "FLYWHEEL_REGISTRY_JAVA_HOME");
    if (configured.isPresent()) {
      Path exe = executable(Path.of(configured.get()));
      if (!Files.isExecutable(exe)) {
        throw new IllegalStateException(
            "FLYWHEEL_REGISTRY_JAVA_HOME=" + configured.get() + " has no executable " + exe);
      }
      int feature = javaFeature(Path.of(configured.get())).orElse(minFeature);
      if (feature < minFeature) {
        return Optional.empty();
      }
      return Optional.of(exe);
    }
    if (Runtime.version().feature() >= minFeature) {
      return Optional.of(Processes.currentJava());
    }
    List<Path> roots = new ArrayList<>(List.of(Path.of("/usr/lib/jvm")));
    Optional.ofNullable(System.getenv("JAVA_HOME"))
        .filter(s -> !s.isBlank())
        .map(Path::of)
        .ifPresent(roots::add);
    Path best = null;
    int bestFeature = -1;
    for (Path candidate : candidates(roots)) {
      Optional<Integer> feature = javaFeature(candidate);
      if (feature.isPresent()
          && feature.get() >= minFeature
          && feature.get() > bestFeature
          && Files.isExecutable(executable(candidate))) {
        best = candidate;
        bestFeature = feature.get();
      }
    }
    return Optional.ofNullable(best).map(RegistryDistribution::executable);
  }

  private static List<Path> candidates(List<Path> roots) {
    List<Path> result = new ArrayList<>();
    for (Path root : roots) {
      if (Files.isRegularFile(root.resolve("release"))) {
        result.add(root);
      } else if (Files.isDirectory(root)) {
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(root)) {
          dirs.forEach(result::add);
        } catch (IOException e) {
          // unreadable: skip
        }
      }
    }
    result.sort(Comparator.naturalOrder());
    return result;
  }

  private static Path executable(Path javaHome) {
    return javaHome.resolve("bin").resolve(Processes.isWindows() ? "java.exe" : "java");
  }

  /** The feature version in a JDK's {@code release} file ({@code JAVA_VERSION="25.0.3"} → 25). */
  static Optional<Integer> javaFeature(Path javaHome) {
    Path release = javaHome.resolve("release");
    if (!Files.isRegularFile(release)) {
      return Optional.empty();
    }
    Properties props = new Properties();
    try (var in = Files.newInputStream(release)) {
      props.load(in);
    } catch (IOException e) {
      return Optional.empty();
    }
    String v = props.getProperty("JAVA_VERSION", "").replace("\"", "").trim();
    if (v.isEmpty()) {
      return Optional.empty();
    }
    String[] parts = v.split("[._+-]");
    try {
      int first = Integer.parseInt(parts[0]);
      return Optional.of(first == 1 && parts.length > 1 ? Integer.parseInt(parts[1]) : first);
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  // ---------------------------------------------------------------- archive and unpacking

  /** The archive in the local Maven repository, resolved with {@code mvn} if it is not there. */
  static Path archive(String version) {
    Path repo = Settings.localMavenRepository();
    Path archive =
        repo.resolve(GROUP_PATH).resolve(version).resolve(ARTIFACT + "-" + version + "-all.tar.gz");
    if (Files.isRegularFile(archive)) {
      return archive;
    }
    LOG.info("{} not found; resolving it with mvn", archive);
    return resolveWithMaven(version, repo);
  }

  private static Path resolveWithMaven(String version, Path repo) {
    Path mvn =
        findMaven()
            .orElseThrow(
                () ->
                    new IllegalStateException(
                        "Apicurio Registry "
                            + version
                            + " archive is not in "
                            + repo
                            + " and no mvn was found to"
                            + " fetch it; run: mvn dependency:copy -Dartifact=io.apicurio:"
                            + ARTIFACT
                            + ":"
                            + version
                            + ":tar.gz:all"));
    Path work = null;
    try {
      work = Files.createTempDirectory("flywheel-registry-fetch-");
      Path out = work.resolve("out");
      Path log = work.resolve("mvn.log");
      // run outside any project: dependency:copy in a multi-module project would run per module
      List<String> command =
          List.of(
              mvn.toString(),
              "-B",
              "-q",
              "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy",
              "-Dartifact=io.apicurio:" + ARTIFACT + ":" + version + ":tar.gz:all",
              "-DoutputDirectory=" + out,
              "-Dmaven.repo.local=" + repo);
      Process p =
          new ProcessBuilder(command)
              .directory(work.toFile())
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
      if (!p.waitFor(15, TimeUnit.MINUTES)) {
        Processes.killTree(p);
        throw new IllegalStateException("mvn did not fetch the registry archive within 15 minutes");
      }
      Path copied = out.resolve(ARTIFACT + "-" + version + "-all.tar.gz");
      if (p.exitValue() != 0 || !Files.isRegularFile(copied)) {
        throw new IllegalStateException(
            "mvn could not fetch Apicurio Registry "
                + version
                + " ("
                + String.join(" ", command)
                + "):\n"
                + MoreFiles.tail(log, 4000));
      }
      Path inRepo =
          repo.resolve(GROUP_PATH)
              .resolve(version)
              .resolve(ARTIFACT + "-" + version + "-all.tar.gz");
      return Files.isRegularFile(inRepo) ? inRepo : keep(copied, version);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while fetching the registry archive", e);
    } finally {
      // the archive copy in work/ is only needed if it was kept; keep() moved it
      FileTrees.deleteQuietly(work);
    }
  }

  private static Path keep(Path copied, String version) throws IOException {
    Path dir = Files.createDirectories(Settings.cacheDirectory());
    Path target = dir.resolve(ARTIFACT + "-" + version + "-all.tar.gz");
    Files.move(copied, target, StandardCopyOption.REPLACE_EXISTING);
    return target;
  }

  private static Optional<Path> findMaven() {
    List<Path> candidates = new ArrayList<>();
    for (String env : List.of("MAVEN_HOME", "M2_HOME")) {
      Optional.ofNullable(System.getenv(env))
          .filter(s -> !s.isBlank())
          .ifPresent(h -> candidates.add(Path.of(h, "bin", "mvn")));
    }
    Optional.ofNullable(System.getProperty("maven.home"))
        .filter(s -> !s.isBlank())
        .ifPresent(h -> candidates.add(Path.of(h, "bin", "mvn")));
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      if (!dir.isBlank()) {
        candidates.add(Path.of(dir, "mvn"));
      }
    }
    return candidates.stream().filter(Files::isExecutable).findFirst();
  }

  /** The unpacked server directory, unpacking the archive on first use. */
  static synchronized Path unpacked(String version) {
    Path cache = Settings.cacheDirectory();
    Path target = cache.resolve("apicurio-registry-" + version);
    if (Files.isRegularFile(target.resolve(COMPLETE_MARKER))) {
      return target;
    }
    Path archive = archive(version);
    try {
      Files.createDirectories(cache);
      // serialise unpacking between JVMs; the rename below keeps it safe even without the lock
      try (FileChannel channel =
              FileChannel.open(
                  cache.resolve(".apicurio-registry-" + version + ".lock"),
                  StandardOpenOption.CREATE,
                  StandardOpenOption.WRITE);
          FileLock ignored = channel.lock()) {
        if (Files.isRegularFile(target.resolve(COMPLETE_MARKER))) {
          return target;
        }
        long t0 = System.nanoTime();
        Path tmp = cache.resolve(".apicurio-registry-" + version + ".tmp-" + UUID.randomUUID());
        Files.createDirectories(tmp);
        try {
          untar(archive, tmp);
          findRunnerJar(tmp);
          Files.writeString(tmp.resolve(COMPLETE_MARKER), archive + "\n");
          if (Files.exists(target)) {
            // an incomplete earlier attempt (no marker): move it out of the way
            Path stale =
                cache.resolve(".apicurio-registry-" + version + ".stale-" + UUID.randomUUID());
            Files.move(target, stale, StandardCopyOption.ATOMIC_MOVE);
            FileTrees.deleteQuietly(stale);
          }
          try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
          } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
            if (!Files.isRegularFile(target.resolve(COMPLETE_MARKER))) {
              throw e;
            }
          } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target);
          }
        } finally {
          FileTrees.deleteQuietly(tmp);
        }
        LOG.info(
            "Unpacked {} into {} in {} ms",
            archive.getFileName(),
            target,
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        return target;
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot unpack " + archive + " into " + target, e);
    }
  }

  private static void untar(Path archive, Path into) throws IOException {
    Path log = into.resolve(".tar.log");
    Process p =
        new ProcessBuilder("tar", "-xzf", archive.toString(), "-C", into.toString())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    try {
      if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
        Processes.killTree(p);
        throw new IOException("tar -xzf " + archive + " failed: " + MoreFiles.tail(log, 2000));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      Processes.killTree(p);
      throw new IOException("interrupted while unpacking " + archive, e);
    }
    Files.deleteIfExists(log);
  }

  /** {@code quarkus-run.jar} (3.x) or {@code *-runner.jar} (2.x), at most two levels down. */
  static Path findRunnerJar(Path home) {
    try (Stream<Path> files = Files.walk(home, 3)) {
      List<Path> jars =
          files
              .filter(Files::isRegularFile)
              .filter(
                  f -> {
                    String n = f.getFileName().toString();
                    return n.equals("quarkus-run.jar") || n.endsWith("-runner.jar");
                  })
              .sorted(Comparator.comparingInt(Path::getNameCount))
              .toList();
      if (jars.isEmpty()) {
        throw new IllegalStateException("no quarkus-run.jar or *-runner.jar under " + home);
      }
      return jars.get(0);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
