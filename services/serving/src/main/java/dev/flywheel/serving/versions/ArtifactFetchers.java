package dev.flywheel.serving.versions;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;

/** Picks the {@link ArtifactFetcher} for a URI's scheme. */
public final class ArtifactFetchers {

  private final List<ArtifactFetcher> fetchers;

  public ArtifactFetchers(List<ArtifactFetcher> fetchers) {
    this.fetchers = List.copyOf(fetchers);
  }

  public Path fetch(String uri, String expectedSha256) throws IOException {
    URI parsed;
    try {
      parsed = new URI(uri);
    } catch (URISyntaxException e) {
      throw new ArtifactFetcher.UnsupportedArtifactException(
          "malformed artifact URI '" + uri + "': " + e.getMessage());
    }
    for (ArtifactFetcher fetcher : fetchers) {
      if (fetcher.supports(parsed)) {
        return fetcher.fetch(parsed, expectedSha256);
      }
    }
    throw new ArtifactFetcher.UnsupportedArtifactException(
        "no fetcher for the scheme of " + uri + " (supported: file:)");
  }
}
