package dev.funnel.bench;

import java.util.Arrays;

/** Small statistics over samples in nanoseconds: nearest-rank percentiles, rates, rounding. */
final class Stats {

  private Stats() {
  }

  /**
   * The nearest-rank percentile: the smallest sample such that at least {@code p} percent of the
   * samples are less than or equal to it. {@code p} in (0, 100]; NaN for no samples.
   */
  static double percentile(long[] samples, double p) {
    if (samples.length == 0) {
      return Double.NaN;
    }
    if (!(p > 0 && p <= 100)) {
      throw new IllegalArgumentException("percentile must be in (0, 100]: " + p);
    }
    long[] sorted = samples.clone();
    Arrays.sort(sorted);
    // The epsilon keeps 99.9 % of 1000 at rank 999 (p / 100 * n is 999.0000000000001 in doubles).
    int rank = (int) Math.ceil(p * sorted.length / 100.0 - 1e-9);
    return sorted[Math.max(0, rank - 1)];
  }

  /** The percentile of nanosecond samples, in milliseconds. */
  static double percentileMillis(long[] nanos, double p) {
    return percentile(nanos, p) / 1e6;
  }

  /** Bytes over nanoseconds, in MiB per second. */
  static double mibPerSecond(long bytes, long nanos) {
    return nanos <= 0 ? Double.NaN : bytes / (1024.0 * 1024.0) / (nanos / 1e9);
  }

  /** Events over nanoseconds, per second. */
  static double perSecond(long count, long nanos) {
    return nanos <= 0 ? Double.NaN : count / (nanos / 1e9);
  }

  /** {@code value / base}, or NaN when either is missing or the base is zero. */
  static double ratio(Double value, Double base) {
    if (value == null || base == null || value.isNaN() || base.isNaN() || base == 0) {
      return Double.NaN;
    }
    return value / base;
  }

  /** {@link #ratio} to 3 significant digits as reports show it; null when it cannot be taken (JSON has no NaN). */
  static Double shownRatio(Double value, Double base) {
    double r = ratio(value, base);
    return Double.isNaN(r) ? null : round(r, 3);
  }

  /** Rounds to {@code digits} significant digits (keeps JSON and tables readable); NaN stays NaN. */
  static double round(double value, int digits) {
    if (Double.isNaN(value) || Double.isInfinite(value) || value == 0) {
      return value;
    }
    double scale = Math.pow(10, digits - 1 - (int) Math.floor(Math.log10(Math.abs(value))));
    return Math.round(value * scale) / scale;
  }
}
