package dev.funnel.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.funnel.common.net.HostPort;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.vertx.core.buffer.Buffer;
import java.net.InetAddress;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ProxyHeaderTest {

  static Stream<Arguments> cases() {
    return Stream.of(
        // version, source, local address, family, expected source, expected destination
        Arguments.of(1, "203.0.113.7", "127.0.0.1", HAProxyProxiedProtocol.TCP4, "203.0.113.7", "127.0.0.1"),
        Arguments.of(2, "203.0.113.7", "127.0.0.1", HAProxyProxiedProtocol.TCP4, "203.0.113.7", "127.0.0.1"),
        Arguments.of(1, "2001:db8::7", "::1", HAProxyProxiedProtocol.TCP6, "2001:db8::7", "::1"),
        Arguments.of(2, "2001:db8::7", "::1", HAProxyProxiedProtocol.TCP6, "2001:db8::7", "::1"),
        Arguments.of(1, "2001:db8::7", "127.0.0.1", HAProxyProxiedProtocol.TCP6, "2001:db8::7", "::ffff:127.0.0.1"),
        Arguments.of(2, "2001:db8::7", "127.0.0.1", HAProxyProxiedProtocol.TCP6, "2001:db8::7", "::ffff:127.0.0.1"),
        Arguments.of(2, "203.0.113.7", "::ffff:127.0.0.1", HAProxyProxiedProtocol.TCP4, "203.0.113.7", "127.0.0.1"),
        Arguments.of(2, "203.0.113.7", "::1", HAProxyProxiedProtocol.TCP6, "::ffff:203.0.113.7", "::1"),
        Arguments.of(1, "203.0.113.7", "fe80::1%2", HAProxyProxiedProtocol.TCP6, "::ffff:203.0.113.7", "fe80::1"));
  }

  @ParameterizedTest(name = "v{0} {1} → {2}")
  @MethodSource("cases")
  void nettyDecodesWhatWeEncode(int version, String source, String local, HAProxyProxiedProtocol family,
                                String expectedSource, String expectedDestination) throws Exception {
    Buffer header = ProxyHeader.encode(version, new HostPort(source, 53211), local, 443);
    EmbeddedChannel channel = new EmbeddedChannel(new HAProxyMessageDecoder());
    channel.writeInbound(Unpooled.wrappedBuffer(header.getBytes()));
    HAProxyMessage message = channel.readInbound();
    try {
      assertThat(message.protocolVersion()).isEqualTo(version == 1 ? HAProxyProtocolVersion.V1 : HAProxyProtocolVersion.V2);
      assertThat(message.proxiedProtocol()).isEqualTo(family);
      assertThat(InetAddress.getByName(message.sourceAddress())).isEqualTo(InetAddress.getByName(expectedSource));
      assertThat(InetAddress.getByName(message.destinationAddress()))
          .isEqualTo(InetAddress.getByName(expectedDestination));
      assertThat(message.sourcePort()).isEqualTo(53211);
      assertThat(message.destinationPort()).isEqualTo(443);
      Object after = channel.readInbound();
      assertThat(after).as("nothing after the header").isNull();
    } finally {
      message.release();
      channel.finishAndReleaseAll();
    }
  }

  @Test
  void versionOneIsTheTextLine() {
    assertThat(ProxyHeader.encode(1, new HostPort("203.0.113.7", 53211), "127.0.0.1", 443).toString())
        .isEqualTo("PROXY TCP4 203.0.113.7 127.0.0.1 53211 443\r\n");
  }

  @Test
  void versionTwoStartsWithTheSignature() {
    byte[] bytes = ProxyHeader.encode(2, new HostPort("203.0.113.7", 53211), "127.0.0.1", 443).getBytes();
    assertThat(bytes).startsWith(0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x21, 0x11);
    assertThat(bytes).hasSize(16 + 12);
  }

  @Test
  void refusesWhatIsNotAnAddressOrAVersion() {
    assertThatThrownBy(() -> ProxyHeader.encode(2, new HostPort("client.example", 1), "127.0.0.1", 443))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not an IP");
    assertThatThrownBy(() -> ProxyHeader.encode(3, new HostPort("203.0.113.7", 1), "127.0.0.1", 443))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 or 2");
  }
}
