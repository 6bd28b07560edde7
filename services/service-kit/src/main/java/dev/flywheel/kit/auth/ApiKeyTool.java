package dev.flywheel.kit.auth;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * Command line: mint a new API key for an app, or hash an existing one.
 *
 * <pre>
 *   ApiKeyTool new &lt;app-id&gt; [scope...]   prints a new key (give it to the app) and the config snippet
 *   ApiKeyTool hash                        reads a key from stdin, prints its SHA-256 hex
 * </pre>
 *
 * The key is printed once and stored nowhere; only its hash goes into the service configuration.
 */
public final class ApiKeyTool {

  private ApiKeyTool() {}

  public static void main(String[] args) throws IOException {
    System.exit(run(args, System.in, System.out, System.err));
  }

  static int run(String[] args, java.io.InputStream in, PrintStream out, PrintStream err)
      throws IOException {
    String command = args.length == 0 ? "help" : args[0];
    switch (command) {
      case "new" -> {
        if (args.length < 2 || args[1].isBlank()) {
          err.println("usage: new <app-id> [scope...]");
          return 2;
        }
        String app = args[1];
        String key = ApiKeys.generate();
        String hash = ApiKeys.sha256Hex(key);
        out.println(
            "API key for app '" + app + "' (shown once, store it in the app's secret store):");
        out.println("  " + key);
        out.println();
        out.println("Add to the service configuration (only the hash, never the key):");
        out.println("flywheel:");
        out.println("  auth:");
        out.println("    apps:");
        out.println("      " + app + ":");
        out.println("        key-hashes:");
        out.println("          - " + hash);
        out.print("        scopes: [");
        for (int i = 2; i < args.length; i++) {
          out.print((i > 2 ? ", " : "") + args[i]);
        }
        out.println(args.length > 2 ? "]" : "\"*\"]");
        return 0;
      }
      case "hash" -> {
        BufferedReader reader =
            new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        String line = reader.readLine();
        if (line == null || line.isBlank()) {
          err.println("hash: give the key on standard input, e.g.  printf %s \"$KEY\" | ... hash");
          return 2;
        }
        out.println(ApiKeys.sha256Hex(line.strip()));
        return 0;
      }
      default -> {
        (command.equals("help") || command.equals("--help") ? out : err)
            .println(
                String.join(
                    "\n",
                    "usage:",
                    "  new <app-id> [scope...]   mint a key; prints it once plus the config snippet with its hash",
                    "  hash                      read a key from stdin and print its SHA-256 (64 hex digits)"));
        return command.equals("help") || command.equals("--help") ? 0 : 2;
      }
    }
  }
}
