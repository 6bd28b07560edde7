package dev.flywheel.modelregistry.artifacts;

import io.micronaut.http.HttpStatus;

/** A refused or failed artifact request, with the HTTP status to answer. */
public class ArtifactException extends RuntimeException {

  private final HttpStatus status;

  public ArtifactException(HttpStatus status, String message) {
    super(message);
    this.status = status;
  }

  public HttpStatus status() {
    return status;
  }
}
