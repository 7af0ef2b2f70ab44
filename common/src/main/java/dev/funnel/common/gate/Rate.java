package dev.funnel.common.gate;

import java.time.Duration;

/**
 * A rate as a user writes it: {@code N/s}, {@code N/m} or {@code N/h} (N from 1 to 1 000 000):
 * at most N per client address in each period.
 */
public record Rate(int permits, Duration period) {

  public static final int MAX_PERMITS = 1_000_000;

  public Rate {
    if (permits < 1 || permits > MAX_PERMITS) {
      throw new IllegalArgumentException("rate must allow 1.." + MAX_PERMITS + " per period, not " + permits);
    }
    if (period.isZero() || period.isNegative()) {
      throw new IllegalArgumentException("rate period must be positive");
    }
  }

  /** Parses {@code 20/s}; throws {@link IllegalArgumentException} with a reason a user can act on. */
  public static Rate parse(String text) {
    String usage = "bad rate '" + text + "': write N/s, N/m or N/h, e.g. 20/s";
    int slash = text == null ? -1 : text.indexOf('/');
    if (slash <= 0 || slash > 7) {
      throw new IllegalArgumentException(usage);
    }
    String n = text.substring(0, slash);
    if (!n.chars().allMatch(c -> c >= '0' && c <= '9')) {
      throw new IllegalArgumentException(usage);
    }
    Duration period = switch (text.substring(slash + 1)) {
      case "s" -> Duration.ofSeconds(1);
      case "m" -> Duration.ofMinutes(1);
      case "h" -> Duration.ofHours(1);
      default -> throw new IllegalArgumentException(usage);
    };
    int permits = Integer.parseInt(n);
    if (permits < 1 || permits > MAX_PERMITS) {
      throw new IllegalArgumentException("bad rate '" + text + "': N must be 1.." + MAX_PERMITS);
    }
    return new Rate(permits, period);
  }

  @Override
  public String toString() {
    long seconds = period.toSeconds();
    String unit = seconds == 1 ? "s" : seconds == 60 ? "m" : seconds == 3600 ? "h" : seconds + "s";
    return permits + "/" + unit;
  }
}
