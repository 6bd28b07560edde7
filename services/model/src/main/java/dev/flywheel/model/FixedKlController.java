package dev.flywheel.model;

/** A constant β (InstructGPT used a fixed β = 0.02). */
public final class FixedKlController implements KlController {

  private final double value;

  public FixedKlController(double value) {
    this.value = value;
  }

  @Override
  public double value() {
    return value;
  }

  @Override
  public void update(double currentKl, long steps) {}
}
