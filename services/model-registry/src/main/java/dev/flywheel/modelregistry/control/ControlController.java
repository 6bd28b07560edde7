package dev.flywheel.modelregistry.control;

import dev.flywheel.events.ControlAction;
import dev.flywheel.events.ModelControl;
import dev.flywheel.events.ModelKind;
import dev.flywheel.events.ModelStatus;
import dev.flywheel.kit.auth.ApiPrincipal;
import dev.flywheel.kit.auth.RequiresApiKey;
import dev.flywheel.modelregistry.api.ApiErrors;
import dev.flywheel.modelregistry.api.Views;
import dev.flywheel.modelregistry.state.Kinds;
import dev.flywheel.modelregistry.state.ModelState;
import dev.flywheel.modelregistry.state.VersionEntry;
import dev.flywheel.schemas.Texts;
import io.micronaut.context.annotation.Value;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Consumes;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.micronaut.serde.annotation.Serdeable;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * Promote and roll back: writes a {@link ModelControl} to {@code models.control} and answers once
 * the broker has acknowledged it ({@code acks=all}). Serving (and the trainers) act on the event;
 * the version's status on its versions topic changes when they republish it. Requires an API key
 * whose app holds the {@value #SCOPE} scope.
 */
@Controller("/api/versions")
@ExecuteOn(TaskExecutors.BLOCKING)
public class ControlController {

  public static final String SCOPE = "operator";

  /** Optional request body. */
  @Serdeable
  public record ControlRequest(@Nullable String reason) {}

  private final ModelState state;
  private final ControlPublisher publisher;
  private final int maxReasonLength;

  /**
   * @param maxReasonLength longest {@code reason}, in characters (400 beyond)
   */
  public ControlController(
      ModelState state,
      ControlPublisher publisher,
      @Value("${flywheel.model-registry.control.max-reason-length:1000}") int maxReasonLength) {
    if (maxReasonLength < 1) {
      throw new IllegalArgumentException(
          "flywheel.model-registry.control.max-reason-length must be positive");
    }
    this.state = state;
    this.publisher = publisher;
    this.maxReasonLength = maxReasonLength;
  }

  @Post("/{kind}/{version}/promote")
  @Consumes({MediaType.APPLICATION_JSON, MediaType.APPLICATION_FORM_URLENCODED})
  @RequiresApiKey(scope = SCOPE)
  public HttpResponse<?> promote(
      HttpRequest<?> request,
      @PathVariable String kind,
      @PathVariable long version,
      @Nullable @Body ControlRequest body,
      @Nullable @QueryValue String reason) {
    return act(request, kind, version, ControlAction.PROMOTE, reason(body, reason));
  }

  @Post("/{kind}/{version}/rollback")
  @Consumes({MediaType.APPLICATION_JSON, MediaType.APPLICATION_FORM_URLENCODED})
  @RequiresApiKey(scope = SCOPE)
  public HttpResponse<?> rollback(
      HttpRequest<?> request,
      @PathVariable String kind,
      @PathVariable long version,
      @Nullable @Body ControlRequest body,
      @Nullable @QueryValue String reason) {
    return act(request, kind, version, ControlAction.ROLLBACK, reason(body, reason));
  }

  private HttpResponse<?> act(
      HttpRequest<?> request, String kindText, long version, ControlAction action, String reason) {
    if (reason != null && reason.length() > maxReasonLength) {
      return ApiErrors.invalid(
          "too_long",
          "reason",
          "reason is "
              + reason.length()
              + " characters long; the limit "
              + "is "
              + maxReasonLength
              + " (flywheel.model-registry.control.max-reason-length)");
    }
    int bad = reason == null ? -1 : Texts.invalidCharAt(reason);
    if (bad >= 0) {
      return ApiErrors.invalid(
          "invalid_text",
          "reason",
          "reason holds "
              + (reason.charAt(bad) == 0
                  ? "NUL (U+0000)"
                  : String.format("a lone surrogate (U+%04X)", (int) reason.charAt(bad)))
              + " at index "
              + bad
              + ": not valid text");
    }
    Optional<ModelKind> kind = Kinds.parse(kindText);
    if (kind.isEmpty()) {
      return ApiErrors.notFound("unknown kind '" + kindText + "' (policy or reward)");
    }
    Optional<VersionEntry> entry = state.version(kind.get(), version);
    if (entry.isEmpty()) {
      return ApiErrors.notFound(
          Kinds.urlName(kind.get()) + " version " + version + " is unknown to the registry");
    }
    if (action == ControlAction.PROMOTE && entry.get().status() == ModelStatus.REJECTED) {
      return ApiErrors.error(
          HttpStatus.CONFLICT,
          Kinds.urlName(kind.get())
              + " version "
              + version
              + " was REJECTED by its gate and cannot be promoted");
    }
    ApiPrincipal principal = ApiPrincipal.of(request);
    ModelControl event =
        ModelControl.newBuilder()
            .setEventId(UUID.randomUUID().toString())
            .setEventTime(Instant.now())
            .setModelKind(kind.get())
            .setAction(action)
            .setVersion(version)
            .setRequestedBy(principal.appId())
            .setReason(reason)
            .build();
    RecordMetadata ack;
    try {
      ack = publisher.publish(event);
    } catch (ControlPublisher.PublishException e) {
      return ApiErrors.error(
          HttpStatus.SERVICE_UNAVAILABLE,
          "models.control did not acknowledge the " + action + ": " + e.getMessage());
    }
    Map<String, Object> out = Views.obj();
    out.put("eventId", event.getEventId());
    out.put("eventTime", event.getEventTime().toString());
    out.put("kind", Kinds.urlName(kind.get()));
    out.put("action", action.name());
    out.put("version", version);
    out.put("requestedBy", principal.appId());
    out.put("reason", reason);
    out.put("topic", ack.topic());
    out.put("partition", ack.partition());
    out.put("offset", ack.offset());
    return HttpResponse.accepted().body(out);
  }

  private static String reason(ControlRequest body, String query) {
    String r =
        body != null && body.reason() != null && !body.reason().isBlank() ? body.reason() : query;
    return r == null || r.isBlank() ? null : r.strip();
  }
}
