package dev.flywheel.model;

import java.io.IOException;

/**
 * A model artifact failed verification: a file's SHA-256 differs from the manifest, the manifest's
 * differs from the expected artifact SHA-256, or a file is missing or unlisted. The artifact must
 * not be used.
 */
public final class ArtifactIntegrityException extends IOException {

  private static final long serialVersionUID = 1L;

  private final String file;
  private final String expectedSha256;
  private final String actualSha256;

  public ArtifactIntegrityException(
      String file, String expectedSha256, String actualSha256, String message) {
    super(message);
    this.file = file;
    this.expectedSha256 = expectedSha256;
    this.actualSha256 = actualSha256;
  }

  /** The offending file, relative to the artifact directory. */
  public String file() {
    return file;
  }

  /** SHA-256 the file should have (null if the file was not expected at all). */
  public String expectedSha256() {
    return expectedSha256;
  }

  /** SHA-256 the file has (null if it is missing). */
  public String actualSha256() {
    return actualSha256;
  }
}
