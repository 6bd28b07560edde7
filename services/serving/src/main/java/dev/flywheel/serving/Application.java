package dev.flywheel.serving;

import dev.flywheel.kit.auth.ApiKeyTool;
import dev.flywheel.model.NativeRuntime;
import io.micronaut.runtime.Micronaut;
import java.util.Arrays;
import org.slf4j.LoggerFactory;

/**
 * The serving API. {@code java -jar flywheel-serving-*-all.jar} serves it; {@code ... key new
 * <app-id> chat:write} and {@code ... key hash} run the service kit's API-key tool instead.
 */
public final class Application {

  private Application() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("key")) {
      ApiKeyTool.main(Arrays.copyOfRange(args, 1, args.length));
      return;
    }
    String ompWaitPolicy = NativeRuntime.configure();
    LoggerFactory.getLogger(Application.class)
        .info(
            "OMP_WAIT_POLICY={}, ai.djl.pytorch.num_threads={}, " + "num_interop_threads={}",
            ompWaitPolicy,
            System.getProperty("ai.djl.pytorch.num_threads"),
            System.getProperty("ai.djl.pytorch.num_interop_threads"));
    Micronaut.build(args).mainClass(Application.class).banner(false).start();
  }
}
