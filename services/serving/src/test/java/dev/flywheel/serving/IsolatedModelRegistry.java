package dev.flywheel.serving;

import dev.flywheel.testing.FlywheelInfra;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.InvocationTargetException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The real model registry (services/model-registry), started in a class loader of its own so that
 * its beans and application.yml do not meet serving's: the registry's {@code target/classes} plus
 * its runtime class path ({@code target/runtime-classpath.txt}, written by its build), with the
 * platform class loader as parent. The build passes the registry's target directory as {@code
 * flywheel.test.model-registry.target}; build through the reactor ({@code -am}) so it is fresh.
 */
final class IsolatedModelRegistry implements AutoCloseable {

  private final URLClassLoader loader;
  private final AutoCloseable context;
  private final int port;

  /**
   * Starts a registry on private topics serving the artifacts under {@code artifactRoot}, with
   * {@code properties} (e.g. API keys) on top.
   */
  IsolatedModelRegistry(FlywheelInfra infra, Path artifactRoot, Map<String, Object> properties) {
    Map<String, Object> p = new HashMap<>();
    p.put("micronaut.server.port", -1);
    p.put("micronaut.server.host", "127.0.0.1");
    p.put("flywheel.kafka.bootstrap-servers", infra.bootstrapServers());
    p.put("flywheel.registry.url", infra.registryUrl());
    for (String topic : List.of("policy-versions", "reward-versions", "control", "metrics")) {
      String name = infra.uniqueName("registry-" + topic);
      infra.createTopic(name, 1);
      p.put("flywheel.model-registry.topics." + topic, name);
    }
    p.put("flywheel.model-registry.artifact-root", artifactRoot.toString());
    p.putAll(properties);

    this.loader =
        new URLClassLoader("model-registry", classPath(), ClassLoader.getPlatformClassLoader());
    Thread thread = Thread.currentThread();
    ClassLoader previous = thread.getContextClassLoader();
    thread.setContextClassLoader(loader);
    try {
      Class<?> contextType = loader.loadClass("io.micronaut.context.ApplicationContext");
      Class<?> serverType = loader.loadClass("io.micronaut.runtime.server.EmbeddedServer");
      Object server =
          contextType
              .getMethod("run", Class.class, Map.class, String[].class)
              .invoke(null, serverType, p, new String[0]);
      this.port = (Integer) serverType.getMethod("getPort").invoke(server);
      this.context = (AutoCloseable) serverType.getMethod("getApplicationContext").invoke(server);
    } catch (InvocationTargetException e) {
      throw new IllegalStateException("the model registry did not start", e.getCause());
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("the model registry's classes are not usable", e);
    } finally {
      thread.setContextClassLoader(previous);
    }
  }

  String url() {
    return "http://127.0.0.1:" + port;
  }

  private static URL[] classPath() {
    String target = System.getProperty("flywheel.test.model-registry.target");
    if (target == null) {
      throw new IllegalStateException(
          "flywheel.test.model-registry.target is not set: run the tests with Maven");
    }
    Path dir = Path.of(target);
    Path classes = dir.resolve("classes");
    Path runtime = dir.resolve("runtime-classpath.txt");
    if (!Files.isDirectory(classes) || !Files.isRegularFile(runtime)) {
      throw new IllegalStateException(
          dir
              + " holds no built model registry: build through the reactor, e.g. "
              + "mvn -pl services/serving -am verify");
    }
    try {
      List<URL> urls = new ArrayList<>();
      urls.add(classes.toUri().toURL());
      for (String entry :
          Files.readString(runtime, StandardCharsets.UTF_8).strip().split(File.pathSeparator)) {
        if (!entry.isBlank()) {
          urls.add(Path.of(entry).toUri().toURL());
        }
      }
      return urls.toArray(URL[]::new);
    } catch (MalformedURLException e) {
      throw new IllegalStateException(e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() throws Exception {
    try {
      context.close();
    } finally {
      loader.close();
    }
  }
}
