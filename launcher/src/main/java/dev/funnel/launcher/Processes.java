package dev.funnel.launcher;

import dev.funnel.common.net.DataPlane;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.BindException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import java.util.logging.Level;

/**
 * Process lifetime: start or exit with a clear message; on SIGTERM/Ctrl-C, run the steps that must
 * come first (a frontend's, gateway's or node's drain), then close Vert.x. A second SIGTERM/Ctrl-C
 * stops at once.
 */
final class Processes {

  /** A step of the stop that runs, and is waited for up to {@code boundMillis}, before Vert.x closes. */
  private record BeforeClose(String what, long boundMillis, Supplier<Future<?>> step) {
  }

  private static final List<BeforeClose> BEFORE_CLOSE = new CopyOnWriteArrayList<>();

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
    SecondSignal.install(STOPPING, command);
    StopLogManager.hold();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      STOPPING.set(true);
      for (BeforeClose first : BEFORE_CLOSE) {
        try {
          first.step().get().await(first.boundMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
          System.getLogger(Processes.class.getName()).log(System.Logger.Level.WARNING,
              "funnel " + command + ": " + first.what() + " did not finish (" + describe(e) + "); stopping anyway");
        }
      }
      try {
        vertx.close().await(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        // Exiting anyway.
      } finally {
        Logging.lineNow(Level.INFO, Processes.class.getName(), "funnel " + command + " stopped");
        StopLogManager.release();
        STOPPED.countDown();
      }
    }, "funnel-shutdown"));
  }

  /**
   * Registers {@code step} (a drain) to run, and be waited for up to {@code boundMillis},
   * when SIGTERM/Ctrl-C arrives, before Vert.x closes; steps run in the order registered.
   */
  static void beforeClose(String what, long boundMillis, Supplier<Future<?>> step) {
    BEFORE_CLOSE.add(new BeforeClose(what, boundMillis, step));
  }

  /**
   * The stop begins with {@code drain} (a frontend's, gateway's or node's, bounded by its own timeout,
   * plus a margin here): first {@code notReady} runs (/ready turns 503, so a load balancer stops
   * sending clients).
   */
  static void drainOnStop(String what, long drainTimeoutSeconds, Runnable notReady, Supplier<Future<?>> drain) {
    beforeClose(what, drainTimeoutSeconds * 1000 + 5_000, () -> {
      notReady.run();
      return drain.get();
    });
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
    if (root instanceof java.nio.file.FileSystemException fs) {
      return fileSystem(fs);
    }
    String message = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    if (root instanceof BindException || message.contains("Address already in use")) {
      return message + " (is another funnel already running? pick other addresses with the --*-listen / --public flags)";
    }
    return message;
  }

  /**
   * A file-system failure as {@code FILE: why}: the JDK's message for a refused {@code mkdir} is the
   * path alone ({@code AccessDeniedException: /proc/qa}), its kind only in the exception's class.
   */
  static String fileSystem(java.nio.file.FileSystemException e) {
    String file = e.getFile() == null ? "" : e.getFile() + (e.getOtherFile() == null ? "" : " -> " + e.getOtherFile()) + ": ";
    return file + reason(e);
  }

  /** Why a file-system call failed, without the file: the OS's reason, or what the exception's class says. */
  static String reason(java.nio.file.FileSystemException e) {
    String why = e.getReason();
    if (why == null) {
      why = e instanceof java.nio.file.AccessDeniedException ? "permission denied"
          : e instanceof java.nio.file.NoSuchFileException ? "no such file or directory"
          : e instanceof java.nio.file.FileAlreadyExistsException ? "already exists"
          : e instanceof java.nio.file.NotDirectoryException ? "not a directory"
          : e instanceof java.nio.file.DirectoryNotEmptyException ? "directory not empty"
          : e.getClass().getSimpleName();
    }
    return why;
  }

  static void awaitShutdown() {
    try {
      STOPPED.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
