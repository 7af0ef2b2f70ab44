package dev.funnel.launcher;

import dev.funnel.common.serve.GatePolicy;
import dev.funnel.common.serve.ServeFlags;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** The gate flags of {@code funnel node serve add} and {@code gate}: values without the PORT[:/PATH]= prefix (the route is named already). */
final class ServeGateOptions {
  @Option(names = "--deny-cidr", paramLabel = "CIDR[,…]", description = "Refuse clients in these networks; repeatable.")
  List<String> denyCidr = new ArrayList<>();

  @Option(names = "--allow-cidr", paramLabel = "CIDR[,…]", description = "Let only clients in these networks in; repeatable.")
  List<String> allowCidr = new ArrayList<>();

  @Option(names = "--rate-limit", paramLabel = "N/s", description = "Requests per client address (N/s, N/m, N/h).")
  String rateLimit;

  @Option(names = "--verify", paramLabel = "KIND:SECRET_FILE",
      description = "github:FILE, stripe:FILE, slack:FILE or hmac-sha256:HEADER:FILE.")
  String verify;

  @Option(names = "--auth", paramLabel = "oidc|basic:FILE|bearer:FILE|off", description = "Login in front of it.")
  String auth;

  @Option(names = "--max-body", paramLabel = "SIZE", description = "Largest request body (e.g. 10m).")
  String maxBody;

  @Option(names = "--max-concurrent", paramLabel = "N", description = "Requests at the target at once.")
  String maxConcurrent;

  /** The rules given, as a policy; IllegalArgumentException names the flag. */
  GatePolicy policy() {
    GatePolicy p = GatePolicy.NONE;
    for (String v : denyCidr) {
      p = rule(p, "deny-cidr", v);
    }
    for (String v : allowCidr) {
      p = rule(p, "allow-cidr", v);
    }
    p = rateLimit == null ? p : rule(p, "rate-limit", rateLimit);
    p = verify == null ? p : rule(p, "verify", verify);
    p = auth == null ? p : rule(p, "auth", auth);
    p = maxBody == null ? p : rule(p, "max-body", maxBody);
    p = maxConcurrent == null ? p : rule(p, "max-concurrent", maxConcurrent);
    return p;
  }

  private static GatePolicy rule(GatePolicy p, String rule, String value) {
    try {
      return ServeFlags.rule(p, rule, value);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--" + rule + " " + value + ": " + e.getMessage());
    }
  }
}
