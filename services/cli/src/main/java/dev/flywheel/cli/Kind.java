package dev.flywheel.cli;

/** The two families of model versions, as the registry's URLs name them. */
enum Kind {
  policy,
  reward
}
