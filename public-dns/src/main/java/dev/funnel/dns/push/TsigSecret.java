package dev.funnel.dns.push;

import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The base64 secret in a TSIG key file, as the operator's DNS server tools write it. Pure. Accepted:
 * <ul>
 *   <li>the secret alone (one line; what {@code head -c 32 /dev/urandom | base64} writes);</li>
 *   <li>BIND's {@code tsig-keygen} / {@code ddns-confgen} output: {@code secret "…";} inside a {@code key} clause;</li>
 *   <li>Knot's {@code keymgr -t} output: a {@code secret: …} line.</li>
 * </ul>
 */
public final class TsigSecret {

  private static final Pattern BIND = Pattern.compile("(?m)\\bsecret\\s+\"([A-Za-z0-9+/=\\s]+)\"\\s*;");
  private static final Pattern KNOT = Pattern.compile("(?m)^\\s*secret\\s*:\\s*([A-Za-z0-9+/=]+)\\s*$");

  private TsigSecret() {
  }

  /** The secret in {@code content}, base64; throws {@link IllegalArgumentException} saying what is wrong (never the secret). */
  public static String parse(String content) {
    String secret;
    Matcher bind = BIND.matcher(content);
    Matcher knot = KNOT.matcher(content);
    if (bind.find()) {
      secret = bind.group(1).replaceAll("\\s", "");
    } else if (knot.find()) {
      secret = knot.group(1);
    } else {
      String[] lines = content.strip().split("\\R");
      if (lines.length != 1 || lines[0].isBlank()) {
        throw new IllegalArgumentException("holds no TSIG secret: expected the base64 secret alone, or a BIND "
            + "(secret \"…\";) or Knot (secret: …) key file");
      }
      secret = lines[0].strip();
    }
    byte[] bytes;
    try {
      bytes = Base64.getDecoder().decode(secret);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("holds a TSIG secret that is not base64");
    }
    if (bytes.length == 0) {
      throw new IllegalArgumentException("holds an empty TSIG secret");
    }
    return secret;
  }
}
