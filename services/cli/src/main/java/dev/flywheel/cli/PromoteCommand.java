package dev.flywheel.cli;

import picocli.CommandLine.Command;

@Command(
    name = "promote",
    mixinStandardHelpOptions = true,
    description = {
      "Make a version LIVE.",
      "Writes a PROMOTE event to models.control through the registry; serving obeys it."
    })
class PromoteCommand extends ControlCommand {

  @Override
  String action() {
    return "promote";
  }
}
