package dev.funnel.terminator.auth;

import static dev.funnel.common.StateFiles.OWNER_ONLY;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;

/**
 * The key that seals the login gate's cookies: 32 random bytes, base64, in {@code login-cookie.key} in the
 * node's state directory, mode 0600, made on first use and kept across restarts (so logins survive a
 * restart; delete the file to sign everybody out). Blocking file I/O: call it at start-up, off the event
 * loop ({@code vertx.executeBlocking}).
 */
public final class LoginKey {

  public static final String FILE_NAME = "login-cookie.key";

  private LoginKey() {
  }

  /** Reads the key in {@code stateDir}, or makes one (written to a 0600 temporary file, then linked in place). */
  public static byte[] loadOrCreate(Path stateDir) {
    Path file = stateDir.resolve(FILE_NAME);
    try {
      if (!Files.exists(file)) {
        dev.funnel.common.StateFiles.createDirectory(stateDir);
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        Path tmp = Files.createTempFile(stateDir, FILE_NAME, ".tmp",
            PosixFilePermissions.asFileAttribute(OWNER_ONLY));
        Files.writeString(tmp, Base64.getEncoder().encodeToString(key) + "\n");
        try {
          // A hard link appears whole or not at all and never replaces a key another process made first.
          Files.createLink(file, tmp);
        } catch (FileAlreadyExistsException raced) {
          // keep the one that is there
        } finally {
          Files.deleteIfExists(tmp);
        }
      }
      if (!Files.getPosixFilePermissions(file).equals(OWNER_ONLY)) {
        Files.setPosixFilePermissions(file, OWNER_ONLY);
      }
      byte[] key;
      try {
        key = Base64.getDecoder().decode(Files.readString(file, StandardCharsets.US_ASCII).trim());
      } catch (IllegalArgumentException e) {
        throw new IllegalStateException(file + " is not a base64 key; delete it and a new one is made", e);
      }
      if (key.length != 32) {
        throw new IllegalStateException(file + " holds " + key.length + " bytes, not 32; delete it and a new one is made");
      }
      return key;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read or create the login cookie key " + file + ": " + e.getMessage(), e);
    }
  }
}
