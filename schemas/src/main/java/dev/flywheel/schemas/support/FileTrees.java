package dev.flywheel.schemas.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Deleting a file or a directory tree, written once for every module that does it (trainer
 * checkpoints, artifact staging directories, the test infrastructure's temporary directories). Here
 * because every such module already depends on {@code schemas}. Symbolic links are deleted, never
 * followed.
 */
public final class FileTrees {

  private FileTrees() {}

  /**
   * Deletes {@code root} and everything below it, children before their directory. A missing path
   * is fine. The first failure is thrown; what was deleted before it stays deleted.
   */
  public static void deleteRecursively(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /**
   * Best effort: deletes {@code path} (a file or a directory tree) as far as it can, going on past
   * entries that cannot be read or deleted (e.g. a file still held open by a process that is going
   * away). Never throws; {@code null} and missing paths are fine.
   */
  public static void deleteQuietly(Path path) {
    if (path == null || !Files.exists(path)) {
      return;
    }
    try {
      Files.walkFileTree(
          path,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
              deleteIfExists(file);
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException exc) {
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) {
              deleteIfExists(dir);
              return FileVisitResult.CONTINUE;
            }
          });
    } catch (IOException | UncheckedIOException e) {
      // best effort
    }
  }

  private static void deleteIfExists(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      // best effort
    }
  }
}
