package dev.flywheel.testing;

import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Property-based ("fuzz") tests that stay in the suite. A property is a generator of inputs and a
 * check that must hold for every one of them; {@link #check} runs it for a bounded number of tries
 * inside an ordinary JUnit test, so CI runs every property on every build.
 *
 * <ul>
 *   <li><b>Bounded in CI:</b> each property names its own number of tries, sized so that a module's
 *       properties add seconds, not minutes, on two cores.
 *   <li><b>Longer runs behind a flag:</b> {@code -Dflywheel.fuzz.scale=100} multiplies every
 *       property's tries (Surefire hands {@code -D} options of the Maven command line to the test
 *       JVM), e.g. {@code mvn -o -pl services/serving -am verify -Dtest='*FuzzTest'
 *       -Dsurefire.failIfNoSpecifiedTests=false -Dflywheel.fuzz.scale=100}.
 *   <li><b>Reproducible:</b> each property has a fixed seed derived from its name, so CI sees the
 *       same inputs every run; {@code -Dflywheel.fuzz.seed=<seed>} replays a run and {@code
 *       -Dflywheel.fuzz.seed=random} explores new inputs (with the scale above). The inputs of try
 *       <i>i</i> depend only on the seed and <i>i</i>. A failure names the property, the try, the
 *       seed and the input, and rethrows the check's own error as its cause.
 *   <li><b>Not vacuous:</b> a check returns a label for the outcome it saw ({@code "accepted"},
 *       {@code "400 tiers"}, ...); {@link #check} returns how often each label occurred, so a test
 *       can assert that its generator reached both the valid and the invalid side.
 * </ul>
 *
 * <p>Inputs grow with the try index ({@link Gen#size()}): the first tries are small, so a property
 * that fails on small inputs fails with a small input. There is no shrinking beyond that.
 */
public final class Fuzz {

  /** Multiplies every property's tries (default 1). */
  public static final String SCALE_PROPERTY = "flywheel.fuzz.scale";

  /**
   * The seed of every property: a number replays a run, {@code random} draws a new one
   * (exploration, with {@value #SCALE_PROPERTY}); unset, each property has a fixed seed derived
   * from its name, so CI sees the same inputs every run.
   */
  public static final String SEED_PROPERTY = "flywheel.fuzz.seed";

  /** Longest rendering of a failing input (and of the failure) in the error message. */
  private static final int MAX_SHOWN = 2_000;

  private Fuzz() {}

  /** The check of one input; returns a label of the outcome (null counts as {@code "ok"}). */
  @FunctionalInterface
  public interface Check<T> {
    String apply(T input) throws Exception;
  }

  /**
   * As {@link #check(String, int, Function, Function, Check)}, showing a failing input with {@code
   * toString}.
   */
  public static <T> Map<String, Integer> check(
      String name, int tries, Function<Gen, T> generator, Check<T> check) {
    return check(name, tries, generator, String::valueOf, check);
  }

  /**
   * Runs {@code check} on {@code tries} × {@value #SCALE_PROPERTY} generated inputs.
   *
   * @param name the property, for the failure message
   * @param tries tries in a normal (CI) run
   * @param generator draws one input from the generator it is given
   * @param show renders an input for the failure message
   * @return how many times each outcome label occurred
   * @throws AssertionError naming the first input for which the check threw (its error is the
   *     cause)
   */
  public static <T> Map<String, Integer> check(
      String name,
      int tries,
      Function<Gen, T> generator,
      Function<T, String> show,
      Check<T> check) {
    long seed = seed(name);
    long total = tries(tries);
    Map<String, Integer> outcomes = new TreeMap<>();
    for (int i = 0; i < total; i++) {
      Gen gen =
          new Gen(
              new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (i + 1))).nextLong(),
              sizeFor(i, total));
      T input = generator.apply(gen);
      String label;
      try {
        label = check.apply(input);
      } catch (Throwable failure) {
        throw new AssertionError(
            name
                + " failed on try "
                + (i + 1)
                + " of "
                + total
                + " (seed "
                + seed
                + "; rerun with -D"
                + SEED_PROPERTY
                + "="
                + seed
                + ")\ninput: "
                + abbreviate(show, input)
                + "\nfailure: "
                + abbreviate(String::valueOf, failure),
            failure);
      }
      outcomes.merge(label == null ? "ok" : label, 1, Integer::sum);
    }
    System.out.println(
        printable(
            "fuzz: " + name + ": " + total + " tries, seed " + seed + ", outcomes " + outcomes));
    return outcomes;
  }

  /** Tries of a property in this run: its CI tries times the scale flag. */
  public static long tries(int ciTries) {
    String scale = System.getProperty(SCALE_PROPERTY);
    return scale == null || scale.isBlank()
        ? ciTries
        : (long) ciTries * Long.parseLong(scale.trim());
  }

  private static long seed(String name) {
    String fixed = System.getProperty(SEED_PROPERTY);
    if (fixed == null || fixed.isBlank()) {
      // CI: the same inputs on every run, so that a red build is the code's doing, not the draw's
      return 0x5DEECE66DL * 31 + name.hashCode();
    }
    return fixed.trim().equals("random")
        ? new SplittableRandom().nextLong()
        : Long.parseLong(fixed.trim());
  }

  /** 1 on the first try, growing to {@link Gen#MAX_SIZE} by the middle of the run. */
  private static int sizeFor(int i, long total) {
    long ramp = Math.max(1, total / 2);
    return (int) Math.max(1, Math.min(Gen.MAX_SIZE, 1 + (i * (long) Gen.MAX_SIZE) / ramp));
  }

  private static <T> String abbreviate(Function<T, String> show, T input) {
    String s;
    try {
      s = show.apply(input);
    } catch (RuntimeException e) {
      s = "(cannot show the input: " + e + ")";
    }
    String shown =
        s.length() <= MAX_SHOWN
            ? s
            : s.substring(0, MAX_SHOWN) + "... (" + s.length() + " characters)";
    return printable(shown);
  }

  /**
   * Lone surrogates and control characters (but newlines) written as {@code \\uXXXX}: test reports
   * cut a message short at them.
   */
  static String printable(String s) {
    StringBuilder out = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      boolean pair =
          Character.isHighSurrogate(c)
              && i + 1 < s.length()
              && Character.isLowSurrogate(s.charAt(i + 1));
      if (pair) {
        out.append(c).append(s.charAt(++i));
      } else if (Character.isSurrogate(c) || (c < 0x20 && c != '\n') || c == 0x7F) {
        out.append(String.format("\\u%04X", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }
}
