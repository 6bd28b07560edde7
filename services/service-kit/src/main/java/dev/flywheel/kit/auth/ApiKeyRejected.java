package dev.flywheel.kit.auth;

/**
 * Published (as a Micronaut application event) whenever {@link ApiKeyFilter} turns a request away,
 * so that a service can count rejections without the kit depending on a metrics library.
 *
 * @param reason {@code missing_api_key}, {@code unknown_api_key} or {@code forbidden}
 * @param appId the app when known (forbidden), else null
 * @param path the request path
 */
public record ApiKeyRejected(String reason, String appId, String path) {}
