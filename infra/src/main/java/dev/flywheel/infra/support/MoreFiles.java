package dev.flywheel.infra.support;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/** File helpers: recursive delete, the tail of a log file. */
public final class MoreFiles {

  private MoreFiles() {}

  /** Deletes a file or a directory tree; missing paths are fine; failures are swallowed. */
  public static void deleteQuietly(Path path) {
    if (path == null || !Files.exists(path)) {
      return;
    }
    try {
      Files.walkFileTree(path, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
          deleteIfExists(file);
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFileFailed(Path file, IOException exc) {
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
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
      // best effort: e.g. a file still held open by a process that is going away
    }
  }

  /** The last {@code maxBytes} of a (log) file as text, or a note that it cannot be read. */
  public static String tail(Path file, int maxBytes) {
    if (file == null) {
      return "(no log file)";
    }
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
      long length = raf.length();
      long start = Math.max(0, length - maxBytes);
      byte[] bytes = new byte[(int) (length - start)];
      raf.seek(start);
      raf.readFully(bytes);
      return new String(bytes, StandardCharsets.UTF_8);
    } catch (NoSuchFileException | java.io.FileNotFoundException e) {
      return "(log file " + file + " does not exist)";
    } catch (IOException e) {
      return "(cannot read " + file + ": " + e + ")";
    }
  }
}
