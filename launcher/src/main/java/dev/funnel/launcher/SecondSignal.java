package dev.funnel.launcher;

import java.util.concurrent.atomic.AtomicBoolean;
import sun.misc.Signal;

/**
 * SIGTERM and Ctrl-C (SIGINT) as the JVM handles them (exit 143 or 130, running the shutdown
 * hooks: a frontend's drain, then Vert.x's close), except that a second one while that stop is
 * under way halts at once: an operator who does not want to wait out a drain presses Ctrl-C again.
 * The JVM's own handler ignores a second signal once its hooks run.
 */
final class SecondSignal {

  private SecondSignal() {
  }

  /** Installs the handlers; {@code stopping} is set by the first signal (and by the shutdown hook). */
  static void install(AtomicBoolean stopping, String command) {
    for (String name : new String[] {"TERM", "INT"}) {
      try {
        Signal.handle(new Signal(name), signal -> {
          if (stopping.getAndSet(true)) {
            System.err.println("funnel " + command + ": SIG" + signal.getName() + " again: stopping now");
            Runtime.getRuntime().halt(128 + signal.getNumber());
          }
          // As the JVM's own handler does: the exit runs the shutdown hooks on this thread.
          System.exit(128 + signal.getNumber());
        });
      } catch (IllegalArgumentException | UnsupportedOperationException e) {
        // The signal is not available here (-Xrs, or a platform without it): the JVM's handling stays.
      }
    }
  }
}
