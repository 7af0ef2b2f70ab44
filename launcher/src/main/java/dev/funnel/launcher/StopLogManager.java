package dev.funnel.launcher;

import java.util.logging.LogManager;

/**
 * The JDK's LogManager, except that the reset its own shutdown hook does is put off until Funnel's
 * stop has logged its last line: the hooks run at the same time, and without this the lines of a
 * stop (a drain, what is still open after it) were lost, the handlers already closed. Installed by
 * {@link FunnelCommand#main} ({@code java.util.logging.manager}) before anything logs; the stop
 * calls {@link #release()} when its last line is out. A process that has no stop of its own (a
 * one-shot command) is reset by the JDK as usual.
 */
public final class StopLogManager extends LogManager {

  private static volatile boolean holding;

  public StopLogManager() {
    super();
  }

  /** From now on a reset (the JDK's at shutdown) is put off until {@link #release()}. */
  static void hold() {
    holding = true;
  }

  /** The stop is over: the reset the JDK asked for happens now (flushing and closing the handlers). */
  static void release() {
    holding = false;
    if (LogManager.getLogManager() instanceof StopLogManager manager) {
      manager.reset();
    }
  }

  @Override
  public void reset() {
    if (!holding) {
      super.reset();
    }
  }
}
