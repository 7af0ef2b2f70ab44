package dev.funnel.common.serve;

import dev.funnel.common.PublicPorts;
import dev.funnel.common.options.ServeTarget;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The serve flags, parsed into a {@link ServeConfig}: {@code --funnel PORT[:/PATH]=TARGET} and the
 * gate flags {@code --RULE PORT[:/PATH]=VALUE} ({@link #GATE_RULES}). Pure; every error is an
 * IllegalArgumentException whose message names the flag and the entry and says what to write.
 *
 * <p>A gate entry on {@code PORT} sets the rule for every route of the port; on {@code PORT:/PATH}
 * for the route with exactly that path, over the port's. It must name a port and route that
 * {@code --funnel} funnels (so a typo cannot leave a route without its gate). CIDR lists add up;
 * any other rule given twice for the same port or route is an error.
 */
public final class ServeFlags {

  /** The gate rules, in the order a user reads them; each is a flag ({@code --allow-cidr}) and a policy JSON key. */
  public static final List<String> GATE_RULES =
      List.of("deny-cidr", "allow-cidr", "rate-limit", "auth", "max-body", "verify", "max-concurrent");

  private ServeFlags() {
  }

  /** {@code PORT} or {@code PORT:/PATH}; {@code path} null for the whole port. */
  public record Key(int port, String path) {

    @Override
    public String toString() {
      return path == null ? String.valueOf(port) : port + ":" + path;
    }
  }

  /** Parses {@code PORT[:/PATH]} of {@code flag}'s entry. */
  public static Key key(String text, String flag) {
    int colon = text.indexOf(':');
    String portText = colon < 0 ? text : text.substring(0, colon);
    int port;
    try {
      port = Integer.parseInt(portText.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(flag + ": '" + portText + "' is not a port (write PORT[:/PATH], e.g. 443:/api)");
    }
    if (!PublicPorts.isAllowed(port)) {
      throw new IllegalArgumentException(flag + ": public port " + port + " is not a Funnel port; use one of "
          + PublicPorts.sorted(PublicPorts.ALLOWED).stream().map(String::valueOf).collect(Collectors.joining(", ")));
    }
    if (colon < 0) {
      return new Key(port, null);
    }
    try {
      return new Key(port, RoutePaths.canonical(text.substring(colon + 1)));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(flag + ": " + e.getMessage());
    }
  }

  /** Splits {@code KEY=VALUE}; {@code example} is shown when there is no {@code =}. */
  public static Map.Entry<Key, String> entry(String text, String flag, String example) {
    int eq = text.indexOf('=');
    if (eq < 0) {
      throw new IllegalArgumentException(flag + " takes PORT[:/PATH]=" + example + ", got '" + text + "'");
    }
    return Map.entry(key(text.substring(0, eq), flag + " " + text), text.substring(eq + 1));
  }

  /** One {@code --funnel} entry as a port and route (path {@code /} when none is given). */
  public static Map.Entry<Integer, ServeRoute> route(String text) {
    Map.Entry<Key, String> e = entry(text, "--funnel", "TARGET (e.g. 443=http://127.0.0.1:3000, 443:/api=http://127.0.0.1:8080)");
    ServeTarget target;
    try {
      target = ServeTarget.parse(e.getValue());
    } catch (IllegalArgumentException ex) {
      throw new IllegalArgumentException("--funnel " + text + ": " + ex.getMessage());
    }
    String path = e.getKey().path() == null ? "/" : e.getKey().path();
    return Map.entry(e.getKey().port(), new ServeRoute(path, target));
  }

  /**
   * The serve config of {@code funnels} ({@code --funnel} entries) with {@code gates} (rule →
   * entries, rule as in {@link #GATE_RULES}) applied.
   */
  public static ServeConfig parse(List<String> funnels, Map<String, List<String>> gates) {
    ServeConfig config = ServeConfig.EMPTY;
    for (String f : funnels) {
      Map.Entry<Integer, ServeRoute> r = route(f);
      ServePort existing = config.ports().get(r.getKey());
      if (existing != null && existing.route(r.getValue().path()).isPresent()) {
        throw new IllegalArgumentException("--funnel names " + r.getKey() + ":" + r.getValue().path() + " twice");
      }
      try {
        config = config.withRoute(r.getKey(), r.getValue());
      } catch (IllegalArgumentException ex) {
        throw new IllegalArgumentException("--funnel " + f + ": " + ex.getMessage());
      }
    }
    Map<Key, GatePolicy> policies = new LinkedHashMap<>();
    for (String rule : GATE_RULES) {
      for (String entry : gates.getOrDefault(rule, List.of())) {
        Map.Entry<Key, String> e = entry(entry, "--" + rule, example(rule));
        Key key = e.getKey();
        ServePort port = config.ports().get(key.port());
        if (port == null) {
          throw new IllegalArgumentException("--" + rule + " " + entry + ": port " + key.port()
              + " is not funnelled (add --funnel " + key.port() + "=TARGET)");
        }
        if (key.path() != null && port.route(key.path()).isEmpty()) {
          throw new IllegalArgumentException("--" + rule + " " + entry + ": port " + key.port() + " has no route "
              + key.path() + " (routes: " + port.routes().stream().map(ServeRoute::path).collect(Collectors.joining(", "))
              + "); add --funnel " + key + "=TARGET or name the port alone");
        }
        try {
          policies.put(key, rule(policies.getOrDefault(key, GatePolicy.NONE), rule, e.getValue()));
        } catch (IllegalArgumentException ex) {
          throw new IllegalArgumentException("--" + rule + " " + entry + ": " + ex.getMessage());
        }
      }
    }
    for (Map.Entry<Key, GatePolicy> p : policies.entrySet()) {
      Key key = p.getKey();
      ServePort port = config.ports().get(key.port());
      try {
        if (key.path() == null) {
          config = config.with(port.withPolicy(p.getValue()));
        } else {
          config = config.with(port.withRoute(port.route(key.path()).orElseThrow().withPolicy(p.getValue())));
        }
      } catch (IllegalArgumentException ex) {
        throw new IllegalArgumentException("--" + firstRule(p.getValue()) + " " + key + ": " + ex.getMessage());
      }
    }
    return config;
  }

  /** {@code policy} with {@code rule} set from {@code value}: CIDR lists add up, other rules may be set once. */
  public static GatePolicy rule(GatePolicy policy, String rule, String value) {
    return switch (rule) {
      case "allow-cidr" -> policy.withAllowCidrs(concat(policy.allowCidrs(), Cidrs.parseList(List.of(value))));
      case "deny-cidr" -> policy.withDenyCidrs(concat(policy.denyCidrs(), Cidrs.parseList(List.of(value))));
      case "rate-limit" -> once(policy.rateLimit(), rule, policy.withRateLimit(GatePolicy.RateLimit.parse(value)));
      case "verify" -> once(policy.verify(), rule, policy.withVerify(GatePolicy.Verify.parse(value)));
      case "auth" -> once(policy.auth(), rule, policy.withAuth(GatePolicy.Auth.parse(value)));
      case "max-body" -> once(policy.maxBodyBytes() == 0 ? null : policy.maxBodyBytes(), rule,
          policy.withMaxBodyBytes(Sizes.parseBytes(value)));
      case "max-concurrent" -> once(policy.maxConcurrent() == 0 ? null : policy.maxConcurrent(), rule,
          policy.withMaxConcurrent(Sizes.parseCount(value)));
      default -> throw new IllegalArgumentException("unknown gate rule '" + rule + "'");
    };
  }

  /** How a rule's value is written, for error messages. */
  public static String example(String rule) {
    return switch (rule) {
      case "allow-cidr", "deny-cidr" -> "CIDR[,CIDR…] (e.g. 443=10.0.0.0/8,2001:db8::/32)";
      case "rate-limit" -> "N/s (e.g. 443:/api=20/s)";
      case "verify" -> "github|stripe|slack:SECRET_FILE or hmac-sha256:HEADER:SECRET_FILE";
      case "auth" -> "oidc|basic:HTPASSWD_FILE|bearer:TOKENS_FILE|off";
      case "max-body" -> "SIZE (e.g. 443=10m)";
      case "max-concurrent" -> "N (e.g. 443=64)";
      default -> "VALUE";
    };
  }

  private static <T> GatePolicy once(T existing, String rule, GatePolicy next) {
    if (existing != null) {
      throw new IllegalArgumentException("given twice for the same port or route");
    }
    return next;
  }

  private static List<String> concat(List<String> a, List<String> b) {
    return java.util.stream.Stream.concat(a.stream(), b.stream()).distinct().toList();
  }

  private static String firstRule(GatePolicy p) {
    for (String rule : GATE_RULES) {
      if (p.toJson().containsKey(rule)) {
        return rule;
      }
    }
    return "funnel";
  }
}
