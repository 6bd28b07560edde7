package dev.flywheel.schemas.support;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * SHA-256 of a string as hex, written once: the stored form of an API key (service-kit's {@code
 * ApiKeys}) and the local platform's key hash (infra) are the same function. Here because both
 * modules depend on {@code schemas} and not on each other.
 */
public final class Digests {

  private Digests() {}

  /** SHA-256 of {@code text}'s UTF-8 bytes as 64 lowercase hex digits. */
  public static String sha256Hex(String text) {
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
