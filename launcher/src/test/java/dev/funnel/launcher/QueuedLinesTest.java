package dev.funnel.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.Formatter;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The log's handler: a logging thread never waits for stderr's reader, and nothing is lost unsaid. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class QueuedLinesTest {

  /** stderr whose reader is stuck until {@code reading} counts down; what it got, once it reads. */
  private static final class StuckReader extends OutputStream {
    final CountDownLatch reading = new CountDownLatch(1);
    final ByteArrayOutputStream got = new ByteArrayOutputStream();

    @Override
    public void write(int b) {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) {
      try {
        reading.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      synchronized (got) {
        got.write(b, off, len);
      }
    }

    String text() {
      synchronized (got) {
        return got.toString(StandardCharsets.UTF_8);
      }
    }
  }

  private static QueuedLines handler(OutputStream out) {
    return handler(out, QueuedLines.FLUSH_WAIT_MILLIS);
  }

  private static QueuedLines handler(OutputStream out, long flushWaitMillis) {
    QueuedLines handler = new QueuedLines(new PrintStream(out, false, StandardCharsets.UTF_8), flushWaitMillis);
    handler.setFormatter(new Formatter() {
      @Override
      public String format(LogRecord record) {
        return record.getLevel() + " " + record.getMessage() + "\n";
      }
    });
    return handler;
  }

  private static LogRecord line(int i) {
    return new LogRecord(Level.INFO, "line " + i);
  }

  /**
   * With a StreamHandler (the ConsoleHandler of before) the first line would block this thread
   * until stderr is read again, and the test would time out. Here every call returns; what did not
   * fit is counted, then said once stderr reads again, and every line kept is written in order.
   */
  @Test
  void aStderrThatIsNotReadNeverHoldsTheThreadThatLogs() {
    StuckReader stderr = new StuckReader();
    QueuedLines handler = handler(stderr);
    int published = QueuedLines.MAX_QUEUED + 2_000;
    for (int i = 0; i < published; i++) {
      handler.publish(line(i));
    }
    long dropped = handler.dropped();
    assertThat(dropped).as("what did not fit in the queue (and the writer's one batch)").isPositive()
        .isLessThanOrEqualTo(2_000);

    stderr.reading.countDown();
    handler.flush();   // the queue drains, so the next line fits
    handler.publish(line(published));
    handler.flush();

    String[] lines = stderr.text().split("\n");
    assertThat(lines).contains("WARNING " + dropped + " log lines dropped: stderr did not keep up");
    assertThat(lines).hasSize((int) (published + 1 - dropped + 1));
    assertThat(lines[0]).isEqualTo("INFO line 0");
    assertThat(lines[lines.length - 1]).isEqualTo("INFO line " + published);
    int previous = -1;
    for (String l : lines) {
      if (l.startsWith("INFO line ")) {
        int i = Integer.parseInt(l.substring("INFO line ".length()));
        assertThat(i).as("in order").isGreaterThan(previous);
        previous = i;
      }
    }
  }

  @Test
  void flushWritesEveryLineLoggedBeforeItAndCloseThenWritesAtOnce() {
    StuckReader stderr = new StuckReader();
    stderr.reading.countDown();
    QueuedLines handler = handler(stderr);
    for (int i = 0; i < 1_000; i++) {
      handler.publish(line(i));
    }
    handler.flush();
    assertThat(stderr.text().split("\n")).hasSize(1_000).endsWith("INFO line 999");

    handler.close();
    handler.publish(line(1_000));
    assertThat(stderr.text()).endsWith("INFO line 1000\n");
    assertThat(handler.dropped()).isZero();
  }

  /**
   * A process stopping with stderr stuck: close() and the lines after it (the "stopped" line) give
   * up after the flush bound instead of waiting for a reader that never comes (with the handler of
   * before, the test would time out).
   */
  @Test
  void aStuckStderrDelaysCloseAndTheLinesAfterItOnlyByTheFlushBound() {
    StuckReader stderr = new StuckReader();
    QueuedLines handler = handler(stderr, 100);
    handler.publish(line(0));
    handler.close();
    for (int i = 1; i <= 100; i++) {
      handler.publish(line(i));   // all within one more bound, not one each
    }
    handler.publishNow("stopped\n");

    stderr.reading.countDown();   // closed, past its bound: nothing waits for the writer now, so poll
    while (stderr.text().split("\n").length < 102) {
      Thread.onSpinWait();
    }
    String[] lines = stderr.text().split("\n");
    assertThat(lines).hasSize(102).startsWith("INFO line 0", "INFO line 1").endsWith("INFO line 100", "stopped");
  }

  @Test
  void aLineBelowTheHandlersLevelIsNotWritten() {
    StuckReader stderr = new StuckReader();
    stderr.reading.countDown();
    QueuedLines handler = handler(stderr);
    handler.setLevel(Level.WARNING);
    handler.publish(line(1));
    handler.publish(new LogRecord(Level.WARNING, "kept"));
    handler.flush();
    assertThat(stderr.text()).isEqualTo("WARNING kept\n");
  }
}
