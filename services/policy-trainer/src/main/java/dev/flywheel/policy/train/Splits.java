package dev.flywheel.policy.train;

import dev.flywheel.events.DataSplit;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.modelevents.ChatTurns;
import dev.flywheel.schemas.PromptKeys;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * Deterministic train / held-out splits by hashing, so that a record lands in the same split in
 * every process and after every restart.
 *
 * <p><b>Prompts</b> use the platform's prompt key, {@link PromptKeys} in {@code schemas/}: the same
 * class the pair assembler calls for its {@code promptKey} and TRAIN/EVAL split, and the simulator
 * for its held-out prompts. Every turn is its role name and its text NFKC-normalised, lower-cased
 * (root locale), whitespace runs collapsed to one space and trimmed, each length-prefixed (4-byte
 * big-endian) into SHA-256; the key is the first 16 bytes as 32 hex digits and the prompt is held
 * out when the first 53 bits, as a fraction of 2^53, are below the eval fraction ({@code
 * prompt-eval-fraction}; keep it equal to the pair assembler's {@code eval.fraction}, 0.1 by
 * default). A prompt whose rankings evaluate the reward model is therefore never a PPO training
 * prompt, and the policy is evaluated on the same held-out prompts. ({@code SplitsTest} pins golden
 * keys, so a change to the rule shows up there.)
 *
 * <p><b>Demonstrations</b> are held out for the SFT eval loss when the same fraction of
 * SHA-256(UTF-8 demonstration id) is below the SFT eval fraction.
 */
public final class Splits {

  private Splits() {}

  /**
   * The platform's prompt key ({@link PromptKeys}) of a conversation up to and including the
   * prompt.
   */
  public static String promptKey(List<ChatTurn> turns) {
    return PromptKeys.promptKey(ChatTurns.toTurns(turns), null);
  }

  /** True if the prompt with this key is held out (evaluation only). */
  public static boolean isHeldOutPrompt(String promptKey, double evalFraction) {
    return PromptKeys.split(promptKey, evalFraction) == DataSplit.EVAL;
  }

  /** True if the demonstration with this id is held out of SFT training (eval loss only). */
  public static boolean isHeldOutDemonstration(String demonstrationId, double evalFraction) {
    byte[] digest = sha256().digest(demonstrationId.getBytes(StandardCharsets.UTF_8));
    long bits = ByteBuffer.wrap(digest, 0, 8).getLong() >>> 11;
    return bits / (double) (1L << 53) < evalFraction;
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is mandatory in every JRE", e);
    }
  }
}
