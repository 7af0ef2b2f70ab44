package dev.funnel.terminator.gate;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A {@code --verify} value: {@code github:SECRET_FILE}, {@code stripe:SECRET_FILE},
 * {@code slack:SECRET_FILE} or {@code hmac-sha256:HEADER:SECRET_FILE}. {@link #parse} is pure (the
 * file is read by the caller, off the event loop); {@link #signature} builds the check from the
 * file's bytes.
 */
public record WebhookSpec(String kind, String header, Path secretFile) {

  public static final String USAGE = "github:SECRET_FILE, stripe:SECRET_FILE, slack:SECRET_FILE or "
      + "hmac-sha256:HEADER:SECRET_FILE";

  /** Parses a value; throws {@link IllegalArgumentException} naming what is wrong and the accepted forms. */
  public static WebhookSpec parse(String value) {
    int colon = value == null ? -1 : value.indexOf(':');
    if (colon <= 0 || colon == value.length() - 1) {
      throw new IllegalArgumentException("bad --verify value '" + value + "': write " + USAGE);
    }
    String kind = value.substring(0, colon).toLowerCase(Locale.ROOT);
    String rest = value.substring(colon + 1);
    switch (kind) {
      case "github", "stripe", "slack" -> {
        return new WebhookSpec(kind, null, Path.of(rest));
      }
      case "hmac-sha256" -> {
        int second = rest.indexOf(':');
        if (second <= 0 || second == rest.length() - 1) {
          throw new IllegalArgumentException("bad --verify value '" + value
              + "': write hmac-sha256:HEADER:SECRET_FILE, e.g. hmac-sha256:X-Signature:/etc/funnel/hook.secret");
        }
        String header = rest.substring(0, second);
        if (!header.chars().allMatch(c -> c > 0x20 && c < 0x7f && "()<>@,;:\\\"/[]?={}".indexOf(c) < 0)) {
          throw new IllegalArgumentException("bad --verify value '" + value + "': '" + header
              + "' is not a header name");
        }
        return new WebhookSpec(kind, header, Path.of(rest.substring(second + 1)));
      }
      default -> throw new IllegalArgumentException("bad --verify value '" + value + "': unknown kind '" + kind
          + "'; write " + USAGE);
    }
  }

  /**
   * The check, with the secret file's contents as the secret (surrounding whitespace and the
   * trailing newline an editor or {@code echo} adds are dropped; the rest is used as UTF-8 bytes,
   * as GitHub, Stripe and Slack do). Throws {@link IllegalArgumentException} for an empty secret.
   */
  public WebhookSignature signature(byte[] secretFileContents) {
    String secret = new String(secretFileContents, StandardCharsets.UTF_8).strip();
    if (secret.isEmpty()) {
      throw new IllegalArgumentException("--verify " + kind + ": secret file " + secretFile + " is empty");
    }
    WebhookSignature.Key key = WebhookSignature.Key.of(secret);
    return switch (kind) {
      case "github" -> new WebhookSignature.Github(key);
      case "stripe" -> new WebhookSignature.Stripe(key, WebhookSignature.Stripe.DEFAULT_TOLERANCE_SECONDS);
      case "slack" -> new WebhookSignature.Slack(key);
      default -> new WebhookSignature.HmacHeader(header, key);
    };
  }

  @Override
  public String toString() {
    return kind + ":" + (header == null ? "" : header + ":") + secretFile;
  }
}
