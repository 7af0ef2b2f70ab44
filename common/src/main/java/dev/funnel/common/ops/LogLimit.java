package dev.funnel.common.ops;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * A budget of log lines for events that clients on the public internet can cause at will (a
 * refused connection, a request without credentials, a request the local target failed): at most
 * {@code perSecond} lines in each one-second window; the events over it are left out of the log and
 * counted, and the next line that gets through says how many were left out. Metrics and tallies
 * count every event; this bounds only the log, so a scanner or a flood cannot fill a laptop's disk
 * or bury the lines that matter. Thread-safe; one per component (a listener, a route, a target).
 */
public final class LogLimit {

  /** Lines a second per budget unless a component says otherwise. */
  public static final int DEFAULT_PER_SECOND = 10;

  private static final long WINDOW_NANOS = 1_000_000_000L;

  private final int perSecond;
  private final LongSupplier nanoClock;
  private long windowStart;
  private int inWindow;
  private long leftOut;

  public LogLimit() {
    this(DEFAULT_PER_SECOND);
  }

  public LogLimit(int perSecond) {
    this(perSecond, System::nanoTime);
  }

  public LogLimit(int perSecond, LongSupplier nanoClock) {
    if (perSecond < 1) {
      throw new IllegalArgumentException("perSecond must be at least 1, was " + perSecond);
    }
    this.perSecond = perSecond;
    this.nanoClock = nanoClock;
    this.windowStart = nanoClock.getAsLong();
  }

  /**
   * One event: -1 when its line is to be left out (it is counted), otherwise how many lines were
   * left out since the last one that got through (0 mostly).
   */
  public synchronized long admit() {
    long now = nanoClock.getAsLong();
    if (now - windowStart >= WINDOW_NANOS) {
      windowStart = now;
      inWindow = 0;
    }
    if (inWindow >= perSecond) {
      leftOut++;
      return -1;
    }
    inWindow++;
    long n = leftOut;
    leftOut = 0;
    return n;
  }

  /**
   * Logs {@code message} at {@code level} if the budget allows (the message is built only then),
   * followed by {@code " (N more WHAT not logged)"} when lines were left out before it.
   */
  public void log(Logger logger, Level level, String what, Supplier<String> message) {
    log(logger, level, what, message, null);
  }

  /** As {@link #log(Logger, Level, String, Supplier)}, with {@code thrown} (may be null) after the line. */
  public void log(Logger logger, Level level, String what, Supplier<String> message, Throwable thrown) {
    if (!logger.isLoggable(level)) {
      return;
    }
    long n = admit();
    if (n >= 0) {
      logger.log(level, message.get() + leftOut(n, what), thrown);
    }
  }

  /** {@code ""}, or {@code " (N more WHAT not logged)"}. */
  public static String leftOut(long n, String what) {
    return n <= 0 ? "" : " (" + n + " more " + what + " not logged)";
  }
}
