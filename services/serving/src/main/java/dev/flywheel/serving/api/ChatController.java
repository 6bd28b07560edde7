package dev.flywheel.serving.api;

import dev.flywheel.events.CandidateResponse;
import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.SamplingParams;
import dev.flywheel.events.Turn;
import dev.flywheel.kit.auth.ApiPrincipal;
import dev.flywheel.kit.auth.RequiresApiKey;
import dev.flywheel.model.ChatTurn;
import dev.flywheel.model.Sampler;
import dev.flywheel.serving.ServingConfig;
import dev.flywheel.serving.engine.DecodeJob;
import dev.flywheel.serving.engine.DecodeWorker;
import dev.flywheel.serving.engine.JobListener;
import dev.flywheel.serving.engine.RowResult;
import dev.flywheel.serving.engine.RowSpec;
import dev.flywheel.serving.engine.ServedModel;
import dev.flywheel.serving.ops.ServingMetrics;
import dev.flywheel.serving.transcripts.EventPublisher;
import io.micronaut.http.HttpHeaders;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Consumes;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.Produces;
import io.micronaut.http.sse.Event;
import io.micronaut.json.JsonMapper;
import io.micronaut.json.tree.JsonNode;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;

/**
 * {@code POST /v1/chat/completions}, compatible with OpenAI's Chat Completions API (see README.md).
 *
 * <p>Every completion is published as a {@link ChatTranscript} keyed and identified by the completion's
 * {@code id}; candidate {@code i} has response id {@code <id>-<i>} (also sent as {@code response_id}).
 * <ul>
 *   <li>Non-streaming: answered 200 only after the broker acknowledged the transcript ({@code acks=all});
 *       if it does not within {@code transcript-timeout}, 503 and the generated text is discarded — a client
 *       never holds response ids that no ranking could resolve.</li>
 *   <li>Streaming: text is sent as it is generated; the transcript is published when the last candidate
 *       ends, and {@code data: [DONE]} is sent only after its acknowledgement. If it fails, an error event
 *       ({@code data: {"error":{...}}}) ends the stream instead of {@code [DONE]}.</li>
 * </ul>
 */
@Controller("/v1")
public class ChatController {

  private static final Logger LOG = LoggerFactory.getLogger(ChatController.class);
  public static final String CHAT_SCOPE = "chat:write";
  public static final String POLICY_VERSION_HEADER = "X-Flywheel-Policy-Version";
  private static final int MAX_ROUTE_ATTEMPTS = 5;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final ServingConfig config;
  private final ModelRouter router;
  private final EventPublisher publisher;
  private final ServingMetrics metrics;
  private final JsonMapper json;
  private final ChatRequestParser parser;

  public ChatController(ServingConfig config, ModelRouter router, EventPublisher publisher, ServingMetrics metrics,
      JsonMapper json) {
    this.config = config;
    this.router = router;
    this.publisher = publisher;
    this.metrics = metrics;
    this.json = json;
    // n candidates are rows of one batch and of one model's queue
    this.parser = new ChatRequestParser(Math.min(config.getMaxN(),
        Math.min(config.getMaxBatchRows(), config.getMaxQueuedRows())));
  }

  /** A request admitted to a model's queue. */
  private record Admitted(String id, long created, ChatRequest request, ServedModel model, int promptTokens,
      int maxNewTokens, DecodeJob job, long arrivalNanos) {

    String responseId(int index) {
      return id + "-" + index;
    }
  }

  @Post(uri = "/chat/completions")
  @Consumes(MediaType.ALL)
  @Produces({MediaType.APPLICATION_JSON, MediaType.TEXT_EVENT_STREAM})
  @RequiresApiKey(scope = CHAT_SCOPE)
  public CompletableFuture<MutableHttpResponse<?>> complete(HttpRequest<?> request, @Body String body) {
    long arrival = System.nanoTime();
    String appId = ApiPrincipal.of(request).appId();
    ChatRequest chat = null;
    try {
      chat = parser.parse(parse(body));
      if (chat.stream()) {
        return CompletableFuture.completedFuture(stream(appId, chat, arrival));
      }
      Admitted admitted = admit(chat, arrival, firstTokenListener(arrival));
      CompletableFuture<MutableHttpResponse<?>> answer = new CompletableFuture<>();
      admitted.job().result()
          .thenCompose(results -> publishTranscript(appId, admitted, results).thenApply(ack -> results))
          .whenComplete((results, error) -> {
            if (error == null) {
              metrics.request("ok", false, System.nanoTime() - arrival);
              answer.complete(completion(admitted, results));
            } else {
              OpenAiException e = afterAdmission(admitted, error);
              metrics.request(e.outcome(), false, System.nanoTime() - arrival);
              answer.complete(error(e));
            }
          });
      return answer;
    } catch (OpenAiException e) {
      metrics.request(e.outcome(), chat != null && chat.stream(), 0);
      return CompletableFuture.completedFuture(error(e));
    }
  }

  private JsonNode parse(String body) {
    if (body == null || body.isBlank()) {
      throw OpenAiException.invalid(null, "We could not parse the JSON body of your request: it is empty.");
    }
    try {
      return json.readValue(body, JsonNode.class);
    } catch (IOException | RuntimeException e) {
      throw OpenAiException.invalid(null, "We could not parse the JSON body of your request. (HINT: This likely "
          + "means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)");
    }
  }

  /** Routes, encodes and queues the request; re-routes if the model it picked was just retired. */
  private Admitted admit(ChatRequest chat, long arrival, JobListener listener) {
    String id = "chatcmpl-" + HexFormat.of().formatHex(randomBytes(12));
    long created = Instant.now().getEpochSecond();
    for (int attempt = 0; attempt < MAX_ROUTE_ATTEMPTS; attempt++) {
      ServedModel model = router.route(chat.model(), chat.user());
      int[] prompt = model.template().encodeForGeneration(chat.turns());
      int context = model.contextLength();
      if (prompt.length >= context) {
        throw OpenAiException.invalid("messages", "context_length_exceeded", "This model's maximum context length is "
            + context + " tokens. However, your messages resulted in " + prompt.length
            + " tokens. Please reduce the length of the messages.");
      }
      int room = context - prompt.length;
      int maxNew = Math.min(chat.maxTokens() != null ? chat.maxTokens() : config.getDefaultMaxTokens(), room);
      long seed = chat.seed() != null ? chat.seed() : RANDOM.nextLong();
      List<RowSpec> rows = new ArrayList<>(chat.n());
      for (int i = 0; i < chat.n(); i++) {
        rows.add(new RowSpec(prompt, chat.temperature(), chat.topP(), 0, maxNew, Sampler.rowSeed(seed, i), chat.stop()));
      }
      DecodeJob job = new DecodeJob(rows, listener);
      Admitted admitted = new Admitted(id, created, chat, model, prompt.length, maxNew, job, arrival);
      if (listener instanceof StreamListener stream) {
        stream.admitted(admitted);
      }
      DecodeWorker.Admission admission = model.submit(job);
      switch (admission) {
        case ACCEPTED -> {
          metrics.promptTokens(prompt.length);
          return admitted;
        }
        case QUEUE_FULL -> throw OpenAiException.queueFull(config.getRetryAfter());
        case CLOSED -> LOG.debug("{} retired while routing; routing again", model);
      }
    }
    throw OpenAiException.unavailable("model_swapping", "The model is being swapped; try again.",
        config.getRetryAfter());
  }

  private JobListener firstTokenListener(long arrival) {
    AtomicBoolean first = new AtomicBoolean();
    return new JobListener() {
      @Override
      public void onText(int row, String delta) {
        mark();
      }

      @Override
      public void onRowFinished(int row, RowResult result) {
        mark();
      }

      private void mark() {
        if (first.compareAndSet(false, true)) {
          metrics.timeToFirstToken(System.nanoTime() - arrival);
        }
      }
    };
  }

  private OpenAiException afterAdmission(Admitted admitted, Throwable error) {
    Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    if (cause instanceof OpenAiException e) {
      return e;
    }
    if (cause instanceof TranscriptFailure) {
      LOG.error("transcript {} not acknowledged: {}", admitted.id(), cause.getCause() == null ? cause
          : cause.getCause().toString());
      return OpenAiException.unavailable("transcript_unavailable", "The completion could not be recorded "
          + "(Kafka did not acknowledge the transcript); it was discarded. Try again.",
          config.getUnavailableRetryAfter());
    }
    LOG.error("completion {} on {} failed", admitted.id(), admitted.model(), cause);
    return OpenAiException.internal("The server had an error while processing your request.");
  }

  // ------------------------------------------------------------------------------------------ transcript

  /** The transcript failed to publish (wraps the producer's error). */
  private static final class TranscriptFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    TranscriptFailure(Throwable cause) {
      super(cause);
    }
  }

  private CompletableFuture<?> publishTranscript(String appId, Admitted a, List<RowResult> results) {
    ChatTranscript transcript = transcript(appId, a, results);
    return publisher.publish(config.getTranscriptsTopic(), a.id(), transcript)
        .handle((metadata, error) -> {
          metrics.transcript(error == null);
          if (error != null) {
            throw new TranscriptFailure(error);
          }
          return metadata;
        });
  }

  private ChatTranscript transcript(String appId, Admitted a, List<RowResult> results) {
    ChatRequest chat = a.request();
    List<Turn> turns = new ArrayList<>();
    for (ChatTurn turn : chat.turns()) {
      turns.add(new Turn(dev.flywheel.events.Role.valueOf(turn.role().name()), turn.text()));
    }
    SamplingParams sampling = SamplingParams.newBuilder()
        .setTemperature(chat.temperature())
        .setTopP(chat.topP())
        .setTopK(0)
        .setMaxTokens(a.maxNewTokens())
        .setSeed(chat.seed())
        .build();
    List<CandidateResponse> responses = new ArrayList<>();
    for (int i = 0; i < results.size(); i++) {
      RowResult r = results.get(i);
      responses.add(CandidateResponse.newBuilder()
          .setResponseId(a.responseId(i))
          .setText(r.text())
          .setPolicyVersion(a.model().version())
          .setSampling(sampling)
          .setTokenCount(r.tokenCount())
          .setFinishReason(r.finishReason().wire())
          .build());
    }
    return ChatTranscript.newBuilder()
        .setEventId(java.util.UUID.randomUUID().toString())
        .setEventTime(Instant.now())
        .setTranscriptId(a.id())
        .setConversationId(chat.conversationId() != null ? chat.conversationId() : a.id())
        .setAppId(appId)
        .setUserId(chat.user())
        .setTurns(turns)
        .setPrompt(chat.prompt())
        .setResponses(responses)
        .build();
  }

  // ------------------------------------------------------------------------------------------ responses

  private MutableHttpResponse<?> completion(Admitted a, List<RowResult> results) {
    List<OpenAiTypes.Choice> choices = new ArrayList<>();
    int completionTokens = 0;
    for (int i = 0; i < results.size(); i++) {
      RowResult r = results.get(i);
      completionTokens += r.tokenCount();
      choices.add(new OpenAiTypes.Choice(i, new OpenAiTypes.Message("assistant", r.text(), null), null,
          r.finishReason().wire(), a.responseId(i)));
    }
    OpenAiTypes.ChatCompletion body = new OpenAiTypes.ChatCompletion(a.id(), "chat.completion", a.created(),
        a.model().name(), a.model().name(), choices, usage(a, completionTokens));
    return HttpResponse.ok(body).header(POLICY_VERSION_HEADER, Long.toString(a.model().version()));
  }

  private static OpenAiTypes.Usage usage(Admitted a, int completionTokens) {
    return new OpenAiTypes.Usage(a.promptTokens(), completionTokens, a.promptTokens() + completionTokens);
  }

  private MutableHttpResponse<?> error(OpenAiException e) {
    MutableHttpResponse<OpenAiError> response = HttpResponse.<OpenAiError>status(e.status()).body(e.body());
    response.contentType(MediaType.APPLICATION_JSON_TYPE);
    if (e.retryAfter() != null) {
      response.header(HttpHeaders.RETRY_AFTER, Long.toString(Math.max(1, ceilSeconds(e.retryAfter()))));
    }
    return response;
  }

  private static long ceilSeconds(Duration d) {
    return (d.toMillis() + 999) / 1000;
  }

  // ------------------------------------------------------------------------------------------ streaming

  private MutableHttpResponse<?> stream(String appId, ChatRequest chat, long arrival) {
    StreamListener listener = new StreamListener(chat.includeUsage(), arrival);
    Admitted admitted = admit(chat, arrival, listener);
    admitted.job().result()
        .thenCompose(results -> publishTranscript(appId, admitted, results).thenApply(ack -> results))
        .whenComplete((results, error) -> {
          Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
          if (cause instanceof CancellationException) {
            metrics.request("client_cancelled", true, System.nanoTime() - arrival);
            listener.close();
          } else if (error != null) {
            OpenAiException e = afterAdmission(admitted, error);
            metrics.request(e.outcome(), true, System.nanoTime() - arrival);
            listener.fail(e);
          } else {
            metrics.request("ok", true, System.nanoTime() - arrival);
            listener.done(results);
          }
        });
    Flux<Event<String>> events = listener.events().doOnCancel(() -> admitted.job().cancel());
    return HttpResponse.ok(events).contentType(MediaType.TEXT_EVENT_STREAM_TYPE)
        .header(POLICY_VERSION_HEADER, Long.toString(admitted.model().version()))
        .header(HttpHeaders.CACHE_CONTROL, "no-cache");
  }

  /**
   * Turns a job's output into {@code chat.completion.chunk} events: per candidate a first chunk with the role
   * (and its response id), content deltas as they are decoded, a last chunk with the finish reason; then
   * the usage chunk if asked for, and {@code [DONE]}.
   */
  private final class StreamListener implements JobListener {
    private final Sinks.Many<Event<String>> sink = Sinks.many().unicast().onBackpressureBuffer();
    private final boolean includeUsage;
    private final long arrival;
    private volatile Admitted admitted;
    private boolean firstToken;

    StreamListener(boolean includeUsage, long arrival) {
      this.includeUsage = includeUsage;
      this.arrival = arrival;
    }

    Flux<Event<String>> events() {
      return sink.asFlux();
    }

    void admitted(Admitted a) {
      this.admitted = a;
    }

    /** On the decode thread, before any text of the job: the role chunks. */
    @Override
    public void onStart() {
      Admitted a = admitted;
      for (int i = 0; i < a.request().n(); i++) {
        emit(chunk(List.of(new OpenAiTypes.ChunkChoice(i, new OpenAiTypes.Delta("assistant", ""), null, null,
            a.responseId(i))), null));
      }
    }

    @Override
    public void onText(int row, String delta) {
      firstToken();
      emit(chunk(List.of(new OpenAiTypes.ChunkChoice(row, new OpenAiTypes.Delta(null, delta), null, null, null)),
          null));
    }

    @Override
    public void onRowFinished(int row, RowResult result) {
      firstToken();
      emit(chunk(List.of(new OpenAiTypes.ChunkChoice(row, new OpenAiTypes.Delta(null, null), null,
          result.finishReason().wire(), null)), null));
    }

    private void firstToken() {
      if (!firstToken) {
        firstToken = true;
        metrics.timeToFirstToken(System.nanoTime() - arrival);
      }
    }

    void done(List<RowResult> results) {
      if (includeUsage) {
        int completionTokens = results.stream().mapToInt(RowResult::tokenCount).sum();
        emit(chunk(List.of(), usage(admitted, completionTokens)));
      }
      emitRaw("[DONE]");
      close();
    }

    void fail(OpenAiException e) {
      try {
        emitRaw(json.writeValueAsString(e.body()));
      } catch (IOException io) {
        LOG.warn("could not encode a stream error", io);
      }
      close();
    }

    synchronized void close() {
      sink.tryEmitComplete();
    }

    private String chunk(List<OpenAiTypes.ChunkChoice> choices, OpenAiTypes.Usage usage) {
      Admitted a = admitted;
      try {
        return json.writeValueAsString(new OpenAiTypes.ChatCompletionChunk(a.id(), "chat.completion.chunk",
            a.created(), a.model().name(), a.model().name(), choices, usage));
      } catch (IOException e) {
        throw new IllegalStateException("cannot encode a chunk", e);
      }
    }

    private void emit(String data) {
      emitRaw(data);
    }

    private synchronized void emitRaw(String data) {
      sink.tryEmitNext(Event.of(data));
    }
  }

  private static byte[] randomBytes(int n) {
    byte[] bytes = new byte[n];
    RANDOM.nextBytes(bytes);
    return bytes;
  }
}
