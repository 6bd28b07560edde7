package dev.flywheel.serving.versions;

/**
 * A version's artifact could not be used (published as a Micronaut application event; the {@link
 * VersionWatcher} turns it into a dead letter).
 *
 * @param errorType ARTIFACT_INTEGRITY (checksum mismatch, missing or unlisted file),
 *     ARTIFACT_UNSUPPORTED (URI that can never be fetched, not a policy model), ARTIFACT_INVALID
 *     (verified but unloadable), ARTIFACT_UNAVAILABLE (cannot be fetched now; retried)
 * @param permanent false when the load is retried later
 */
public record ArtifactRejected(
    VersionBook.Entry entry, String errorType, String reason, boolean permanent) {}
