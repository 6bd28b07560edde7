package dev.flywheel.schemas;

import dev.flywheel.events.DataSplit;
import dev.flywheel.events.Role;
import dev.flywheel.events.Turn;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.text.Normalizer;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The prompt key (part of the contract: the pair assembler, the policy trainer and the simulator
 * must agree on it): a stable hash of the normalised prompt conversation, and the train/eval split
 * it decides. It depends on the prompt only (never on the ranking, the annotator or the responses),
 * so every ranking of the same prompt lands in the same split: an eval prompt never leaks into
 * training.
 *
 * <p>Normalisation: every turn is {@code ROLE}, then its text NFKC-normalised, lower-cased (root
 * locale), with runs of whitespace collapsed to one space and the ends trimmed. A transcript
 * without turns hashes as one USER turn holding its {@code prompt}. Key = the first 16 bytes of
 * SHA-256 over the normalised turns, as 32 lower-case hex digits. Split: the first 53 bits of the
 * hash as a fraction in [0, 1); EVAL when below the eval fraction.
 */
public final class PromptKeys {

  private static final Pattern WHITESPACE = Pattern.compile("\\s+");
  private static final HexFormat HEX = HexFormat.of();
  private static final int KEY_BYTES = 16;

  private PromptKeys() {}

  /** The normalised text of one turn. */
  public static String normalise(String text) {
    String nfkc = Normalizer.normalize(text == null ? "" : text, Normalizer.Form.NFKC);
    return WHITESPACE.matcher(nfkc.toLowerCase(Locale.ROOT)).replaceAll(" ").strip();
  }

  /** Hex prompt key of a conversation; {@code prompt} is used only when {@code turns} is empty. */
  public static String promptKey(List<Turn> turns, String prompt) {
    return HEX.formatHex(digest(turns, prompt), 0, KEY_BYTES);
  }

  /** The prompt key of a single-turn USER prompt. */
  public static String promptKey(String userPrompt) {
    return promptKey(List.of(), userPrompt);
  }

  /** TRAIN or EVAL for a prompt key (as returned by {@link #promptKey}). */
  public static DataSplit split(String promptKey, double evalFraction) {
    return fraction(promptKey) < evalFraction ? DataSplit.EVAL : DataSplit.TRAIN;
  }

  /** The key's position in [0, 1): its first 53 bits. */
  public static double fraction(String promptKey) {
    long bits = ByteBuffer.wrap(HEX.parseHex(promptKey, 0, 16)).getLong() >>> 11;
    return bits / (double) (1L << 53);
  }

  private static byte[] digest(List<Turn> turns, String prompt) {
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is mandatory in every JRE", e);
    }
    if (turns == null || turns.isEmpty()) {
      update(sha, Role.USER, prompt);
    } else {
      for (Turn turn : turns) {
        update(sha, turn.getRole(), turn.getText());
      }
    }
    return sha.digest();
  }

  private static void update(MessageDigest sha, Role role, String text) {
    // length-prefixed fields: no text can imitate a turn boundary
    byte[] roleBytes = role.name().getBytes(StandardCharsets.UTF_8);
    byte[] textBytes = normalise(text).getBytes(StandardCharsets.UTF_8);
    sha.update(ByteBuffer.allocate(4).putInt(roleBytes.length).array());
    sha.update(roleBytes);
    sha.update(ByteBuffer.allocate(4).putInt(textBytes.length).array());
    sha.update(textBytes);
  }
}
