package dev.flywheel.serving.api;

import dev.flywheel.kit.auth.RequiresApiKey;
import dev.flywheel.serving.engine.ServedModel;
import dev.flywheel.serving.versions.ModelManager;
import dev.flywheel.serving.versions.Routing;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.PathVariable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * {@code GET /v1/models}: OpenAI's list shape, holding every version that can be addressed now —
 * the live version, the canary (the newest CANDIDATE) and the standbys — followed by the aliases
 * that point to them. Each entry carries the Flywheel extras {@code version}, {@code status} and
 * {@code role}. {@code GET /v1/models/{id}} answers one of them or 404.
 */
@Controller("/v1")
public class ModelsController {

  private final ModelManager manager;
  private final ModelRouter router;

  public ModelsController(ModelManager manager, ModelRouter router) {
    this.manager = manager;
    this.router = router;
  }

  @Get(uri = "/models", produces = MediaType.APPLICATION_JSON)
  @RequiresApiKey
  public OpenAiTypes.ModelList list() {
    return new OpenAiTypes.ModelList("list", models(manager.routing()));
  }

  @Get(uri = "/models/{id}", produces = MediaType.APPLICATION_JSON)
  @RequiresApiKey
  public MutableHttpResponse<?> get(@PathVariable String id) {
    for (OpenAiTypes.ModelInfo model : models(manager.routing())) {
      if (model.id().equals(id)) {
        return HttpResponse.ok(model);
      }
    }
    OpenAiException e = OpenAiException.modelNotFound(id, "The model '" + id + "' does not exist.");
    return HttpResponse.notFound(e.body());
  }

  private List<OpenAiTypes.ModelInfo> models(Routing routing) {
    List<OpenAiTypes.ModelInfo> out = new ArrayList<>();
    routing.served().values().stream()
        .sorted(Comparator.comparingLong(ServedModel::version).reversed())
        .forEach(m -> out.add(info(m.name(), m, routing.roleOf(m), routing)));
    if (routing.live() != null) {
      out.add(info(router.alias(), routing.live(), "alias", routing));
      out.add(info(router.liveAlias(), routing.live(), "alias", routing));
    }
    if (routing.canary() != null) {
      out.add(info(router.canaryAlias(), routing.canary(), "alias", routing));
    }
    return out;
  }

  private OpenAiTypes.ModelInfo info(String id, ServedModel model, String role, Routing routing) {
    String status =
        routing.versions().stream()
            .filter(e -> e.version() == model.version())
            .findFirst()
            .map(e -> e.status().name())
            .orElse(model.record().getStatus().name());
    long created =
        model.record().getCreatedAt() == null
            ? model.loadedAtMillis() / 1000
            : model.record().getCreatedAt().getEpochSecond();
    return new OpenAiTypes.ModelInfo(
        id, "model", created, "flywheel", model.version(), status, role);
  }
}
