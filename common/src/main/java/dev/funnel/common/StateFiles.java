package dev.funnel.common;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writing the files a process keeps in its state directory (keys, tokens, certificates, a control
 * URL) so that a crash or a second writer never leaves half of one: the content goes to a temporary
 * file beside the target, is forced to disk, and is renamed over the target in one step. A private
 * file is mode 0600 from its creation on (where the file system has POSIX permissions), so there is
 * no moment at which another user could open it. A temporary file that a crash left behind (one
 * older than {@link #STALE_AFTER}) goes at the next write of the same file. Blocking: off the event
 * loop.
 */
public final class StateFiles {

  public static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");
  /** A state directory's mode when a process creates it: its owner's alone, as {@code ~/.ssh}. */
  public static final Set<PosixFilePermission> OWNER_ONLY_DIRECTORY = PosixFilePermissions.fromString("rwx------");
  /** Older than this, a file's temporary sibling is a crashed write's, not one under way. */
  static final Duration STALE_AFTER = Duration.ofMinutes(1);

  private StateFiles() {
  }

  /** Writes {@code content} (UTF-8) to {@code file}, readable by its owner only; creates the parent directories. */
  public static void writePrivate(Path file, String content) {
    write(file, content, true);
  }

  /** Writes {@code content} (UTF-8) to {@code file} with the default permissions (a certificate, a CA); creates the parent directories. */
  public static void writePublic(Path file, String content) {
    write(file, content, false);
  }

  private static void write(Path file, String content, boolean owner) {
    Path target = file.toAbsolutePath();
    Path dir = target.getParent();
    // Unique per writer, so two writers never share (or delete) each other's temporary file.
    Path tmp = dir.resolve(target.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
    try {
      createDirectory(dir);
      try {
        if (owner && posix(dir)) {
          Files.createFile(tmp, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        } else {
          Files.createFile(tmp);
        }
        try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
          channel.write(StandardCharsets.UTF_8.encode(content));
          channel.force(true);
        }
        try {
          Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
          Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
      } finally {
        Files.deleteIfExists(tmp);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
    }
    removeStaleTemporaries(target);
  }

  /** Deletes {@code target}'s temporary siblings older than {@link #STALE_AFTER}; best effort. */
  private static void removeStaleTemporaries(Path target) {
    String prefix = target.getFileName() + ".";
    Instant before = Instant.now().minus(STALE_AFTER);
    DirectoryStream.Filter<Path> stale = p -> {
      String name = p.getFileName().toString();
      return name.startsWith(prefix) && name.endsWith(".tmp") && name.length() > prefix.length() + 4
          && name.substring(prefix.length(), name.length() - 4).matches("[0-9a-f]{1,16}")
          && Files.getLastModifiedTime(p).toInstant().isBefore(before);
    };
    try (DirectoryStream<Path> leftovers = Files.newDirectoryStream(target.getParent(), stale)) {
      for (Path leftover : leftovers) {
        Files.deleteIfExists(leftover);
      }
    } catch (IOException | RuntimeException e) {
      // another process may remove it first; the next write tries again
    }
  }

  /**
   * Creates the state directory {@code dir} unless it exists: its missing parents as usual, {@code dir}
   * itself owner-only (0700 where the file system has POSIX permissions; keys, tokens and the
   * embedded store live in it). A directory that exists keeps its mode: its owner chose it.
   */
  public static Path createDirectory(Path dir) throws IOException {
    Path absolute = dir.toAbsolutePath();
    if (Files.isDirectory(absolute)) {
      return dir;
    }
    Path parent = absolute.getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    try {
      if (posix(absolute)) {
        Files.createDirectory(absolute, PosixFilePermissions.asFileAttribute(OWNER_ONLY_DIRECTORY));
      } else {
        Files.createDirectory(absolute);
      }
    } catch (FileAlreadyExistsException e) {
      if (!Files.isDirectory(absolute)) {
        throw e;
      }
    }
    return dir;
  }

  /** True when {@code dir}'s file system has POSIX permissions. */
  public static boolean posix(Path dir) {
    return dir != null && dir.getFileSystem().supportedFileAttributeViews().contains("posix");
  }
}
