package dev.flywheel.gateway;

import dev.flywheel.kit.auth.ApiKeyTool;
import io.micronaut.runtime.Micronaut;
import java.util.Arrays;

/**
 * The feedback gateway. {@code java -jar flywheel-feedback-gateway-*-all.jar} serves the API;
 * {@code ... key new <app-id> [scope...]} and {@code ... key hash} run the API-key tool instead.
 */
public final class Application {

  private Application() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("key")) {
      ApiKeyTool.main(Arrays.copyOfRange(args, 1, args.length));
      return;
    }
    Micronaut.build(args).mainClass(Application.class).banner(false).start();
  }
}
