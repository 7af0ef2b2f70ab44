package dev.funnel.node;

import dev.funnel.common.net.HostPort;
import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.util.NetUtil;
import io.vertx.core.buffer.Buffer;

/**
 * PROXY protocol headers (HAProxy's spec, v1 text or v2 binary) telling a local server who the
 * public client is. Encoding is Netty's codec-haproxy, run through an {@link EmbeddedChannel}: the
 * node never hand-writes the format.
 */
final class ProxyHeader {

  private ProxyHeader() {
  }

  /**
   * The header for a connection from {@code source} to {@code destinationIp:destinationPort}. The
   * address family follows the source; a destination of the other family is mapped (IPv4 inside
   * IPv6 as {@code ::ffff:a.b.c.d}). Throws IllegalArgumentException when the source is not an IP
   * literal or the version is not 1 or 2.
   */
  static Buffer encode(int version, HostPort source, String destinationIp, int destinationPort) {
    HAProxyProtocolVersion protocolVersion = switch (version) {
      case 1 -> HAProxyProtocolVersion.V1;
      case 2 -> HAProxyProtocolVersion.V2;
      default -> throw new IllegalArgumentException("PROXY protocol version must be 1 or 2, not " + version);
    };
    String src = stripZone(source.host());
    String dst = stripZone(destinationIp);
    if (!NetUtil.isValidIpV4Address(src) && !NetUtil.isValidIpV6Address(src)) {
      throw new IllegalArgumentException("client address is not an IP address");
    }
    if (!NetUtil.isValidIpV4Address(dst) && !NetUtil.isValidIpV6Address(dst)) {
      throw new IllegalArgumentException("local address is not an IP address");
    }
    HAProxyProxiedProtocol family;
    if (NetUtil.isValidIpV4Address(src)) {
      String unmapped = unmapIpv4(dst);
      if (unmapped != null) {
        family = HAProxyProxiedProtocol.TCP4;
        dst = unmapped;
      } else {
        family = HAProxyProxiedProtocol.TCP6;
        src = "::ffff:" + src;
      }
    } else {
      family = HAProxyProxiedProtocol.TCP6;
      if (NetUtil.isValidIpV4Address(dst)) {
        dst = "::ffff:" + dst;
      }
    }
    HAProxyMessage message = new HAProxyMessage(protocolVersion, HAProxyCommand.PROXY, family, src, dst,
        source.port(), destinationPort);
    EmbeddedChannel channel = new EmbeddedChannel(HAProxyMessageEncoder.INSTANCE);
    try {
      channel.writeOutbound(message);
      ByteBuf encoded = channel.readOutbound();
      try {
        byte[] bytes = new byte[encoded.readableBytes()];
        encoded.readBytes(bytes);
        return Buffer.buffer(bytes);
      } finally {
        encoded.release();
      }
    } finally {
      channel.finishAndReleaseAll();
    }
  }

  /** {@code a.b.c.d} for an IPv4 literal or an IPv4-mapped IPv6 literal; null otherwise. */
  private static String unmapIpv4(String ip) {
    if (NetUtil.isValidIpV4Address(ip)) {
      return ip;
    }
    byte[] bytes = NetUtil.createByteArrayFromIpAddressString(ip);
    if (bytes == null || bytes.length != 16) {
      return null;
    }
    for (int i = 0; i < 10; i++) {
      if (bytes[i] != 0) {
        return null;
      }
    }
    if (bytes[10] != (byte) 0xff || bytes[11] != (byte) 0xff) {
      return null;
    }
    return (bytes[12] & 0xff) + "." + (bytes[13] & 0xff) + "." + (bytes[14] & 0xff) + "." + (bytes[15] & 0xff);
  }

  private static String stripZone(String ip) {
    int percent = ip.indexOf('%');
    return percent < 0 ? ip : ip.substring(0, percent);
  }
}
