package dev.flywheel.serving.versions;

import dev.flywheel.serving.engine.ServedModel;
import java.util.List;
import java.util.Map;

/**
 * An immutable snapshot of what serves: replaced as a whole on every change, read without locks by
 * request threads.
 *
 * @param live the model answering the live alias, or null (503)
 * @param canary the model taking the canary share, or null
 * @param served every model that may be addressed by its version name (live, canary, standbys)
 * @param versions every known version (for listings)
 * @param caughtUp whether the versions topic has been read up to its end once
 */
public record Routing(
    ServedModel live,
    ServedModel canary,
    Map<Long, ServedModel> served,
    List<VersionBook.Entry> versions,
    boolean caughtUp) {

  public static final Routing EMPTY = new Routing(null, null, Map.of(), List.of(), false);

  public String roleOf(ServedModel model) {
    if (model == live) {
      return "live";
    }
    return model == canary ? "canary" : "standby";
  }
}
