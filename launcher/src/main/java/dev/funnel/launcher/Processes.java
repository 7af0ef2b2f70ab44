package dev.funnel.launcher;

import io.vertx.core.Vertx;
import java.net.BindException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** Process lifetime: start or exit with a clear message, close Vert.x on SIGTERM/Ctrl-C. */
final class Processes {

  private static final CountDownLatch STOPPED = new CountDownLatch(1);

  private Processes() {
  }

  /**
   * Every long-running command calls this once with its Vertx: closes it on SIGTERM/Ctrl-C, and
   * logs the transport the process runs on (NIO or native epoll; see bench/README.md for why NIO).
   */
  static void closeOnShutdown(Vertx vertx) {
    logTransport(vertx);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        vertx.close().await(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        // Exiting anyway.
      } finally {
        STOPPED.countDown();
      }
    }, "funnel-shutdown"));
  }

  private static void logTransport(Vertx vertx) {
    Throwable cause = vertx.unavailableNativeTransportCause();
    String transport = vertx.isNativeTransportEnabled() ? "native epoll"
        : "NIO (" + (cause == null ? "no native transport on the class path" : cause.toString()) + ")";
    System.getLogger(Processes.class.getName()).log(System.Logger.Level.INFO,
        "transport: " + transport);
  }

  /** Runs {@code start}; on failure prints one line saying why and exits 1. */
  static <T> T startOrExit(Vertx vertx, String what, Supplier<T> start) {
    try {
      return start.get();
    } catch (RuntimeException e) {
      System.err.println("funnel " + what + ": cannot start: " + describe(e));
      try {
        vertx.close().await(5, TimeUnit.SECONDS);
      } catch (Exception ignored) {
        // Exiting anyway.
      }
      System.exit(1);
      throw e;
    }
  }

  static String describe(Throwable e) {
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
