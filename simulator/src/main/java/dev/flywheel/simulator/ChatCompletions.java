package dev.flywheel.simulator;

import java.io.IOException;

/**
 * Something that answers chat completion requests: serving over HTTP ({@link ServingClient}), or a
 * test double.
 */
@FunctionalInterface
public interface ChatCompletions {

  ServingClient.Completion complete(ServingClient.Request request)
      throws IOException, InterruptedException;
}
