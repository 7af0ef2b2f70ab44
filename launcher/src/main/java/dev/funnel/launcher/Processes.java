package dev.funnel.launcher;

import dev.funnel.common.net.DataPlane;
import io.vertx.core.Vertx;
import java.net.BindException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import java.util.logging.Level;

/** Process lifetime: start or exit with a clear message, close Vert.x on SIGTERM/Ctrl-C. */
final class Processes {

  private static final CountDownLatch STOPPED = new CountDownLatch(1);

  /** Set once SIGTERM/Ctrl-C arrived: a start that fails after that is the stop, not an error. */
  private static final AtomicBoolean STOPPING = new AtomicBoolean();

  /**
   * A failure whose message is already one line for the operator (flag, value, what to do), with
   * the exit code: 2 for a usage error, 1 for a runtime one.
   */
  static final class Failure extends RuntimeException {
    final int exitCode;

    Failure(String message, int exitCode) {
      super(message);
      this.exitCode = exitCode;
    }
  }

  private Processes() {
  }

  /**
   * Every long-running command calls this once with its Vertx: closes it on SIGTERM/Ctrl-C, and
   * logs the transport the process runs on (NIO or native epoll; see bench/README.md for why NIO).
   */
  static void closeOnShutdown(Vertx vertx, String command) {
    logTransport(vertx);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      STOPPING.set(true);
      try {
        vertx.close().await(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        // Exiting anyway.
      } finally {
        Logging.lineNow(Level.INFO, Processes.class.getName(), "funnel " + command + " stopped");
        STOPPED.countDown();
      }
    }, "funnel-shutdown"));
  }

  private static void logTransport(Vertx vertx) {
    System.Logger log = System.getLogger(Processes.class.getName());
    log.log(System.Logger.Level.INFO, "transport: " + (DataPlane.epoll() ? "epoll" : "NIO") + " for the data plane, "
        + (vertx.isNativeTransportEnabled() ? "epoll" : "NIO") + " for the control plane");
  }

  /** Runs {@code start}; on failure prints one line saying why and exits 1 (a {@link Failure}: its code). */
  static <T> T startOrExit(Vertx vertx, String what, Supplier<T> start) {
    try {
      return start.get();
    } catch (RuntimeException e) {
      if (STOPPING.get()) {
        // Stopped while starting (a node still retrying its gateway): the stop says it all.
        awaitShutdown();
        System.exit(0);
      }
      System.err.println("funnel " + what + ": " + (e instanceof Failure ? "" : "cannot start: ") + describe(e));
      if (Logging.settings().debug()) {
        e.printStackTrace();
      }
      try {
        vertx.close().await(5, TimeUnit.SECONDS);
      } catch (Exception ignored) {
        // Exiting anyway.
      }
      System.exit(e instanceof Failure f ? f.exitCode : 1);
      throw e;
    }
  }

  static String describe(Throwable e) {
    if (e instanceof Failure) {
      return e.getMessage();
    }
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      if (root instanceof BindException) {
        break;
      }
      root = root.getCause();
    }
    String message = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    if (root instanceof BindException || message.contains("Address already in use")) {
      return message + " (is another funnel already running? pick other addresses with the --*-listen / --public flags)";
    }
    return message;
  }

  static void awaitShutdown() {
    try {
      STOPPED.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
