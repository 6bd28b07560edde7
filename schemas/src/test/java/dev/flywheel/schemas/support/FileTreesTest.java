package dev.flywheel.schemas.support;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileTreesTest {

  @TempDir Path dir;

  /** {@code root/a/b/file}, {@code root/a/file}, {@code root/file}, {@code root/empty/}. */
  Path tree(String name) throws IOException {
    Path root = dir.resolve(name);
    Files.createDirectories(root.resolve("a/b"));
    Files.createDirectories(root.resolve("empty"));
    Files.writeString(root.resolve("a/b/file"), "1");
    Files.writeString(root.resolve("a/file"), "2");
    Files.writeString(root.resolve("file"), "3");
    return root;
  }

  @Test
  void deleteRecursivelyDeletesTheTreeAndNothingNextToIt() throws IOException {
    Path root = tree("root");
    Path sibling = Files.writeString(dir.resolve("sibling"), "keep");
    FileTrees.deleteRecursively(root);
    assertFalse(Files.exists(root));
    assertTrue(Files.exists(sibling));

    Path file = Files.writeString(dir.resolve("single"), "x");
    FileTrees.deleteRecursively(file);
    assertFalse(Files.exists(file));
    FileTrees.deleteRecursively(dir.resolve("missing")); // no exception
  }

  @Test
  void linksAreDeletedNotFollowed() throws IOException {
    Path outside = tree("outside");
    Path root = tree("root");
    try {
      Files.createSymbolicLink(root.resolve("link"), outside);
    } catch (UnsupportedOperationException | IOException e) {
      assumeTrue(false, "no symbolic links here: " + e);
    }
    FileTrees.deleteRecursively(root);
    assertFalse(Files.exists(root));
    assertTrue(Files.exists(outside.resolve("a/b/file")), "the link's target was deleted");

    Path again = tree("again");
    Files.createSymbolicLink(again.resolve("link"), outside);
    FileTrees.deleteQuietly(again);
    assertFalse(Files.exists(again));
    assertTrue(Files.exists(outside.resolve("a/b/file")), "the link's target was deleted");
  }

  @Test
  void deleteQuietlyDeletesTheTreeAndAcceptsNullAndMissing() throws IOException {
    Path root = tree("root");
    FileTrees.deleteQuietly(root);
    assertFalse(Files.exists(root));
    FileTrees.deleteQuietly(null);
    FileTrees.deleteQuietly(dir.resolve("missing"));
  }

  /** A directory whose entries cannot be removed: no write permission (not enforced for root). */
  Path locked(Path root) throws IOException {
    Path locked = root.resolve("a/b");
    try {
      Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("r-xr-xr-x"));
    } catch (UnsupportedOperationException e) {
      assumeTrue(false, "no POSIX permissions here");
    }
    Path probe = locked.resolve("file");
    boolean enforced;
    try {
      Files.copy(probe, locked.resolve("probe"));
      Files.delete(locked.resolve("probe"));
      enforced = false;
    } catch (IOException e) {
      enforced = true;
    }
    assumeTrue(enforced, "permissions not enforced for this user (root?)");
    return locked;
  }

  @Test
  void deleteRecursivelyThrowsAtTheFirstFailureWhileDeleteQuietlyGoesOn() throws IOException {
    Path root = tree("root");
    Path locked = locked(root);
    try {
      assertThrows(IOException.class, () -> FileTrees.deleteRecursively(root));
      assertTrue(Files.exists(locked.resolve("file")));

      Path other = tree("other");
      Path otherLocked = locked(other);
      FileTrees.deleteQuietly(other);
      assertTrue(Files.exists(otherLocked.resolve("file")), "cannot be deleted");
      assertFalse(Files.exists(other.resolve("file")), "deleted past the failure");
      assertFalse(Files.exists(other.resolve("empty")), "deleted past the failure");
      Files.setPosixFilePermissions(otherLocked, PosixFilePermissions.fromString("rwxr-xr-x"));
    } finally {
      Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
  }
}
