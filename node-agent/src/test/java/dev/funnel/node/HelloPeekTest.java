package dev.funnel.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.stream.Stream;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** What the node reads of a ClientHello to route the CA's tls-alpn-01 validation: real JDK hellos. */
class HelloPeekTest {

  /** The JDK TLS client's first flight for {@code name}, offering {@code protocols} by ALPN (none: no extension). */
  static byte[] jdkHello(String name, String... protocols) throws Exception {
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, null, null);
    SSLEngine engine = context.createSSLEngine(name, 443);
    engine.setUseClientMode(true);
    SSLParameters parameters = engine.getSSLParameters();
    parameters.setServerNames(List.of(new SNIHostName(name)));
    if (protocols.length > 0) {
      parameters.setApplicationProtocols(protocols);
    }
    engine.setSSLParameters(parameters);
    engine.beginHandshake();
    ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
    engine.wrap(ByteBuffer.allocate(0), out);
    out.flip();
    byte[] bytes = new byte[out.remaining()];
    out.get(bytes);
    return bytes;
  }

  static Stream<Arguments> hellos() throws Exception {
    return Stream.of(
        Arguments.of("the CA's validation: acme-tls/1 only", jdkHello("web.demo.funnel.test", "acme-tls/1"),
            List.of("acme-tls/1")),
        Arguments.of("a browser", jdkHello("web.demo.funnel.test", "h2", "http/1.1"), List.of("h2", "http/1.1")),
        Arguments.of("acme-tls/1 among others is not the validation", jdkHello("web.demo.funnel.test", "h2",
            "acme-tls/1"), List.of("h2", "acme-tls/1")),
        Arguments.of("no ALPN", jdkHello("web.demo.funnel.test"), List.of()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("hellos")
  void readsTheOfferedProtocols(String what, byte[] hello, List<String> expected) {
    List<String> protocols = HelloPeek.protocols(Unpooled.wrappedBuffer(hello), false);
    assertThat(protocols).isEqualTo(expected);
    assertThat(protocols.equals(IngressStream.ACME_TLS_ONLY)).isEqualTo(expected.equals(List.of("acme-tls/1")));
  }

  @Test
  void waitsForMoreBytesAndNeverConsumesThem() throws Exception {
    byte[] hello = jdkHello("web.demo.funnel.test", "acme-tls/1");
    ByteBuf half = Unpooled.wrappedBuffer(hello, 0, hello.length / 2);
    assertThat(HelloPeek.protocols(half, false)).as("needs more").isNull();
    assertThat(half.readerIndex()).isZero();
    assertThat(HelloPeek.protocols(half, true)).as("the stream ended: decide with what there is").isEmpty();
  }

  @Test
  void anythingThatIsNotAClientHelloOffersNothing() {
    assertThat(HelloPeek.protocols(Unpooled.wrappedBuffer("GET / HTTP/1.1\r\n\r\n".getBytes()), false)).isEmpty();
    assertThat(HelloPeek.protocols(Unpooled.wrappedBuffer(new byte[] {22, 3, 1, 0, 0}), false)).isEmpty();
  }
}
