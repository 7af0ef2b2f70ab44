package dev.funnel.gateway;

import dev.funnel.common.peerapi.IngressAnswer;
import dev.funnel.common.peerapi.IngressOffer;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetSocket;

/**
 * One ingress offer on one data connection: writes the offer, then reads the node's answer head
 * (at most {@link IngressOffer#MAX_HEAD_BYTES}) within a deadline. Always completes with an
 * {@link Outcome}, never fails. On {@link Accepted} the socket is left paused with no handler, and
 * the bytes that followed the answer's head travel in the outcome: they are the node's stream.
 * Used on the gateway's event loop only; the caller owns the socket's close handler and reports a
 * close through {@link #connectionClosed()}.
 */
final class OfferExchange {

  /** How the offer ended. */
  sealed interface Outcome {
  }

  /** The node answered 101; {@code pending} is what it sent after the head. */
  record Accepted(Buffer pending) implements Outcome {
  }

  /** The node answered with a refusal ({@code 400}, {@code 403}, …). */
  record Answered(int status) implements Outcome {
  }

  record TimedOut() implements Outcome {
  }

  /** The connection closed, or the answer was not HTTP. */
  record Broken(String reason) implements Outcome {
  }

  private final Vertx vertx;
  private final NetSocket socket;
  private final long timeoutMillis;
  private final Promise<Outcome> outcome = Promise.promise();
  private final Buffer received = Buffer.buffer();
  private long timerId = -1;

  OfferExchange(Vertx vertx, NetSocket socket, long timeoutMillis) {
    this.vertx = vertx;
    this.socket = socket;
    this.timeoutMillis = timeoutMillis;
  }

  /** Writes {@code offer} on the (paused) socket and starts reading the answer. */
  Future<Outcome> start(IngressOffer offer) {
    timerId = vertx.setTimer(timeoutMillis, id -> finish(new TimedOut()));
    socket.handler(this::onBytes);
    socket.write(offer.encode()).onFailure(err -> finish(new Broken("writing the offer: " + err.getMessage())));
    socket.resume();
    return outcome.future();
  }

  void connectionClosed() {
    finish(new Broken("node closed the data connection before answering"));
  }

  private void onBytes(Buffer chunk) {
    if (outcome.future().isComplete()) {
      return;
    }
    received.appendBuffer(chunk);
    IngressAnswer.Parsed parsed = IngressAnswer.parse(received);
    if (parsed instanceof IngressAnswer.NeedMore) {
      return;
    }
    if (parsed instanceof IngressAnswer.Malformed malformed) {
      finish(new Broken(malformed.reason()));
      return;
    }
    IngressAnswer.Status answer = (IngressAnswer.Status) parsed;
    if (answer.status() != IngressAnswer.SWITCHING_PROTOCOLS) {
      finish(new Answered(answer.status()));
      return;
    }
    socket.pause();
    socket.handler(null);
    finish(new Accepted(received.getBuffer(answer.consumed(), received.length())));
  }

  private void finish(Outcome result) {
    if (outcome.tryComplete(result)) {
      vertx.cancelTimer(timerId);
    }
  }
}
