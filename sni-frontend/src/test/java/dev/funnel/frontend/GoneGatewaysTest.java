package dev.funnel.frontend;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Opens stop waiting on a gateway that left, or on a node session the registry withdrew; nothing else. */
class GoneGatewaysTest {

  private final AtomicLong clock = new AtomicLong(1_000);
  private final GoneGateways gone = new GoneGateways(clock::get);

  @Test
  void aWithdrawnSessionFailsTheOpensWaitingOnItAndOnlyThose() {
    Promise<String> toLost = Promise.promise();
    Promise<String> toOtherSession = Promise.promise();
    Promise<String> toOtherNode = Promise.promise();
    Future<String> lost = gone.watch("gw1", "n1", 10, toLost::future);
    Future<String> otherSession = gone.watch("gw2", "n1", 20, toOtherSession::future);
    Future<String> otherNode = gone.watch("gw1", "n2", 30, toOtherNode::future);
    assertThat(gone.waitingOn("gw1", "n1", 10)).isEqualTo(1);

    gone.withdrawn("gw1", "n1", 10);

    assertThat(lost.failed()).isTrue();
    assertThat(lost.cause()).isInstanceOf(GoneGateways.Withdrawn.class);
    assertThat(otherSession.isComplete()).isFalse();
    assertThat(otherNode.isComplete()).isFalse();
    toOtherSession.complete("stream");
    assertThat(otherSession.result()).isEqualTo("stream");
    // The request to the lost session answering late changes nothing, and is forgotten.
    toLost.complete("too late");
    assertThat(lost.cause()).isInstanceOf(GoneGateways.Withdrawn.class);
    assertThat(gone.waitingOn("gw1", "n1", 10)).isZero();
  }

  @Test
  void anOpenToAWithdrawnSessionFailsWithoutBeingSentUntilItIsForgotten() {
    AtomicInteger sent = new AtomicInteger();
    gone.withdrawn("gw1", "n1", 10);
    Future<String> open = gone.watch("gw1", "n1", 10, () -> {
      sent.incrementAndGet();
      return Promise.<String>promise().future();
    });
    assertThat(open.cause()).isInstanceOf(GoneGateways.Withdrawn.class);
    assertThat(sent).hasValue(0);
    // The node's next session on the same gateway has another epoch: not affected.
    gone.watch("gw1", "n1", 11, () -> {
      sent.incrementAndGet();
      return Promise.<String>promise().future();
    });
    assertThat(sent).hasValue(1);

    clock.addAndGet(GoneGateways.REMEMBER_MILLIS);
    gone.watch("gw1", "n1", 10, () -> {
      sent.incrementAndGet();
      return Promise.<String>promise().future();
    });
    assertThat(sent).as("remembered for a while only").hasValue(2);
  }

  @Test
  void aGatewayThatLeftFailsEveryOpenWaitingOnIt() {
    Future<String> a = gone.watch("gw1", "n1", 10, () -> Promise.<String>promise().future());
    Future<String> b = gone.watch("gw1", "n2", 30, () -> Promise.<String>promise().future());
    Future<String> c = gone.watch("gw2", "n1", 20, () -> Promise.<String>promise().future());
    gone.left("gw1");
    assertThat(a.cause()).isInstanceOf(GoneGateways.Left.class);
    assertThat(b.cause()).isInstanceOf(GoneGateways.Left.class);
    assertThat(c.isComplete()).isFalse();
    assertThat(gone.watch("gw1", "n3", 40, () -> Promise.<String>promise().future()).cause())
        .isInstanceOf(GoneGateways.Left.class);
  }
}
