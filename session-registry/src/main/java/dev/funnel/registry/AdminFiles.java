package dev.funnel.registry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.Set;

/**
 * The admin API's files in the state directory: {@code admin-token} (the bearer token) and
 * {@code admin-url}, both mode 0600 and created with that mode (never briefly world-readable),
 * written whole (temporary file, then an atomic rename) so a crash never leaves half a token.
 * Both hold the value alone, without a trailing newline. Blocking.
 */
public final class AdminFiles {

  public static final String TOKEN_FILE = "admin-token";
  public static final String URL_FILE = "admin-url";

  private static final Logger LOG = System.getLogger(AdminFiles.class.getName());
  private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

  private AdminFiles() {
  }

  /** The token in {@code stateDir/admin-token}, generating it on first use. */
  public static String loadOrCreateToken(Path stateDir) {
    Path file = stateDir.resolve(TOKEN_FILE);
    try {
      Files.createDirectories(stateDir);
      if (Files.isRegularFile(file)) {
        String token = Files.readString(file, StandardCharsets.UTF_8).trim();
        if (!token.isEmpty()) {
          tighten(file);
          return token;
        }
      }
      String token = Secrets.newToken();
      writePrivate(file, token);
      LOG.log(Level.INFO, "admin token generated in {0}", file);
      return token;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read or create " + file, e);
    }
  }

  /** Writes {@code stateDir/admin-url}. */
  public static void writeUrl(Path stateDir, String url) {
    try {
      Files.createDirectories(stateDir);
      writePrivate(stateDir.resolve(URL_FILE), url);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + stateDir.resolve(URL_FILE), e);
    }
  }

  /** Writes {@code content} to {@code file}, mode 0600 from creation on, replacing it atomically. */
  static void writePrivate(Path file, String content) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + "." + Secrets.newKeyId() + ".tmp");
    try {
      if (posix(file.getParent())) {
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
      } else {
        Files.createFile(tmp);
      }
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        ch.write(StandardCharsets.UTF_8.encode(content));
        ch.force(true);
      }
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  private static void tighten(Path file) throws IOException {
    if (posix(file.getParent()) && !Files.getPosixFilePermissions(file).equals(OWNER_ONLY)) {
      LOG.log(Level.WARNING, "{0} was readable by others; setting mode 0600", file);
      Files.setPosixFilePermissions(file, OWNER_ONLY);
    }
  }

  private static boolean posix(Path dir) {
    return dir != null && dir.getFileSystem().supportedFileAttributeViews().contains("posix");
  }
}
