package dev.funnel.terminator.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Static bearer tokens from a file: one a line, {@code TOKEN} or {@code NAME TOKEN} ({@code #} comments,
 * blank lines skipped), at least {@link #MIN_LENGTH} characters. Kept as SHA-256 digests and compared
 * in constant time, every entry every time. Pure: no Vert.x, no I/O.
 */
final class BearerTokens {

  static final int MIN_LENGTH = 16;

  private record Entry(String name, byte[] digest) {
  }

  private final List<Entry> entries;

  private BearerTokens(List<Entry> entries) {
    this.entries = List.copyOf(entries);
  }

  /** Parses the file's lines; throws IllegalArgumentException naming the line and what to do. */
  static BearerTokens parse(String source, List<String> lines) {
    List<Entry> entries = new ArrayList<>();
    Set<String> names = new HashSet<>();
    int n = 0;
    for (String raw : lines) {
      n++;
      String line = raw.strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String[] parts = line.split("\\s+");
      if (parts.length > 2) {
        throw new IllegalArgumentException(source + " line " + n + ": expected TOKEN or NAME TOKEN");
      }
      String token = parts[parts.length - 1];
      String name = parts.length == 2 ? parts[0] : "token-" + n;
      if (token.length() < MIN_LENGTH) {
        throw new IllegalArgumentException(source + " line " + n + ": token shorter than " + MIN_LENGTH
            + " characters; make one with: openssl rand -hex 32");
      }
      if (!names.add(name)) {
        throw new IllegalArgumentException(source + " line " + n + ": name " + name + " is used twice");
      }
      entries.add(new Entry(name, sha256(token)));
    }
    return new BearerTokens(entries);
  }

  int size() {
    return entries.size();
  }

  /** The name of the entry {@code presented} matches, or empty. Looks at every entry whatever matches. */
  Optional<String> match(String presented) {
    byte[] digest = sha256(presented);
    String found = null;
    for (Entry e : entries) {
      if (MessageDigest.isEqual(e.digest(), digest) && found == null) {
        found = e.name();
      }
    }
    return Optional.ofNullable(found);
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
