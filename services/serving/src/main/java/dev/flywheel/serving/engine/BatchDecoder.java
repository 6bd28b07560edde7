package dev.flywheel.serving.engine;

import ai.djl.ndarray.NDManager;
import dev.flywheel.model.ByteTokenizer;
import dev.flywheel.model.Gpt;
import dev.flywheel.model.InferenceMode;
import dev.flywheel.model.PolicyModel;
import dev.flywheel.model.Sampler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Decodes the rows of several {@link DecodeJob}s as one batch with a KV cache: the serving
 * counterpart of {@link Sampler}, with what a chat API needs on top of it — sampling settings, stop
 * sequences and a length limit per row, text streamed out as it is produced, and rows of cancelled
 * jobs dropped.
 *
 * <p>The decoding itself is {@link Sampler}'s: prompts left-padded to the same slot, one prefill,
 * then one token per row and step through the cache, finished rows feeding masked padding, tokens
 * drawn on the host from each row's own {@link SplittableRandom}. A batch that decodes longer than
 * its deadline ends every running row with finish reason {@code length} (the decode thread is never
 * held without bound). {@link #choose} mirrors {@code Sampler.choose}, so a row's tokens depend
 * only on its prompt, settings, seed and the model, not on the rows it is batched with (a test
 * checks this against {@link Sampler}).
 *
 * <p>Run it on a thread with grad mode off ({@link InferenceMode}); not thread-safe.
 */
public final class BatchDecoder {

  private final PolicyModel policy;
  private final long deadlineNanos;

  /** A decoder without a deadline. */
  public BatchDecoder(PolicyModel policy) {
    this(policy, null);
  }

  /**
   * @param decodeTimeout longest one batch may decode (from its start, prefill included); rows
   *     still running then end after their current token with finish reason {@code length}, as at
   *     max_tokens. Null: no deadline.
   */
  public BatchDecoder(PolicyModel policy, Duration decodeTimeout) {
    this.policy = policy;
    this.deadlineNanos =
        decodeTimeout == null ? Long.MAX_VALUE : Math.max(0, decodeTimeout.toNanos());
  }

  public int contextLength() {
    return policy.config().contextLength();
  }

  /**
   * Decodes every row of {@code jobs} to the end (or the deadline); completes each job (or fails
   * them all on an error). Returns how many rows the deadline cut short (0 normally).
   */
  public int decode(List<DecodeJob> jobs) {
    List<Row> rows = new ArrayList<>();
    for (DecodeJob job : jobs) {
      for (int i = 0; i < job.rowCount(); i++) {
        rows.add(new Row(job, i, job.rows().get(i)));
      }
    }
    try {
      return run(rows);
    } catch (RuntimeException | Error e) {
      for (DecodeJob job : jobs) {
        job.fail(e);
      }
      throw e;
    }
  }

  private int run(List<Row> rows) {
    long start = System.nanoTime();
    int batch = rows.size();
    int contextLength = contextLength();
    int promptLength = 0;
    int maxNew = 0;
    for (Row row : rows) {
      promptLength = Math.max(promptLength, row.spec.prompt().length);
      maxNew = Math.max(maxNew, row.spec.maxNewTokens());
    }
    if (promptLength >= contextLength) {
      throw new IllegalArgumentException(
          "prompt of "
              + promptLength
              + " tokens leaves no room in the context length "
              + contextLength);
    }
    int steps = Math.min(maxNew, contextLength - promptLength);

    long[][] slots = new long[batch][promptLength + steps];
    long[][] real = new long[batch][promptLength + steps];
    for (int r = 0; r < batch; r++) {
      int[] prompt = rows.get(r).spec.prompt();
      int offset = promptLength - prompt.length;
      Arrays.fill(slots[r], ByteTokenizer.PAD);
      for (int i = 0; i < prompt.length; i++) {
        slots[r][offset + i] = prompt[i];
        real[r][offset + i] = 1;
      }
    }
    for (Row row : rows) {
      if (row.index == 0) {
        row.job.startedNanos = System.nanoTime();
        if (!row.job.cancelled()) {
          row.job.listener().onStart();
        }
      }
    }

    int cut = 0;
    try (NDManager manager = policy.manager().newSubManager();
        Gpt.KvCache cache = policy.trunk().newCache(manager)) {
      int filled = promptLength;
      int active = batch;
      for (int step = 0; step < steps && active > 0; step++) {
        float[] logits = lastLogits(manager, cache, slots, real, cache.length(), filled);
        int vocab = logits.length / batch;
        for (int r = 0; r < batch; r++) {
          Row row = rows.get(r);
          if (!row.finished && row.job.cancelled()) {
            row.finished = true;
            active--;
          }
          boolean feeds = false;
          if (!row.finished) {
            int token = choose(logits, r * vocab, vocab, row.spec, row.random);
            row.count++;
            if (token == ByteTokenizer.EOS) {
              row.finish(RowResult.FinishReason.STOP);
            } else {
              row.emit(row.text.push(token));
              if (row.text.stopped()) {
                row.finish(RowResult.FinishReason.STOP);
              } else if (row.count >= row.spec.maxNewTokens() || step == steps - 1) {
                row.finish(RowResult.FinishReason.LENGTH);
              }
            }
            if (row.finished) {
              active--;
            } else {
              feeds = true;
            }
            slots[r][filled] = token;
          }
          if (!feeds) {
            slots[r][filled] = ByteTokenizer.PAD;
          }
          real[r][filled] = feeds ? 1 : 0;
        }
        filled++;
        if (active > 0 && System.nanoTime() - start >= deadlineNanos) {
          cut = active;
          break;
        }
      }
    }
    for (Row row : rows) {
      if (!row.finished) { // past the deadline, cancelled before its first step, or steps == 0
        row.finish(RowResult.FinishReason.LENGTH);
      }
    }
    return cut;
  }

  private float[] lastLogits(
      NDManager manager, Gpt.KvCache cache, long[][] slots, long[][] real, int from, int filled) {
    return Sampler.lastLogits(policy, manager, cache, slots, real, from, filled);
  }

  /**
   * The model library's token choice with this row's settings (same arithmetic and draws as
   * Sampler).
   */
  static int choose(float[] logits, int offset, int vocab, RowSpec spec, SplittableRandom random) {
    return Sampler.choose(
        logits, offset, vocab, spec.temperature(), spec.topK(), spec.topP(), random);
  }

  /** One row of the batch: a candidate of a job. */
  private static final class Row {
    final DecodeJob job;
    final int index;
    final RowSpec spec;
    final SplittableRandom random;
    final TextAssembler text;
    int count;
    boolean finished;

    Row(DecodeJob job, int index, RowSpec spec) {
      this.job = job;
      this.index = index;
      this.spec = spec;
      this.random = new SplittableRandom(spec.seed());
      this.text = new TextAssembler(spec.stop());
    }

    void emit(String delta) {
      if (!delta.isEmpty() && !job.cancelled()) {
        job.listener().onText(index, delta);
      }
    }

    void finish(RowResult.FinishReason reason) {
      emit(text.finish());
      finished = true;
      job.rowFinished(index, new RowResult(text.text(), count, reason));
    }
  }
}
