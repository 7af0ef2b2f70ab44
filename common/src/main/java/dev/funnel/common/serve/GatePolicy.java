package dev.funnel.common.serve;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * What a request must pass on the node before it reaches a route's target: the route's gate. One
 * field per rule; an unset field (empty list, {@code null}, {@code 0}) asks for nothing. The
 * terminator turns a policy into an ordered chain of handlers ({@code GateChain} in tls-terminator);
 * a field no handler enforces fails the route's setup rather than being skipped.
 *
 * <p>A port has a policy of its own (flags spelled {@code PORT=…}) and each route one ({@code
 * PORT:/PATH=…}); a route's effective policy is {@link #over(GatePolicy) its own over the port's}:
 * field by field, the route's value when set, else the port's.
 *
 * @param allowCidrs    {@code --allow-cidr}: when not empty, only clients in one of these networks pass
 * @param denyCidrs     {@code --deny-cidr}: clients in one of these networks never pass (checked first)
 * @param rateLimit     {@code --rate-limit N/s}: requests per client address; null: none
 * @param verify        {@code --verify}: the webhook signature every request must carry; null: none
 * @param auth          {@code --auth}: who the client must be; null: none ({@link Auth.Kind#OFF} clears the port's)
 * @param maxBodyBytes  {@code --max-body}: cap on a request body in bytes; 0: none
 * @param maxConcurrent {@code --max-concurrent}: requests at the target at once; 0: no cap
 */
public record GatePolicy(List<String> allowCidrs, List<String> denyCidrs, RateLimit rateLimit, Verify verify,
                         Auth auth, long maxBodyBytes, int maxConcurrent) {

  /** The policy that asks for nothing. */
  public static final GatePolicy NONE = new GatePolicy(List.of(), List.of(), null, null, null, 0, 0);

  public GatePolicy {
    allowCidrs = List.copyOf(allowCidrs);
    denyCidrs = List.copyOf(denyCidrs);
    if (maxBodyBytes < 0 || maxConcurrent < 0) {
      throw new IllegalArgumentException("caps are positive (0: none)");
    }
  }

  /** True when this policy asks for nothing (an {@link Auth.Kind#OFF} auth is something: it clears the port's). */
  public boolean isEmpty() {
    return equals(NONE);
  }

  /** This policy's fields where set, {@code portWide}'s elsewhere; an {@code off} auth leaves none. */
  public GatePolicy over(GatePolicy portWide) {
    Auth a = auth != null ? auth : portWide.auth;
    return new GatePolicy(
        allowCidrs.isEmpty() ? portWide.allowCidrs : allowCidrs,
        denyCidrs.isEmpty() ? portWide.denyCidrs : denyCidrs,
        rateLimit != null ? rateLimit : portWide.rateLimit,
        verify != null ? verify : portWide.verify,
        a != null && a.kind() == Auth.Kind.OFF ? null : a,
        maxBodyBytes != 0 ? maxBodyBytes : portWide.maxBodyBytes,
        maxConcurrent != 0 ? maxConcurrent : portWide.maxConcurrent);
  }

  public GatePolicy withAllowCidrs(List<String> cidrs) {
    return new GatePolicy(cidrs, denyCidrs, rateLimit, verify, auth, maxBodyBytes, maxConcurrent);
  }

  public GatePolicy withDenyCidrs(List<String> cidrs) {
    return new GatePolicy(allowCidrs, cidrs, rateLimit, verify, auth, maxBodyBytes, maxConcurrent);
  }

  public GatePolicy withRateLimit(RateLimit limit) {
    return new GatePolicy(allowCidrs, denyCidrs, limit, verify, auth, maxBodyBytes, maxConcurrent);
  }

  public GatePolicy withVerify(Verify v) {
    return new GatePolicy(allowCidrs, denyCidrs, rateLimit, v, auth, maxBodyBytes, maxConcurrent);
  }

  public GatePolicy withAuth(Auth a) {
    return new GatePolicy(allowCidrs, denyCidrs, rateLimit, verify, a, maxBodyBytes, maxConcurrent);
  }

  public GatePolicy withMaxBodyBytes(long bytes) {
    return new GatePolicy(allowCidrs, denyCidrs, rateLimit, verify, auth, bytes, maxConcurrent);
  }

  public GatePolicy withMaxConcurrent(int n) {
    return new GatePolicy(allowCidrs, denyCidrs, rateLimit, verify, auth, maxBodyBytes, n);
  }

  /** One line for {@code funnel node serve list}: the rules in flag spelling, {@code -} when none. Names files, never secrets. */
  public String describe() {
    List<String> parts = new ArrayList<>();
    if (!denyCidrs.isEmpty()) {
      parts.add("deny-cidr " + String.join(",", denyCidrs));
    }
    if (!allowCidrs.isEmpty()) {
      parts.add("allow-cidr " + String.join(",", allowCidrs));
    }
    if (rateLimit != null) {
      parts.add("rate-limit " + rateLimit);
    }
    if (auth != null) {
      parts.add("auth " + auth);
    }
    if (maxBodyBytes > 0) {
      parts.add("max-body " + maxBodyBytes);
    }
    if (verify != null) {
      parts.add("verify " + verify);
    }
    if (maxConcurrent > 0) {
      parts.add("max-concurrent " + maxConcurrent);
    }
    return parts.isEmpty() ? "-" : String.join("; ", parts);
  }

  /** The JSON form (keys are the flag names; unset rules left out). */
  public JsonObject toJson() {
    JsonObject json = new JsonObject();
    if (!allowCidrs.isEmpty()) {
      json.put("allow-cidr", new JsonArray(allowCidrs));
    }
    if (!denyCidrs.isEmpty()) {
      json.put("deny-cidr", new JsonArray(denyCidrs));
    }
    if (rateLimit != null) {
      json.put("rate-limit", rateLimit.toString());
    }
    if (verify != null) {
      json.put("verify", verify.toString());
    }
    if (auth != null) {
      json.put("auth", auth.toString());
    }
    if (maxBodyBytes > 0) {
      json.put("max-body", maxBodyBytes);
    }
    if (maxConcurrent > 0) {
      json.put("max-concurrent", maxConcurrent);
    }
    return json;
  }

  /** Reads {@link #toJson()}'s form (values spelled as the flags take them); IllegalArgumentException names the bad key. */
  public static GatePolicy fromJson(JsonObject json) {
    GatePolicy p = NONE;
    for (String key : json.fieldNames()) {
      Object value = json.getValue(key);
      p = switch (key) {
        case "allow-cidr" -> p.withAllowCidrs(Cidrs.parseList(list(value)));
        case "deny-cidr" -> p.withDenyCidrs(Cidrs.parseList(list(value)));
        case "rate-limit" -> p.withRateLimit(RateLimit.parse(String.valueOf(value)));
        case "verify" -> p.withVerify(Verify.parse(String.valueOf(value)));
        case "auth" -> p.withAuth(Auth.parse(String.valueOf(value)));
        case "max-body" -> p.withMaxBodyBytes(Sizes.parseBytes(String.valueOf(value)));
        case "max-concurrent" -> p.withMaxConcurrent(Sizes.parseCount(String.valueOf(value)));
        default -> throw new IllegalArgumentException("unknown gate rule '" + key + "' (allow-cidr, deny-cidr, "
            + "rate-limit, verify, auth, max-body, max-concurrent)");
      };
    }
    return p;
  }

  private static List<String> list(Object value) {
    List<String> out = new ArrayList<>();
    if (value instanceof JsonArray array) {
      array.forEach(v -> out.add(String.valueOf(v)));
    } else {
      out.add(String.valueOf(value));
    }
    return out;
  }

  /**
   * {@code N/s} (also {@code N/m}, {@code N/h}): at most {@code requests} per {@code per} from one
   * client address; a burst of {@code requests} at once is allowed (a token bucket of that size).
   */
  public record RateLimit(int requests, Duration per) {

    public RateLimit {
      Objects.requireNonNull(per);
      if (requests < 1 || per.isZero() || per.isNegative()) {
        throw new IllegalArgumentException("a rate limit is at least 1 request per a positive time");
      }
    }

    public static RateLimit parse(String text) {
      String t = text.trim().toLowerCase(Locale.ROOT);
      int slash = t.indexOf('/');
      if (slash < 1) {
        throw new IllegalArgumentException("'" + text + "' is not a rate; write N/s, N/m or N/h (e.g. 20/s)");
      }
      int n;
      try {
        n = Integer.parseInt(t.substring(0, slash).trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("'" + text + "' is not a rate; write N/s, N/m or N/h (e.g. 20/s)");
      }
      Duration per = switch (t.substring(slash + 1).trim()) {
        case "s", "sec", "second" -> Duration.ofSeconds(1);
        case "m", "min", "minute" -> Duration.ofMinutes(1);
        case "h", "hour" -> Duration.ofHours(1);
        default -> throw new IllegalArgumentException("'" + text + "': the unit is s, m or h (e.g. 20/s)");
      };
      if (n < 1) {
        throw new IllegalArgumentException("'" + text + "': the rate is at least 1");
      }
      return new RateLimit(n, per);
    }

    /** Requests per second, for a token bucket's refill. */
    public double perSecond() {
      return requests * 1000.0 / per.toMillis();
    }

    @Override
    public String toString() {
      return requests + "/" + (per.equals(Duration.ofSeconds(1)) ? "s" : per.equals(Duration.ofMinutes(1)) ? "m" : "h");
    }
  }

  /**
   * A webhook signature check: {@code github:FILE} ({@code X-Hub-Signature-256}), {@code stripe:FILE}
   * ({@code Stripe-Signature}), {@code slack:FILE} ({@code X-Slack-Signature} and timestamp), or
   * {@code hmac-sha256:HEADER:FILE} (hex HMAC-SHA256 of the body in HEADER). The secret is read from
   * {@code secretFile} by the handler, never kept here.
   *
   * @param header the header carrying the signature (the scheme's own for github/stripe/slack)
   */
  public record Verify(Scheme scheme, String header, Path secretFile) {

    public enum Scheme {
      GITHUB("github", "X-Hub-Signature-256"), STRIPE("stripe", "Stripe-Signature"),
      SLACK("slack", "X-Slack-Signature"), HMAC_SHA256("hmac-sha256", null);

      public final String spelling;
      public final String defaultHeader;

      Scheme(String spelling, String defaultHeader) {
        this.spelling = spelling;
        this.defaultHeader = defaultHeader;
      }
    }

    public Verify {
      Objects.requireNonNull(scheme);
      Objects.requireNonNull(header);
      Objects.requireNonNull(secretFile);
    }

    public static Verify parse(String text) {
      String usage = "; write github|stripe|slack:SECRET_FILE or hmac-sha256:HEADER:SECRET_FILE";
      int colon = text.indexOf(':');
      if (colon < 1) {
        throw new IllegalArgumentException("'" + text + "' names no verifier" + usage);
      }
      String name = text.substring(0, colon).toLowerCase(Locale.ROOT);
      String rest = text.substring(colon + 1);
      for (Scheme s : Scheme.values()) {
        if (!s.spelling.equals(name)) {
          continue;
        }
        String header = s.defaultHeader;
        if (s == Scheme.HMAC_SHA256) {
          int c = rest.indexOf(':');
          if (c < 1 || !rest.substring(0, c).matches("[A-Za-z0-9-]+")) {
            throw new IllegalArgumentException("'" + text + "': hmac-sha256 takes HEADER:SECRET_FILE"
                + " (e.g. hmac-sha256:X-Signature:/etc/funnel/hook.secret)");
          }
          header = rest.substring(0, c);
          rest = rest.substring(c + 1);
        }
        if (rest.isBlank()) {
          throw new IllegalArgumentException("'" + text + "' names no secret file" + usage);
        }
        return new Verify(s, header, Path.of(rest));
      }
      throw new IllegalArgumentException("'" + text + "': unknown verifier '" + name + "'" + usage);
    }

    @Override
    public String toString() {
      return scheme.spelling + ":" + (scheme == Scheme.HMAC_SHA256 ? header + ":" : "") + secretFile;
    }
  }

  /**
   * Who may pass: {@code oidc} (a login with the node's OpenID Connect settings), {@code basic:FILE}
   * (HTTP basic auth against an htpasswd file, bcrypt), {@code bearer:FILE} (static bearer tokens, one
   * a line), or {@code off} (on a route: no login even when the port asks for one, e.g. webhooks).
   *
   * @param file the htpasswd or token file; null for {@code oidc} and {@code off}
   */
  public record Auth(Kind kind, Path file) {

    public enum Kind {
      OIDC("oidc"), BASIC("basic"), BEARER("bearer"), OFF("off");

      public final String spelling;

      Kind(String spelling) {
        this.spelling = spelling;
      }
    }

    public Auth {
      Objects.requireNonNull(kind);
      if ((kind == Kind.BASIC || kind == Kind.BEARER) != (file != null)) {
        throw new IllegalArgumentException(kind.spelling + (file == null ? " needs a file" : " takes no file"));
      }
    }

    public static Auth parse(String text) {
      String usage = "; write oidc, basic:HTPASSWD_FILE, bearer:TOKENS_FILE or off";
      String t = text.trim();
      int colon = t.indexOf(':');
      String name = (colon < 0 ? t : t.substring(0, colon)).toLowerCase(Locale.ROOT);
      String file = colon < 0 ? null : t.substring(colon + 1);
      for (Kind k : Kind.values()) {
        if (k.spelling.equals(name)) {
          boolean needsFile = k == Kind.BASIC || k == Kind.BEARER;
          if (needsFile && (file == null || file.isBlank())) {
            throw new IllegalArgumentException("'" + text + "': " + k.spelling + " needs a file" + usage);
          }
          if (!needsFile && file != null) {
            throw new IllegalArgumentException("'" + text + "': " + k.spelling + " takes no file" + usage);
          }
          return new Auth(k, needsFile ? Path.of(file) : null);
        }
      }
      throw new IllegalArgumentException("'" + text + "': unknown login '" + name + "'" + usage);
    }

    @Override
    public String toString() {
      return kind.spelling + (file == null ? "" : ":" + file);
    }
  }
}
