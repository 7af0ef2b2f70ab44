package dev.funnel.common.net;

import static org.assertj.core.api.Assertions.assertThat;

import dev.funnel.common.ops.CapturedLog;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslClosedEngineException;
import java.io.IOException;
import java.util.logging.Level;
import org.junit.jupiter.api.Test;

/**
 * {@link LinkStreams} as the last handler of a link's pipeline (behind the real frame codec): what
 * no handler took ends there, never at Netty's pipeline tail (which would log a WARNING per
 * connection that says nothing to an operator, as the ITs' logs showed for resets and for TLS
 * engines closed while a process stopped).
 */
class LinkStreamsTest {

  private static EmbeddedChannel link() {
    return new EmbeddedChannel(Links.serverCodec(Links.settings(Links.DEFAULT_STREAM_WINDOW_BYTES, 100)),
        LinkStreams.refusingInbound());
  }

  @Test
  void aResetOrAClosedTlsEngineEndsTheConnectionQuietly() {
    try (CapturedLog log = CapturedLog.of(LinkStreams.class)) {
      for (Throwable failure : new Throwable[] {new IOException("Connection reset"),
          new SslClosedEngineException("SSLEngine closed already"),
          new DecoderException(new javax.net.ssl.SSLHandshakeException("bad record"))}) {
        EmbeddedChannel link = link();
        link.pipeline().fireExceptionCaught(failure);
        link.checkException();   // throws what reached the pipeline's tail
        assertThat(link.isOpen()).as("%s", failure).isFalse();
      }
      assertThat(log.lines()).as("at DEBUG only").isEmpty();
    }
  }

  @Test
  void anythingElseIsABugLoggedAsAWarningAndTheConnectionCloses() {
    try (CapturedLog log = CapturedLog.of(LinkStreams.class)) {
      EmbeddedChannel link = link();
      link.pipeline().fireExceptionCaught(new IllegalStateException("a handler's bug"));
      link.checkException();
      assertThat(link.isOpen()).isFalse();
      assertThat(log.lines()).singleElement().asString().startsWith(Level.WARNING + " link connection ")
          .endsWith("failed; closing it");
    }
  }
}
