package dev.flywheel.modelregistry;

import io.micronaut.runtime.Micronaut;

/**
 * The model registry service: versions, lineage, metrics, artifacts, promote/rollback, dashboard.
 */
public final class Application {

  private Application() {}

  public static void main(String[] args) {
    Micronaut.build(args).mainClass(Application.class).banner(false).start();
  }
}
