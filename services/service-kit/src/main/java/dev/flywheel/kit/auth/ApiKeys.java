package dev.flywheel.kit.auth;

import dev.flywheel.schemas.support.Digests;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * API keys and their stored form. A key is 32 random bytes (base64url, prefixed {@code fwk_}); the
 * configuration only ever holds its SHA-256 as 64 lowercase hex digits. A plain (unsalted, fast)
 * hash is right for keys this random: there is nothing to brute-force, and a lookup costs one
 * digest.
 */
public final class ApiKeys {

  public static final String KEY_PREFIX = "fwk_";
  private static final Pattern HEX_SHA256 = Pattern.compile("[0-9a-f]{64}");
  private static final SecureRandom RANDOM = new SecureRandom();

  private ApiKeys() {}

  /** A new random key, e.g. {@code fwk_Q2x...} (47 characters). */
  public static String generate() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return KEY_PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  /**
   * SHA-256 of the key's UTF-8 bytes as 64 lowercase hex digits: what goes into the configuration.
   */
  public static String sha256Hex(String key) {
    return Digests.sha256Hex(key);
  }

  /**
   * Normalises a configured hash (optional {@code sha256:} prefix, any case) to 64 lowercase hex
   * digits, or throws naming what is wrong, in particular when a plaintext key was pasted instead
   * of its hash.
   */
  public static String normaliseHash(String configured, String where) {
    if (configured == null || configured.isBlank()) {
      throw new IllegalArgumentException(where + ": empty key hash");
    }
    String value = configured.trim();
    if (value.regionMatches(true, 0, "sha256:", 0, 7)) {
      value = value.substring(7);
    }
    value = value.toLowerCase(Locale.ROOT);
    if (!HEX_SHA256.matcher(value).matches()) {
      String hint =
          configured.startsWith(KEY_PREFIX)
              ? " (this looks like a plaintext API key: configure its SHA-256 instead, see ApiKeyTool)"
              : "";
      throw new IllegalArgumentException(
          where + ": key hash must be 64 hex digits (SHA-256)" + hint);
    }
    return value;
  }
}
