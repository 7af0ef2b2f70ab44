package dev.funnel.common.ops;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The log of one local target's outages, as a node sees them through the requests and tunnels it
 * forwards to it. Public clients decide how often a target that is down gets tried, so the log
 * follows the outage, not the clients: the first failure (since the start, or since the target last
 * answered) is one WARNING saying what clients get meanwhile; while failures go on, one WARNING a
 * minute with their count; the first answer after a failure is one INFO line with how many failed
 * and for how long. Every failure is counted in the caller's metrics; the lines in between go at
 * DEBUG. A target that flaps on every request is bounded by a {@link LogLimit} too.
 * Thread-safe; an answer while the target is up costs one volatile read.
 */
public final class OutageLog {

  /** While failures go on, a reminder this often. */
  public static final long REMINDER_NANOS = TimeUnit.MINUTES.toNanos(1);

  private final Logger logger;
  private final String subject;
  private final String meanwhile;
  private final LongSupplier nanoClock;
  private final LogLimit lines;
  private volatile boolean down;
  private long since;
  private long lastWarning;
  private long failures;

  /**
   * @param subject   what failed, e.g. {@code "port 443: backend http://127.0.0.1:8080"}
   * @param meanwhile what clients get until it answers, e.g. {@code "answering 502"}
   */
  public OutageLog(Logger logger, String subject, String meanwhile) {
    this(logger, subject, meanwhile, System::nanoTime);
  }

  /** With {@code lines} as its budget: one budget for the outages of several targets, or of one target's successive logs. */
  public OutageLog(Logger logger, String subject, String meanwhile, LogLimit lines) {
    this(logger, subject, meanwhile, System::nanoTime, lines);
  }

  public OutageLog(Logger logger, String subject, String meanwhile, LongSupplier nanoClock) {
    this(logger, subject, meanwhile, nanoClock, new LogLimit(LogLimit.DEFAULT_PER_SECOND, nanoClock));
  }

  private OutageLog(Logger logger, String subject, String meanwhile, LongSupplier nanoClock, LogLimit lines) {
    this.logger = logger;
    this.subject = subject;
    this.meanwhile = meanwhile;
    this.nanoClock = nanoClock;
    this.lines = lines;
  }

  /** One request or tunnel the target failed, and why. */
  public void failed(String reason) {
    long now = nanoClock.getAsLong();
    String line;
    synchronized (this) {
      if (!down) {
        down = true;
        since = now;
        lastWarning = now;
        failures = 1;
        line = subject + " is not answering: " + reason + "; " + meanwhile + " until it does";
      } else {
        failures++;
        if (now - lastWarning < REMINDER_NANOS) {
          line = null;
        } else {
          lastWarning = now;
          line = subject + " is still not answering: " + reason + " (" + failures + " failures since "
              + seconds(now - since) + " ago; " + meanwhile + ")";
        }
      }
    }
    if (line != null) {
      lines.log(logger, Level.WARNING, "outage lines", () -> line);
    } else {
      logger.log(Level.DEBUG, () -> subject + ": " + reason + "; " + meanwhile);
    }
  }

  /** One request or tunnel the target answered. */
  public void answered() {
    if (!down) {
      return;
    }
    long n;
    long took;
    synchronized (this) {
      if (!down) {
        return;
      }
      down = false;
      n = failures;
      took = nanoClock.getAsLong() - since;
    }
    lines.log(logger, Level.INFO, "outage lines", () -> subject + " answers again (" + n + (n == 1 ? " failure" : " failures")
        + " over " + seconds(took) + ")");
  }

  /** Whether the last thing seen was a failure. */
  public boolean down() {
    return down;
  }

  /**
   * Why a connection to a target failed, without the address Netty appends to a connect failure
   * ({@code "Connection refused: /127.0.0.1:8080"} → {@code "Connection refused"}): the line names
   * the target already.
   */
  public static String reason(Throwable failure) {
    String message = failure.getMessage();
    if (message == null || message.isEmpty()) {
      return failure.getClass().getSimpleName();
    }
    return message.replaceFirst(": [^ ]*/[^ /]*:\\d+$", "");
  }

  private static String seconds(long nanos) {
    long s = TimeUnit.NANOSECONDS.toSeconds(nanos);
    return s < 1 ? "less than a second" : s < 120 ? s + " s" : (s / 60) + " min";
  }
}
