package dev.flywheel.simulator;

/**
 * The labelers of one noise calibration: the TRAINING and HELD_OUT pools and one shadow labeler of
 * each (for the live agreement figure), all with the calibration's sigma.
 */
record Labelers(
    NoiseCalibration.Result calibration,
    LabelerPool training,
    LabelerPool heldOut,
    SyntheticLabeler shadowTraining,
    SyntheticLabeler shadowHeldOut) {

  static Labelers of(NoiseCalibration.Result calibration, SimulatorConfig config) {
    double sigma = calibration.sigma();
    return new Labelers(
        calibration,
        new LabelerPool(
            SyntheticLabeler.Pool.TRAINING, config.labelersPerPool(), sigma, config.seed()),
        new LabelerPool(
            SyntheticLabeler.Pool.HELD_OUT, config.labelersPerPool(), sigma, config.seed()),
        new SyntheticLabeler(
            "shadow-training",
            SyntheticLabeler.Pool.TRAINING,
            sigma,
            SyntheticLabeler.mix(config.seed(), 0x5_4AD0L)),
        new SyntheticLabeler(
            "shadow-heldout",
            SyntheticLabeler.Pool.HELD_OUT,
            sigma,
            SyntheticLabeler.mix(config.seed(), 0x5_4AD1L)));
  }
}
