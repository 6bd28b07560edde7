package dev.flywheel.modelregistry.state;

import dev.flywheel.events.ModelKind;
import java.util.Locale;
import java.util.Optional;

/**
 * The two families of versions, as they appear in URLs ({@code policy}, {@code reward}) and topics.
 */
public final class Kinds {

  private Kinds() {}

  /** {@code policy} or {@code reward} (any case); empty for anything else. */
  public static Optional<ModelKind> parse(String text) {
    if (text == null) {
      return Optional.empty();
    }
    return switch (text.toLowerCase(Locale.ROOT)) {
      case "policy", "policies" -> Optional.of(ModelKind.POLICY);
      case "reward", "rewards", "reward-model", "rm" -> Optional.of(ModelKind.REWARD);
      default -> Optional.empty();
    };
  }

  /** The URL name: {@code policy} or {@code reward}. */
  public static String urlName(ModelKind kind) {
    return kind == ModelKind.POLICY ? "policy" : "reward";
  }
}
