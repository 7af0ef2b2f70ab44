package dev.funnel.launcher;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.ErrorManager;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;

/**
 * The log's handler: each line is formatted by the thread that logs it and written to stderr by a
 * thread of its own, so that a thread that logs never waits for stderr's reader.
 *
 * <p>The JDK's {@code ConsoleHandler}, used before, wrote and flushed every line on the logging
 * thread under one lock. A frontend logs one access line per connection from its data-plane event
 * loops: when stderr's reader fell behind (a pipe into a slow collector, a terminal scrolled back),
 * every loop waited on that write, and every tunnel on them with it. Here at most
 * {@link #MAX_QUEUED} lines wait; past that a line is dropped and counted, and the next write says
 * how many were dropped ("N log lines dropped: stderr did not keep up"). {@link #flush()} and
 * {@link #close()} wait, for at most {@link #FLUSH_WAIT_MILLIS}, until the lines queued before them
 * are written; after {@code close()} (the LogManager's shutdown hook) each line is flushed before
 * it returns, all of them within one more such bound. So a process whose stderr is stuck still
 * stops, at most twice that bound later.
 */
final class QueuedLines extends Handler {

  static final int MAX_QUEUED = 8_192;
  static final long FLUSH_WAIT_MILLIS = 5_000;
  /** Lines one write takes from the queue at most. */
  private static final int BATCH = 512;

  private final PrintStream out;
  private final BlockingQueue<String> lines = new ArrayBlockingQueue<>(MAX_QUEUED);
  private final AtomicLong dropped = new AtomicLong();
  /** Lines queued so far, and lines written so far (guarded by {@code this}, for flush). */
  private final AtomicLong queued = new AtomicLong();
  private long written;
  private volatile boolean closed;
  /** After close: when the lines that come later stop waiting for stderr (System.nanoTime()). */
  private volatile long stopDeadlineNanos;
  private final long flushWaitMillis;

  QueuedLines(PrintStream out) {
    this(out, FLUSH_WAIT_MILLIS);
  }

  QueuedLines(PrintStream out, long flushWaitMillis) {
    this.out = out;
    this.flushWaitMillis = flushWaitMillis;
    Thread writer = new Thread(this::writeLines, "funnel-log");
    writer.setDaemon(true);
    writer.start();
  }

  @Override
  public void publish(LogRecord record) {
    if (!isLoggable(record)) {
      return;
    }
    String line;
    try {
      line = getFormatter().format(record);
    } catch (RuntimeException e) {
      reportError(null, e, ErrorManager.FORMAT_FAILURE);
      return;
    }
    queue(line);
    if (closed) {
      flush();
    }
  }

  /** Queues a line already formatted, as {@link #publish} does; then, as the process stops, flushes it. */
  void publishNow(String line) {
    queue(line);
    flush();
  }

  private void queue(String line) {
    if (lines.offer(line)) {
      queued.incrementAndGet();
    } else {
      dropped.incrementAndGet();
    }
  }

  /** How many lines were dropped since the last write said so (tests). */
  long dropped() {
    return dropped.get();
  }

  private void writeLines() {
    List<String> batch = new ArrayList<>(BATCH);
    while (true) {
      try {
        batch.add(lines.take());
      } catch (InterruptedException e) {
        return;
      }
      lines.drainTo(batch, BATCH - 1);
      StringBuilder text = new StringBuilder();
      long lost = dropped.getAndSet(0);
      if (lost > 0) {
        text.append(droppedLine(lost));
      }
      batch.forEach(text::append);
      synchronized (out) {
        out.print(text);
        out.flush();
      }
      synchronized (this) {
        written += batch.size();
        notifyAll();
      }
      batch.clear();
    }
  }

  private String droppedLine(long lost) {
    LogRecord notice = new LogRecord(Level.WARNING, lost + " log lines dropped: stderr did not keep up");
    notice.setLoggerName("funnel.log");
    try {
      return getFormatter().format(notice);
    } catch (RuntimeException e) {
      return notice.getMessage() + System.lineSeparator();
    }
  }

  /** Waits (at most {@link #FLUSH_WAIT_MILLIS}) until every line queued before this call is written. */
  @Override
  public void flush() {
    long target = queued.get();
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(flushWaitMillis);
    if (closed && deadline - stopDeadlineNanos > 0) {
      deadline = stopDeadlineNanos;
    }
    synchronized (this) {
      while (written < target) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return;
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(this, left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  /** Writes what is queued (waiting as {@link #flush()} does); later lines are each flushed as they come. */
  @Override
  public void close() {
    flush();
    stopDeadlineNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(flushWaitMillis);
    closed = true;
  }
}
