package dev.flywheel.serving.api;

import dev.flywheel.events.CandidateResponse;
import dev.flywheel.events.ChatTranscript;
import dev.flywheel.events.SamplingParams;
import dev.flywheel.events.Turn;
import dev.flywheel.kit.auth.ApiPrincipal;
import dev.flywheel.kit.auth.RequiresApiKey;
import dev.flywheel.model.Sampler;
import dev.flywheel.modelevents.ChatTurns;
import dev.flywheel.serving.ServingConfig;
import dev.flywheel.serving.engine.DecodeJob;
import dev.flywheel.serving.engine.DecodeWorker;
import dev.flywheel.serving.engine.JobListener;
import dev.flywheel.serving.engine.RowResult;
import dev.flywheel.serving.engine.RowSpec;
import dev.flywheel.serving.engine.ServedModel;
import dev.flywheel.serving.ops.ServingMetrics;
import dev.flywheel.serving.transcripts.ServingEventPublisher;
import io.micronaut.http.HttpHeaders;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
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
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
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
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Sinks;

/**
 * {@code POST /v1/chat/completions}, compatible with OpenAI's Chat Completions API (see README.md).
 *
 * <p>Every completion is published as a {@link ChatTranscript} keyed and identified by the
 * completion's {@code id}; candidate {@code i} has response id {@code <id>-<i>} (also sent as
 * {@code response_id}).
 *
 * <ul>
 *   <li>Non-streaming: answered 200 only after the broker acknowledged the transcript ({@code
 *       acks=all}); if it does not within {@code transcript-timeout}, 503 and the generated text is
 *       discarded — a client never holds response ids that no ranking could resolve.
 *   <li>Streaming: text is sent as it is generated; the transcript is published when the last
 *       candidate ends, and {@code data: [DONE]} is sent only after its acknowledgement. If it
 *       fails, an error event ({@code data: {"error":{...}}}) ends the stream instead of {@code
 *       [DONE]}.
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
  private final ServingEventPublisher publisher;
  private final ServingMetrics metrics;
  private final JsonMapper json;
  private final ChatRequestParser parser;

  public ChatController(
      ServingConfig config,
      ModelRouter router,
      ServingEventPublisher publisher,
      ServingMetrics metrics,
      JsonMapper json) {
    this.config = config;
    this.router = router;
    this.publisher = publisher;
    this.metrics = metrics;
    this.json = json;
    // n candidates are rows of one batch and of one model's queue
    this.parser =
        new ChatRequestParser(
            Math.min(
                config.getMaxN(), Math.min(config.getMaxBatchRows(), config.getMaxQueuedRows())),
            config.getMaxTokensLimit(),
            config.getMaxStopLength());
  }

  /** A request admitted to a model's queue. */
  private record Admitted(
      String id,
      long created,
      ChatRequest request,
      ServedModel model,
      int promptTokens,
      int maxNewTokens,
      DecodeJob job,
      long arrivalNanos) {

    String responseId(int index) {
      return id + "-" + index;
    }
  }

  @Post(uri = "/chat/completions")
  @Consumes(MediaType.ALL)
  @Produces({MediaType.APPLICATION_JSON, MediaType.TEXT_EVENT_STREAM})
  @RequiresApiKey(scope = CHAT_SCOPE)
  public CompletableFuture<MutableHttpResponse<?>> complete(
      HttpRequest<?> request, @Body byte[] body) {
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
      admitted
          .job()
          .result()
          .thenCompose(
              results -> publishTranscript(appId, admitted, results).thenApply(ack -> results))
          .whenComplete(
              (results, error) -> {
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

  /**
   * The body as a JSON tree. The bytes must be UTF-8: a malformed sequence (a stray byte, a
   * surrogate encoded as bytes) is a 400, not silently replaced by U+FFFD. Nesting deeper than
   * Jackson's limit (1000) and numbers longer than 1000 digits are refused by the parser; anything
   * it throws is a 400.
   */
  private JsonNode parse(byte[] body) {
    String text;
    try {
      text =
          body == null
              ? ""
              : StandardCharsets.UTF_8
                  .newDecoder()
                  .onMalformedInput(CodingErrorAction.REPORT)
                  .onUnmappableCharacter(CodingErrorAction.REPORT)
                  .decode(ByteBuffer.wrap(body))
                  .toString();
    } catch (CharacterCodingException e) {
      throw OpenAiException.invalid(null, "The request body is not valid UTF-8.");
    }
    if (text.isBlank()) {
      throw OpenAiException.invalid(
          null, "We could not parse the JSON body of your request: it is empty.");
    }
    try {
      return json.readValue(text, JsonNode.class);
    } catch (IOException | RuntimeException | StackOverflowError e) {
      throw OpenAiException.invalid(
          null,
          "We could not parse the JSON body of your request. (HINT: This likely "
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
        throw OpenAiException.invalid(
            "messages",
            "context_length_exceeded",
            "This model's maximum context length is "
                + context
                + " tokens. However, your messages resulted in "
                + prompt.length
                + " tokens. Please reduce the length of the messages.");
      }
      int room = context - prompt.length;
      int maxNew =
          Math.min(
              chat.maxTokens() != null ? chat.maxTokens() : config.getDefaultMaxTokens(), room);
      long seed = chat.seed() != null ? chat.seed() : RANDOM.nextLong();
      List<RowSpec> rows = new ArrayList<>(chat.n());
      for (int i = 0; i < chat.n(); i++) {
        rows.add(
            new RowSpec(
                prompt,
                chat.temperature(),
                chat.topP(),
                0,
                maxNew,
                Sampler.rowSeed(seed, i),
                chat.stop()));
      }
      DecodeJob job = new DecodeJob(rows, listener);
      Admitted admitted =
          new Admitted(id, created, chat, model, prompt.length, maxNew, job, arrival);
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
    throw OpenAiException.unavailable(
        "model_swapping", "The model is being swapped; try again.", config.getRetryAfter());
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
    Throwable cause =
        error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    if (cause instanceof OpenAiException e) {
      return e;
    }
    if (cause instanceof TranscriptFailure) {
      LOG.error(
          "transcript {} not acknowledged: {}",
          admitted.id(),
          cause.getCause() == null ? cause : cause.getCause().toString());
      return OpenAiException.unavailable(
          "transcript_unavailable",
          "The completion could not be recorded "
              + "(Kafka did not acknowledge the transcript); it was discarded. Try again.",
          config.getUnavailableRetryAfter());
    }
    LOG.error("completion {} on {} failed", admitted.id(), admitted.model(), cause);
    return OpenAiException.internal("The server had an error while processing your request.");
  }

  // ------------------------------------------------------------------------------------------
  // transcript

  /** The transcript failed to publish (wraps the producer's error). */
  private static final class TranscriptFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    TranscriptFailure(Throwable cause) {
      super(cause);
    }
  }

  private CompletableFuture<?> publishTranscript(
      String appId, Admitted a, List<RowResult> results) {
    ChatTranscript transcript = transcript(appId, a, results);
    return publisher
        .publish(config.getTranscriptsTopic(), a.id(), transcript)
        .handle(
            (metadata, error) -> {
              metrics.transcript(error == null);
              if (error != null) {
                throw new TranscriptFailure(error);
              }
              return metadata;
            });
  }

  private ChatTranscript transcript(String appId, Admitted a, List<RowResult> results) {
    ChatRequest chat = a.request();
    List<Turn> turns = ChatTurns.toTurns(chat.turns());
    SamplingParams sampling =
        SamplingParams.newBuilder()
            .setTemperature(chat.temperature())
            .setTopP(chat.topP())
            .setTopK(0)
            .setMaxTokens(a.maxNewTokens())
            .setSeed(chat.seed())
            .build();
    List<CandidateResponse> responses = new ArrayList<>();
    for (int i = 0; i < results.size(); i++) {
      RowResult r = results.get(i);
      responses.add(
          CandidateResponse.newBuilder()
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

  // ------------------------------------------------------------------------------------------
  // responses

  private MutableHttpResponse<?> completion(Admitted a, List<RowResult> results) {
    List<OpenAiTypes.Choice> choices = new ArrayList<>();
    int completionTokens = 0;
    for (int i = 0; i < results.size(); i++) {
      RowResult r = results.get(i);
      completionTokens += r.tokenCount();
      choices.add(
          new OpenAiTypes.Choice(
              i,
              new OpenAiTypes.Message("assistant", r.text(), null),
              null,
              r.finishReason().wire(),
              a.responseId(i)));
    }
    OpenAiTypes.ChatCompletion body =
        new OpenAiTypes.ChatCompletion(
            a.id(),
            "chat.completion",
            a.created(),
            a.model().name(),
            a.model().name(),
            choices,
            usage(a, completionTokens));
    return HttpResponse.ok(body).header(POLICY_VERSION_HEADER, Long.toString(a.model().version()));
  }

  private static OpenAiTypes.Usage usage(Admitted a, int completionTokens) {
    return new OpenAiTypes.Usage(
        a.promptTokens(), completionTokens, a.promptTokens() + completionTokens);
  }

  private MutableHttpResponse<?> error(OpenAiException e) {
    MutableHttpResponse<OpenAiError> response =
        HttpResponse.<OpenAiError>status(e.status()).body(e.body());
    response.contentType(MediaType.APPLICATION_JSON_TYPE);
    if (e.retryAfter() != null) {
      response.header(
          HttpHeaders.RETRY_AFTER, Long.toString(Math.max(1, ceilSeconds(e.retryAfter()))));
    }
    return response;
  }

  private static long ceilSeconds(Duration d) {
    return (d.toMillis() + 999) / 1000;
  }

  // ------------------------------------------------------------------------------------------
  // streaming

  private MutableHttpResponse<?> stream(String appId, ChatRequest chat, long arrival) {
    StreamListener listener =
        new StreamListener(chat.includeUsage(), arrival, config.getMaxStreamBuffer());
    Admitted admitted = admit(chat, arrival, listener);
    admitted
        .job()
        .result()
        .thenCompose(
            results -> publishTranscript(appId, admitted, results).thenApply(ack -> results))
        .whenComplete(
            (results, error) -> {
              Throwable cause =
                  error instanceof CompletionException && error.getCause() != null
                      ? error.getCause()
                      : error;
              if (cause instanceof CancellationException) {
                metrics.request(
                    listener.overflowed() ? "stream_buffer_overflow" : "client_cancelled",
                    true,
                    System.nanoTime() - arrival);
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
    return HttpResponse.ok(events)
        .contentType(MediaType.TEXT_EVENT_STREAM_TYPE)
        .header(POLICY_VERSION_HEADER, Long.toString(admitted.model().version()))
        .header(HttpHeaders.CACHE_CONTROL, "no-cache");
  }

  /**
   * Turns a job's output into {@code chat.completion.chunk} events: per candidate a first chunk
   * with the role (and its response id), content deltas as they are decoded, a last chunk with the
   * finish reason; then the usage chunk if asked for, and {@code [DONE]}.
   *
   * <p>The events wait in the sink until the HTTP layer takes them, which it does only as fast as
   * the client reads (Netty's channel writability). At most {@code maxBuffered} bytes may wait: a
   * client that falls further behind has its completion cancelled (rows leave the batch, no
   * transcript) and the stream ends with an error event ({@code stream_buffer_overflow}) after what
   * was already buffered. The closing events (usage, {@code [DONE]}, an error) are small and always
   * appended.
   */
  private final class StreamListener implements JobListener {
    private final Sinks.Many<Event<String>> sink = Sinks.many().unicast().onBackpressureBuffer();
    private final boolean includeUsage;
    private final long arrival;
    private final long maxBuffered;

    /** UTF-8 bytes of the events emitted but not yet taken by the HTTP layer. */
    private final AtomicLong buffered = new AtomicLong();

    private volatile Admitted admitted;
    private volatile boolean overflowed;
    private boolean closed;
    private boolean firstToken;

    StreamListener(boolean includeUsage, long arrival, long maxBuffered) {
      this.includeUsage = includeUsage;
      this.arrival = arrival;
      this.maxBuffered = maxBuffered;
    }

    Flux<Event<String>> events() {
      return sink.asFlux().doOnNext(event -> buffered.addAndGet(-utf8Length(event.getData())));
    }

    boolean overflowed() {
      return overflowed;
    }

    void admitted(Admitted a) {
      this.admitted = a;
    }

    /** On the decode thread, before any text of the job: the role chunks. */
    @Override
    public void onStart() {
      Admitted a = admitted;
      for (int i = 0; i < a.request().n(); i++) {
        emit(
            chunk(
                List.of(
                    new OpenAiTypes.ChunkChoice(
                        i, new OpenAiTypes.Delta("assistant", ""), null, null, a.responseId(i))),
                null));
      }
    }

    @Override
    public void onText(int row, String delta) {
      firstToken();
      emit(
          chunk(
              List.of(
                  new OpenAiTypes.ChunkChoice(
                      row, new OpenAiTypes.Delta(null, delta), null, null, null)),
              null));
    }

    @Override
    public void onRowFinished(int row, RowResult result) {
      firstToken();
      emit(
          chunk(
              List.of(
                  new OpenAiTypes.ChunkChoice(
                      row,
                      new OpenAiTypes.Delta(null, null),
                      null,
                      result.finishReason().wire(),
                      null)),
              null));
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
        emitRaw(chunk(List.of(), usage(admitted, completionTokens)), true);
      }
      emitRaw("[DONE]", true);
      close();
    }

    void fail(OpenAiException e) {
      try {
        emitRaw(json.writeValueAsString(e.body()), true);
      } catch (IOException io) {
        LOG.warn("could not encode a stream error", io);
      }
      close();
    }

    synchronized void close() {
      closed = true;
      sink.tryEmitComplete();
    }

    private String chunk(List<OpenAiTypes.ChunkChoice> choices, OpenAiTypes.Usage usage) {
      Admitted a = admitted;
      try {
        return json.writeValueAsString(
            new OpenAiTypes.ChatCompletionChunk(
                a.id(),
                "chat.completion.chunk",
                a.created(),
                a.model().name(),
                a.model().name(),
                choices,
                usage));
      } catch (IOException e) {
        throw new IllegalStateException("cannot encode a chunk", e);
      }
    }

    private void emit(String data) {
      emitRaw(data, false);
    }

    /** Queues one event; {@code closing} events are appended even past the bound. */
    private synchronized void emitRaw(String data, boolean closing) {
      if (closed) {
        return;
      }
      long size = utf8Length(data);
      if (!closing && buffered.get() + size > maxBuffered) {
        overflow();
        return;
      }
      buffered.addAndGet(size);
      sink.tryEmitNext(Event.of(data));
    }

    /** The client reads too slowly: cancel the completion, end the stream with an error event. */
    private void overflow() {
      overflowed = true;
      LOG.info(
          "completion {}: the client fell more than {} bytes behind the stream; cancelled",
          admitted == null ? "?" : admitted.id(),
          maxBuffered);
      fail(
          new OpenAiException(
              HttpStatus.SERVICE_UNAVAILABLE,
              "server_error",
              "stream_buffer_overflow",
              null,
              "The client read the stream too slowly: more than "
                  + maxBuffered
                  + " bytes were waiting to be sent "
                  + "(flywheel.serving.max-stream-buffer). The completion was cancelled and not recorded.",
              null));
      Admitted a = admitted;
      if (a != null) {
        a.job().cancel(); // its rows leave the batch at the next step; no transcript is published
      }
    }
  }

  /** Bytes of {@code s} in UTF-8, without encoding it. */
  static long utf8Length(String s) {
    long n = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        n++;
      } else if (c < 0x800) {
        n += 2;
      } else if (Character.isHighSurrogate(c)
          && i + 1 < s.length()
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        n += 4;
        i++;
      } else {
        n += 3;
      }
    }
    return n;
  }

  private static byte[] randomBytes(int n) {
    byte[] bytes = new byte[n];
    RANDOM.nextBytes(bytes);
    return bytes;
  }
}
