package dev.funnel.common.serve;

import java.util.Locale;

/** Byte sizes ({@code 512}, {@code 64k}, {@code 10m}, {@code 1g}; binary units) and positive counts, as flags take them. */
public final class Sizes {

  private Sizes() {
  }

  public static long parseBytes(String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    if (t.endsWith("b")) {
      t = t.substring(0, t.length() - 1);
    }
    long unit = 1;
    if (!t.isEmpty()) {
      switch (t.charAt(t.length() - 1)) {
        case 'k' -> unit = 1024;
        case 'm' -> unit = 1024 * 1024;
        case 'g' -> unit = 1024L * 1024 * 1024;
        default -> unit = 1;
      }
    }
    String digits = unit == 1 ? t : t.substring(0, t.length() - 1);
    long n;
    try {
      n = Long.parseLong(digits.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + text + "' is not a size (e.g. 512k, 10m, 1g)");
    }
    if (n < 1 || n > Long.MAX_VALUE / unit) {
      throw new IllegalArgumentException("'" + text + "': a size is at least 1 byte");
    }
    return n * unit;
  }

  public static int parseCount(String text) {
    int n;
    try {
      n = Integer.parseInt(text.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + text + "' is not a number");
    }
    if (n < 1) {
      throw new IllegalArgumentException("'" + text + "': at least 1");
    }
    return n;
  }
}
