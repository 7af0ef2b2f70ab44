package dev.funnel.launcher;

import io.vertx.core.json.JsonObject;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.text.MessageFormat;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * One log line per event on stderr: {@code time level logger: message}, or with
 * {@code --log-format json} one JSON object per line ({@code time}, {@code level}, {@code logger},
 * {@code message}), written by a thread of its own ({@link QueuedLines}: a thread that logs, an
 * event loop, never waits for stderr's reader). Stack traces only with {@code --debug}, which also
 * turns on Funnel's DEBUG (FINE) lines. Numbers in messages are written plainly ({@code 8443}, not
 * {@code 8,443}).
 */
final class Logging {

  /** The flags, read from the raw arguments before picocli runs so start-up lines already follow them. */
  record Settings(boolean debug, boolean json) {

    static Settings fromArgs(String[] args) {
      boolean debug = false;
      boolean json = false;
      for (int i = 0; i < args.length; i++) {
        String arg = args[i];
        if (arg.equals("--")) {
          break;
        }
        if (arg.equals("--debug")) {
          debug = true;
        } else if (arg.equals("--log-format=json") || (arg.equals("--log-format") && i + 1 < args.length
            && args[i + 1].equalsIgnoreCase("json"))) {
          json = true;
        }
      }
      String env = System.getenv("FUNNEL_LOG_FORMAT");
      return new Settings(debug, json || "json".equalsIgnoreCase(env));
    }
  }

  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS");

  /**
   * WARNINGs that say nothing to an operator, each as (logger name prefix, text the message contains):
   * vertx-micrometer registers its gauges once per handler/connection on purpose and Micrometer
   * 1.13.9+ warns about the re-registration (vert-x3/vertx-micrometer-metrics#259); Hazelcast warns
   * that the CP subsystem, which Funnel does not use, is off; Vert.x logs the reset of a connection
   * that has no exception handler of its own (a clustered event bus's connection from a member that
   * was frozen and left, seen in StatusFrontendIT on 2026-12-07) as a SEVERE line of the exception's
   * message alone, "Connection reset", which names neither the peer nor the connection: the member's
   * leaving is the line that says what happened.
   */
  private static final List<String[]> NOISE = List.of(
      new String[] {"io.micrometer.core.instrument.MeterRegistry", "This Gauge has been already registered (MeterId{name='vertx."},
      new String[] {"com.hazelcast.", "CP Subsystem is not enabled"},
      new String[] {"io.vertx.core.net.impl.ConnectionBase", "Connection reset"});

  private static volatile Settings settings = new Settings(false, false);
  /** The handler {@link #configure} installed (null until then, or when a logging config file is used). */
  private static volatile QueuedLines lines;
  private static final LineFormatter FORMATTER = new LineFormatter();

  private Logging() {
  }

  static Settings settings() {
    return settings;
  }

  static void configure() {
    configure(new Settings(false, false));
  }

  static void configure(Settings chosen) {
    settings = chosen;
    if (System.getProperty("java.util.logging.config.file") != null) {
      return;
    }
    String level = System.getenv().getOrDefault("FUNNEL_LOG_LEVEL", "INFO");
    LogManager.getLogManager().reset();
    Logger root = Logger.getLogger("");
    root.setLevel(Level.parse(level));
    QueuedLines handler = new QueuedLines(System.err);
    lines = handler;
    handler.setLevel(Level.ALL);
    handler.setFormatter(FORMATTER);
    handler.setFilter(Logging::wanted);
    root.addHandler(handler);
    for (String quiet : List.of("io.netty", "com.hazelcast", "io.vertx")) {
      Logger.getLogger(quiet).setLevel(Level.WARNING);
      KEEP.add(Logger.getLogger(quiet));
    }
    if (chosen.debug()) {
      Logger.getLogger("dev.funnel").setLevel(Level.FINE);
      KEEP.add(Logger.getLogger("dev.funnel"));
    }
  }

  /** Loggers whose level was set here: held so they are not collected (and their level lost). */
  private static final List<Logger> KEEP = new java.util.concurrent.CopyOnWriteArrayList<>();

  /**
   * How long after the JVM starts two warnings of Hazelcast's partition service are left out, both
   * races of members joining at once that Hazelcast repairs itself: "Not Member!" on a partition
   * operation (a member that is still joining gets the partition table from a member it does not
   * list yet, and Hazelcast sends it again; seen once in ~20 clustered starts of OpsIT), and
   * "Migration failed" (the master plans a migration while the next member joins, and plans again;
   * seen once on 2026-12-04, four members joining within 6 s), and its other side, "Failure while
   * executing MigrationInfo" with a PartitionStateVersionMismatchException (a member that joined a
   * moment ago gets a migration request before the master's partition table; seen once in CI on
   * 2026-12-05). And a member whose migrations begin a moment too early, seen in five clustered
   * ITs on 2026-12-07: on the member still starting, "Migration operation is received before
   * startup is completed"; on the source, that as the IllegalStateException of "Failure while
   * executing MigrationInfo"; on the master, "Failed migration" with a TargetNotMemberException
   * (the source does not list the destination yet); the master plans the migrations again. Later,
   * any of them repeating can mean a member stuck outside its cluster (hazelcast/hazelcast#25347)
   * or partitions that do not settle, so they show.
   */
  static final long JOIN_QUIET_MILLIS = 60_000;

  /** The join races above, each as text its message, its exception's class name or that exception's message holds. */
  private static final List<String> JOIN_RACES = List.of("CallerNotMemberException", "Migration failed",
      "PartitionStateVersionMismatchException", "received before startup is completed", "TargetNotMemberException");

  static boolean wanted(LogRecord record) {
    if (record.getLevel().intValue() < Level.WARNING.intValue() || record.getMessage() == null) {
      return true;
    }
    return wanted(record, java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime());
  }

  static boolean wanted(LogRecord record, long uptimeMillis) {
    if (record.getLevel().intValue() < Level.WARNING.intValue() || record.getMessage() == null) {
      return true;
    }
    String logger = record.getLoggerName() == null ? "" : record.getLoggerName();
    if (uptimeMillis < JOIN_QUIET_MILLIS && logger.startsWith("com.hazelcast.internal.partition.")) {
      Throwable cause = record.getThrown();
      String thrown = cause == null ? "" : cause.getClass().getSimpleName() + ": " + cause.getMessage();
      for (String race : JOIN_RACES) {
        if (record.getMessage().contains(race) || thrown.contains(race)) {
          return false;
        }
      }
    }
    for (String[] noise : NOISE) {
      if (logger.startsWith(noise[0]) && record.getMessage().contains(noise[1])) {
        return false;
      }
    }
    return true;
  }

  /**
   * Writes one line behind every line logged before it and waits (boundedly) until it is written,
   * bypassing the LogManager (which its own shutdown hook may already have reset): for the line
   * saying that a process stopped. A stderr nobody reads delays the stop by that bound, no more.
   */
  static void lineNow(Level level, String logger, String message) {
    LogRecord record = new LogRecord(level, message);
    record.setLoggerName(logger);
    String line = FORMATTER.format(record);
    QueuedLines handler = lines;
    if (handler != null) {
      handler.publishNow(line);
    } else {
      System.err.print(line);
      System.err.flush();
    }
  }

  /** A message's text with its parameters, numbers written plainly. */
  static String text(LogRecord record) {
    String message = record.getMessage();
    Object[] params = record.getParameters();
    if (message == null || params == null || params.length == 0 || !message.contains("{")) {
      return message;
    }
    // A plain {i} would format a number with the locale's grouping (8,443); {i,number,…} keeps its format.
    Object[] plain = params.clone();
    for (int i = 0; i < plain.length; i++) {
      if (plain[i] instanceof Number n && message.contains("{" + i + "}")) {
        plain[i] = String.valueOf(n);
      }
    }
    try {
      return MessageFormat.format(message, plain);
    } catch (IllegalArgumentException e) {
      return message;
    }
  }

  static final class LineFormatter extends Formatter {
    @Override
    public String format(LogRecord record) {
      String time = LocalDateTime.ofInstant(record.getInstant(), ZoneId.systemDefault()).format(TIME);
      String message = text(record);
      Throwable thrown = record.getThrown();
      boolean debug = settings.debug();
      if (settings.json()) {
        JsonObject line = new JsonObject()
            .put("time", time)
            .put("level", record.getLevel().getName())
            .put("logger", record.getLoggerName())
            .put("message", message);
        if (thrown != null) {
          line.put("error", thrown.toString());
          if (debug) {
            line.put("stack", stack(thrown));
          }
        }
        return line.encode() + System.lineSeparator();
      }
      StringBuilder out = new StringBuilder(time).append(' ').append(record.getLevel().getName()).append(' ')
          .append(record.getLoggerName()).append(": ").append(message);
      if (thrown != null) {
        if (debug) {
          out.append(System.lineSeparator()).append(stack(thrown).stripTrailing());
        } else {
          out.append(" (").append(thrown).append(")");
        }
      }
      return out.append(System.lineSeparator()).toString();
    }

    private static String stack(Throwable thrown) {
      StringWriter out = new StringWriter();
      thrown.printStackTrace(new PrintWriter(out));
      return out.toString();
    }
  }
}
