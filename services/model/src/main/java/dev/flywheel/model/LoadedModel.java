package dev.flywheel.model;

import java.util.Map;

/**
 * A verified model artifact loaded into memory. Closing it frees the model's parameters.
 *
 * @param model the model, of the kind recorded in the manifest
 * @param tokenizer the tokenizer the model was trained with
 * @param metadata caller-supplied key/values saved with the artifact (version, lineage, metrics)
 * @param sha256 the artifact SHA-256 (of its manifest), as put in version events
 */
public record LoadedModel(
    GptModel model, ByteTokenizer tokenizer, Map<String, String> metadata, String sha256)
    implements AutoCloseable {

  public ModelKind kind() {
    return model.kind();
  }

  public GptConfig config() {
    return model.config();
  }

  public PolicyModel policy() {
    return as(PolicyModel.class);
  }

  public RewardModel reward() {
    return as(RewardModel.class);
  }

  public ValueModel value() {
    return as(ValueModel.class);
  }

  private <T extends GptModel> T as(Class<T> type) {
    if (!type.isInstance(model)) {
      throw new IllegalStateException(
          "artifact holds a " + model.kind() + " model, not a " + type.getSimpleName());
    }
    return type.cast(model);
  }

  @Override
  public void close() {
    model.close();
  }
}
