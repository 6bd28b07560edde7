package dev.flywheel.kit.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ApiKeysTest {

  @Test
  void sha256HexIsTheStandardDigest() {
    assertEquals(
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ApiKeys.sha256Hex("abc"));
  }

  @Test
  void generatedKeysAreLongRandomAndPrefixed() {
    String a = ApiKeys.generate();
    String b = ApiKeys.generate();
    assertTrue(a.startsWith("fwk_") && a.length() == 47, a);
    assertNotEquals(a, b);
  }

  @Test
  void configuredHashesAreNormalisedOrRejected() {
    String hash = ApiKeys.sha256Hex("k");
    assertEquals(hash, ApiKeys.normaliseHash("sha256:" + hash.toUpperCase(), "x"));
    assertEquals(hash, ApiKeys.normaliseHash("  " + hash + " ", "x"));
    IllegalArgumentException plaintext =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                ApiKeys.normaliseHash(ApiKeys.generate(), "flywheel.auth.apps.shop.key-hashes[0]"));
    assertTrue(plaintext.getMessage().contains("plaintext"), plaintext.getMessage());
    assertTrue(plaintext.getMessage().startsWith("flywheel.auth.apps.shop.key-hashes[0]"));
    assertThrows(
        IllegalArgumentException.class, () -> ApiKeys.normaliseHash(hash.substring(1), "x"));
    assertThrows(IllegalArgumentException.class, () -> ApiKeys.normaliseHash("", "x"));
  }

  @Test
  void toolMintsAKeyAndPrintsOnlyItsHashForTheConfig() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int rc =
        ApiKeyTool.run(
            new String[] {"new", "shop-app", "rankings:write"},
            new ByteArrayInputStream(new byte[0]),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            System.err);
    assertEquals(0, rc);
    String text = out.toString(StandardCharsets.UTF_8);
    String key =
        text.lines().map(String::trim).filter(l -> l.startsWith("fwk_")).findFirst().orElseThrow();
    assertTrue(text.contains("- " + ApiKeys.sha256Hex(key)), text);
    assertTrue(text.contains("shop-app:") && text.contains("scopes: [rankings:write]"), text);
  }

  @Test
  void toolHashesAKeyFromStandardInput() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int rc =
        ApiKeyTool.run(
            new String[] {"hash"},
            new ByteArrayInputStream("abc\n".getBytes(StandardCharsets.UTF_8)),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            System.err);
    assertEquals(0, rc);
    assertEquals(ApiKeys.sha256Hex("abc"), out.toString(StandardCharsets.UTF_8).trim());
    assertEquals(
        2,
        ApiKeyTool.run(
            new String[] {"bogus"},
            System.in,
            new PrintStream(new ByteArrayOutputStream()),
            new PrintStream(new ByteArrayOutputStream())));
  }
}
