package dev.funnel.terminator.gate;

import io.vertx.core.MultiMap;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A webhook sender's signature scheme: the check of one delivery (its headers, its raw body as
 * received, and the time now). Pure: no I/O, no logging, no clock of its own. Every comparison of
 * a signature is {@link MessageDigest#isEqual} over the raw HMAC bytes (constant time).
 *
 * <p>Implementations: {@link Github}, {@link Stripe}, {@link Slack}, {@link HmacHeader};
 * {@link #of} makes one from a {@code --verify} value and its secret file's contents.
 */
public sealed interface WebhookSignature {

  /**
   * The check {@code verify} names, with the secret file's contents as the secret (surrounding
   * whitespace and the trailing newline an editor or {@code echo} adds are dropped; the rest is
   * used as UTF-8 bytes, as GitHub, Stripe and Slack do). Throws {@link IllegalArgumentException}
   * for an empty secret, naming the file.
   */
  static WebhookSignature of(dev.funnel.common.serve.GatePolicy.Verify verify, byte[] secretFileContents) {
    String secret = new String(secretFileContents, StandardCharsets.UTF_8).strip();
    if (secret.isEmpty()) {
      throw new IllegalArgumentException("--verify " + verify.scheme().spelling + ": the secret file "
          + verify.secretFile() + " is empty");
    }
    Key key = Key.of(secret);
    return switch (verify.scheme()) {
      case GITHUB -> new Github(key);
      case STRIPE -> new Stripe(key, Stripe.DEFAULT_TOLERANCE_SECONDS);
      case SLACK -> new Slack(key);
      case HMAC_SHA256 -> new HmacHeader(verify.header(), key);
    };
  }

  /**
   * The result of a check: {@code allowed}, or a refusal's bounded kind ({@code missing_signature},
   * {@code malformed_signature}, {@code bad_signature}, {@code stale_timestamp}: the metric's
   * outcome label) and its reason (never the secret).
   */
  record Check(String outcome, String reason) {
    public static final String ALLOWED = dev.funnel.common.serve.GateMeter.ALLOWED;
    public static final String MISSING = "missing_signature";
    public static final String MALFORMED = "malformed_signature";
    public static final String BAD = "bad_signature";
    public static final String STALE = "stale_timestamp";
    static final Check PASS = new Check(ALLOWED, "signature verified");

    public boolean passed() {
      return ALLOWED.equals(outcome);
    }

    static Check missing(String reason) {
      return new Check(MISSING, reason);
    }

    static Check malformed(String reason) {
      return new Check(MALFORMED, reason);
    }

    static Check bad(String reason) {
      return new Check(BAD, reason);
    }

    static Check stale(String reason) {
      return new Check(STALE, reason);
    }
  }

  /** {@code github}, {@code stripe}, {@code slack} or {@code hmac-sha256}. */
  String kind();

  /** Checks one delivery; {@code nowEpochSeconds} is the time it arrived. */
  Check check(MultiMap headers, byte[] body, long nowEpochSeconds);

  /**
   * GitHub: {@code X-Hub-Signature-256: sha256=HEX}, HMAC-SHA256 of the raw body under the
   * webhook's secret (docs.github.com, "Validating webhook deliveries").
   */
  record Github(Key key) implements WebhookSignature {
    public static final String HEADER = "X-Hub-Signature-256";

    @Override
    public String kind() {
      return "github";
    }

    @Override
    public Check check(MultiMap headers, byte[] body, long nowEpochSeconds) {
      List<String> values = headers.getAll(HEADER);
      if (values.isEmpty()) {
        return Check.missing("no " + HEADER + " header");
      }
      if (values.size() > 1) {
        return Check.malformed(values.size() + " " + HEADER + " headers");
      }
      String value = values.get(0);
      if (!value.startsWith("sha256=")) {
        return Check.malformed(HEADER + " does not start with sha256=");
      }
      byte[] given = Hex.sha256(value.substring("sha256=".length()));
      if (given == null) {
        return Check.malformed(HEADER + " is not sha256= and 64 hex digits");
      }
      return MessageDigest.isEqual(key.hmac(body), given) ? Check.PASS
          : Check.bad(HEADER + " does not match the body");
    }
  }

  /**
   * Stripe: {@code Stripe-Signature: t=UNIX_TIME,v1=HEX[,v1=HEX…][,v0=…]}, HMAC-SHA256 of
   * {@code t + "." + body} under the endpoint's signing secret ({@code whsec_…}, used as it is);
   * any one {@code v1} may match (several appear while a secret is rolled); other schemes are
   * ignored. The signature is checked first, then the timestamp, as Stripe's libraries do;
   * {@code toleranceSeconds} (Stripe's default: 300) bounds the distance from now either way.
   */
  record Stripe(Key key, long toleranceSeconds) implements WebhookSignature {
    public static final String HEADER = "Stripe-Signature";
    public static final long DEFAULT_TOLERANCE_SECONDS = 300;

    @Override
    public String kind() {
      return "stripe";
    }

    @Override
    public Check check(MultiMap headers, byte[] body, long nowEpochSeconds) {
      List<String> values = headers.getAll(HEADER);
      if (values.isEmpty()) {
        return Check.missing("no " + HEADER + " header");
      }
      if (values.size() > 1) {
        return Check.malformed(values.size() + " " + HEADER + " headers");
      }
      String timestamp = null;
      List<byte[]> candidates = new java.util.ArrayList<>();
      for (String item : values.get(0).split(",", -1)) {
        int eq = item.indexOf('=');
        if (eq <= 0) {
          return Check.malformed(HEADER + " has an element that is not key=value");
        }
        String k = item.substring(0, eq).strip();
        String v = item.substring(eq + 1).strip();
        if (k.equals("t")) {
          if (timestamp != null) {
            return Check.malformed(HEADER + " has two t= elements");
          }
          timestamp = v;
        } else if (k.equals("v1")) {
          byte[] sig = Hex.sha256(v);
          if (sig != null) {
            candidates.add(sig);
          }
        }
      }
      if (timestamp == null) {
        return Check.malformed(HEADER + " has no t= timestamp");
      }
      Long t = Timestamps.parse(timestamp);
      if (t == null) {
        return Check.malformed(HEADER + " t= is not a Unix time");
      }
      if (candidates.isEmpty()) {
        return Check.malformed(HEADER + " has no v1= signature of 64 hex digits");
      }
      byte[] expected = key.hmac(timestamp.getBytes(StandardCharsets.US_ASCII), new byte[] {'.'}, body);
      boolean match = false;
      for (byte[] candidate : candidates) {
        match |= MessageDigest.isEqual(expected, candidate);
      }
      if (!match) {
        return Check.bad("no " + HEADER + " v1 signature matches the body");
      }
      if (Math.abs(nowEpochSeconds - t) > toleranceSeconds) {
        return Check.stale(HEADER + " timestamp is " + (nowEpochSeconds - t) + " s from now, tolerance "
            + toleranceSeconds + " s");
      }
      return Check.PASS;
    }
  }

  /**
   * Slack: {@code X-Slack-Signature: v0=HEX}, HMAC-SHA256 of {@code "v0:" + timestamp + ":" + body}
   * under the app's signing secret, with {@code X-Slack-Request-Timestamp} within five minutes of
   * now (api.slack.com, "Verifying requests from Slack").
   */
  record Slack(Key key) implements WebhookSignature {
    public static final String HEADER = "X-Slack-Signature";
    public static final String TIMESTAMP_HEADER = "X-Slack-Request-Timestamp";
    public static final long TOLERANCE_SECONDS = 300;

    @Override
    public String kind() {
      return "slack";
    }

    @Override
    public Check check(MultiMap headers, byte[] body, long nowEpochSeconds) {
      List<String> sigs = headers.getAll(HEADER);
      List<String> stamps = headers.getAll(TIMESTAMP_HEADER);
      if (sigs.isEmpty() || stamps.isEmpty()) {
        return Check.missing("no " + (sigs.isEmpty() ? HEADER : TIMESTAMP_HEADER) + " header");
      }
      if (sigs.size() > 1 || stamps.size() > 1) {
        return Check.malformed("more than one " + (sigs.size() > 1 ? HEADER : TIMESTAMP_HEADER) + " header");
      }
      String timestamp = stamps.get(0);
      Long t = Timestamps.parse(timestamp);
      if (t == null) {
        return Check.malformed(TIMESTAMP_HEADER + " is not a Unix time");
      }
      String sig = sigs.get(0);
      byte[] given = sig.startsWith("v0=") ? Hex.sha256(sig.substring(3)) : null;
      if (given == null) {
        return Check.malformed(HEADER + " is not v0= and 64 hex digits");
      }
      byte[] expected = key.hmac(("v0:" + timestamp + ":").getBytes(StandardCharsets.US_ASCII), body);
      if (!MessageDigest.isEqual(expected, given)) {
        return Check.bad(HEADER + " does not match the body");
      }
      if (Math.abs(nowEpochSeconds - t) > TOLERANCE_SECONDS) {
        return Check.stale(TIMESTAMP_HEADER + " is " + (nowEpochSeconds - t) + " s from now, tolerance "
            + TOLERANCE_SECONDS + " s");
      }
      return Check.PASS;
    }
  }

  /**
   * Any sender that puts HMAC-SHA256 of the raw body in one header: the value as 64 hex digits
   * (optionally after {@code sha256=}) or as base64 (44 characters, as Shopify and others send it).
   */
  record HmacHeader(String header, Key key) implements WebhookSignature {
    @Override
    public String kind() {
      return "hmac-sha256";
    }

    @Override
    public Check check(MultiMap headers, byte[] body, long nowEpochSeconds) {
      List<String> values = headers.getAll(header);
      if (values.isEmpty()) {
        return Check.missing("no " + header + " header");
      }
      if (values.size() > 1) {
        return Check.malformed(values.size() + " " + header + " headers");
      }
      String value = values.get(0).strip();
      if (value.regionMatches(true, 0, "sha256=", 0, 7)) {
        value = value.substring(7);
      }
      byte[] given = Hex.sha256(value);
      if (given == null && value.length() == 44) {
        try {
          given = java.util.Base64.getDecoder().decode(value);
        } catch (IllegalArgumentException e) {
          given = null;
        }
      }
      if (given == null || given.length != 32) {
        return Check.malformed(header + " is not 64 hex digits or 44 base64 characters");
      }
      return MessageDigest.isEqual(key.hmac(body), given) ? Check.PASS
          : Check.bad(header + " does not match the body");
    }
  }

  /** An HMAC-SHA256 key; {@link #toString} never shows it. */
  final class Key {
    private final SecretKeySpec spec;

    public Key(byte[] secret) {
      if (secret.length == 0) {
        throw new IllegalArgumentException("empty webhook secret");
      }
      this.spec = new SecretKeySpec(secret, "HmacSHA256");
    }

    /** A secret as the senders use it: the string's UTF-8 bytes. */
    public static Key of(String secret) {
      return new Key(secret.getBytes(StandardCharsets.UTF_8));
    }

    /** HMAC-SHA256 over the concatenation of {@code parts}. */
    public byte[] hmac(byte[]... parts) {
      try {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(spec);
        for (byte[] part : parts) {
          mac.update(part);
        }
        return mac.doFinal();
      } catch (NoSuchAlgorithmException | InvalidKeyException e) {
        throw new IllegalStateException("HmacSHA256 unavailable", e);
      }
    }

    @Override
    public String toString() {
      return "Key[redacted]";
    }
  }

  /** Hex of a SHA-256-sized value. */
  final class Hex {
    private Hex() {
    }

    /** The 32 bytes of 64 hex digits (either case), or {@code null}. */
    static byte[] sha256(String hex) {
      if (hex.length() != 64) {
        return null;
      }
      try {
        return HexFormat.of().parseHex(hex);
      } catch (IllegalArgumentException e) {
        return null;
      }
    }
  }

  /** Unix times as senders write them: decimal seconds. */
  final class Timestamps {
    private Timestamps() {
    }

    /** The value of 1 to 12 decimal digits, or {@code null}. */
    static Long parse(String text) {
      if (text.isEmpty() || text.length() > 12 || !text.chars().allMatch(c -> c >= '0' && c <= '9')) {
        return null;
      }
      return Long.parseLong(text);
    }
  }
}
