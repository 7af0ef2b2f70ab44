package dev.funnel.common.ops;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/**
 * For tests: what some classes' loggers write (java.util.logging, which {@code System.Logger} uses
 * here), each line as {@code LEVEL message}, from {@link #of} until {@link #close()}. Shared by the
 * modules' tests that check what a flood or an outage puts in the log.
 */
public final class CapturedLog extends Handler implements AutoCloseable {

  private final List<String> lines = new CopyOnWriteArrayList<>();
  private final List<Logger> loggers = new ArrayList<>();
  private final List<Level> levels = new ArrayList<>();
  private final SimpleFormatter formatter = new SimpleFormatter();

  private CapturedLog() {
  }

  /** Captures the lines of the loggers named after {@code classes}, at the level each is at. */
  public static CapturedLog of(Class<?>... classes) {
    CapturedLog log = new CapturedLog();
    for (Class<?> type : classes) {
      log.attach(type, null);
    }
    return log;
  }

  /** Also captures {@code type}'s lines down to {@code level} (its level until then comes back at close). */
  public CapturedLog down(Class<?> type, Level level) {
    attach(type, level);
    return this;
  }

  private void attach(Class<?> type, Level level) {
    Logger logger = Logger.getLogger(type.getName());
    loggers.add(logger);
    levels.add(logger.getLevel());
    if (level != null) {
      logger.setLevel(level);
    }
    logger.addHandler(this);
  }

  /** The lines so far, oldest first (a live view). */
  public List<String> lines() {
    return lines;
  }

  @Override
  public void publish(LogRecord record) {
    lines.add(record.getLevel() + " " + formatter.formatMessage(record));
  }

  @Override
  public void flush() {
  }

  @Override
  public void close() {
    for (int i = 0; i < loggers.size(); i++) {
      loggers.get(i).removeHandler(this);
      loggers.get(i).setLevel(levels.get(i));
    }
    loggers.clear();
    levels.clear();
  }
}
