package dev.flywheel.policy.service;

import io.micronaut.context.annotation.Factory;
import jakarta.inject.Singleton;

/** The one {@link TrainerStatus} of the application, shared by the loop, health and metrics. */
@Factory
class StatusFactory {

  @Singleton
  TrainerStatus trainerStatus() {
    return new TrainerStatus();
  }
}
