package dev.funnel.node;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.net.HostPort;
import dev.funnel.common.peerapi.ControlMessage.AcmeTxtReply;
import dev.funnel.common.peerapi.ControlMessage.SignReply;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@link SessionReplies}: answers matched in order or by id, deadlines, and everything failed when the session ends. */
@ExtendWith(VertxExtension.class)
class SessionRepliesTest {

  private static final HostPort GATEWAY = new HostPort("127.0.0.1", 7000);

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void answersGoToTheirRequests(Vertx vertx, VertxTestContext ctx) {
    vertx.runOnContext(v -> ctx.verify(() -> {
      SessionReplies replies = new SessionReplies(vertx, GATEWAY, 60_000);
      Future<String> first = replies.signRequest();
      Future<String> second = replies.signRequest();
      replies.signed(new SignReply("CHAIN-1", null));
      replies.signed(new SignReply(null, "not your name"));
      replies.signed(new SignReply("CHAIN-3", null)); // nothing waits: ignored
      assertThat(first.result()).isEqualTo("CHAIN-1");
      assertThat(second.cause()).hasMessage("the server refused to sign: not your name");

      long a = replies.nextAcmeTxtId();
      long b = replies.nextAcmeTxtId();
      assertThat(b).isEqualTo(a + 1);
      Future<Void> txtA = replies.acmeTxt(a);
      Future<Void> txtB = replies.acmeTxt(b);
      replies.acmeTxtAnswered(new AcmeTxtReply(b, "refused"));
      replies.acmeTxtAnswered(new AcmeTxtReply(b + 10, null)); // answers nothing: ignored
      assertThat(txtA.isComplete()).isFalse();
      assertThat(txtB.cause()).hasMessage("the server refused the ACME challenge record: refused");
      replies.acmeTxtAnswered(new AcmeTxtReply(a, null));
      assertThat(txtA.succeeded()).isTrue();

      Future<Void> update = replies.serveUpdate();
      replies.welcomed();
      replies.welcomed(); // a Welcome with no update waiting answers nothing
      assertThat(update.succeeded()).isTrue();
      ctx.completeNow();
    }));
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void everythingWaitingFailsWhenTheSessionEnds(Vertx vertx, VertxTestContext ctx) {
    vertx.runOnContext(v -> ctx.verify(() -> {
      SessionReplies replies = new SessionReplies(vertx, GATEWAY, 60_000);
      Future<Void> update = replies.serveUpdate();
      Future<String> sign = replies.signRequest();
      Future<?> probe = replies.probe(replies.nextProbeId());
      Future<Void> txt = replies.acmeTxt(replies.nextAcmeTxtId());
      replies.failAll("connection lost: reset");
      for (Future<?> f : new Future<?>[] {update, sign, probe, txt}) {
        assertThat(f.cause()).hasMessage("session ended: connection lost: reset");
      }
      ctx.completeNow();
    }));
  }

  @Test
  @Timeout(value = 10, timeUnit = TimeUnit.SECONDS)
  void aRequestNotAnsweredInTimeFails(Vertx vertx, VertxTestContext ctx) {
    vertx.runOnContext(v -> {
      SessionReplies replies = new SessionReplies(vertx, GATEWAY, 50);
      replies.serveUpdate().onComplete(ctx.failing(err -> ctx.verify(() -> {
        assertThat(err).hasMessage("the gateway did not answer the serve update within 50 ms");
        ctx.completeNow();
      })));
    });
  }
}
