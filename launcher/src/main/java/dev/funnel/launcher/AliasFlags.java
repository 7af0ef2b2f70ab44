package dev.funnel.launcher;

import dev.funnel.common.net.HostPort;
import dev.funnel.common.options.RegistryOptions;
import java.util.Locale;
import picocli.CommandLine.Option;

/**
 * Custom domains on the registry ({@code funnel server}, {@code funnel registry}): the recursive
 * resolver aliases are checked through and how often a verified alias is checked again.
 */
final class AliasFlags {

  static final String RESOLVER = "alias-resolver";
  static final String INTERVAL = "alias-check-interval";

  @Option(names = "--" + RESOLVER, paramLabel = "HOST:PORT", converter = Flags.HostPortConverter.class,
      description = "Recursive DNS resolver that custom domains (funnel node --domain-alias, funnel admin alias add) "
          + "are checked through: TXT at _funnel-challenge.ALIAS and a CNAME to the node's name. Without it, aliases "
          + "stay pending and are never routed.")
  HostPort resolver;

  @Option(names = "--" + INTERVAL, paramLabel = "DURATION",
      description = "Re-check verified aliases this often; a failed check stops routing (default: 5m). "
          + "Pending ones are checked sooner (2s, doubling). Units ms, s, m, h; a bare number is seconds.")
  String interval;

  /** Sets the resolver and interval on {@code options}; returns it. Throws IllegalArgumentException for a bad value. */
  RegistryOptions applyTo(RegistryOptions options) {
    return apply(options, resolver, interval);
  }

  static RegistryOptions apply(RegistryOptions options, HostPort resolver, String interval) {
    options.setAliasResolver(resolver);
    if (interval != null) {
      options.setAliasCheckIntervalMillis(millis(interval));
    }
    return options;
  }

  /** {@code 1500ms}, {@code 2s}, {@code 5m}, {@code 1h}, or a bare number of seconds; 100 ms to 1 day. */
  static long millis(String value) {
    String v = value.trim().toLowerCase(Locale.ROOT);
    long unit = 1000;
    if (v.endsWith("ms")) {
      unit = 1;
      v = v.substring(0, v.length() - 2);
    } else if (v.endsWith("s")) {
      v = v.substring(0, v.length() - 1);
    } else if (v.endsWith("m")) {
      unit = 60_000;
      v = v.substring(0, v.length() - 1);
    } else if (v.endsWith("h")) {
      unit = 3_600_000;
      v = v.substring(0, v.length() - 1);
    }
    long millis;
    try {
      millis = Long.parseLong(v.trim()) * unit;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--" + INTERVAL + ": '" + value + "' is not a duration (e.g. 30s, 5m)");
    }
    if (millis < 100 || millis > 86_400_000L) {
      throw new IllegalArgumentException("--" + INTERVAL + ": between 100ms and 24h");
    }
    return millis;
  }
}
