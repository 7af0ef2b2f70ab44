package dev.funnel.test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * State directories of the end-to-end tests: each is deleted, with everything in it, when the
 * test JVM exits (after every class's {@code @AfterAll} has stopped its processes), so repeated
 * runs do not fill {@code /tmp}. {@code -Dfunnel.it.keep=true} keeps them for a look after a
 * failure; the processes' logs are under {@code target/e2e-logs} either way.
 */
final class TempDirs {

  private static final List<Path> CREATED = new ArrayList<>();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(TempDirs::deleteAll, "delete-test-state"));
  }

  private TempDirs() {
  }

  /** A new directory under the system's temporary directory, named {@code prefix…}. */
  static Path create(String prefix) throws IOException {
    Path dir = Files.createTempDirectory(prefix);
    synchronized (CREATED) {
      CREATED.add(dir);
    }
    return dir;
  }

  /** Deletes {@code dir} and everything in it; a missing directory is fine. */
  static void deleteTree(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException | UncheckedIOException e) {
      System.err.println("could not delete " + dir + ": " + e);
    }
  }

  private static void deleteAll() {
    if (Boolean.getBoolean("funnel.it.keep")) {
      return;
    }
    synchronized (CREATED) {
      CREATED.forEach(TempDirs::deleteTree);
    }
  }
}
