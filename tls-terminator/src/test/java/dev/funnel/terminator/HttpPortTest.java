package dev.funnel.terminator;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.StacklessClosedChannelException;
import io.vertx.core.VertxException;
import io.vertx.core.http.HttpClosedException;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link HttpPort#clientLeft}: which failures of a request are only its client going away. */
class HttpPortTest {

  static Stream<Arguments> failures() {
    return Stream.of(
        // The stream or connection is closed: whatever the failure, no one is left to answer.
        Arguments.of("closed response, any failure", new IllegalStateException("x"), true, false, true),
        Arguments.of("closed response, no failure", null, true, true, true),
        // The answer started, then its stream or channel closed (the client had what it wanted).
        Arguments.of("Netty's closed channel after the head", StacklessClosedChannelException.newInstance(
            HttpPortTest.class, "write"), false, true, true),
        Arguments.of("JDK's closed channel after the head", new ClosedChannelException(), false, true, true),
        Arguments.of("closed HTTP/2 stream after the head", new HttpClosedException("Stream was closed"), false, true,
            true),
        Arguments.of("wrapped closed channel after the head", new VertxException(new ClosedChannelException()), false,
            true, true),
        // Before the head, a closure is the backend's or a handler's: answered 500 and logged.
        Arguments.of("closed channel before the head", new ClosedChannelException(), false, false, false),
        // Other failures are the server's.
        Arguments.of("I/O error after the head", new IOException("disk"), false, true, false),
        Arguments.of("no failure, open response", null, false, true, false));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("failures")
  void clientLeft(String name, Throwable failure, boolean responseClosed, boolean headWritten, boolean left) {
    assertThat(HttpPort.clientLeft(failure, responseClosed, headWritten)).isEqualTo(left);
  }
}
