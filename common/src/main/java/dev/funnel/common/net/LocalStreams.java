package dev.funnel.common.net;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetSocket;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The in-JVM hand-off of an accepted node stream from the gateway to the frontend, so one JVM needs
 * no extra socket hop. The gateway parks a paused socket under a one-time ticket and replies with
 * the ticket; the frontend takes it. A stream nobody takes within the deadline is closed.
 */
public final class LocalStreams {

  /** A node stream, paused, and any bytes that arrived after the node's {@code 101}. */
  public record Handoff(NetSocket socket, Buffer pending) {
  }

  private static final ConcurrentHashMap<String, Handoff> WAITING = new ConcurrentHashMap<>();
  private static final SecureRandom RANDOM = new SecureRandom();

  private LocalStreams() {
  }

  /** Parks {@code socket} (which the caller has paused) and returns its ticket. */
  public static String park(Vertx vertx, NetSocket socket, Buffer pending, long deadlineMillis) {
    String ticket = newTicket();
    WAITING.put(ticket, new Handoff(socket, pending));
    vertx.setTimer(deadlineMillis, id -> {
      Handoff unclaimed = WAITING.remove(ticket);
      if (unclaimed != null) {
        unclaimed.socket().close();
      }
    });
    return ticket;
  }

  /** Takes the stream parked under {@code ticket}; empty if unknown, expired or already taken. */
  public static Optional<Handoff> take(String ticket) {
    return Optional.ofNullable(ticket == null ? null : WAITING.remove(ticket));
  }

  /** How many streams wait right now (for tests and metrics). */
  public static int waiting() {
    return WAITING.size();
  }

  /** 128 random bits, URL-safe: a ticket nobody can guess. */
  public static String newTicket() {
    byte[] bytes = new byte[16];
    RANDOM.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }
}
