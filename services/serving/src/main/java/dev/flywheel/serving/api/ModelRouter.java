package dev.flywheel.serving.api;

import dev.flywheel.serving.ServingConfig;
import dev.flywheel.serving.engine.ServedModel;
import dev.flywheel.serving.versions.ModelManager;
import dev.flywheel.serving.versions.Routing;
import dev.flywheel.serving.versions.VersionBook;
import jakarta.inject.Singleton;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Resolves the request's {@code model} to a loaded version:
 *
 * <ul>
 *   <li>{@code flywheel} (the alias, configurable): the live version, except for the canary share,
 *       which goes to the canary when there is one. With a {@code user} the choice is sticky per
 *       user (a hash of user and canary version), otherwise random per request.
 *   <li>{@code flywheel-live}: always the live version. {@code flywheel-canary}: the canary (404
 *       without one).
 *   <li>{@code policy-v7}: version 7, if it is loaded (live, canary or standby); 404 otherwise.
 * </ul>
 *
 * No live version yet: 503 with Retry-After.
 */
@Singleton
public class ModelRouter {

  private static final Pattern VERSION = Pattern.compile("policy-v(\\d{1,18})");

  private final ModelManager manager;
  private final ServingConfig config;

  public ModelRouter(ModelManager manager, ServingConfig config) {
    this.manager = manager;
    this.config = config;
  }

  public String alias() {
    return config.getModelAlias();
  }

  public String liveAlias() {
    return config.getModelAlias() + "-live";
  }

  public String canaryAlias() {
    return config.getModelAlias() + "-canary";
  }

  public ServedModel route(String model, String user) {
    Routing routing = manager.routing();
    if (model.equals(alias())) {
      ServedModel live = requireLive(routing);
      ServedModel canary = routing.canary();
      return canary != null && takesCanary(user, canary.version()) ? canary : live;
    }
    if (model.equals(liveAlias())) {
      return requireLive(routing);
    }
    if (model.equals(canaryAlias())) {
      if (routing.canary() == null) {
        throw OpenAiException.modelNotFound(
            model,
            "The model '"
                + model
                + "' does not exist right now: no CANDIDATE version newer than the live one is loaded.");
      }
      return routing.canary();
    }
    Matcher m = VERSION.matcher(model);
    if (m.matches()) {
      long version = Long.parseLong(m.group(1));
      ServedModel served = routing.served().get(version);
      if (served != null) {
        return served;
      }
      String known =
          manager
              .book()
              .get(version)
              .map(VersionBook.Entry::status)
              .map(s -> " (status " + s + ")")
              .orElse("");
      throw OpenAiException.modelNotFound(
          model,
          "The model '"
              + model
              + "' does not exist or is not being served"
              + known
              + ". Served: "
              + routing.served().values()
              + "; aliases: "
              + alias()
              + ", "
              + liveAlias()
              + ", "
              + canaryAlias()
              + ".");
    }
    throw OpenAiException.modelNotFound(
        model,
        "The model '"
            + model
            + "' does not exist. Use "
            + alias()
            + ", "
            + liveAlias()
            + ", "
            + canaryAlias()
            + " or a served version such as policy-v7 (GET /v1/models).");
  }

  private ServedModel requireLive(Routing routing) {
    ServedModel live = routing.live();
    if (live == null) {
      throw OpenAiException.unavailable(
          "no_live_version",
          routing.caughtUp()
              ? "No policy version is being served yet: waiting for a LIVE version on models.policy.versions to load."
              : "The server is starting: policy versions are still being read.",
          config.getUnavailableRetryAfter());
    }
    return live;
  }

  private boolean takesCanary(String user, long canaryVersion) {
    double share = config.getCanaryShare();
    if (share <= 0) {
      return false;
    }
    if (share >= 1) {
      return true;
    }
    double u;
    if (user == null || user.isEmpty()) {
      u = ThreadLocalRandom.current().nextDouble();
    } else {
      long h = canaryVersion * 0x9E3779B97F4A7C15L;
      for (byte b : user.getBytes(StandardCharsets.UTF_8)) {
        h = (h ^ b) * 0x100000001B3L;
      }
      h ^= h >>> 33;
      h *= 0xff51afd7ed558ccdL;
      h ^= h >>> 33;
      u = (h >>> 11) * 0x1.0p-53;
    }
    return u < share;
  }
}
