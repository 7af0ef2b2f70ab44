package dev.funnel.common.ops;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A drain on a clean stop: the decision alone, and its waits with a clock the test moves. A real
 * frontend's drain: sni-frontend's FrontendDrainTest; a real gateway's: peerapi-gateway's
 * GatewayDrainTest; whole processes: DrainIT and ClusterIT.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DrainTest {

  private static final Drain FE = new Drain("frontend fe", "new connections are refused", "connection(s)");

  Vertx vertx;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
  }

  @AfterEach
  void tearDown() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void overOnceNothingIsOpenOrTheDeadlineHasCome() {
    assertThat(Drain.over(0, 0, 1_000)).isTrue();
    assertThat(Drain.over(3, 999, 1_000)).isFalse();
    assertThat(Drain.over(3, 1_000, 1_000)).isTrue();
    assertThat(Drain.over(1, 5_000, 1_000)).isTrue();
    assertThat(Drain.over(0, 5_000, 1_000)).isTrue();
  }

  @Test
  void nothingOpenOrNoDrainTimeEndsAsSoonAsTheListenersAreClosed() {
    Future<Integer> empty = FE.run(vertx, Future.succeededFuture(), () -> 0, 10_000, () -> 0L);
    assertThat(empty.isComplete()).isTrue();
    assertThat(empty.result()).isZero();
    Future<Integer> noTime = FE.run(vertx, Future.succeededFuture(), () -> 4, 0, () -> 0L);
    assertThat(noTime.isComplete()).isTrue();
    assertThat(noTime.result()).as("closed by the stop that follows").isEqualTo(4);
  }

  @Test
  void waitsForTheListenersThenForTheLastConnection() throws Exception {
    Promise<Void> listenersClosed = Promise.promise();
    AtomicInteger open = new AtomicInteger(2);
    Future<Integer> drained = FE.run(vertx, listenersClosed.future(), open::get, 10_000, () -> 0L);
    open.set(0);
    Thread.sleep(4 * Drain.POLL_MILLIS);
    assertThat(drained.isComplete()).as("not before the listeners are closed").isFalse();
    open.set(2);
    listenersClosed.complete();
    Thread.sleep(4 * Drain.POLL_MILLIS);
    assertThat(drained.isComplete()).as("two connections open, the deadline far").isFalse();
    open.set(1);
    Thread.sleep(4 * Drain.POLL_MILLIS);
    assertThat(drained.isComplete()).isFalse();
    open.set(0);
    assertThat(drained.await(5, TimeUnit.SECONDS)).isZero();
  }

  @Test
  void theDeadlineEndsItWithWhatIsStillOpen() throws Exception {
    AtomicLong clock = new AtomicLong(50_000);
    Future<Integer> drained = FE.run(vertx, Future.succeededFuture(), () -> 3, 2_000, clock::get);
    clock.set(51_999);
    Thread.sleep(4 * Drain.POLL_MILLIS);
    assertThat(drained.isComplete()).isFalse();
    clock.set(52_000);
    assertThat(drained.await(5, TimeUnit.SECONDS)).isEqualTo(3);
  }
}
