package dev.funnel.terminator.auth;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bouncycastle.crypto.generators.OpenBSDBCrypt;

/**
 * The users of an htpasswd file, bcrypt hashes only ({@code $2y$}, {@code $2b$}, {@code $2a$}; Apache's
 * {@code htpasswd -B} makes them). Parsing is pure; {@link #verify} costs a bcrypt round (tens of
 * milliseconds at cost 10), so call it off the event loop.
 *
 * <p>Hand-written around Bouncy Castle's {@code OpenBSDBCrypt} because Vert.x's own htpasswd provider
 * does not read bcrypt, and no bcrypt library but Bouncy Castle (already on the node's class path)
 * resolves here.
 */
final class Htpasswd {

  /** Checked against when the user is unknown, so an unknown name costs the same bcrypt round. */
  private static final String DUMMY = OpenBSDBCrypt.generate("2y", "funnel-dummy".toCharArray(),
      new byte[16], 10);

  private final Map<String, String> hashes;

  private Htpasswd(Map<String, String> hashes) {
    this.hashes = Map.copyOf(hashes);
  }

  /** Parses the file's lines; throws IllegalArgumentException naming the line and what to do. */
  static Htpasswd parse(String source, List<String> lines) {
    Map<String, String> hashes = new HashMap<>();
    int n = 0;
    for (String raw : lines) {
      n++;
      String line = raw.strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      int colon = line.indexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException(source + " line " + n + ": expected USER:HASH");
      }
      String user = line.substring(0, colon);
      String hash = line.substring(colon + 1);
      if (!(hash.startsWith("$2y$") || hash.startsWith("$2b$") || hash.startsWith("$2a$")) || hash.length() != 60) {
        throw new IllegalArgumentException(source + " line " + n + ": user " + user
            + " has no bcrypt hash; only bcrypt is accepted (make one with: htpasswd -B " + source + " " + user + ")");
      }
      hashes.put(user, hash);
    }
    return new Htpasswd(hashes);
  }

  int size() {
    return hashes.size();
  }

  /** True when {@code user} is in the file and {@code password} matches its hash. Blocking (bcrypt). */
  boolean verify(String user, String password) {
    String hash = hashes.get(user);
    char[] chars = password.toCharArray();
    if (hash == null || password.getBytes(StandardCharsets.UTF_8).length > 72) {
      // bcrypt reads 72 bytes at most; a longer password would match on its prefix alone: refuse it.
      OpenBSDBCrypt.checkPassword(DUMMY, chars);
      return false;
    }
    try {
      return OpenBSDBCrypt.checkPassword(hash, chars);
    } catch (IllegalArgumentException e) {
      return false;
    }
  }
}
