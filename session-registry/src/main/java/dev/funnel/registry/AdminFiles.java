package dev.funnel.registry;

import dev.funnel.common.StateFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;

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

  private AdminFiles() {
  }

  /** The token in {@code stateDir/admin-token}, generating it on first use. */
  public static String loadOrCreateToken(Path stateDir) {
    Path file = stateDir.resolve(TOKEN_FILE);
    try {
      StateFiles.createDirectory(stateDir);
      if (Files.isRegularFile(file)) {
        String token = Files.readString(file, StandardCharsets.UTF_8).trim();
        if (!token.isEmpty()) {
          tighten(file);
          return token;
        }
      }
      String token = Secrets.newToken();
      StateFiles.writePrivate(file, token);
      LOG.log(Level.INFO, "admin token generated in {0}", file);
      return token;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read or create " + file, e);
    }
  }

  /** Writes {@code stateDir/admin-url}. */
  public static void writeUrl(Path stateDir, String url) {
    StateFiles.writePrivate(stateDir.resolve(URL_FILE), url);
  }

  private static void tighten(Path file) throws IOException {
    if (StateFiles.posix(file.getParent()) && !Files.getPosixFilePermissions(file).equals(StateFiles.OWNER_ONLY)) {
      LOG.log(Level.WARNING, "{0} was readable by others; setting mode 0600", file);
      Files.setPosixFilePermissions(file, StateFiles.OWNER_ONLY);
    }
  }
}
