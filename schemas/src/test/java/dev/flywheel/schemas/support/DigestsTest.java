package dev.flywheel.schemas.support;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class DigestsTest {

  @Test
  void sha256HexIsTheStandardDigestOfTheUtf8Bytes() {
    // FIPS 180-2 test vectors
    assertEquals(
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        Digests.sha256Hex("abc"));
    assertEquals(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Digests.sha256Hex(""));
    // UTF-8, not the platform charset: two-, three- and four-byte characters (computed with
    // Python's hashlib)
    assertEquals(
        "abe71d0bd0c14d9bfaf54d84ac0ad0c98a35e98b0e67b4ed5439b4ddab10e116",
        Digests.sha256Hex("fwk_\u00e9\u20ac\ud83d\ude00"));
  }
}
