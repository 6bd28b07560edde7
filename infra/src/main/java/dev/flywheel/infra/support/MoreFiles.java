package dev.flywheel.infra.support;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * File helpers: the tail of a log file (recursive delete: {@code
 * dev.flywheel.schemas.support.FileTrees}).
 */
public final class MoreFiles {

  private MoreFiles() {}

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
