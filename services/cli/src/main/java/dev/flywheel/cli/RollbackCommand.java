package dev.flywheel.cli;

import picocli.CommandLine.Command;

@Command(
    name = "rollback",
    mixinStandardHelpOptions = true,
    description = {
      "Withdraw a version (the previous LIVE one comes back).",
      "Writes a ROLLBACK event to models.control through the registry; serving obeys it."
    })
class RollbackCommand extends ControlCommand {

  @Override
  String action() {
    return "rollback";
  }
}
