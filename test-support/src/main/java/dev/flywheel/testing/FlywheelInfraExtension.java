package dev.flywheel.testing;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5 extension that provides the JVM's shared {@link FlywheelInfra} (Kafka broker + schema
 * registry, catalogue topics created): started before the first test class that uses it, stopped
 * when the test run ends.
 *
 * <pre>
 * &#64;ExtendWith(FlywheelInfraExtension.class)
 * class MyTest {
 *   &#64;BeforeAll static void setUp(FlywheelInfra infra) { ... }
 *   &#64;Test void works(FlywheelInfra infra) { ... infra.bootstrapServers() ... infra.registryUrl() ... }
 * }
 * </pre>
 */
public final class FlywheelInfraExtension implements BeforeAllCallback, ParameterResolver {

  private static final ExtensionContext.Namespace NAMESPACE =
      ExtensionContext.Namespace.create(FlywheelInfraExtension.class);

  @Override
  public void beforeAll(ExtensionContext context) {
    infra(context);
  }

  @Override
  public boolean supportsParameter(
      ParameterContext parameterContext, ExtensionContext extensionContext) {
    return parameterContext.getParameter().getType() == FlywheelInfra.class;
  }

  @Override
  public Object resolveParameter(
      ParameterContext parameterContext, ExtensionContext extensionContext) {
    try {
      return infra(extensionContext);
    } catch (RuntimeException e) {
      throw new ParameterResolutionException("Flywheel test infrastructure failed to start", e);
    }
  }

  private static FlywheelInfra infra(ExtensionContext context) {
    FlywheelInfra infra = FlywheelInfra.get();
    // stop it when the whole test run ends (the JVM shutdown hook is the fallback)
    context
        .getRoot()
        .getStore(NAMESPACE)
        .getOrComputeIfAbsent(Closer.class, k -> new Closer(), Closer.class);
    return infra;
  }

  /** Closes the shared infrastructure when JUnit closes the root store. */
  @SuppressWarnings("deprecation")
  private static final class Closer
      implements ExtensionContext.Store.CloseableResource, AutoCloseable {
    private boolean done;

    @Override
    public synchronized void close() {
      if (!done) {
        done = true;
        FlywheelInfra.shutdown();
      }
    }
  }
}
