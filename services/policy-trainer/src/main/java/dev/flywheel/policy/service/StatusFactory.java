package dev.flywheel.policy.service;

import io.micronaut.context.annotation.Factory;
import jakarta.inject.Singleton;

/**
 * The one {@link PolicyTrainerStatus} of the application, shared by the loop, health and metrics.
 */
@Factory
class StatusFactory {

  @Singleton
  PolicyTrainerStatus trainerStatus() {
    return new PolicyTrainerStatus();
  }
}
