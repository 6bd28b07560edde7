package dev.flywheel.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Shape of a GPT-style causal transformer ({@link Gpt}). Serialised as JSON into model artifacts.
 *
 * @param vocabSize number of token ids; {@link ByteTokenizer#VOCAB_SIZE} (256 bytes + 6 specials)
 *     for the byte-level models here
 * @param contextLength the longest sequence the model can see; the learned position embedding has
 *     this many rows, and prompt + generated tokens must fit in it
 * @param layers number of transformer blocks
 * @param dModel width of the residual stream; the MLP is 4x wider (GPT-2); must be divisible by
 *     {@code heads}
 * @param heads number of attention heads, each of size {@code dModel / heads}
 * @param dropout dropout rate on embeddings, attention weights and both residual branches, used
 *     only when training (GPT-2 used 0.1; nanoGPT uses 0.0 for pretraining and suggests 0.1+ when
 *     finetuning on little data); must be in [0, 1)
 */
public record GptConfig(
    int vocabSize, int contextLength, int layers, int dModel, int heads, float dropout) {

  private static final ObjectMapper JSON = ModelJson.MAPPER;

  public GptConfig {
    require(vocabSize > 0, "vocabSize must be positive");
    require(contextLength > 0, "contextLength must be positive");
    require(layers > 0, "layers must be positive");
    require(dModel > 0 && heads > 0, "dModel and heads must be positive");
    require(
        dModel % heads == 0, "dModel (" + dModel + ") must be divisible by heads (" + heads + ")");
    require(dropout >= 0 && dropout < 1, "dropout must be in [0, 1)");
  }

  /** ~121k parameters (2 layers, width 64, 4 heads, 64 tokens): trains in seconds, for tests. */
  public static GptConfig tiny() {
    return new GptConfig(ByteTokenizer.VOCAB_SIZE, 64, 2, 64, 4, 0.0f);
  }

  /**
   * ~0.86M parameters (4 layers, width 128, 4 heads, 256 tokens): the CPU default for the demo
   * loop.
   */
  public static GptConfig small() {
    return new GptConfig(ByteTokenizer.VOCAB_SIZE, 256, 4, 128, 4, 0.1f);
  }

  /**
   * ~10.8M parameters (6 layers, width 384, 6 heads, 256 tokens): nanoGPT's Shakespeare-char shape,
   * for a GPU.
   */
  public static GptConfig medium() {
    return new GptConfig(ByteTokenizer.VOCAB_SIZE, 256, 6, 384, 6, 0.1f);
  }

  public int headSize() {
    return dModel / heads;
  }

  public GptConfig withDropout(float newDropout) {
    return new GptConfig(vocabSize, contextLength, layers, dModel, heads, newDropout);
  }

  public GptConfig withContextLength(int newContextLength) {
    return new GptConfig(vocabSize, newContextLength, layers, dModel, heads, dropout);
  }

  /** True if the trunks of the two configs have identical parameter shapes (dropout may differ). */
  public boolean sameTrunkShape(GptConfig other) {
    return vocabSize == other.vocabSize
        && contextLength == other.contextLength
        && layers == other.layers
        && dModel == other.dModel
        && heads == other.heads;
  }

  /**
   * Parameters in one transformer block: two LayerNorms, attention (qkv + output projection), MLP.
   */
  public long parametersPerLayer() {
    long d = dModel;
    return 2 * (2 * d) + (3 * d * d + 3 * d) + (d * d + d) + (4 * d * d + 4 * d) + (4 * d * d + d);
  }

  /**
   * Parameters of the trunk: embeddings, blocks and final LayerNorm (the tied LM head adds none).
   */
  public long trunkParameters() {
    return (long) vocabSize * dModel
        + (long) contextLength * dModel
        + layers * parametersPerLayer()
        + 2L * dModel;
  }

  public String toJson() {
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(this);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("GptConfig is always serialisable", e);
    }
  }

  public static GptConfig fromJson(String json) {
    GptConfig config;
    try {
      config = JSON.readValue(json, GptConfig.class);
    } catch (JsonProcessingException | RuntimeException e) {
      // Jackson wraps the compact constructor's validation error; surface its message
      Throwable cause = e;
      while (cause.getCause() != null && !(cause instanceof IllegalArgumentException)) {
        cause = cause.getCause();
      }
      throw new IllegalArgumentException("invalid GptConfig JSON: " + cause.getMessage(), e);
    }
    if (config == null) {
      throw new IllegalArgumentException("empty GptConfig JSON");
    }
    return config;
  }

  private static void require(boolean condition, String message) {
    if (!condition) {
      throw new IllegalArgumentException(message);
    }
  }
}
